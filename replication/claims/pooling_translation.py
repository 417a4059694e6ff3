"""Pooling gives "lower sensitivity for the position of a given feature".

Lecture: slide "Pooling" (max pooling: "Data reduction, Lower sensitivity for the position of a
given feature").
Test: the trained MLP (``mnist-mlp``) and CNN (``mnist-cnn``) classify test digits shifted by
-4 ... +4 pixels, horizontally and vertically (zero fill). The control is the same CNN without its
two MaxPool layers (the same conv stack flattened at full resolution, 3,370,890 parameters), trained
here under mnist-cnn's budget for the same profile (its ``Budget``, held in this claim's config),
on fewer seeds. For
each control seed k, paired with CNN seed k: how much less, on average over the 16 shifted copies,
the pooled CNN's accuracy falls below its unshifted accuracy than the unpooled one's does.
Tested by: registry entry ``pooling-translation`` (that average, mean over seeds).
Figures: ``figures/plot_shift_accuracy.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import mnist_cnn


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "mnist"
    seeds: tuple[int, ...] = (0, 1, 2)  # control seeds; each must also be a seed of mnist-cnn
    max_shift: int = 4  # pixels: shifts -4 ... +4
    n_shift_test: int | None = None  # first n test images for the shift curves; None: all
    # The control's training budget: mnist-cnn's own Budget object for the same profile, unless
    # pooled_twin (then a pooled twin is trained under this budget too).
    budget: mnist_cnn.Budget = mnist_cnn.Budget()
    # True: also train a pooled twin under exactly this budget and pair the control with it,
    # instead of with mnist-cnn's models (which are still shown). For CPU profiles, where the
    # unpooled control at mnist-cnn's full budget costs ~4x the pooled CNN.
    pooled_twin: bool = False


PROFILES = {
    "paper": Config(budget=mnist_cnn.PROFILES["paper"].budget),
    # The unpooled control costs ~4x the pooled CNN per epoch (3.37 M parameters, convs at full
    # resolution): at mnist-cnn's quick budget that alone is ~37 minutes. quick therefore trains the
    # control and a pooled twin under one smaller budget (a fixed 20,000-image subset, 2 epochs of
    # mnist-cnn's quick schedule; about 8 minutes) and pairs them; shift curves on 2,000 test images.
    "quick": Config(seeds=(0,), n_shift_test=2000, pooled_twin=True,
                    budget=dataclasses.replace(mnist_cnn.PROFILES["quick"].budget, n_train=20000,
                                               epochs=2)),
    "smoke": Config(seeds=(0,), max_shift=2, budget=mnist_cnn.PROFILES["smoke"].budget),
}


def shift_images(x: np.ndarray, dx: int = 0, dy: int = 0) -> np.ndarray:
    """Images (N, H, W[, C]) moved ``dx`` pixels right and ``dy`` pixels down; zeros fill in."""
    out = np.zeros_like(x)
    h, w = x.shape[1], x.shape[2]
    if abs(dx) >= w or abs(dy) >= h:
        return out
    src_y, dst_y = slice(max(-dy, 0), h - max(dy, 0)), slice(max(dy, 0), h - max(-dy, 0))
    src_x, dst_x = slice(max(-dx, 0), w - max(dx, 0)), slice(max(dx, 0), w - max(-dx, 0))
    out[:, dst_y, dst_x] = x[:, src_y, src_x]
    return out


def shift_curves(model, x_uint8: np.ndarray, y: np.ndarray, shifts, preprocess) -> dict:
    """Test accuracy at every shift: {"horizontal": [...], "vertical": [...]} in ``shifts`` order."""
    curves = {"horizontal": [], "vertical": []}
    for direction in curves:
        for s in shifts:
            moved = shift_images(x_uint8, dx=s) if direction == "horizontal" else shift_images(x_uint8, dy=s)
            pred = model.predict(preprocess(moved), batch_size=500, verbose=0).argmax(1)
            curves[direction].append(float(np.mean(pred == y)))
    return curves


def mean_drop(curves: dict, shifts) -> float:
    """Accuracy unshifted minus accuracy shifted, averaged over every non-zero shift, both ways."""
    zero = list(shifts).index(0)
    drops = [c[zero] - v for c in curves.values() for s, v in zip(shifts, c, strict=True) if s != 0]
    return float(np.mean(drops))


def run(config: Config, ctx) -> dict:
    from .. import training
    from ..data import Preprocess
    from ..errors import ReplicationError

    cnn = ctx.prerequisite("mnist-cnn").runs_by_seed()
    mlp = ctx.prerequisite("mnist-mlp").runs()
    missing = [s for s in config.seeds if s not in cnn]
    if missing:
        raise ReplicationError(f"control seeds {missing} have no pooled CNN of the same seed in "
                               f"mnist-cnn (seeds {sorted(cnn)})")

    b = config.budget
    data = ctx.dataset(config.dataset).subset(b.n_train, b.n_test)
    nopool = mnist_cnn.train(b, config.seeds, ctx, data, pooling=False, folder="no_pooling",
                             evaluate_train=False)
    twin = (mnist_cnn.train(b, config.seeds, ctx, data, pooling=True, folder="pooled_twin",
                            evaluate_train=False) if config.pooled_twin else None)

    preprocess = Preprocess()
    x, y = data.test.x[:config.n_shift_test], data.test.y[:config.n_shift_test]
    shifts = list(range(-config.max_shift, config.max_shift + 1))

    def curves_of(runs):
        return [{"seed": r["seed"], **shift_curves(training.load_model(d, r), x, y, shifts, preprocess)}
                for d, r in runs]

    curves = {
        "mlp": curves_of(mlp),
        "cnn": curves_of([cnn[s] for s in config.seeds]),
        "cnn_no_pooling": curves_of(nopool),
    }
    if twin is not None:
        curves["cnn_pooled_twin"] = curves_of(twin)
    pooled = "cnn_pooled_twin" if twin is not None else "cnn"

    def drop(c):
        return mean_drop({k: c[k] for k in ("horizontal", "vertical")}, shifts)

    drops = {name: [drop(c) for c in runs] for name, runs in curves.items()}
    return {
        "metrics": {
            # Paired by seed: control seed k against pooled CNN seed k.
            "drop_reduction": [u - p for u, p in zip(drops["cnn_no_pooling"], drops[pooled], strict=True)],
            "mean_drop_cnn": drops["cnn"],
            "mean_drop_cnn_no_pooling": drops["cnn_no_pooling"],
            "mean_drop_mlp": drops["mlp"],
            "test_accuracy_cnn_no_pooling": [r["test_accuracy"] for _, r in nopool],
            **({"mean_drop_cnn_pooled_twin": drops["cnn_pooled_twin"],
                "test_accuracy_cnn_pooled_twin": [r["test_accuracy"] for _, r in twin]} if twin else {}),
        },
        "paired_with": pooled,
        "shifts": shifts,
        "n_shift_test": int(len(y)),
        "curves": curves,
        **training.seed_block(nopool, suffix="_no_pooling"),
        "class_names": list(data.class_names),
        "data": data.provenance(),
    }
