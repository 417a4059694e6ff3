"""The MLP on MNIST (932,362 parameters) reaches the lecture's test accuracy.

Lecture: slide "We have designed a net to identify hand-written digits" and notebook
``mnist_mlp.ipynb`` (its header's 20-epoch number, and what it printed after 10; the numbers:
registry entry ``mnist-mlp``).
Tested by: registry entry ``mnist-mlp`` (last-epoch test accuracy, mean over seeds).
Figures: ``figures/mnist_mlp/plot_mnist_digits.py``, ``figures/mnist_mlp/plot_mnist_mlp_curves.py``,
``figures/mnist_mlp/plot_mlp_first_layer_weights.py``.
Tests: ``tests/claims/test_mnist_mlp.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "mnist"
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 20  # the notebook header's 20 epochs
    batch_size: int = 128
    learning_rate: float = 1e-3  # Adam, constant, as in the notebook
    dropout: float = 0.2
    n_train: int | None = None  # None: all 60,000 training digits
    n_test: int | None = None  # None: all 10,000 test digits


PROFILES = {
    "paper": Config(),
    # ~9 s per epoch on a 100 GFLOP/s 2-core CPU: 3 seeds x 20 epochs are about 9-10 minutes.
    "quick": Config(),
    "smoke": Config(seeds=(0,), epochs=1, n_train=1024, n_test=512),
}


def planned_work(config: Config, n_train: int | None = None, n_test: int | None = None) -> list:
    """What :func:`run` trains and scores (:class:`replication.flops.Work`), from the config alone:
    the MLP, every seed; its test curve, evaluate on both splits and the saved predictions.
    ``n_train``/``n_test``: the loaded dataset's split sizes before the config's subsets (None:
    MNIST's 60,000 / 10,000)."""
    from .. import flops, models
    from ..data import DATASETS

    spec = DATASETS[config.dataset]
    ntr, nte = flops.split_sizes(config.dataset, n_train, n_test, config.n_train, config.n_test)
    per_seed = flops.fit_seed_eval_images(ntr, nte, config.epochs, evaluate_train=True)
    return [flops.Work(
        "mlp", lambda: models.mlp(spec.image_shape, len(spec.class_names), dropout=config.dropout),
        train_images=len(config.seeds) * config.epochs * ntr,
        eval_images=len(config.seeds) * per_seed)]


def run(config: Config, ctx) -> dict:
    from .. import models, optimizers, training
    from ..data import Preprocess

    data = ctx.dataset(config.dataset).subset(config.n_train, config.n_test)
    preprocess = Preprocess()  # x / 255, as in the notebook

    def build():
        return models.mlp(data.image_shape, data.num_classes, dropout=config.dropout)

    records = training.fit_seeds(
        ctx, build, data, preprocess, seeds=config.seeds, epochs=config.epochs,
        batch_size=config.batch_size, optimizer=optimizers.adam(config.learning_rate),
        evaluate_train=True)

    model = training.load_model(*records[0])
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
    # The first layer's weights, one 28x28 image per hidden unit (the first 100 units).
    w1 = np.asarray(dense[0].get_weights()[0])[:, :100].T.reshape(-1, *data.image_shape[:2])
    preds = np.stack([training.load_test_probs(d, r).argmax(1) for d, r in records]).astype("int8")
    return {
        "metrics": training.per_seed(records, "test_accuracy", "test_loss", "train_accuracy"),
        **training.seed_block(records),
        "params_per_layer": training.layer_params(model),
        "class_names": list(data.class_names),
        "data": data.provenance(),
        "arrays": {
            "sample_images": data.train.x[:100, ..., 0],
            "sample_labels": data.train.y[:100].astype("int8"),
            "test_labels": data.test.y.astype("int8"),
            "test_predictions": preds,  # (seeds, n_test)
            "first_layer_weights": w1.astype("float32"),
        },
    }
