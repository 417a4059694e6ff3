"""The lecture's CIFAR-10 CNN, unchanged, reaches 90% in 15 epochs with a modern training recipe.

Not a lecture sentence but a test of its "About 90% accuracy" slide ("Results", notebook
``CNN_with_Image_Augmentation.ipynb``): the lecture needed 200 epochs of Adam with heavy
augmentation for 89.86% (its test curve first touched 90% at epoch 147). Here the same
1,345,066-parameter model (:func:`replication.models.cifar10_vgg`) is trained with SGD and Nesterov
momentum under a warm-up + cosine schedule that ends at 0 after the last epoch
(:func:`replication.optimizers.one_cycle`), weight decay, label smoothing, flips and 4-pixel
shifts, and flip test-time augmentation. The lecture's recipe runs beside it on the same data and
hardware (first seed only), for the epochs and the wall time each needs to reach 90%.
Tested by: registry entry ``cifar10-fast`` (last-epoch test accuracy with flip TTA, mean over
seeds). The per-epoch test curves only report when 90% was first reached; nothing stops on them.
Figure: ``figures/plot_cifar10_fast_curves.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "cifar10"
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 15  # the whole schedule: the learning rate reaches 0 at the end of the last epoch
    batch_size: int = 128  # as in the lecture, so an epoch is the same 391 steps
    peak_learning_rate: float = 0.1  # SGD; reached after warmup_fraction of all steps
    warmup_fraction: float = 0.2  # linear warm-up from 0.1 x peak, then cosine to 0
    momentum: float = 0.9  # Nesterov
    weight_decay: float = 5e-4  # per step: w -= lr * weight_decay * w
    label_smoothing: float = 0.1
    augmentation: str = "flip_translate"  # horizontal flip + up to 4-pixel shifts (reflect fill)
    test_time_flip: bool = True  # score the mean of the model on the image and on its mirror
    baseline_epochs: int = 15  # the lecture's recipe (cifar10-aug) on the same data; 0: skip it
    n_train: int | None = None  # None: all 50,000 training images
    n_test: int | None = None  # None: all 10,000 test images


PROFILES = {
    "paper": Config(),
    # The full training set, ~270 s per epoch on 2 CPU cores + ~30 s for the per-epoch test curve
    # (plain and flipped): 15 epochs are about 75 minutes, plus ~5 minutes for one epoch of the
    # lecture's recipe (the seconds per epoch of the baseline, and its first-epoch accuracy).
    "quick": Config(seeds=(0,), baseline_epochs=1),
    "smoke": Config(seeds=(0,), epochs=1, baseline_epochs=1, n_train=512, n_test=256),
}


def time_to_target(history: dict, target: float, key: str = "test_accuracy_tta") -> dict:
    """The first epoch whose test accuracy (``key``) reaches ``target``, and the training seconds
    (per-epoch test evaluations excluded) up to the end of it; None where it never does."""
    acc = np.asarray(history.get(key, []), dtype="float64")
    seconds = np.cumsum(history.get("epoch_time_s", [np.nan] * len(acc)))
    hit = np.flatnonzero(acc >= target - 1e-12)
    if hit.size == 0:
        return {"epoch": None, "train_seconds": None, "best": float(acc.max()) if acc.size else None}
    i = int(hit[0])
    return {"epoch": i + 1, "train_seconds": float(seconds[i]), "best": float(acc.max())}


def run(config: Config, ctx) -> dict:
    from .. import evaluation, models, optimizers, registry, training
    from ..data import Preprocess

    target = registry.get("cifar10-fast").expected  # 90%: the threshold lives in the registry
    data = ctx.dataset(config.dataset).subset(config.n_train, config.n_test)
    preprocess = Preprocess.standardize_from(data.train)  # as in the lecture's notebook

    def build_fast():
        return models.cifar10_vgg(data.image_shape, data.num_classes, augmentation=config.augmentation)

    fast_optimizer = optimizers.one_cycle(
        config.peak_learning_rate, optimizer="sgd", warmup_fraction=config.warmup_fraction,
        momentum=config.momentum, nesterov=True, weight_decay=config.weight_decay)
    records = training.fit_seeds(
        ctx, build_fast, data, preprocess, seeds=config.seeds, epochs=config.epochs,
        batch_size=config.batch_size, optimizer=fast_optimizer, evaluate_train=True,
        label_smoothing=config.label_smoothing, test_time_flip=config.test_time_flip)
    tta = "test_accuracy_tta" if config.test_time_flip else "test_accuracy"

    baseline = None
    if config.baseline_epochs:
        # The lecture's recipe (cifar10-aug): Adam 1e-3, its augmentation, no smoothing. Its test
        # curve is scored the same way (TestCurve), so both seconds-per-epoch exclude evaluation.
        seed = int(config.seeds[0])
        run_dir = ctx.run_dir("lecture_recipe", f"seed{seed}")
        rec = training.fit_seed(
            lambda: models.cifar10_vgg(data.image_shape, data.num_classes, augmentation="lecture"),
            data, preprocess, seed=seed, epochs=config.baseline_epochs, batch_size=128,
            optimizer=optimizers.adam(1e-3), run_dir=run_dir, verbose=ctx.verbose,
            deterministic=ctx.deterministic, test_time_flip=True, keep_predictions=False,
            on_reuse=ctx.add_reused)
        baseline = {
            "seed": seed,
            "epochs": config.baseline_epochs,
            "history": rec["history"],
            "test_accuracy": rec["test_accuracy"],
            "test_accuracy_tta": rec["test_accuracy_tta"],
            "seconds_per_epoch": float(np.median(rec["history"]["epoch_time_s"])),
            "time_to_target": time_to_target(rec["history"], target, "test_accuracy"),
            "time_to_target_tta": time_to_target(rec["history"], target, "test_accuracy_tta"),
        }

    # The predictions the headline scores: with flip TTA where it is on.
    # The test loss is plain cross-entropy, as on the per-epoch test curve (TestCurve): the loss
    # ``evaluate`` reports is the label-smoothed training loss, which no other claim reports.
    probs, plain_losses = [], []
    for d, r in records:
        with np.load(d / r["test_probs"]) as f:
            probs.append(f["probs_tta" if config.test_time_flip else "probs"])
            plain_losses.append(evaluation.loss_and_accuracy(f["probs"], data.test.y)[0])
    return {
        "metrics": {
            "test_accuracy_tta": [r[tta] for _, r in records],
            "test_accuracy": [r["test_accuracy"] for _, r in records],
            "test_loss": plain_losses,
            "train_accuracy": [r["train_accuracy"] for _, r in records],
            # Median training seconds per epoch (test evaluations excluded), on this hardware.
            "seconds_per_epoch": [float(np.median(r["history"]["epoch_time_s"])) for _, r in records],
        },
        "target_accuracy": target,
        "time_to_target": [time_to_target(r["history"], target, tta) for _, r in records],
        "time_to_target_plain": [time_to_target(r["history"], target, "test_accuracy") for _, r in records],
        "lecture_recipe": baseline,
        **training.seed_block(records),
        "class_names": list(data.class_names),
        "data": data.provenance(),
        "arrays": {
            "test_labels": data.test.y.astype("int8"),
            "test_predictions": np.stack([p.argmax(1) for p in probs]).astype("int8"),  # (seeds, n_test)
        },
    }
