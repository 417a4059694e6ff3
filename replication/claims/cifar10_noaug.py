"""Without augmentation the VGG-like CNN (1,345,066 parameters) overfits CIFAR-10.

Lecture: slides "Training Loss vs Validation Loss" and "Data augmentation", notebook
``CNN_with_Image_Augmentation.ipynb`` (first fit, 100 epochs: 99.8% train and 81.5% test accuracy;
its test loss bottoms out at epoch 5 and climbs to 1.37). Model: :func:`replication.models.cifar10_vgg`.
Tested by: registry entry ``cifar10-noaug`` (how far the last epoch's test loss has risen above its
minimum; the lecture's accuracies are recorded beside it). The same training code, with the
augmentation layers, runs ``cifar10-aug`` (:mod:`replication.claims.cifar10_aug`).
Figures: ``figures/plot_cifar10_images.py``, ``figures/plot_cifar10_aug_curves.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "cifar10"
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 100  # the notebook's first fit
    batch_size: int = 128
    learning_rate: float = 1e-3  # Adam, constant, as in the notebook
    augmentation: str | None = None  # None, or "lecture" (models.cifar10_augmentation)
    n_train: int | None = None  # None: all 50,000 training images; else a fixed random subset
    n_test: int | None = None  # None: all 10,000 test images


PROFILES = {
    "paper": Config(),
    # ~49 s per epoch on 10,000 images on 2 CPU cores, +~16 s for the per-epoch test curve on all
    # 10,000 test images: 12 epochs are about 14 minutes. On all 50,000 images the test loss turns
    # up only after ~8 epochs (>30 minutes); on a fifth of them it turns sooner.
    "quick": Config(seeds=(0,), epochs=12, n_train=10_000),
    "smoke": Config(seeds=(0,), epochs=1, n_train=512, n_test=256),
}


def test_loss_rise(history: dict) -> float:
    """How far the last epoch's test loss lies above the lowest one of the run (0 if it is the lowest)."""
    losses = history["test_loss"]
    return float(losses[-1] - min(losses))


def train_and_measure(config: Config, ctx) -> tuple[dict, list]:
    """Train the lecture's model with its recipe (Adam, batch 128, standardised inputs) for every
    seed; return (the claim's measured dict, [(run folder, record), ...])."""
    from .. import models, optimizers, training
    from ..data import Preprocess

    data = ctx.dataset(config.dataset).subset(config.n_train, config.n_test)
    # The notebook: (x - mean) / std with the training set's global mean and std.
    preprocess = Preprocess.standardize_from(data.train)

    def build():
        return models.cifar10_vgg(data.image_shape, data.num_classes, augmentation=config.augmentation)

    records = training.fit_seeds(
        ctx, build, data, preprocess, seeds=config.seeds, epochs=config.epochs,
        batch_size=config.batch_size, optimizer=optimizers.adam(config.learning_rate),
        evaluate_train=True)

    model = training.load_model(*records[0])
    probs = [training.load_test_probs(d, r) for d, r in records]
    n_grid = min(100, len(data.test))
    out = {
        "metrics": {
            "test_loss_rise": [test_loss_rise(r["history"]) for _, r in records],
            "train_test_gap": [r["train_accuracy"] - r["test_accuracy"] for _, r in records],
            "test_accuracy": [r["test_accuracy"] for _, r in records],
            "test_loss": [r["test_loss"] for _, r in records],
            "train_accuracy": [r["train_accuracy"] for _, r in records],
            "train_loss": [r["train_loss"] for _, r in records],
            "min_test_loss": [min(r["history"]["test_loss"]) for _, r in records],
            "min_test_loss_epoch": [int(np.argmin(r["history"]["test_loss"])) + 1 for _, r in records],
        },
        **training.seed_block(records),
        "params_per_layer": training.layer_params(model),
        "class_names": list(data.class_names),
        "preprocess": {"mean": preprocess.mean, "std": preprocess.std},
        "data": data.provenance(),
        "arrays": {
            "sample_images": data.train.x[:9],  # the notebook's 9 training images
            "sample_labels": data.train.y[:9].astype("int8"),
            "test_labels": data.test.y.astype("int8"),
            "test_predictions": np.stack([p.argmax(1) for p in probs]).astype("int8"),  # (seeds, n_test)
            "grid_images": data.test.x[:n_grid],  # the 10 x 10 prediction grid, first seed
            "grid_probs": probs[0][:n_grid].astype("float32"),
        },
    }
    return out, records


def run(config: Config, ctx) -> dict:
    out, _ = train_and_measure(config, ctx)
    return out
