"""Dropout "reduce[s] overfitting": the MLP without dropout overfits more than the same MLP with it.

Lecture: slide "Dropout" ("randomly removing a different subset of neurons on each example would
prevent conspiracies and thus reduce overfitting", Hinton, quoted on the slide).
Test: the lecture's MLP (:func:`replication.models.mlp`, 932,362 parameters with or without its
three Dropout(0.2) layers) is trained here twice per seed, with and without dropout, in a regime
where the MLP without dropout visibly overfits: a fixed subset of the training digits and enough
epochs for its loss on held-out digits to turn up (chosen on a validation split carved from the
training set, never on the test set; see the registry's deviations). Overfitting is measured two
ways after the last epoch: how far the test loss has risen from its lowest value in the run, and
the gap between training accuracy (``evaluate`` on the training images, dropout off) and test
accuracy. Per seed k: without dropout minus with dropout.
Tested by: registry entry ``dropout`` (the loss rise's difference, one-sided paired t-test over
seeds; the gap's difference judged beside it).
Figures: ``figures/dropout/plot_dropout_curves.py``.
Tests: ``tests/claims/test_dropout.py``.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "mnist"
    # Each seed trains both MLPs (paired by seed); disjoint from the pilot's 0-1 (registry pilot_seeds).
    seeds: tuple[int, ...] = (10, 11, 12)
    # The regime, chosen on a validation split (see the registry entry): a fixed random subset of
    # the training digits, and enough epochs for the MLP without dropout to overfit it.
    n_train: int | None = 3_000
    epochs: int = 60
    batch_size: int = 128
    learning_rate: float = 1e-3  # Adam, constant, as in the notebook
    dropout: float = 0.2  # the lecture's rate
    n_test: int | None = None  # None: all 10,000 test digits


PROFILES = {
    "paper": Config(),
    # 3,000 digits and the per-epoch test curve on 10,000: 2 MLPs x 3 seeds x 60 epochs take about
    # 6-8 minutes on a 100 GFLOP/s CPU.
    "quick": Config(),
    "smoke": Config(seeds=(0,), n_train=512, epochs=2, n_test=512),
}


def loss_rise(history: dict) -> float:
    """How far the last epoch's test loss lies above the lowest one of the run (0 if it is the lowest)."""
    losses = history["test_loss"]
    return float(losses[-1] - min(losses))


def planned_work(config: Config, n_train: int | None = None, n_test: int | None = None) -> list:
    """What :func:`run` trains and scores (:class:`replication.flops.Work`), from the config alone:
    the MLP without and with dropout, every seed each (test curve, evaluate on both splits, no
    saved predictions). ``n_train``/``n_test``: the loaded dataset's split sizes before the
    config's subsets (None: MNIST's 60,000 / 10,000)."""
    from .. import flops, models
    from ..data import DATASETS

    spec = DATASETS[config.dataset]
    ntr, nte = flops.split_sizes(config.dataset, n_train, n_test, config.n_train, config.n_test)
    per_seed = flops.fit_seed_eval_images(ntr, nte, config.epochs, evaluate_train=True,
                                          keep_predictions=False)

    def work(name, rate):
        return flops.Work(name, lambda: models.mlp(spec.image_shape, len(spec.class_names), dropout=rate),
                          train_images=len(config.seeds) * config.epochs * ntr,
                          eval_images=len(config.seeds) * per_seed)

    return [work("without_dropout", 0.0), work("with_dropout", config.dropout)]


def run(config: Config, ctx) -> dict:
    from .. import models, optimizers, training
    from ..data import Preprocess

    data = ctx.dataset(config.dataset).subset(config.n_train, config.n_test)
    preprocess = Preprocess()  # x / 255, as in the notebook

    def train(rate: float, folder: str):
        return training.fit_seeds(
            ctx, lambda: models.mlp(data.image_shape, data.num_classes, dropout=rate), data, preprocess,
            seeds=config.seeds, epochs=config.epochs, batch_size=config.batch_size,
            optimizer=optimizers.adam(config.learning_rate), folder=folder, evaluate_train=True,
            keep_predictions=False)

    runs = {"without_dropout": train(0.0, "without_dropout"),
            "with_dropout": train(config.dropout, "with_dropout")}

    def per_seed(fn, variant):
        return [fn(r) for _, r in runs[variant]]

    def gap(r):
        return r["train_accuracy"] - r["test_accuracy"]

    def rise(r):
        return loss_rise(r["history"])

    metrics = {}
    for variant in runs:
        metrics[f"test_loss_rise_{variant}"] = per_seed(rise, variant)
        metrics[f"gap_{variant}"] = per_seed(gap, variant)
        for key in ("train_accuracy", "test_accuracy", "test_loss"):
            metrics[f"{key}_{variant}"] = per_seed(lambda r, key=key: r[key], variant)
    return {
        "metrics": {
            # Paired by seed: the same seed (initial weights, batches) trained both MLPs.
            "loss_rise_reduction": [a - b for a, b in zip(metrics["test_loss_rise_without_dropout"],
                                                          metrics["test_loss_rise_with_dropout"], strict=True)],
            "gap_reduction": [a - b for a, b in zip(metrics["gap_without_dropout"],
                                                    metrics["gap_with_dropout"], strict=True)],
            **metrics,
        },
        **training.seed_block(runs["without_dropout"], suffix="_without_dropout"),
        **{k: v for k, v in training.seed_block(runs["with_dropout"], suffix="_with_dropout").items()
           if not k.startswith("params")},
        "class_names": list(data.class_names),
        "data": data.provenance(),
    }
