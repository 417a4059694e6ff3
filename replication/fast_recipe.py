"""Pieces of the ``cifar10-fast`` training recipe that Keras does not provide as such.

Each one leaves the lecture's model (:func:`replication.models.cifar10_vgg`, 1,345,066
parameters) as it is: no layer gains or loses a weight. They were screened on a 45,000 / 5,000
split of the CIFAR-10 training set only (``benchmarks/tune_cifar10_fast.py``, log in
``benchmarks/cifar10_fast_tuning.json``); the test split played no part in choosing them.

- :func:`kernel_l2`: weight decay at the strength fast CIFAR-10 recipes mean by "5e-4".
- :func:`decay_exclusions`: the names to keep out of Keras's decoupled weight decay.
- :class:`Cutout` and :func:`insert_after_augmentation`: Cutout as a training-only layer.
- :func:`recompute_batchnorm`: BatchNorm statistics that match averaged (EMA) weights.
- :func:`predict_views` and :func:`tta_predict`: test-time augmentation over flips and shifts.
"""

from __future__ import annotations

import keras
import numpy as np

from .evaluation import predict

# The layer that models.cifar10_augmentation names; Cutout goes right after it.
AUGMENTATION_LAYER = "augmentation"


def kernel_l2(model, factor: float) -> list[str]:
    """Put ``keras.regularizers.L2(factor)`` on every Conv/Dense kernel of a built ``model``.

    Why: fast CIFAR-10 recipes (ResNet papers, DAWNBench entries) use "weight decay 5e-4" to
    mean a gradient term ``5e-4 * w`` that goes through the momentum. Keras's ``weight_decay=``
    is decoupled instead (``w -= lr * wd * w`` after the step): at a learning rate of 0.1 that is
    ~10x weaker than the L2 term it was copied from, and it also shrinks BatchNorm's gamma and
    beta and every bias. ``L2(factor)`` adds ``factor * sum(w**2)`` to the loss, i.e. the
    gradient ``2 * factor * w``: ``factor=2.5e-4`` is the classic ``5e-4`` (at the peak learning
    rate of 0.05 that suits this model, the validation screen preferred ``1e-3``; see
    ``benchmarks/CIFAR10_FAST_TUNING.md``). Kernels only: the
    kernels feeding BatchNorm are scale-invariant, where decay sets the effective step size,
    while decaying gamma, beta and biases only removes capacity.

    Sets the regularizer on the variables themselves (Keras 3 collects ``variable.regularizer``
    of every trainable weight into ``model.losses``), so it works on a model built elsewhere.
    Returns the paths of the regularised kernels.
    """
    done = []
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) and getattr(layer, "kernel", None) is not None:
            layer.kernel.regularizer = keras.regularizers.L2(factor)
            done.append(layer.kernel.path)
    if not done:
        raise ValueError("kernel_l2: the model has no built Conv2D or Dense kernel")
    return done


def decay_exclusions() -> list[str]:
    """Variable-name fragments to pass to ``optimizer.exclude_from_weight_decay(var_names=...)``.

    Why: with Keras's decoupled ``weight_decay`` every trainable variable decays, BatchNorm's
    ``gamma``/``beta`` and the biases included; only the kernels should (see :func:`kernel_l2`).
    Must be applied before the optimizer is built (before the first ``fit`` step).
    """
    return ["bias", "gamma", "beta"]


@keras.saving.register_keras_serializable(package="replication")
class Cutout(keras.layers.Layer):
    """Zero one random ``size`` x ``size`` square per image (DeVries & Taylor 2017,
    arXiv:1708.04552), in training only; the identity at inference. 0 parameters.

    Why: the cheapest further regulariser of fast CIFAR-10 recipes (DAWNBench entries, airbench)
    once flips and shifts are in. The square's centre is uniform over the image, so it may be
    clipped at the border, as in the paper. On standardised inputs zero is the dataset mean. Its
    random state is a ``SeedGenerator`` (variable ``seed_generator_state``), which
    :class:`replication.epochs.EpochSeed` reseeds every epoch like the other random layers.
    """

    def __init__(self, size: int = 8, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.size <= 0:
            return inputs
        ops = keras.ops
        shape = ops.shape(inputs)
        batch, height, width = shape[0], shape[1], shape[2]
        cy = keras.random.randint((batch, 1, 1), 0, height, seed=self.seed_generator)
        cx = keras.random.randint((batch, 1, 1), 0, width, seed=self.seed_generator)
        ys = ops.reshape(ops.arange(height), (1, -1, 1))
        xs = ops.reshape(ops.arange(width), (1, 1, -1))
        top, left = cy - self.size // 2, cx - self.size // 2
        inside = (ys >= top) & (ys < top + self.size) & (xs >= left) & (xs < left + self.size)
        keep = ops.cast(ops.logical_not(inside), inputs.dtype)[..., None]
        return inputs * keep

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size, "seed": self.seed}


def insert_after_augmentation(model, layer):
    """A Sequential model with ``layer`` right after the layer named ``augmentation`` (or first).

    Why: :func:`replication.models.cifar10_vgg` builds the lecture's layers and must not change;
    a training-only transform such as :func:`Cutout` is put in front of its convolutions here
    instead. The new model shares the original's layers (and weights); the parameter count is
    unchanged when ``layer`` has no weights.
    """
    layers = list(model.layers)
    at = next((i + 1 for i, lay in enumerate(layers) if lay.name == AUGMENTATION_LAYER), 0)
    new = keras.Sequential(name=f"{model.name}_{layer.name}")
    new.add(keras.Input(shape=model.input_shape[1:]))
    for lay in layers[:at] + [layer] + layers[at:]:
        new.add(lay)
    return new


def recompute_batchnorm(model, x: np.ndarray, batch_size: int = 500, augment: bool = False) -> int:
    """Reset every BatchNorm layer's moving mean and variance and set them to the average of the
    batch statistics over ``x`` (preprocessed images), in training-mode forward passes.

    Why: with an exponential moving average of the weights (``use_ema=True``), the optimizer
    averages the trainable variables only; BatchNorm's moving statistics (non-trainable) keep
    tracking the raw weights, so the averaged network normalises with statistics of another
    network. As for stochastic weight averaging (Izmailov et al. 2018, PyTorch's
    ``torch.optim.swa_utils.update_bn``), they are recomputed for the weights actually used:
    layer by layer in training mode, each BatchNorm averaging its batch moments cumulatively
    (momentum ``1 - 1/k`` at the k-th batch) and normalising with them, so every later layer sees
    the activations of the final weights. Keras's BatchNormalization reads ``momentum`` at call
    time, so the passes run eagerly. ``augment=False`` skips the layer named ``augmentation``
    and any :class:`Cutout` (the statistics of un-augmented images, as at inference); Dropout is active but sits after
    the last BatchNorm in :func:`replication.models.cifar10_vgg`. Returns the number of batches.
    """
    bns = [lay for lay in model._flatten_layers(include_self=False)
           if isinstance(lay, keras.layers.BatchNormalization)]
    if not bns:
        return 0
    saved = [bn.momentum for bn in bns]
    for bn in bns:
        bn.moving_mean.assign(np.zeros(bn.moving_mean.shape, dtype="float32"))
        bn.moving_variance.assign(np.ones(bn.moving_variance.shape, dtype="float32"))
    layers = model.layers if isinstance(model, keras.Sequential) else None
    n_batches = 0
    try:
        for start in range(0, len(x), int(batch_size)):
            n_batches += 1
            for bn in bns:
                bn.momentum = 1.0 - 1.0 / n_batches
            h = keras.ops.convert_to_tensor(x[start:start + int(batch_size)])
            if layers is None:
                model(h, training=True)
                continue
            for lay in layers:
                if not augment and (lay.name == AUGMENTATION_LAYER or isinstance(lay, Cutout)):
                    continue
                h = lay(h, training=True)
    finally:
        for bn, m in zip(bns, saved, strict=True):
            bn.momentum = m
    return n_batches


def shift_reflect(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``x`` (NHWC) moved ``dy`` pixels down and ``dx`` right, the uncovered border filled by
    reflection (as the ``flip_translate`` augmentation's ``RandomTranslation(fill_mode="reflect")``)."""
    if dy == 0 and dx == 0:
        return x
    p = max(abs(dy), abs(dx))
    padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")
    h, w = x.shape[1], x.shape[2]
    return padded[:, p - dy:p - dy + h, p - dx:p - dx + w, :]


def predict_views(model, x: np.ndarray, views, batch_size: int = 500) -> dict:
    """Class probabilities of the model on each view of ``x``: ``{(flip, dy, dx): probs}``.

    A view is ``(flip, dy, dx)``: mirror left-right if ``flip``, then :func:`shift_reflect` by
    ``(dy, dx)``. Computing each view once lets several test-time-augmentation variants (means
    over subsets of the views) be scored for the price of their union.
    """
    out = {}
    for flip, dy, dx in views:
        xv = x[:, :, ::-1, :] if flip else x
        xv = np.ascontiguousarray(shift_reflect(xv, int(dy), int(dx)))
        out[(bool(flip), int(dy), int(dx))] = predict(model, xv, batch_size)
    return out


def tta_views(flips: bool = True, shifts=((0, 0),)) -> list[tuple[bool, int, int]]:
    """The views (see :func:`predict_views`): every shift, unmirrored and (if ``flips``) mirrored."""
    return [(f, int(dy), int(dx)) for f in ((False, True) if flips else (False,)) for dy, dx in shifts]


def tta_predict(model, x: np.ndarray, flips: bool = True, shifts=((0, 0),), batch_size: int = 500) -> np.ndarray:
    """The mean class probabilities over the views ``tta_views(flips, shifts)`` of ``x``.

    Why: the model was trained on mirrored and shifted images, so it is (nearly) as good on
    those views of a test image; averaging their probabilities cancels part of each view's error.
    ``flips=True, shifts=((0, 0),)`` is :func:`replication.training.flip_tta_predict`'s mean.
    """
    probs = predict_views(model, x, tta_views(flips, shifts), batch_size)
    return np.mean(list(probs.values()), axis=0)
