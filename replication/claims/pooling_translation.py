"""Pooling gives "lower sensitivity for the position of a given feature".

Lecture: slide "Pooling" (max pooling: "Data reduction, Lower sensitivity for the position of a
given feature").
Test: three versions of the lecture's MNIST CNN (:func:`replication.models.mnist_cnn`) are trained
here under one budget with the same seeds: with its two 2x2 max-pools (225,162 parameters); with
each pool replaced by keeping every second pixel, the same shapes and parameters without the max
(the control that isolates the max from the downsampling); and without pools (3,370,890 parameters,
shown beside). Each classifies test digits shifted by -4 ... +4 pixels, horizontally and vertically
(zero fill), as does the trained MLP (``mnist-mlp``, shown beside). Per seed k: how much more, on
average over the 16 shifted copies, the subsampled CNN's accuracy falls below its unshifted
accuracy than the max-pooled CNN's does.
Tested by: registry entry ``pooling-translation`` (that difference per seed, a one-sided paired
t-test over seeds, its minimum effect; a gate on every CNN's unshifted accuracy).
Figures: ``figures/pooling_translation/plot_shift_accuracy.py``.
Tests: ``tests/claims/test_pooling_translation.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import mnist_cnn


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "mnist"
    seeds: tuple[int, ...] = (0, 1, 2)  # each seed trains all three CNNs (paired by seed)
    max_shift: int = 4  # pixels: shifts -4 ... +4
    n_shift_test: int | None = None  # first n test images for the shift curves; None: all
    # How the three CNNs are trained: mnist-cnn's own Budget object in paper (held by reference,
    # so the fingerprint shows it), a smaller one in quick.
    budget: mnist_cnn.Budget = mnist_cnn.Budget()


# The three CNNs: the lecture's max-pool, the control without the max, the control without pools.
VARIANTS = ("max_pool", "subsample", "no_pooling")
POOLING = {"max_pool": "max", "subsample": "subsample", "no_pooling": "none"}

PROFILES = {
    "paper": Config(budget=mnist_cnn.PROFILES["paper"].budget),
    # The unpooled CNN costs ~4x the pooled one per epoch (convs at full resolution, a 25x larger
    # Dense layer): at mnist-cnn's quick budget the three CNNs would take ~1 h on a 100 GFLOP/s
    # CPU. quick trains them on a fixed 20,000-image subset for 2 epochs of mnist-cnn's quick
    # one-cycle schedule (about 20 minutes for 3 seeds there); shift curves on 2,000 test images.
    "quick": Config(n_shift_test=2000,
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


def planned_work(config: Config, n_train: int | None = None, n_test: int | None = None,
                 mlp_seeds: int | None = None) -> list:
    """What :func:`run` trains and scores (:class:`replication.flops.Work`), from the config alone:
    the three CNNs, every seed (training, test curve, evaluate, saved predictions), each then
    classifying the ``2 x (2 max_shift + 1)`` shifted copies of the shift-test images; and the
    ``mnist-mlp`` models (trained and counted by that claim) classifying the same copies here.
    ``mlp_seeds``: how many seeds ``mnist-mlp`` trained (None: as many as this config's, as when
    both run under one profile and ``--seeds``). ``n_train``/``n_test``: the loaded dataset's split
    sizes before the budget's subsets (None: MNIST's 60,000 / 10,000)."""
    from .. import flops, models
    from ..data import DATASETS

    b = config.budget
    spec = DATASETS[config.dataset]
    _, nte = flops.split_sizes(config.dataset, n_train, n_test, b.n_train, b.n_test)
    n_shift = nte if config.n_shift_test is None else min(nte, config.n_shift_test)
    probe = 2 * (2 * config.max_shift + 1) * n_shift  # images per model: both directions, every shift
    work = []
    for variant in VARIANTS:
        cnn = mnist_cnn.planned_cnn(b, config.seeds, config.dataset, pooling=POOLING[variant],
                                    evaluate_train=False, n_train=n_train, n_test=n_test,
                                    name=f"mnist_cnn(pooling={POOLING[variant]}) {variant}")
        work.append(dataclasses.replace(cnn, eval_images=cnn.eval_images + len(config.seeds) * probe))
    mlps = len(config.seeds) if mlp_seeds is None else int(mlp_seeds)
    work.append(flops.Work("mlp (mnist-mlp's) shift probes",
                           lambda: models.mlp(spec.image_shape, len(spec.class_names)),
                           train_images=0, eval_images=mlps * probe))
    return work


def run(config: Config, ctx) -> dict:
    from .. import training
    from ..data import Preprocess

    mlp = ctx.prerequisite("mnist-mlp").runs()
    b = config.budget
    data = ctx.dataset(config.dataset).subset(b.n_train, b.n_test)
    runs = {v: mnist_cnn.train(b, config.seeds, ctx, data, pooling=POOLING[v], folder=v,
                               evaluate_train=False) for v in VARIANTS}

    preprocess = Preprocess()
    x, y = data.test.x[:config.n_shift_test], data.test.y[:config.n_shift_test]
    shifts = list(range(-config.max_shift, config.max_shift + 1))

    def curves_of(records):
        return [{"seed": r["seed"], **shift_curves(training.load_model(d, r), x, y, shifts, preprocess)}
                for d, r in records]

    curves = {"mlp": curves_of(mlp), **{v: curves_of(runs[v]) for v in VARIANTS}}
    drops = {name: [mean_drop({k: c[k] for k in ("horizontal", "vertical")}, shifts) for c in runs_]
             for name, runs_ in curves.items()}

    def minus_max_pool(variant):  # paired by seed: the same seed trained both
        return [d - m for d, m in zip(drops[variant], drops["max_pool"], strict=True)]

    return {
        "metrics": {
            "drop_reduction": minus_max_pool("subsample"),
            "drop_reduction_no_pooling": minus_max_pool("no_pooling"),
            **{f"mean_drop_{name}": values for name, values in drops.items()},
            **{f"test_accuracy_{v}": [r["test_accuracy"] for _, r in runs[v]] for v in VARIANTS},
        },
        "shifts": shifts,
        "n_shift_test": int(len(y)),
        "curves": curves,
        "params": {v: runs[v][0][1]["params"] for v in VARIANTS},
        **{k: v for variant in VARIANTS
           for k, v in training.seed_block(runs[variant], suffix=f"_{variant}").items()
           if not k.startswith("params")},
        "class_names": list(data.class_names),
        "data": data.provenance(),
    }
