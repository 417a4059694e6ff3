"""Every claim's facts and its pre-registered test, as data.

For each claim: the lecture's sentence, its source, its value and tolerance, and the test that
judges a run — the statistic (``metric``: per-seed values in the result), the test and its alpha,
the minimum effect that counts, the sanity gates, and why. The report, the README's claims table,
the command line and the tests all read this one table; the claim modules never hold a lecture
number of their own. A verdict is computed from measured numbers and these entries only
(:mod:`replication.verdicts`, whose docstring has the decision table). Entries are written before
the runs they judge: a result stores the hash of the entry that judged it, and a test re-judges
every committed result with today's entries.

``criterion`` says what kind of claim it is:

- ``at_least`` (a *level* claim): the mean must reach ``expected - tolerance`` (the lecture's number,
  or close enough below it);
- ``greater_than`` (an *effect* claim): the effect (mean - ``expected``, the value of "no effect")
  must be positive, significant by a one-sided test at ``alpha``, and at least ``min_effect``;
- ``within``: |mean - expected| <= tolerance (structure claims only).

Multiple comparisons (:data:`EFFECT_FAMILY`): one profile's run makes about a dozen claims of an
effect at once, so the p that decides each effect row is adjusted by Holm's step-down procedure over
a family fixed here: every effect test of the registry, the primary test of each effect claim *and*
each also-judged half (all of them effect tests), because each half gets a label of its own in the
README (a "contradicted" colour half says as much about the lecture as a primary does). Level claims
are not in it: no p decides them (their mean is compared with the lecture's number, and a one-sided
95% bound is shown beside it); structure claims have no test. The family is what is registered, not
what ran: a member without a p (not run, stale, stopped by an earlier row) counts as p = 1, which
can only make the others harder to pass. One family per profile (quick's and paper's verdicts rest on
different runs). Holm rather than Bonferroni: it controls the same family-wise error at alpha under
any dependence between the tests, and rejects at least as much.

Pilots (``pilot_seeds``, ``pilot``): the seeds of every run that helped choose a claim's design (a
screening of recipes, a diagnosis of a failed sweep, the choice of a regime), and where its driver
and log are committed. A judged run must use other seeds: one that repeats a pilot's seed is labelled
exploratory (:mod:`replication.verdicts`, row P), whatever its numbers, and a test fails on a
committed result that overlaps its pilot with any other label.
"""

from __future__ import annotations

import dataclasses

from .errors import ReplicationError

# paper: the lecture's settings (>= 3 seeds); quick: a stated 2-core CPU budget; smoke: seconds.
PROFILES = ("paper", "quick", "smoke")


@dataclasses.dataclass(frozen=True)
class Gate:
    """A sanity gate: every per-seed value of ``metric`` must be at least ``at_least``, or the run
    says nothing (verdict "inconclusive (undertrained)")."""

    metric: str
    at_least: float
    label: str


@dataclasses.dataclass(frozen=True)
class StatTest:
    """One pre-registered test of one statistic (per-seed values of ``metric`` in the result).

    ``kind``: ``"level"`` (the mean must reach ``threshold``) or ``"effect"`` (the mean must exceed
    ``threshold``, the value of no effect, by at least ``min_effect``, significantly). ``method``:
    ``"t"``, a one-sided one-sample t-test of the per-seed values against ``threshold`` (a paired
    t-test where each value is a seed-paired difference); or ``"given"``, the one-sided p-values the
    claim computed itself, in the metrics named by ``p_metrics`` (claimed direction, reverse), for
    statistics that are not a mean over seeds.
    """

    metric: str
    label: str
    threshold: float
    kind: str = "effect"
    min_effect: float = 0.0
    method: str = "t"
    p_metrics: tuple[str, str] | None = None
    method_label: str = ""  # what "given" p-values are, in words
    alpha: float = 0.05
    quantity: str = ""  # the statistic and its unit in a few words, for tables (not hashed)


@dataclasses.dataclass(frozen=True)
class Claim:
    id: str
    title: str
    statement: str  # the lecture's checkable sentence, in its words where possible
    source: str  # slide and notebook
    module: str  # replication.claims.<module>: config PROFILES and run(config, ctx)
    dataset: str  # the lecture's dataset, the default for --dataset
    metric: str  # the measured quantity the verdict reads (per-seed values in the result)
    metric_label: str
    expected: float  # the lecture's value, or our threshold when lecture_value is False
    criterion: str  # "at_least", "within" or "greater_than"
    tolerance: float
    tolerance_reason: str
    lecture_value: bool = True  # `expected` is the lecture's number (else it is our threshold)
    percent: bool = True  # show metric and expected as percentages
    paper: str | None = None
    lecture_context: tuple[str, ...] = ()  # other numbers the lecture printed, for the report
    requires: tuple[str, ...] = ()  # claims whose trained models this one reuses
    figures: tuple[str, ...] = ()  # figures/<module>/plot_<name>.py (plotting.figure_script)
    deviations: tuple[str, ...] = ()  # every way we differ from the lecture
    # The claim is about a model's shape, not what it learns: a passing check reads
    # "structure only", never "replicated" (verdicts.judge).
    structure_only: bool = False
    needs_data: bool = True  # False: nothing is loaded, and --dataset does not apply
    # The pre-registered test of the primary statistic (``metric``), beyond expected/criterion:
    alpha: float = 0.05  # one-sided
    min_effect: float = 0.0  # effect claims: mean - expected must be at least this
    test_method: str = "t"  # "t" or "given" (see StatTest)
    p_metrics: tuple[str, str] | None = None  # test_method "given": (p claimed direction, p reverse)
    test_label: str = ""  # test_method "given": the test, in words
    gates: tuple[Gate, ...] = ()  # sanity gates (every seed's model must pass each)
    also_judged: tuple[StatTest, ...] = ()  # other halves of the claim, each judged beside (own label)
    reported: tuple[str, ...] = ()  # other statistics shown beside, not judged
    quantity: str = ""  # the statistic and its unit in a few words, for tables (not hashed)
    # Seeds that design runs (pilots) used, and where those runs are committed (driver and log): a
    # result whose seeds include one of them is exploratory (verdicts row P). Not hashed: see
    # verdicts.NOT_HASHED.
    pilot_seeds: tuple[int, ...] = ()
    pilot: str = ""

    @property
    def test(self) -> StatTest:
        """The primary statistic's test, from ``metric``, ``expected``, ``criterion`` and the rest."""
        level = self.criterion == "at_least"
        return StatTest(metric=self.metric, label=self.metric_label,
                    threshold=self.expected - self.tolerance if level else self.expected,
                    kind="level" if level else "effect", min_effect=self.min_effect,
                    method="t" if level else self.test_method, p_metrics=self.p_metrics,
                    method_label=self.test_label, alpha=self.alpha, quantity=self.quantity)


CLAIMS: dict[str, Claim] = {
    c.id: c
    for c in (
        Claim(
            id="mnist-mlp",
            title="MLP on MNIST",
            statement=(
                "A multilayer perceptron (Dense 512 relu, Dropout 0.2, three times; Dense 10 "
                "softmax; 932,362 parameters) reaches about 98.2-98.4% test accuracy on MNIST."
            ),
            source=(
                "Slide 'We have designed a net to identify hand-written digits'; notebook "
                "mnist_mlp.ipynb (marcinwolter/DeepLearning_2020, MachineLearning2020), whose "
                "header says 98.40% after 20 epochs"
            ),
            module="mnist_mlp",
            dataset="mnist",
            metric="test_accuracy",
            metric_label="test accuracy, last epoch",
            expected=0.9840,
            criterion="at_least",
            tolerance=0.003,
            tolerance_reason=(
                "The lecture gives a range, 98.2-98.4%, and its own 10-epoch notebook printed "
                "98.15%; a mean within 0.3 points below 98.40% is inside that range's spread."
            ),
            lecture_context=(
                "notebook, 10 epochs: test accuracy 0.9815, test loss 0.0727, train accuracy 0.9958",
                "notebook header: 98.40% after 20 epochs",
            ),
            gates=(Gate("train_accuracy", 0.97, "training accuracy of every seed (evaluate on the "
                        "training images, dropout off)"),),
            figures=("mnist_digits", "mnist_mlp_curves", "mlp_first_layer_weights"),
            deviations=(
                "Images enter the model as 28x28x1 and a Flatten layer (0 parameters) makes the "
                "784-vector the notebook built with reshape; the parameter count is unchanged.",
                "Batches are shuffled from (seed, epoch) so that a resumed run sees the same "
                "batches; the notebook used Keras's default shuffle.",
            ),
        ),
        Claim(
            id="mnist-cnn",
            title="CNN on MNIST",
            statement=(
                "A CNN (Conv2D 32, Conv2D 64, MaxPool, Dropout 0.25, Conv2D 64, Conv2D 64, MaxPool, "
                "Dropout 0.25, Dense 128, Dropout 0.5, Dense 10; 225,162 parameters) \"gets much, "
                "much better results\" than the MLP: test loss 0.0160, test accuracy 0.9959."
            ),
            source=(
                "Slide 'CNN Example'; notebook mnist_cnn.ipynb (marcinwolter/MachineLearning2020, "
                "DeepLearning_2020): Adam, batch 128, 20 epochs"
            ),
            module="mnist_cnn",
            dataset="mnist",
            metric="test_accuracy",
            metric_label="test accuracy, last epoch",
            expected=0.9959,
            criterion="at_least",
            tolerance=0.0025,
            tolerance_reason=(
                "0.9959 is above every epoch the two published notebooks printed (best 0.9951 and "
                "0.9955), so it is most likely a best run, not a typical one. Over their last 10 "
                "epochs the notebooks' test accuracy has mean 0.9945-0.9947 and epoch-to-epoch std "
                "0.0006; a mean at least 0.9934 (two such std below that late mean) is what a typical "
                "run of the recipe gives, and admits both notebooks' own 20-epoch results, 0.9938 "
                "and 0.9937."
            ),
            lecture_context=(
                "slide: test loss 0.0160",
                "notebook (MachineLearning2020), 20 epochs: test accuracy 0.9938, test loss 0.0241, "
                "train accuracy 0.9982",
                "notebook (DeepLearning_2020), 20 epochs: test accuracy 0.9937, test loss 0.0203, "
                "train accuracy 0.9984",
                "notebook header: 99.6% after 40 epochs",
            ),
            gates=(Gate("train_accuracy", 0.98, "training accuracy of every seed (evaluate on the "
                        "training images, dropout off)"),),
            figures=("mnist_cnn_curves", "prediction_grid"),
            deviations=(
                "Batches are shuffled from (seed, epoch) so that a resumed run sees the same "
                "batches; the notebook used Keras's default shuffle.",
                "Profile quick: 4 epochs (not 20) with Adam on a one-cycle schedule (linear warm-up "
                "to 2e-3 over 20% of the steps, cosine decay to 0); paper keeps the notebook's "
                "constant 1e-3 for 20 epochs.",
            ),
        ),
        Claim(
            id="mlp-vs-cnn",
            title="CNN vs MLP: errors and parameters",
            statement=(
                "The CNN makes several times fewer test errors than the MLP with about 4x fewer "
                "parameters (225,162 vs 932,362)."
            ),
            source="Slides 'We have designed a net to identify hand-written digits' and 'CNN Example'",
            module="mlp_vs_cnn",
            dataset="mnist",
            metric="error_ratio",
            metric_label="MLP test errors / CNN test errors, paired by seed",
            quantity="test errors of the MLP / of the CNN, paired by seed (a ratio)",
            expected=2.0,
            criterion="greater_than",
            tolerance=0.0,
            tolerance_reason=(
                "'Several times fewer' read as more than twice fewer: the ratio's value of no effect "
                "is 2, and a one-sided t-test over the seed pairs (MLP seed k against CNN seed k, "
                "the same 10,000 test digits) must put the mean ratio above 2 at alpha 0.05. The "
                "lecture's own notebooks give 185 MLP errors (10 epochs) against 62-63 CNN errors "
                "(20 epochs), a ratio of about 3. McNemar's exact test of each pair is reported "
                "beside it: it shows the two models differ, not by how much."
            ),
            lecture_value=False,
            percent=False,
            lecture_context=(
                "notebooks: MLP 0.9815 (185 errors, 10 epochs), CNN 0.9938 and 0.9937 (62 and 63 "
                "errors, 20 epochs)",
                "slide: CNN 0.9959 (41 errors)",
                "parameters: MLP 932,362, CNN 225,162 (ratio 4.14)",
            ),
            gates=(Gate("mlp_train_accuracy", 0.97, "the MLP's training accuracy, every seed"),
                   Gate("cnn_train_accuracy", 0.98, "the CNN's training accuracy, every seed")),
            reported=("mcnemar_p_exact", "mlp_errors", "cnn_errors"),
            requires=("mnist-mlp", "mnist-cnn"),
            figures=("model_diagrams", "confusion_matrices", "params_per_layer"),
            deviations=(
                "The lecture compares one run of each; we pair MLP seed k with CNN seed k and "
                "report every pair.",
            ),
        ),
        Claim(
            id="pooling-translation",
            title="Pooling and sensitivity to position",
            statement=(
                "Pooling gives \"lower sensitivity for the position of a given feature\": the "
                "CNN's accuracy falls less on shifted test digits with max-pooling than when its "
                "feature maps are shrunk by the same factor without the max."
            ),
            source="Slide 'Pooling' (\"Data reduction, Lower sensitivity for the position of a given feature\")",
            module="pooling_translation",
            dataset="mnist",
            metric="drop_reduction",
            metric_label=(
                "mean accuracy drop on shifted digits (1-4 pixels left, right, up and down) of the "
                "CNN subsampled by stride 2 without the max, minus that of the max-pooled CNN, "
                "paired by seed"
            ),
            quantity="accuracy drop on shifted digits, stride-2 subsampling minus max-pooling (points)",
            expected=0.0,
            criterion="greater_than",
            tolerance=0.0,
            min_effect=0.01,
            tolerance_reason=(
                "Removing pooling also removes the downsampling and makes the first Dense layer 25x "
                "larger, so the control that isolates the max is the same CNN with each 2x2 max-pool "
                "replaced by taking every second pixel (a 1x1 pool of stride 2: the same shapes and "
                "the same 225,162 parameters). Both are trained under one budget with the same "
                "seeds; the unpooled CNN is shown beside them. The effect must be positive by a "
                "one-sided paired t-test over seeds at alpha 0.05 and at least 1 accuracy point: "
                "the binomial standard error of a 16-shift mean drop on the shift set is about 0.3 "
                "points, and a smaller difference would not be 'lower sensitivity' worth the name. "
                "Gate: every model at least 97% on the unshifted test digits (the lecture's CNN "
                "reaches 99%), or the drops compare models that did not learn."
            ),
            lecture_value=False,
            gates=(Gate("test_accuracy_max_pool", 0.97, "unshifted test accuracy of the max-pooled CNN"),
                   Gate("test_accuracy_subsample", 0.97,
                        "unshifted test accuracy of the stride-2 subsampled CNN"),
                   Gate("test_accuracy_no_pooling", 0.97, "unshifted test accuracy of the unpooled CNN")),
            also_judged=(),
            reported=("drop_reduction_no_pooling", "mean_drop_max_pool", "mean_drop_subsample",
                      "mean_drop_no_pooling", "mean_drop_mlp"),
            requires=("mnist-mlp",),
            figures=("shift_accuracy",),
            deviations=(
                "The lecture states the property without a test; the shift experiment and both "
                "controls are ours: the stride-2 subsampled CNN (the verdict's control) and the "
                "unpooled CNN (the same conv stack flattened at 20x20x64, 3,370,890 parameters), "
                "trained here beside a max-pooled CNN under one budget and the same seeds.",
                "Profile quick: the three CNNs train on a fixed 20,000-image subset for 2 epochs "
                "of mnist-cnn's quick one-cycle schedule; shift curves on the first 2,000 test "
                "images. Paper: mnist-cnn's paper budget, all test images.",
            ),
        ),
        Claim(
            id="dropout",
            title="Dropout reduces overfitting",
            statement=(
                "Dropout reduces overfitting: where the lecture's MLP without dropout overfits, the "
                "same MLP with Dropout 0.2 overfits less (its test loss rises less from its "
                "minimum, and its train-test accuracy gap is smaller)."
            ),
            source="Slide 'Dropout' (Hinton, quoted: \"... and thus reduce overfitting\")",
            module="dropout",
            dataset="mnist",
            metric="loss_rise_reduction",
            metric_label=(
                "rise of the test loss from its lowest value to the last epoch, without dropout minus "
                "with dropout, paired by seed"
            ),
            quantity="test-loss rise from its minimum, without minus with dropout (cross-entropy, nats)",
            expected=0.0,
            criterion="greater_than",
            tolerance=0.0,
            min_effect=0.02,
            tolerance_reason=(
                "Overfitting is the loss on unseen digits turning up while training goes on, so the "
                "regime is one where the MLP without dropout does that: chosen on a validation split "
                "carved from the training digits (never the test set), among training subsets of "
                "10,000 and 3,000 digits for 60 epochs, as the one whose validation loss without "
                "dropout rose most by the end (3,000: 0.13 above its minimum at epoch 4; 10,000: "
                "0.05). Both MLPs train there with the same seeds; the rise without dropout minus "
                "the rise with it must be positive by a one-sided paired t-test over seeds at alpha "
                "0.05 and at least 0.02 (a third of the smallest rise the pilot saw). The train-test "
                "accuracy gap (training accuracy by evaluate, dropout off), without minus with, is "
                "judged beside it the same way (at least 0.2 points, the binomial standard error of "
                "one test accuracy). Gate: both MLPs reach 97% training accuracy."
            ),
            lecture_value=False,
            percent=False,
            gates=(Gate("train_accuracy_without_dropout", 0.97, "training accuracy without dropout, "
                        "every seed"),
                   Gate("train_accuracy_with_dropout", 0.97, "training accuracy with dropout, every seed")),
            also_judged=(StatTest("gap_reduction", "train-test accuracy gap without dropout minus with, "
                                  "paired by seed", 0.0, min_effect=0.002,
                                  quantity="train-test accuracy gap, without minus with dropout "
                                           "(accuracy as a fraction)"),),
            reported=("test_loss_rise_without_dropout", "test_loss_rise_with_dropout",
                      "gap_without_dropout", "gap_with_dropout"),
            pilot_seeds=(0, 1),
            pilot=(
                "The regime's pilot (the MLP without dropout on 10,000 and on 3,000 training digits "
                "for 60 epochs, validation loss on digits carved from the training set) ran before "
                "fc7223d and was not committed; its seeds were not recorded, so the package's "
                "default seed 0 is presumed. benchmarks/dropout_pilot.py re-creates it with seeds 0 "
                "and 1 (log benchmarks/dropout_pilot.json, page benchmarks/DROPOUT_PILOT.md)."
            ),
            figures=("dropout_curves",),
            deviations=(
                "The lecture shows no run without dropout; the control (the same MLP without its "
                "Dropout layers, 932,362 parameters either way) and the regime are ours: both MLPs "
                "train on a fixed random 3,000 of the 60,000 training digits for 60 epochs (Adam "
                "1e-3, batch 128), where the MLP without dropout overfits.",
                "Judged seeds 10-12 (quick and paper), disjoint from the pilot's 0-1. The first "
                "judged run (seeds 0-2, before the pilot's seeds were recorded) repeated the "
                "pilot's and is exploratory; this design, its thresholds and gates are unchanged.",
            ),
        ),
        Claim(
            id="cifar10-noaug",
            title="CIFAR-10 CNN without augmentation overfits",
            statement=(
                "Without data augmentation the VGG-like CNN (1,345,066 parameters) overfits "
                "CIFAR-10 (after 100 epochs 99.8% training but 81.5% test accuracy, its validation "
                "(test) loss rising to about 1.37), and augmentation 'helps reduce overfitting'."
            ),
            source=(
                "Slides 'Training Loss vs Validation Loss' and 'Data augmentation' ('helps reduce "
                "overfitting'); notebook CNN_with_Image_Augmentation.ipynb "
                "(marcinwolter/MachineLearning2020), first fit: no augmentation, 100 epochs"
            ),
            module="cifar10_noaug",
            dataset="cifar10",
            metric="gap_vs_aug",
            metric_label=(
                "train-test accuracy gap at the last epoch (both measured in inference mode) without "
                "augmentation minus with (cifar10-aug: same images, epochs and seeds), paired by seed"
            ),
            quantity="train-test accuracy gap, without minus with augmentation (accuracy as a fraction)",
            expected=0.0,
            criterion="greater_than",
            tolerance=0.0,
            min_effect=0.05,
            tolerance_reason=(
                "Overfitting is a network fitting its training images far better than unseen ones, "
                "its test loss turning up while the training loss keeps falling; the claim is that "
                "the network does so without augmentation and much less with it. The test is the "
                "comparison with cifar10-aug, the same model, all 50,000 training images, the same "
                "epochs and seeds with the lecture's augmentation: the train-test accuracy gap at "
                "the last epoch, without minus with, one-sided paired t-test over seeds at alpha "
                "0.05 (Holm over the profile's effect tests), at least 0.05. The quick profile "
                "stops at epoch 10; the notebook's curves there (training-mode accuracy, so only a "
                "guide) show gaps of 0.9342 - 0.7943 without and 0.7316 - 0.7604 with augmentation, "
                "a difference of 0.17, so a 0.05 minimum is a third of the lecture's own effect. "
                "The rise of the test loss from its lowest value to the last epoch, without minus "
                "with, is judged beside it the same way, at least 0.02 nats: at epoch 10 the "
                "notebook's unaugmented test loss stands 0.108 above its minimum (0.6416, epoch 5) "
                "and the augmented one 0.055 above its own, a small effect at this budget (0.70 at "
                "the notebook's 100 epochs). Whether the augmented network's test accuracy is above "
                "the unaugmented one's is reported, not judged: the notebook's curves cross only "
                "after epoch 12 (0.8035 against 0.7996 at epoch 13). Gate: both networks reach 60% "
                "training accuracy at the last epoch (inference mode; chance is 10%; the notebook's "
                "training-mode accuracy at epoch 10 is 0.73 with augmentation), or the gap compares "
                "networks that did not learn. The lecture's curves are drawn beside ours."
            ),
            lecture_value=False,
            percent=False,
            lecture_context=(
                "notebook, 100 epochs: test accuracy 0.8147, test loss 1.3711, train accuracy "
                "(evaluate) 0.9984; last epoch's training-mode accuracy 0.9956",
                "notebook: lowest test loss 0.6416 at epoch 5; test loss at the last epoch 1.3711 "
                "(a rise of 0.7295)",
                "notebook: train - test accuracy gap 0.184 (evaluate)",
                "notebook, epoch 10: training-mode accuracy 0.9342, test accuracy 0.7943, test loss "
                "0.7497 without augmentation; 0.7316, 0.7604 and 0.7339 (lowest so far 0.6789) with",
            ),
            gates=(Gate("train_accuracy", 0.60, "training accuracy without augmentation, every seed"),
                   Gate("aug_train_accuracy", 0.60, "training accuracy with augmentation (cifar10-aug), "
                        "every seed")),
            also_judged=(StatTest("loss_rise_vs_aug", "rise of the test loss from its lowest value to the "
                              "last epoch, without augmentation minus with, paired by seed", 0.0,
                              min_effect=0.02,
                              quantity="test-loss rise from its minimum, without minus with augmentation "
                                       "(cross-entropy, nats)"),),
            reported=("test_loss_rise", "aug_test_loss_rise", "train_test_gap", "aug_train_test_gap",
                      "test_accuracy_aug_minus_noaug"),
            requires=("cifar10-aug",),
            figures=("cifar10_images", "cifar10_aug_curves"),
            deviations=(
                "Batches are shuffled from (seed, epoch) so that a resumed run sees the same "
                "batches; the notebook used Keras's default shuffle.",
                "The quick profile trains on all 50,000 training images for the first 10 of the "
                "notebook's epochs (3 seeds, 13-15); the paper profile trains for 200 epochs, the "
                "augmented fit's length, where the notebook's unaugmented fit stopped at 100. "
                "Earlier designs: 12 epochs on 10,000 images (seeds 0-1), which tested the budget, "
                "not the lecture; then this budget on seeds 10-12 against cifar10-aug's four-layer "
                "augmentation (replicated, 0.144 +/- 0.010; commit beb4ff8's reference). The "
                "comparison arm changed to one composed transform (cifar10-aug), so both arms are "
                "rerun on fresh seeds.",
                "The inputs are standardised with the mean and std of the images trained on (the "
                "subset, where one is used).",
            ),
        ),
        Claim(
            id="cifar10-aug",
            title="CIFAR-10 CNN with augmentation reaches about 90%",
            statement=(
                "With data augmentation (flip, rotation, shift, zoom) the same CNN reaches 'about "
                "90% accuracy (with 10 classes of images)': 89.86% test and 96.0% train accuracy "
                "after 200 epochs."
            ),
            source=(
                "Slides 'Data augmentation' and 'Results'; notebook "
                "CNN_with_Image_Augmentation.ipynb (marcinwolter/MachineLearning2020), second "
                "fit: ImageDataGenerator, 200 epochs"
            ),
            module="cifar10_aug",
            dataset="cifar10",
            metric="test_accuracy_vs_notebook",
            metric_label=("test accuracy at the last epoch minus the notebook's augmented fit's test "
                          "accuracy at the same epoch"),
            quantity=("test accuracy at the last epoch minus the notebook's at that epoch (accuracy as a "
                      "fraction; 0: on the notebook's curve)"),
            expected=0.0,
            criterion="at_least",
            tolerance=0.03,
            tolerance_reason=(
                "The claim is the notebook's learning curve: 'about 90%' after 200 epochs (89.86%), "
                "and on the way there the test accuracy it printed after every epoch. A run of K "
                "epochs on all 50,000 training images is judged against the notebook's curve at "
                "epoch K (K = 10 in quick: 0.7604; K = 200 in paper: 0.8986): the mean over seeds "
                "of our last-epoch test accuracy minus the notebook's must be at least -0.03. "
                "Beside it, the band: the mean over epochs 1..K of ours minus the notebook's, per "
                "seed, must also average at least -0.03. Three points, because the notebook's curve "
                "is one run that moves by up to 2.5 points between neighbouring epochs around "
                "epoch 10 (0.7604 at 10, 0.7845 at 11; 6 points at epoch 4) and still by 1.35 "
                "points over its last 20 epochs (89.02% to 90.37%), and a 3-seed mean adds the "
                "spread between seeds. A run above the curve passes: the claim is that the recipe "
                "reaches the notebook's accuracy, not that it cannot do better. Gate: every seed "
                "reaches 60% training accuracy (evaluate on the unaugmented training images; "
                "chance is 10%)."
            ),
            lecture_value=False,
            percent=False,
            lecture_context=(
                "notebook, 200 epochs: test accuracy 0.8986, test loss 0.3260, train accuracy "
                "(evaluate) 0.9604",
                "notebook: test accuracy first reached 0.90 at epoch 147; highest 0.9052 at epoch 180",
                "notebook, epoch 10: test accuracy 0.7604, training-mode accuracy 0.7316",
                "notebook confusion matrix diagonal (airplane ... truck): 926 971 886 776 883 803 "
                "956 940 908 937; largest confusions cat->dog 65, dog->cat 78",
            ),
            gates=(Gate("train_accuracy", 0.60, "training accuracy of every seed (evaluate on the "
                        "unaugmented training images; chance is 10%)"),),
            also_judged=(StatTest("curve_vs_notebook", "test accuracy minus the notebook's at the same "
                              "epoch, mean over every epoch of the run", -0.03, kind="level",
                              quantity="test accuracy minus the notebook's, mean over epochs 1..K "
                                       "(accuracy as a fraction)"),),
            reported=("test_accuracy", "train_accuracy"),
            figures=("cifar10_augmented", "cifar10_aug_curves", "cifar10_confusion",
                     "cifar10_prediction_grid", "cifar10_per_class"),
            deviations=(
                "The notebook's ImageDataGenerator is rebuilt as one Keras layer inside the model "
                "(models.RandomAffine): per image, the generator's random rotation (+/-30 degrees), "
                "shifts (+/-0.2 of each side), zooms (0.75-1.25, x and y drawn independently) and "
                "horizontal flip composed into one affine transform, resampled once, bilinear "
                "with nearest fill; given the same parameters its images equal Keras's legacy "
                "ImageDataGenerator.apply_transform to 1e-4. It rotates and zooms about the "
                "image's centre, as today's Keras does; the keras-preprocessing of 2020 used a "
                "point one pixel off it in each axis (size / 2 + 0.5), a shift below one pixel "
                "beside the +/-6.4-pixel random shifts. flow()'s fresh batches per epoch become "
                "the same images transformed anew.",
                "Batches are shuffled from (seed, epoch), and the augmentation's random state is "
                "reset from (seed, epoch) at every epoch, so a resumed run repeats neither.",
                "The quick profile trains on all 50,000 images for the notebook's first 10 epochs "
                "(3 seeds, 13-15), the same budget as cifar10-noaug's quick run, and is judged "
                "against the notebook's curve there; the paper profile trains for the notebook's "
                "200 epochs. The first run of this budget (seeds 10-12, commit beb4ff8's "
                "reference) used four augmentation layers in a row (RandomRotation, RandomFlip, "
                "RandomTranslation, RandomZoom), which resample three times and fill the border "
                "anew each time: not reached (-0.073 +/- 0.026). That implementation was replaced "
                "for speed and fidelity (issue #21, item 2) and the claim is rerun on fresh seeds, "
                "registered before the run; thresholds and gates are unchanged.",
            ),
        ),
        Claim(
            id="cifar10-fast",
            title="The same CIFAR-10 CNN, a modern recipe: 90% in 15 epochs",
            statement=(
                "The lecture's CIFAR-10 CNN (1,345,066 parameters, unchanged) reaches the "
                "lecture's 'about 90%' test accuracy within 15 epochs, instead of the 147-200 "
                "epochs of the lecture's recipe, when trained with a modern recipe."
            ),
            source=(
                "Our test of the slide 'Results' ('About 90% accuracy'), notebook "
                "CNN_with_Image_Augmentation.ipynb; the recipe follows fast CIFAR-10 training "
                "practice (one-cycle SGD with Nesterov momentum, L2 on the kernels, label "
                "smoothing, flip and translate, weight averaging, test-time augmentation)"
            ),
            module="cifar10_fast",
            dataset="cifar10",
            metric="test_accuracy_tta",
            metric_label=("test accuracy with test-time augmentation (flips and 1-pixel shifts) of the "
                          "averaged weights after the last (15th) epoch"),
            expected=0.90,
            criterion="at_least",
            tolerance=0.0,
            tolerance_reason=(
                "A target we set, not a lecture number: 90% is the round number the lecture's slide "
                "promises, and the notebook's 89.86% falls just short of it; no slack is given."
            ),
            lecture_value=False,
            lecture_context=(
                "notebook, augmented recipe: 89.86% after 200 epochs; its test accuracy first "
                "reached 90% at epoch 147",
            ),
            gates=(Gate("train_accuracy", 0.80, "training accuracy of every seed (evaluate on the "
                        "unaugmented training images)"),),
            figures=("cifar10_fast_curves",),
            pilot_seeds=(0,),
            pilot=(
                "benchmarks/tune_cifar10_fast.py, log benchmarks/cifar10_fast_tuning.json "
                "(benchmarks/CIFAR10_FAST_TUNING.md): 12 recipe trials, all with seed 0, on a "
                "45,000 / 5,000 split of the training set."
            ),
            deviations=(
                "Not the lecture's recipe: SGD with Nesterov momentum 0.9, a linear warm-up over "
                "20% of the steps to 0.05 and a cosine decay to 0 at the end of epoch 15, an L2 "
                "penalty of 1e-3 on the conv and dense kernels only (keras.regularizers.L2, a "
                "gradient of 2e-3 w through the momentum; not on BatchNorm or biases), label "
                "smoothing 0.1, horizontal flips and shifts of up to 4 pixels (reflect fill) as "
                "layers inside the model, an exponential moving average of the weights (0.99 per "
                "step) put in place at the end with BatchNorm statistics recomputed on 10,000 "
                "training images, and the mean of the model's outputs over 6 views of each test "
                "image (unshifted and shifted 1 pixel up-left and down-right, each mirrored). The "
                "architecture and its 1,345,066 parameters are the lecture's.",
                "The recipe was chosen on a 45,000 / 5,000 split of the training set only (12 "
                "trials, 5 of them 15 epochs long, in bfloat16; benchmarks/CIFAR10_FAST_TUNING.md): "
                "90.64% validation accuracy; the first recipe (decoupled weight decay 5e-4 on every "
                "variable, about 10x weaker than the L2 penalty it was modelled on) underfitted.",
                "Epochs and seconds to 90% are read from the per-epoch test curve (the raw weights "
                "with flip test-time augmentation), for reporting only: the schedule always runs "
                "its 15 epochs. Seconds are training time only.",
                "The lecture's recipe runs beside it for the first seed only: 15 epochs in the "
                "paper profile, 1 epoch in quick (seconds per epoch and the first epoch's "
                "accuracy).",
            ),
        ),
        Claim(
            id="depth-width",
            title="Accuracy grows with depth (Goodfellow et al. 2014, Fig. 6.6)",
            statement=(
                "Test accuracy rises steadily with depth: from about 92.0% with 3 layers to about "
                "96.0% with 11 (Goodfellow et al. 2014 on SVHN, Deep Learning book Fig. 6.6)."
            ),
            source=(
                "Slides showing Figures 6.6 and 6.7 of Goodfellow, Bengio & Courville, Deep "
                "Learning (2016), with data from Goodfellow et al. 2014, 'Multi-digit Number "
                "Recognition from Street View Imagery using Deep Convolutional Neural Networks'"
            ),
            module="depth_width",
            dataset="cifar10",
            metric="spearman_rho",
            metric_label=(
                "Spearman rho of test accuracy (mean over seeds) against depth, over the depth "
                "series of 2-11 conv layers all with about 145k parameters"
            ),
            quantity="Spearman rho of mean test accuracy against depth (-1 to 1)",
            expected=0.0,
            criterion="greater_than",
            tolerance=0.0,
            test_method="given",
            p_metrics=("spearman_p_greater", "spearman_p_less"),
            test_label=("exact one-sided permutation test of rho over the six depths (720 orderings; "
                        "the smallest p is 1/720)"),
            tolerance_reason=(
                "The lecture's 92.0% -> 96.0% is on SVHN with networks of millions of parameters; "
                "what carries over is the sign: accuracy rising with depth at a fixed parameter "
                "count. What is matched is the parameter count, Fig. 6.7's x-axis (its 3-layer "
                "convolutional, 3-layer fully connected and 11-layer convolutional curves are read at "
                "equal parameters): every network of the depth series has 140k-150k parameters, its "
                "width chosen for it; compute per image is not matched (deeper networks cost more, as "
                "in the source). The head is the flatten + Dense 128 of the earlier sweeps, fixed "
                "before the judged runs (the global-average-pooling head was tried on one seed of an "
                "unconverged design only; benchmarks/DEPTH_DIAGNOSIS.md). rho is taken over the seed "
                "means of the six in-band depths and tested by an exact permutation test (scipy's "
                "asymptotic p means nothing for six points; at alpha 0.05 one-sided, rho must reach "
                "about 0.83, so no further minimum effect is set). n is the number of seeds per "
                "network. Gates: (1) convergence, as the lecture's figures compare trained-out "
                "networks: under the warm-up / stable / decay schedule the learning rate is held at "
                "its peak until the last fifth of the epochs, and for every in-band network the mean "
                "over seeds of its validation accuracy's mean over the fifth of the epochs before the "
                "decay minus its mean over the fifth before that (epochs 21-26 minus 15-20 of 32 in "
                "quick) must be at most 1 point, else the sweep compares networks still learning and "
                "the verdict is inconclusive (undertrained), whatever rho is; (2) every in-band "
                "network reaches 50% validation accuracy (BatchNorm in inference mode; a linear "
                "classifier on CIFAR-10 pixels gets about 40%). The design was chosen on validation "
                "images held out of the training set, seeds 100 and 101, by these gates and the "
                "budget (benchmarks/DEPTH_CONVERGENCE_PILOT.md); neither candidate met the pilot's rule, "
                "and the better one is registered with the gate unchanged (issue #23's fallback: an "
                "unconverged network makes the verdict inconclusive)."
            ),
            lecture_value=False,
            percent=False,
            gates=(Gate("min_val_accuracy_in_band", 0.50, "the lowest mean validation accuracy of the "
                        "in-band networks"),
                   Gate("minus_max_plateau_gain_in_band", -0.01, "minus the largest late rise of an "
                        "in-band network's validation accuracy in its stable phase (mean over seeds)")),
            reported=("spearman_rho_validation", "min_train_accuracy_in_band"),
            pilot_seeds=(0, 1, 100, 101),
            pilot=(
                "benchmarks/depth_diagnosis.py, log benchmarks/depth_diagnosis.json "
                "(benchmarks/DEPTH_DIAGNOSIS.md): the designs bn09, bn09-20k, bn09-flip-20k "
                "and gap-bn09-flip-20k on the in-band networks, seeds 0 and 1; "
                "benchmarks/depth_convergence_pilot.py, log benchmarks/depth_convergence_pilot.json "
                "(benchmarks/DEPTH_CONVERGENCE_PILOT.md): the convergence designs wsd-20e-16k, seed "
                "100 (not adopted), and wsd-32e-8k-b64, seed 101 (not adopted by the pilot's rule: the 9-layer "
                "network's late rise was +1.27 points on one seed and 3 seeds take 84 min; registered "
                "all the same, as the better of the two, so that the judged runs' gate decides)."
            ),
            lecture_context=(
                "Fig. 6.6 (SVHN): 92.0% with 3 layers, rising to 96.0% with 11",
                "Fig. 6.7 (SVHN): 3-layer convolutional and fully connected networks stop gaining "
                "(overfit) at about 20 M parameters; 11-layer convolutional ones still gain beyond 60 M",
            ),
            figures=("depth_accuracy", "params_accuracy", "convergence"),
            deviations=(
                "CIFAR-10 instead of SVHN (which cannot be downloaded here); --dataset "
                "svhn_cropped runs it through TensorFlow Datasets where it can.",
                "Networks of 0.1-3 M parameters instead of up to 60 M+, all of one plain "
                "architecture (3x3 conv + BatchNorm with momentum 0.9, three max-pools, Dense 128 or "
                "two wide Dense layers, a random horizontal flip in training); a curated list of 17 "
                "configurations (the 7 in-band ones in quick) instead of the paper's architectures.",
                "The tuner's objective is accuracy on a validation split carved from the "
                "training set; the test accuracy is measured once per execution after training.",
                "quick: 10,000 training images (2,000 of them for validation), 32 epochs at batch 64 "
                "(4,000 steps) under Adam's warm-up / stable / decay schedule, 3 seeds (10-12), all "
                "10,000 test images: small data trained to convergence rather than the source's full "
                "data; paper: all images, 30 epochs, the same schedule, 3 seeds per trial.",
                "The design (BatchNorm momentum 0.9, flip) was chosen on validation by a sanity gate "
                "and the budget (benchmarks/DEPTH_DIAGNOSIS.md), the problem size and schedule by the "
                "convergence gate (benchmarks/DEPTH_CONVERGENCE_PILOT.md); the first quick sweep's "
                "11-layer network scored chance because Keras's BatchNorm momentum 0.99 kept 18% of "
                "its initial statistics after 172 steps, and the earlier quick design (20,000 images, "
                "4 epochs, seeds 0-1) compared networks before they converged; its seeds repeated "
                "the diagnosis runs.",
            ),
        ),
        Claim(
            id="deep-vs-wide",
            title="Depth beats width at a matched parameter count (Fig. 6.7)",
            statement=(
                "Adding parameters without adding depth is far less effective: at the same number "
                "of parameters, the deep convolutional network beats shallow ones made wider, "
                "convolutional or fully connected (Goodfellow et al. 2014, Deep Learning book Fig. 6.7)."
            ),
            source=(
                "Slide showing Figure 6.7 of Deep Learning (Goodfellow, Bengio & Courville 2016), "
                "data from Goodfellow et al. 2014"
            ),
            module="deep_vs_wide",
            dataset="cifar10",
            metric="deep_margin",
            metric_label=(
                "test accuracy of the 11-layer network minus that of the in-band shallow network (3 "
                "conv layers, wider convolutions or wider fully connected layers) with the best mean "
                "validation accuracy, paired by seed; all at about 145k parameters"
            ),
            quantity="test accuracy of the 11-layer network minus the best shallow one (points)",
            expected=0.0,
            criterion="greater_than",
            tolerance=0.0,
            min_effect=0.01,
            tolerance_reason=(
                "The deepest network must beat the best shallow one at a matched parameter count. "
                "The rival is chosen on validation accuracy (the test set selects nothing); the "
                "margin per seed (the same seed trained both) must be positive by a one-sided paired "
                "t-test at alpha 0.05 and at least 1 accuracy point (the binomial standard error of "
                "one accuracy on 2,000 test images is about 1 point, about 0.4 on the 10,000 quick "
                "scores). The margin against each shallow family is reported beside it. Matched: the "
                "parameter count, as in Fig. 6.7 (see depth-width). Gates: as depth-width (every "
                "in-band network converged by the plateau gate, at most a 1-point late rise, and at "
                "least 50% validation accuracy)."
            ),
            lecture_value=False,
            percent=True,
            gates=(Gate("min_val_accuracy_in_band", 0.50, "the lowest mean validation accuracy of the "
                        "in-band networks"),
                   Gate("minus_max_plateau_gain_in_band", -0.01, "minus the largest late rise of an "
                        "in-band network's validation accuracy in its stable phase (mean over seeds)")),
            reported=("margin_shallow_conv", "margin_shallow_fc"),
            pilot_seeds=(0, 1, 100, 101),
            pilot=(
                "depth-width's pilots (benchmarks/depth_diagnosis.py, log "
                "benchmarks/depth_diagnosis.json, seeds 0 and 1; benchmarks/depth_convergence_pilot.py, "
                "log benchmarks/depth_convergence_pilot.json, seeds 100 and 101): the same in-band "
                "networks, whose table this claim reads."
            ),
            requires=("depth-width",),
            figures=(),
            deviations=(
                "Read from the depth-width sweep's table (no training of its own); see "
                "depth-width for the data, budget and architecture differences.",
            ),
        ),
        Claim(
            id="filters-layer1",
            title="First-layer filters become oriented edges and colour blobs",
            statement=(
                "First-layer filters capture low-level features such as oriented edges and blobs "
                "(colour blobs, gradients like those SIFT uses): trained filters are more "
                "structured than those of the same network trained on the same task with the "
                "images' spatial structure removed."
            ),
            source=(
                "Slide 'First layer filters' (AlexNet's 11x11x3 filters; Krizhevsky et al. 2012, "
                "Zeiler & Fergus 2014)"
            ),
            module="filters_layer1",
            dataset="cifar10",
            metric="structure_vs_permuted_pixels",
            metric_label=(
                "median spectral concentration of the first layer's 64 filters (edges and blobs), "
                "trained network minus its permuted-pixel control (same images, labels, budget, "
                "seed and augmentation), paired by seed"
            ),
            quantity=("median spectral concentration of a network's first-layer filters, trained "
                      "minus permuted-pixel control (0 to 1 scale; 0: no difference)"),
            expected=0.0,
            criterion="greater_than",
            tolerance=0.0,
            min_effect=0.05,
            tolerance_reason=(
                "The lecture credits the images' spatial structure, learnt for the task, for edges "
                "and blobs, so the control is the same network trained on the same images, labels, "
                "budget, seed and augmentation with one fixed permutation of the 32x32 pixel "
                "positions inside the model after the augmentation (models.PixelPermutation, seed "
                "in the claim's config): it keeps every pixel's colour and the labels' signal and "
                "learns (the pilot's control: 50% training accuracy at the quick budget), but its "
                "first layer never sees neighbouring pixels side by side. The unit of analysis is "
                "the network, not the filter (the filters of one network are not independent): "
                "each network's 64 first-layer filters are summarised by their median spectral "
                "concentration (1 minus the normalised entropy of the 2-D power spectrum), and the "
                "trained median minus the control's, per seed, must be positive by a one-sided "
                "paired t-test over seeds at alpha 0.05 and at least 0.05: about a ninth of the way "
                "from white noise (0.04, the initial filters) to a 7x7 Gabor edge (0.49), a third "
                "of the pilot's difference (seed 100: +0.136), and twenty times the spread of two "
                "random networks' medians (sd 0.0024). The colour half ('colour blobs') is judged "
                "beside it against random filters, which already have a colour share of about 2/3 "
                "(a smooth blob in one channel has exactly 2/3 too): per trained network, the share "
                "of its filters that are colour blobs (colour part more concentrated in frequency "
                "than 95% of random filters' and carrying at least a third of the filter's energy; "
                "replication.filters.colour_blobs) less the share of random filters that are, at "
                "least 0.10 (a tenth of the filters beyond chance: about 4 standard deviations of a "
                "random network's share, and a fifth of the pilot's). Gates: the trained network "
                "reaches 50% test accuracy, and the control reaches 30% training accuracy (evaluate "
                "mode; three times chance, below the 37% its pilot had after one epoch): a control "
                "that learned nothing (the old shuffled-label control's 11.4%) says nothing."
            ),
            lecture_value=False,
            percent=False,
            lecture_context=(
                "AlexNet's first layer: 96 filters of 11x11x3 on 224x224 ImageNet images "
                "(the slide shows 81 of them)",
            ),
            gates=(Gate("test_accuracy", 0.50, "test accuracy of the trained network, every seed"),
                   Gate("control_train_accuracy", 0.30, "training accuracy of the permuted-pixel "
                        "control (evaluate mode, all training images), every seed")),
            also_judged=(StatTest("colour_excess", "share of the trained network's first-layer "
                                  "filters that are colour blobs, less the share of random filters "
                                  "that are, per seed", 0.0, min_effect=0.10,
                                  quantity="share of first-layer filters that are colour blobs, "
                                           "trained less random filters (fraction of 64)"),),
            reported=("structure_median", "structure_median_permuted_pixels",
                      "structure_median_initial", "structure_vs_init",
                      "colour_excess_permuted_pixels", "colour_excess_initial",
                      "colour_share_excess", "colour_share_excess_permuted_pixels",
                      "structure_A_vs_permuted_pixels", "colour_A_vs_permuted_pixels",
                      "orientation_A_vs_permuted_pixels", "structure_A_vs_init", "colour_A_vs_init",
                      "control_test_accuracy", "cifar10_aug_structure_effect"),
            requires=("cifar10-aug",),
            figures=("filters_layer1", "filter_structure"),
            pilot_seeds=(0, 1, 100),
            pilot=("benchmarks/filters_control_pilot.py (seed 100; 0 and 1 were the earlier shuffled-label "
                   "design's runs), log benchmarks/filters_control_pilot.json, page "
                   "benchmarks/FILTERS_CONTROL_PILOT.md"),
            deviations=(
                "CIFAR-10 instead of ImageNet, so a smaller network: 64 filters of 7x7x3 with "
                "stride 2 (AlexNet: 96 of 11x11x3, stride 4, on 7x larger images), then two 3x3 "
                "conv layers and a linear classifier (models.filters_cnn), trained with Adam, "
                "flips and 4-pixel shifts.",
                "The structure measure is ours: 1 minus the normalised entropy of each filter's "
                "2-D power spectrum (replication.filters.spectral_concentration), summarised per "
                "network by its median; the colour-blob measure (replication.filters.colour_blobs) "
                "is ours too; orientation selectivity and the colour share alone are reported.",
                "The control, the same network seeing its images through one fixed permutation of "
                "the pixel positions (models.PixelPermutation), is ours.",
                "The 3x3 first-layer filters of the cifar10-aug model are shown and measured "
                "too, but only the 7x7 filters enter the verdict (3x3 is too small for "
                "orientation).",
            ),
        ),
        Claim(
            id="top-patches",
            title="Top-9 patches: each layer finds more complicated features",
            statement=(
                "The 9 image patches that activate a filter most show what it detects, and 'each "
                "layer is finding more and more complicated features': deeper units see larger "
                "patches and respond to parts of particular kinds of objects rather than to edges "
                "found everywhere."
            ),
            source=(
                "Slides 'Top 9 patches that activate each filter in layer 1' and 'Each layer is "
                "finding more and more complicated features' (Zeiler & Fergus 2014)"
            ),
            module="top_patches",
            dataset="cifar10",
            metric="purity_vs_untrained",
            metric_label=(
                "label purity of each last-conv-layer filter's top-9 test images (mean over its "
                "filters), trained network minus the same network untrained (same seed, same "
                "receptive fields)"
            ),
            quantity="top-9 label purity of the last conv layer, trained minus untrained (fraction of 9)",
            expected=0.0,
            criterion="greater_than",
            tolerance=0.0,
            min_effect=0.05,
            tolerance_reason=(
                "The slides show pictures; what can be tested is that the deepest filters respond "
                "to images of particular classes (a horse's head) rather than to what every class "
                "has (an edge). Receptive fields growing from 3 to 32 pixels can raise the purity "
                "of a filter's top 9 images by themselves, so the control is the same network "
                "untrained (the same architecture, seed and receptive fields). The network is the "
                "unit: per trained network, the mean purity of its last conv layer's filters minus "
                "the same for its untrained twin; one-sided paired t-test over seeds at alpha 0.05 "
                "(Holm over the profile's effect tests), at least 0.05 (half a top-9 image more of "
                "one class, against a chance purity near 0.29). The same difference for every "
                "probed layer, and the last-minus-first gain of both networks, are reported. The "
                "lecture's pictures come from a converged AlexNet, so the probed networks must have "
                "learned the task well: gate, every probed network reaches 80% test accuracy (the "
                "cifar10-fast models; the lecture's recipe reaches it only after about 13 epochs)."
            ),
            lecture_value=False,
            percent=False,
            gates=(Gate("source_test_accuracy", 0.80, "test accuracy of the probed cifar10-fast model, "
                        "every seed"),),
            reported=("purity_last_trained", "purity_last_untrained", "purity_gain",
                      "purity_gain_untrained"),
            requires=("cifar10-fast",),
            figures=("top_patches",),
            deviations=(
                "The lecture's pictures are from AlexNet on ImageNet; ours are from the lecture's "
                "own CIFAR-10 CNN (6 conv layers) as trained by cifar10-fast (the same network, a "
                "modern recipe, 15 epochs on all 50,000 images, seeds 10-12), searched over the "
                "10,000 test images.",
                "One patch per image: each filter's top 9 are 9 different images, each at the "
                "position where that filter fires hardest; patches are cropped to the unit's "
                "receptive field, computed from the architecture (replication.filters).",
                "'More complicated' is measured as class purity of the top images, a proxy we "
                "chose; the receptive-field sizes are reported per layer.",
            ),
        ),
        Claim(
            id="alexnet",
            title="AlexNet has 8 layers and about 60 M parameters",
            statement=(
                "Krizhevsky et al.'s network has 8 weight layers in total (5 convolutional, 3 "
                "fully connected) and about 60 million parameters; trained on ImageNet, it had "
                "18.2% top-5 error."
            ),
            source="Slide 'Architecture of Alex Krizhevsky et al.' (Krizhevsky, Sutskever & Hinton 2012)",
            module="alexnet",
            dataset="imagenet",
            metric="weight_layers",
            metric_label="weight layers (conv + fully connected)",
            expected=8,
            criterion="within",
            tolerance=0.0,
            tolerance_reason="A count: it matches exactly or not at all.",
            percent=False,
            lecture_context=(
                "paper: about 60 million parameters, 650,000 neurons; 18.2% top-5 error on "
                "ImageNet (ILSVRC-2012 validation, 1 CNN)",
            ),
            figures=(),
            structure_only=True,
            needs_data=False,
            deviations=(
                "Structure only: ImageNet (about 150 GB, 1.2 M images) cannot be downloaded here "
                "and training AlexNet takes days of GPU time, so the 18.2% is not re-tested.",
                "Built as one tower (62,378,344 parameters); the paper's two-GPU grouped "
                "convolutions (conv2, conv4, conv5 split in two) are built too and counted "
                "(60,965,224), but TensorFlow's CPU kernels cannot run them.",
                "No local response normalisation (no Keras layer; it has no parameters); inputs "
                "227x227, the size the paper's arithmetic needs.",
            ),
        ),
    )
}


# The family of effect tests over which each profile's effect rows are adjusted (Holm; the module
# docstring says which tests and why): "<claim id>:<metric>" of every effect test, primary and
# also-judged, of every claim that is judged (not structure only).
EFFECT_FAMILY: tuple[str, ...] = tuple(
    f"{c.id}:{t.metric}" for c in CLAIMS.values() if not c.structure_only
    for t in (c.test, *c.also_judged) if t.kind == "effect")


# The side-by-side precision check (issue #17), registered before its runs: each claim run with the
# same config and seeds in float32 and in bfloat16 (Keras's mixed_bfloat16 policy) must give means of
# its metric (accuracy as a fraction) that differ by at most its margin. The margins are about 2.5
# standard errors of the difference of two 3-seed means from test-set sampling alone (binomial:
# 0.08 points per run near 99.4% on MNIST's 10,000 test digits, 0.3 points near 90% on CIFAR-10's),
# rounded up: a precision that moved a mean by more would change what a reader concludes.
# filters-layer1 (issue #21, item 5: a CIFAR-10 comparison claim; registered at stop 33, before its
# float32 run; its bfloat16 quick reference, seeds 10-12, was already committed): 0.01 on its 0-1
# scale, the same rule with each network's median varying as two random networks' medians do (sd
# 0.0024, the entry's own figure: 2.5 x 0.0024 x sqrt(2) x sqrt(2/3) = 0.007), rounded up; a fifth of
# the claim's minimum effect (0.05). cifar10-aug (its prerequisite, so trained in float32 first, and
# registered with it; its metric is the last epoch's test accuracy less a constant, the notebook's;
# its bfloat16 quick reference, seeds 13-15, was committed before too): 0.01, the MNIST rule near the
# notebook's 76% at epoch 10 (0.43 points per run; 2.5 x 0.43 x sqrt(2/3) = 0.87 points), rounded up.
# Checked by `python -m replication precision-check`.
PRECISION_CHECK_MARGINS = {"mnist-cnn": 0.003, "cifar10-fast": 0.006, "cifar10-aug": 0.01,
                           "filters-layer1": 0.01}


# Per-class correct counts (the confusion matrix's diagonal; 1,000 test images per class) printed by
# the lecture's notebooks, keyed by claim: for figures that set ours beside the lecture's.
LECTURE_CONFUSION_DIAGONALS: dict[str, tuple[int, ...]] = {
    "cifar10-aug": (926, 971, 886, 776, 883, 803, 956, 940, 908, 937),
}

# The test accuracy that the bench's time-to-accuracy runs aim at (replication/bench.py): each
# notebook's own final test accuracy as printed (mnist_mlp after 10 epochs, mnist_cnn's
# DeepLearning_2020 copy after 20, both in their claims' lecture_context above), and for CIFAR-10
# the augmented notebook's 200-epoch result (cifar10-aug's lecture_context; its last curve point).
BENCH_TARGETS = {"mnist-mlp": 0.9815, "mnist-cnn": 0.9937, "cifar10": 0.8986}


def get(claim_id: str) -> Claim:
    if claim_id not in CLAIMS:
        raise ReplicationError(f"unknown claim {claim_id!r}; known: {', '.join(CLAIMS)}")
    return CLAIMS[claim_id]
