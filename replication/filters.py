"""What convolution filters learn: receptive fields, a structure measure, top-activating patches.

Plain numpy on top of a built Keras model; no training here (see ``claims/filters_layer1.py``,
``claims/top_patches.py``).

Receptive fields follow the standard recurrence (Araujo, Norris & Sim, "Computing Receptive Fields
of Convolutional Neural Networks", Distill 2019), per spatial axis, for a layer with kernel ``k``,
stride ``s``, dilation ``d`` and left padding ``p``, from the input towards the output:

- size      ``r_out = r_in + (k_eff - 1) * j_in`` with ``k_eff = d * (k - 1) + 1``
- jump      ``j_out = j_in * s`` (input pixels between neighbouring output units)
- start     ``c_out = c_in + ((k_eff - 1) / 2 - p) * j_in`` (input coordinate of the centre of the
  first output unit's field)

starting from ``r = 1, j = 1, c = 0`` at the input. Keras's ``padding="same"`` pads
``max((ceil(n / s) - 1) * s + k_eff - n, 0)`` in total, the smaller half on the left.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

# Layers that leave every unit's field as it is: elementwise ops, normalisation, regularisation,
# and the random augmentations (the identity at inference).
_PASS_THROUGH = (
    "BatchNormalization", "LayerNormalization", "Dropout", "SpatialDropout2D", "Activation", "ReLU",
    "LeakyReLU", "Rescaling", "Normalization", "GaussianNoise", "InputLayer", "Sequential",
    "RandomFlip", "RandomTranslation", "RandomRotation", "RandomZoom", "RandomCrop", "RandomContrast",
    "RandomAffine",
    "Identity",
)


@dataclasses.dataclass(frozen=True)
class Field:
    """A layer's receptive field along one spatial axis (see the module docstring)."""

    layer: str
    size: int  # input pixels seen by one unit
    jump: int  # input pixels between neighbouring units
    start: float  # input coordinate of the centre of unit 0's field
    output: int  # units along this axis

    def window(self, index: int) -> tuple[int, int]:
        """The input pixel range [lo, hi) that unit ``index`` sees; may reach beyond the image."""
        centre = self.start + index * self.jump
        lo = int(round(centre - (self.size - 1) / 2))
        return lo, lo + self.size


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _geometry(layer):
    """(kernel, stride, dilation, padding) of a spatial layer, or None if it passes through."""
    kind = type(layer).__name__
    if kind in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
        return (_pair(layer.kernel_size), _pair(layer.strides), _pair(layer.dilation_rate),
                layer.padding)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        return _pair(layer.pool_size), _pair(layer.strides or layer.pool_size), (1, 1), layer.padding
    if kind == "ZeroPadding2D":
        return "pad", layer.padding
    if kind in _PASS_THROUGH:
        return None
    raise ValueError(f"receptive field: no rule for layer {layer.name!r} ({kind}); every layer up to "
                     f"the last one asked for must be a convolution, a pooling or a pass-through")


def receptive_fields(model, input_size: int | tuple[int, int] | None = None,
                     until: str | None = None) -> list[tuple[Field, Field]]:
    """(rows, columns) :class:`Field` of every convolution and pooling layer of a Sequential
    ``model``, in order, stopping at ``until`` (a layer name) or at the first Flatten/Dense."""
    if input_size is None:
        input_size = tuple(model.inputs[0].shape[1:3])
    n = list(_pair(input_size) if not isinstance(input_size, tuple) else input_size)
    state = [(1, 1, 0.0), (1, 1, 0.0)]  # (size, jump, start) per axis
    out = []
    for layer in model.layers:
        if type(layer).__name__ in ("Flatten", "Dense", "GlobalAveragePooling2D", "GlobalMaxPooling2D"):
            break
        g = _geometry(layer)
        if g is None:
            continue
        if g[0] == "pad":
            pads = g[1]
            pads = ((pads, pads), (pads, pads)) if isinstance(pads, int) else tuple(
                _pair(p) if not isinstance(p, int) else (p, p) for p in pads)
            for a in range(2):
                r, j, c = state[a]
                state[a] = (r, j, c - pads[a][0] * j)
                n[a] += sum(pads[a])
            continue
        kernel, stride, dilation, padding = g
        fields = []
        for a in range(2):
            r, j, c = state[a]
            k_eff = dilation[a] * (kernel[a] - 1) + 1
            if padding == "same":
                n_out = math.ceil(n[a] / stride[a])
                left = max((n_out - 1) * stride[a] + k_eff - n[a], 0) // 2
            else:
                n_out = (n[a] - k_eff) // stride[a] + 1
                left = 0
            state[a] = (r + (k_eff - 1) * j, j * stride[a], c + ((k_eff - 1) / 2 - left) * j)
            n[a] = n_out
            fields.append(Field(layer.name, state[a][0], state[a][1], state[a][2], n_out))
        out.append((fields[0], fields[1]))
        if until is not None and layer.name == until:
            break
    return out


def conv_layers(model) -> list:
    """The model's Conv2D layers, in order."""
    return [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]


# --------------------------------------------------------------------------------------------
# How structured is a filter?


def spectral_concentration(kernels: np.ndarray) -> np.ndarray:
    """One number per filter in [0, 1]: ``1 - H(p) / log(N)``, where ``p`` is the filter's 2-D power
    spectrum (summed over input channels, DC included) normalised to sum to 1 over its ``N``
    frequencies, and ``H`` its entropy.

    ``kernels``: (k, k, in_channels, filters), as Keras stores them. White noise — an untrained
    filter — spreads its power over all frequencies (near 0: about 0.04 for 7x7x3 Gaussian or
    uniform noise, not exactly 0 because a finite sample's spectrum is never flat). An oriented
    edge (a 7x7 Gabor: about 0.49) or a smooth blob (about 0.76) puts it in a few frequencies. The measure ignores the filter's scale.
    """
    w = np.asarray(kernels, dtype="float64")
    power = (np.abs(np.fft.fft2(w, axes=(0, 1))) ** 2).sum(axis=2)  # (k, k, filters)
    p = power.reshape(-1, power.shape[-1])
    p = p / np.maximum(p.sum(axis=0, keepdims=True), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=0)
    return 1.0 - h / np.log(p.shape[0])


def orientation_selectivity(kernels: np.ndarray) -> np.ndarray:
    """One number per filter in [0, 1]: how much of the non-DC spectral power lies along one
    orientation, ``|sum P(f) exp(2i theta_f)| / sum P(f)`` over frequencies ``f != 0`` (the
    orientation of an edge is defined modulo 180 degrees, hence the 2). 0: no preferred orientation
    (noise, round blobs); 1: all power on one line through the origin (a perfect edge or grating)."""
    w = np.asarray(kernels, dtype="float64")
    k0, k1 = w.shape[:2]
    power = (np.abs(np.fft.fft2(w, axes=(0, 1))) ** 2).sum(axis=2)
    fy = np.fft.fftfreq(k0)[:, None] * np.ones((1, k1))
    fx = np.ones((k0, 1)) * np.fft.fftfreq(k1)[None, :]
    theta = np.arctan2(fy, fx)
    mask = ~((fy == 0) & (fx == 0))
    phase = np.exp(2j * theta)[mask]
    p = power[mask]  # (frequencies, filters)
    return np.abs((p * phase[:, None]).sum(axis=0)) / np.maximum(p.sum(axis=0), 1e-300)


def colour_share(kernels: np.ndarray) -> np.ndarray:
    """One number per filter in [0, 1]: the share of its energy that differs between the three
    colour channels (0: grey, the same pattern in R, G and B; towards 1: a colour blob or a
    colour-opponent edge). ``kernels`` must have 3 input channels."""
    w = np.asarray(kernels, dtype="float64")
    grey = w.mean(axis=2, keepdims=True)
    total = (w ** 2).sum(axis=(0, 1, 2))
    return ((w - grey) ** 2).sum(axis=(0, 1, 2)) / np.maximum(total, 1e-300)


def chromatic_concentration(kernels: np.ndarray) -> np.ndarray:
    """:func:`spectral_concentration` of each filter's colour part, the filter less its grey part
    (the mean over the input channels, in every channel): near 0 when the colour varies from pixel
    to pixel like noise, high when it forms a pattern (a colour blob, a colour-opponent edge)."""
    w = np.asarray(kernels, dtype="float64")
    return spectral_concentration(w - w.mean(axis=2, keepdims=True))


# Colour blobs against random filters. A random 7x7x3 filter already has a colour share of about
# 2/3 (two of every pixel's three channel directions are not grey), and a smooth blob in one
# channel has exactly 2/3 too, so the colour share alone cannot tell a colour blob from noise; what
# random filters lack is a colour part that forms a pattern. A colour-blob filter here: its colour
# part is more concentrated than COLOUR_QUANTILE of random filters' and carries at least
# COLOUR_MIN_SHARE of its energy (not a faint tint on a grey edge: half a random filter's share).
COLOUR_QUANTILE = 0.95
COLOUR_MIN_SHARE = 1 / 3


def colour_blobs(kernels: np.ndarray, threshold: float) -> np.ndarray:
    """Per filter: is it a colour blob (see :data:`COLOUR_QUANTILE`)? ``threshold``: the random
    filters' quantile of :func:`chromatic_concentration` (:func:`random_colour_reference`)."""
    return (colour_share(kernels) >= COLOUR_MIN_SHARE) & (chromatic_concentration(kernels) > threshold)


def random_colour_reference(kernel_shape: tuple[int, int, int], n: int = 50_000, seed: int = 0) -> dict:
    """What random filters of ``kernel_shape`` (k, k, channels) show, from ``n`` filters whose
    weights are independent and uniform: the law of Keras's default initializer
    (``glorot_uniform``) for every such filter whatever the layer's fan-in and fan-out, because
    both measures ignore the filter's scale. ``threshold``: the :data:`COLOUR_QUANTILE` quantile of
    :func:`chromatic_concentration`; ``fraction``: the share of them that :func:`colour_blobs`
    counts (about 1 - COLOUR_QUANTILE); ``colour_share``: the same quantile of
    :func:`colour_share`; ``min_share``: :data:`COLOUR_MIN_SHARE`. Drawn from ``seed`` in chunks
    (under a second)."""
    rng = np.random.default_rng(seed)
    chunks = [rng.uniform(-1.0, 1.0, size=(*kernel_shape, min(5_000, n - lo))) for lo in range(0, n, 5_000)]
    chroma = np.concatenate([chromatic_concentration(w) for w in chunks])
    share = np.concatenate([colour_share(w) for w in chunks])
    threshold = float(np.quantile(chroma, COLOUR_QUANTILE))
    return {"threshold": threshold, "min_share": COLOUR_MIN_SHARE,
            "fraction": float(np.mean((share >= COLOUR_MIN_SHARE) & (chroma > threshold))),
            "colour_share": float(np.quantile(share, COLOUR_QUANTILE))}


def network_summary(kernels: np.ndarray, reference: dict | None = None) -> dict:
    """One network's first layer in a few numbers (the unit of analysis is the network, not the
    filter: the filters of one network are not independent samples): the median
    :func:`spectral_concentration` and :func:`orientation_selectivity` of its filters, the median
    :func:`colour_share` and, given ``reference`` (:func:`random_colour_reference`), the share of
    its filters that are colour blobs (:func:`colour_blobs`) and that share less random filters'
    (``colour_excess``: 0 for random filters, on average), and the share whose colour share alone
    exceeds random filters' quantile, less 1 - that quantile (``colour_share_excess``)."""
    out = {"structure_median": float(np.median(spectral_concentration(kernels))),
           "orientation_median": float(np.median(orientation_selectivity(kernels)))}
    if kernels.shape[2] == 3:
        cs = colour_share(kernels)
        out["colour_share_median"] = float(np.median(cs))
        if reference is not None:
            out["colour_fraction"] = float(np.mean(colour_blobs(kernels, reference["threshold"])))
            out["colour_excess"] = out["colour_fraction"] - reference["fraction"]
            out["colour_share_excess"] = float(np.mean(cs > reference["colour_share"])) - (
                1.0 - COLOUR_QUANTILE)
    return out


def mann_whitney_greater(a, b) -> dict:
    """One-sided Mann-Whitney U test that ``a`` tends to exceed ``b``, with the Vargha-Delaney
    effect size A = P(a > b) + P(a = b) / 2 (0.5: no effect; >= 0.71: large)."""
    from scipy import stats

    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    res = stats.mannwhitneyu(a, b, alternative="greater")
    return {"A": float(res.statistic / (a.size * b.size)), "U": float(res.statistic),
            "p_value": float(res.pvalue), "n_a": int(a.size), "n_b": int(b.size)}


def structure_stats(trained: np.ndarray, initial: np.ndarray) -> dict:
    """Every measure for a trained kernel bank against the same bank at initialisation."""
    out = {}
    for name, fn in (("spectral_concentration", spectral_concentration),
                     ("orientation_selectivity", orientation_selectivity),
                     *((("colour_share", colour_share),
                        ("chromatic_concentration", chromatic_concentration))
                       if trained.shape[2] == 3 else ())):
        t, i = fn(trained), fn(initial)
        out[name] = {"trained": t.tolist(), "initial": i.tolist(),
                     "trained_median": float(np.median(t)), "initial_median": float(np.median(i)),
                     **mann_whitney_greater(t, i)}
    return out


# --------------------------------------------------------------------------------------------
# Top-activating patches


def top_patches(model, layer_name: str, images_uint8: np.ndarray, preprocess, show, *,
                top: int = 9, batch_size: int = 500, fill: int = 128) -> dict:
    """The ``top`` test images whose strongest unit fires hardest, for every filter of layer
    ``layer_name`` (one patch per image, as Zeiler & Fergus showed), and for the filter indices in
    ``show`` those patches cropped to the unit's receptive field (pixels beyond the image are
    ``fill`` grey).

    Returns ``image_index`` (filters, top) for every filter, and for the ``show`` filters
    ``patches`` (len(show), top, r, r, channels) uint8, ``activations`` and ``unit`` ((row, col) of
    the unit), plus the layer's receptive ``field``.
    """
    import keras

    layer = model.get_layer(layer_name)
    fields = receptive_fields(model, until=layer_name)[-1]
    probe = keras.Model(model.inputs, layer.output)
    n_filters = int(layer.output.shape[-1])
    best = np.full((len(images_uint8), n_filters), -np.inf, dtype="float64")
    where = np.zeros((len(images_uint8), n_filters, 2), dtype="int64")
    for lo in range(0, len(images_uint8), batch_size):
        act = np.asarray(probe.predict(preprocess(images_uint8[lo:lo + batch_size]), verbose=0))
        flat = act.reshape(act.shape[0], -1, act.shape[-1])  # (b, h*w, filters)
        arg = flat.argmax(axis=1)  # (b, filters)
        best[lo:lo + len(act)] = np.take_along_axis(flat, arg[:, None, :], axis=1)[:, 0, :]
        where[lo:lo + len(act), :, 0], where[lo:lo + len(act), :, 1] = np.unravel_index(arg, act.shape[1:3])
    order = np.argsort(-best, axis=0, kind="stable")[:top]  # (top, filters)
    rows, cols = fields
    size = (rows.size, cols.size)
    h, w = images_uint8.shape[1:3]
    channels = images_uint8.shape[3] if images_uint8.ndim == 4 else 1
    show = [int(f) for f in show]
    patches = np.full((len(show), top, *size, channels), fill, dtype="uint8")
    units = np.zeros((len(show), top, 2), dtype="int64")
    for si, fi in enumerate(show):
        for t in range(top):
            img = int(order[t, fi])
            r, c = where[img, fi]
            (r0, r1), (c0, c1) = rows.window(int(r)), cols.window(int(c))
            src = images_uint8[img].reshape(h, w, channels)
            ys, xs = slice(max(r0, 0), min(r1, h)), slice(max(c0, 0), min(c1, w))
            patches[si, t, ys.start - r0:ys.stop - r0, xs.start - c0:xs.stop - c0] = src[ys, xs]
            units[si, t] = (r, c)
    return {
        "image_index": order.T.astype("int64"),
        "patches": patches,
        "activations": np.take_along_axis(best, order, axis=0).T[show].astype("float32"),
        "unit": units,
        "field": {"size": [rows.size, cols.size], "jump": [rows.jump, cols.jump],
                  "start": [rows.start, cols.start], "output": [rows.output, cols.output]},
    }


def label_purity(image_index: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per filter: the share of its top images that carry the most common label among them.
    An edge detector fires on every class (about 0.3 for 9 images of 10 balanced classes, by
    chance alone); a unit that has learned a part of one kind of object fires on that class."""
    lab = np.asarray(labels)[np.asarray(image_index)]  # (filters, top)
    counts = np.stack([(lab == c).sum(axis=1) for c in np.unique(labels)], axis=1)
    return counts.max(axis=1) / lab.shape[1]
