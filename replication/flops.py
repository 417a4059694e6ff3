"""Counting the work: floating-point operations per image from a model's layers (issue #21).

Only the layers that a matrix-multiply unit runs are counted: convolutions and dense layers, two
operations per multiply-add (the convention of the lecture's own cost estimate: its CIFAR-10 CNN is
about 79 MFLOP forward per image, which is what :func:`forward_flops` gives). BatchNorm,
activations, pooling, dropout and the augmentation layers run at memory speed, not at the matmul
rate, and are left out; the time they take shows up as a lower efficiency. Training costs three
forward passes per image (forward, and the gradients with respect to activations and weights).

A claim's :func:`Work` list says what it trains and scores (from its config, before it runs); a
finished seed run records what it did (``training.fit_seed``). Efficiency = FLOPs / (wall seconds
x the run's matmul rate in its precision): 1.0 is the arithmetic at the matmul unit's speed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

TRAIN_PASSES = 3  # forward + backward (activations) + backward (weights), per training image


def _shape(tensor) -> tuple:
    return tuple(int(d) for d in tensor.shape[1:])


def layer_flops(layer) -> int:
    """Forward FLOPs per image of one layer (0 for what is not a convolution or a dense layer)."""
    import keras

    if isinstance(layer, keras.Model):  # a nested model or Sequential: its own layers
        return sum(layer_flops(sub) for sub in layer.layers)
    kind = type(layer).__name__
    if kind in ("Conv1D", "Conv2D", "Conv3D"):
        kernel = layer.kernel.shape  # (*window, in / groups, out)
        out = _shape(layer.output)
        positions = math.prod(out[:-1])
        return 2 * positions * math.prod(kernel)  # every output position: window x in x out MACs
    if kind == "DepthwiseConv2D":
        out = _shape(layer.output)
        return 2 * math.prod(out) * math.prod(layer.kernel.shape[:2])
    if kind in ("Dense", "EinsumDense"):
        out = _shape(layer.output)
        repeats = math.prod(out[:-1]) if len(out) > 1 else 1
        return 2 * repeats * math.prod(layer.kernel.shape)
    return 0


def forward_flops(model) -> int:
    """Forward FLOPs per image of a built model: its convolutions and dense layers."""
    return sum(layer_flops(layer) for layer in model.layers)


@dataclasses.dataclass(frozen=True)
class Work:
    """One model that a claim trains and scores: ``train_images`` training images seen (epochs x
    images x the seeds it is trained for) and ``eval_images`` images scored in inference."""

    name: str
    build: Callable  # () -> keras.Model (built, not compiled)
    train_images: int
    eval_images: int = 0

    def flops(self, per_image_forward: int | None = None) -> dict:
        fwd = forward_flops(self.build()) if per_image_forward is None else per_image_forward
        return {"train": TRAIN_PASSES * fwd * self.train_images, "eval": fwd * self.eval_images,
                "forward_per_image": fwd}


def total(work: list[Work]) -> dict:
    """{"train", "eval", "total"} FLOPs of a list of :class:`Work` (each model built once)."""
    import keras

    train = evaluation = 0
    for item in work:
        counted = item.flops()
        train += counted["train"]
        evaluation += counted["eval"]
        keras.backend.clear_session()
    return {"train": train, "eval": evaluation, "total": train + evaluation}


# The official (training, test) split sizes of the datasets the claims load (data.DATASETS):
# what a claim's planned_work assumes when it is not told the loaded dataset's sizes.
SPLIT_SIZES = {"mnist": (60_000, 10_000), "fashion_mnist": (60_000, 10_000),
               "cifar10": (50_000, 10_000), "svhn_cropped": (73_257, 26_032)}


def split_sizes(dataset: str, n_train: int | None = None, n_test: int | None = None,
                subset_train: int | None = None, subset_test: int | None = None) -> tuple[int, int]:
    """(training images, test images) a claim uses: the loaded dataset's splits (``n_train``,
    ``n_test``; None: the official sizes in :data:`SPLIT_SIZES`), cut to a config's subset as
    :meth:`replication.data.Dataset.subset` cuts them (a subset larger than the split keeps it)."""
    full_train, full_test = SPLIT_SIZES[dataset]
    train = full_train if n_train is None else int(n_train)
    test = full_test if n_test is None else int(n_test)
    if subset_train is not None:
        train = min(train, int(subset_train))
    if subset_test is not None:
        test = min(test, int(subset_test))
    return train, test


def fit_seed_eval_images(n_train: int, n_test: int, epochs: int, *, evaluate_train: bool = False,
                         curve_on_test: bool = True, keep_predictions: bool = True,
                         test_time_flip: bool = False, tta_views: int | None = None,
                         finalize_images: int = 0) -> int:
    """Images one :func:`replication.training.fit_seed` run scores in inference, its arguments
    mirrored: the per-epoch test curve (Keras's validation pass, or two passes with flip TTA:
    :class:`replication.epochs.TestCurve`), ``finalize_images`` (e.g. BatchNorm recomputed in
    training-mode forward passes), the final ``evaluate`` on the test set, ``evaluate`` on the
    training set, the flip-TTA or ``tta`` predictions (``tta_views`` views, plus the plain
    prediction), and the saved predictions where nothing predicted them yet."""
    images = 0
    if curve_on_test:
        images += int(epochs) * n_test * (2 if test_time_flip else 1)
    images += int(finalize_images) + n_test
    if evaluate_train:
        images += n_train
    if test_time_flip:
        images += n_test * (2 if tta_views is None else 1 + int(tta_views))
    elif keep_predictions:
        images += n_test
    return images


def efficiency(flops: float, seconds: float, matmul_gflops: float) -> float | None:
    """FLOPs / (seconds x matmul rate): the share of the matmul unit's speed the run reached."""
    if not flops or not seconds or not matmul_gflops:
        return None
    return float(flops) / (float(seconds) * float(matmul_gflops) * 1e9)
