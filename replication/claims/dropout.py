"""Dropout "reduce[s] overfitting": the MLP with dropout overfits less than the same MLP without.

Lecture: slide "Dropout" ("randomly removing a different subset of neurons on each example would
prevent conspiracies and thus reduce overfitting", Hinton, quoted on the slide).
Test: the lecture's MLP without its three Dropout(0.2) layers (still 932,362 parameters: dropout
has none) is trained here under mnist-mlp's budget for the same profile; the MLP with dropout is
``mnist-mlp``'s, reused. Overfitting is the gap between training accuracy (``evaluate``
on the training set, dropout off) and test accuracy after the last epoch; per seed k the gap without
dropout minus the gap with dropout (seed k of mnist-mlp). The test loss per epoch of both is kept.
Tested by: registry entry ``dropout`` (that difference, mean over seeds; it must be positive).
Figures: ``figures/plot_dropout_curves.py``.
"""

from __future__ import annotations

import dataclasses

from . import mnist_mlp

# The training settings the control must share with mnist-mlp.
BUDGET_FIELDS = ("epochs", "batch_size", "learning_rate", "n_train", "n_test")


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "mnist"
    seeds: tuple[int, ...] = (0, 1, 2)  # each must also be a seed of mnist-mlp
    # The control's training budget: always mnist-mlp's for the same profile (see _same_budget).
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 1e-3  # Adam, constant
    n_train: int | None = None
    n_test: int | None = None


def _same_budget(profile: str, **changes) -> Config:
    mlp = mnist_mlp.PROFILES[profile]
    return Config(**{f: getattr(mlp, f) for f in BUDGET_FIELDS}, seeds=mlp.seeds, **changes)


PROFILES = {
    "paper": _same_budget("paper"),
    # ~8 s per epoch on 2 CPU cores: 2 seeds x 20 epochs is about 6 minutes.
    "quick": _same_budget("quick"),
    "smoke": _same_budget("smoke"),
}


def run(config: Config, ctx) -> dict:
    from .. import models, optimizers, training
    from ..data import Preprocess
    from ..errors import ReplicationError

    mlp = ctx.prerequisite("mnist-mlp")
    for field in BUDGET_FIELDS:
        if mlp.config.get(field) != getattr(config, field):
            raise ReplicationError(f"the MLP without dropout must train under mnist-mlp's budget: "
                                   f"{field} is {getattr(config, field)!r} here, "
                                   f"{mlp.config.get(field)!r} in mnist-mlp")
    with_dropout = {seed: r for seed, (_, r) in mlp.runs_by_seed().items()}
    missing = [s for s in config.seeds if s not in with_dropout]
    if missing:
        raise ReplicationError(f"seeds {missing} have no MLP with dropout in mnist-mlp "
                               f"(seeds {sorted(with_dropout)})")

    data = ctx.dataset(config.dataset).subset(config.n_train, config.n_test)
    preprocess = Preprocess()  # x / 255, as in the notebook

    def build():
        return models.mlp(data.image_shape, data.num_classes, dropout=0.0)

    without_runs = training.fit_seeds(
        ctx, build, data, preprocess, seeds=config.seeds, epochs=config.epochs,
        batch_size=config.batch_size, optimizer=optimizers.adam(config.learning_rate),
        evaluate_train=True, keep_predictions=False)
    without = [record for _, record in without_runs]
    with_ = [with_dropout[s] for s in config.seeds]

    def gap(r):
        return r["train_accuracy"] - r["test_accuracy"]

    return {
        "metrics": {
            "gap_reduction": [gap(n) - gap(w) for n, w in zip(without, with_, strict=True)],
            "gap_without_dropout": [gap(r) for r in without],
            "gap_with_dropout": [gap(r) for r in with_],
            "test_accuracy_without_dropout": [r["test_accuracy"] for r in without],
            "test_accuracy_with_dropout": [r["test_accuracy"] for r in with_],
            "test_loss_without_dropout": [r["test_loss"] for r in without],
            "test_loss_with_dropout": [r["test_loss"] for r in with_],
        },
        **training.seed_block(without_runs, suffix="_without_dropout"),
        "histories_with_dropout": [r["history"] for r in with_],
        "class_names": list(data.class_names),
        "data": data.provenance(),
    }
