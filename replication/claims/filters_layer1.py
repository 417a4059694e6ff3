"""First-layer filters "capture low-level features like oriented edges and blobs".

Lecture: slide "First layer filters" (AlexNet's 11x11x3 filters; Zeiler & Fergus 2014).
Test: a small CIFAR-10 CNN whose first layer has 64 filters of 7x7x3 with stride 2
(:func:`replication.models.filters_cnn`) is trained, and every first-layer filter is scored by its
spectral concentration (:func:`replication.filters.spectral_concentration`: 1 - the normalised
entropy of its 2-D power spectrum; noise spreads power over all frequencies, an edge or a blob puts
it in a few), and by its colour share (:func:`replication.filters.colour_share`: "colour blobs").
The control is the same network trained on the same images, budget and seed with the training
labels shuffled: what it learns comes from the images and the optimiser, not from the task. The
filters at initialisation (saved when the model is built) and the 3x3 first-layer filters of the
trained ``cifar10-aug`` model are measured and shown beside them, but do not enter the verdict.
Tested by: registry entry ``filters-layer1`` (Vargha-Delaney A of spectral concentration, trained vs
control, per seed, with a one-sided Mann-Whitney test over the filters; the colour share judged
beside it the same way).
Figures: ``figures/filters_layer1/plot_filters_layer1.py``,
``figures/filters_layer1/plot_filter_structure.py``.
Tests: ``tests/claims/test_filters_layer1.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "cifar10"
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 30
    batch_size: int = 128
    peak_learning_rate: float = 2e-3  # Adam, one-cycle (optimizers.one_cycle)
    filters: int = 64
    kernel: int = 7
    stride: int = 2
    augmentation: str = "flip_translate"
    n_train: int | None = None
    n_test: int | None = None


PROFILES = {
    "paper": Config(),
    # ~1/3 of the lecture CNN's work per image: about 80-100 s per epoch on all 50,000 images on a
    # 100 GFLOP/s CPU, so 4 epochs for 2 seeds, each with its shuffled-label control, take about
    # 50 minutes there (about 12 on a 450 GFLOP/s AVX-512 one).
    "quick": Config(seeds=(0, 1), epochs=4),
    "smoke": Config(seeds=(0,), epochs=1, n_train=512, n_test=256),
}

INITIAL = "initial_conv1.npz"


def _first_conv(model):
    from ..filters import conv_layers

    return np.asarray(conv_layers(model)[0].kernel)


def shuffled_labels(data, seed: int):
    """The same images with the training labels permuted (a fixed permutation per seed): a network
    trained on them learns from the images and the optimiser, not from the task."""
    import dataclasses as dc

    from ..data import Split

    perm = np.random.default_rng([int(seed), 7919]).permutation(len(data.train))
    return dc.replace(data, train=Split(data.train.x, data.train.y[perm]))


def planned_work(config: Config, n_train: int | None = None, n_test: int | None = None) -> list:
    """What :func:`run` trains and scores (:class:`replication.flops.Work`), from the config alone:
    per seed the trained network (its test curve and evaluate) and its shuffled-label control (no
    test curve; evaluate on both splits). The ``cifar10-aug`` models it reads are only built and
    loaded here (their work is counted in that claim's result). ``n_train``/``n_test``: the loaded
    dataset's split sizes before the config's subsets (None: CIFAR-10's 50,000 / 10,000)."""
    from .. import flops, models
    from ..data import DATASETS

    spec = DATASETS[config.dataset]
    ntr, nte = flops.split_sizes(config.dataset, n_train, n_test, config.n_train, config.n_test)
    seeds = len(config.seeds)

    def build():
        return models.filters_cnn(spec.image_shape, len(spec.class_names), filters=config.filters,
                                  kernel=config.kernel, stride=config.stride,
                                  augmentation=config.augmentation)

    trained = flops.fit_seed_eval_images(ntr, nte, config.epochs, keep_predictions=False)
    control = flops.fit_seed_eval_images(ntr, nte, config.epochs, evaluate_train=True,
                                         curve_on_test=False, keep_predictions=False)
    return [flops.Work("filters_cnn trained", build, seeds * config.epochs * ntr, seeds * trained),
            flops.Work("filters_cnn shuffled_labels", build, seeds * config.epochs * ntr,
                       seeds * control)]


def run(config: Config, ctx) -> dict:
    from .. import hardware, models, optimizers, results, training
    from ..data import Preprocess
    from ..filters import structure_stats

    data = ctx.dataset(config.dataset).subset(config.n_train, config.n_test)
    preprocess = Preprocess.standardize_from(data.train)

    def train(seed, train_data, folder):
        run_dir = ctx.run_dir(folder, f"seed{seed}")

        def build():
            model = models.filters_cnn(data.image_shape, data.num_classes, filters=config.filters,
                                       kernel=config.kernel, stride=config.stride,
                                       augmentation=config.augmentation)
            if not (run_dir / INITIAL).exists():  # the filters as built, before any step
                results.atomic_save_npz(run_dir / INITIAL, kernel=_first_conv(model))
            return model

        (d, record), = training.fit_seeds(
            ctx, build, train_data, preprocess, seeds=(seed,), epochs=config.epochs,
            batch_size=config.batch_size, keep_predictions=False, folder=folder,
            # The control: its training accuracy (how much it memorised), no per-epoch test curve.
            evaluate_train=folder == "shuffled_labels", curve_on_test=folder != "shuffled_labels",
            optimizer=optimizers.one_cycle(config.peak_learning_rate))
        with np.load(d / INITIAL) as f:
            initial = f["kernel"]
        return d, record, _first_conv(training.load_model(d, record)), initial

    records, controls, stats, versus = [], [], [], []
    for seed in config.seeds:
        trained = train(seed, data, "")
        control = train(seed, shuffled_labels(data, seed), "shuffled_labels")
        records.append(trained)
        controls.append(control)
        stats.append(structure_stats(trained[2], trained[3]))  # against the initial filters
        # Against the shuffled-label control, both ways (the verdict is one-sided either way).
        control_stats = structure_stats(trained[2], control[2])
        reverse = structure_stats(control[2], trained[2])
        versus.append({name: {**control_stats[name], "p_value_less": reverse[name]["p_value"]}
                       for name in control_stats})

    # The lecture's CIFAR model (cifar10-aug): its 3x3 first layer, trained and freshly initialised.
    aug = []
    aug_source = ctx.prerequisite("cifar10-aug")
    for d, record in aug_source.runs():
        trained = _first_conv(training.load_model(d, record))
        training.set_seed(record["seed"])
        with hardware.distribution_scope():
            fresh = models.cifar10_vgg(data.image_shape, data.num_classes,
                                       augmentation=aug_source.config.get("augmentation"))
        initial = _first_conv(fresh)
        aug.append({"seed": record["seed"], "trained": trained, "initial": initial,
                    "stats": structure_stats(trained, initial)})

    def effect(s, name):
        return s[name]["A"]

    first = records[0]
    return {
        "metrics": {
            "structure_vs_shuffled": [effect(v, "spectral_concentration") for v in versus],
            "structure_p_greater": [v["spectral_concentration"]["p_value"] for v in versus],
            "structure_p_less": [v["spectral_concentration"]["p_value_less"] for v in versus],
            "colour_vs_shuffled": [effect(v, "colour_share") for v in versus],
            "colour_p_greater": [v["colour_share"]["p_value"] for v in versus],
            "colour_p_less": [v["colour_share"]["p_value_less"] for v in versus],
            "orientation_vs_shuffled": [effect(v, "orientation_selectivity") for v in versus],
            "structure_vs_init": [effect(s, "spectral_concentration") for s in stats],
            "colour_vs_init": [effect(s, "colour_share") for s in stats],
            "orientation_vs_init": [effect(s, "orientation_selectivity") for s in stats],
            "test_accuracy": [r["test_accuracy"] for _, r, _, _ in records],
            "control_test_accuracy": [r["test_accuracy"] for _, r, _, _ in controls],
            "control_train_accuracy": [r["train_accuracy"] for _, r, _, _ in controls],
            "cifar10_aug_structure_effect": [effect(a["stats"], "spectral_concentration") for a in aug],
        },
        "structure": [{"seed": r["seed"], **s} for (_, r, _, _), s in zip(records, stats, strict=True)],
        "versus_shuffled_labels": [{"seed": r["seed"], **v}
                                   for (_, r, _, _), v in zip(records, versus, strict=True)],
        "control": training.seed_block([(d, r) for d, r, _, _ in controls], suffix="_shuffled_labels"),
        "cifar10_aug_structure": [{"seed": a["seed"], **a["stats"]} for a in aug],
        "cifar10_aug_profile": aug_source.result.get("profile"),
        **training.seed_block([(d, r) for d, r, _, _ in records]),
        "class_names": list(data.class_names),
        "data": data.provenance(),
        "arrays": {
            "trained_kernels": first[2].astype("float32"),
            "initial_kernels": first[3].astype("float32"),
            "shuffled_label_kernels": controls[0][2].astype("float32"),
            **({"cifar10_aug_kernels": aug[0]["trained"].astype("float32"),
                "cifar10_aug_initial_kernels": aug[0]["initial"].astype("float32")} if aug else {}),
        },
    }
