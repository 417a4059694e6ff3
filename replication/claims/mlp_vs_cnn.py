"""The CNN makes several times fewer test errors than the MLP with about 4x fewer parameters.

Lecture: slides "CNN Example" and "We have designed a net to identify hand-written digits"
(932,362 MLP parameters vs 225,162 CNN parameters; the CNN "gets much, much better results").
Nothing is trained here: the models and test predictions of ``mnist-mlp`` and ``mnist-cnn`` are
compared seed by seed (MLP seed k against CNN seed k) on the same test images: error counts, their
ratio, McNemar's test on the paired predictions, and the parameters per layer.
Tested by: registry entry ``mlp-vs-cnn`` (MLP errors / CNN errors per seed pair; one-sided t-test
over the pairs that the mean ratio exceeds the entry's threshold).
Figures: ``figures/mlp_vs_cnn/plot_model_diagrams.py``, ``figures/mlp_vs_cnn/plot_confusion_matrices.py``,
``figures/mlp_vs_cnn/plot_params_per_layer.py``.
Tests: ``tests/claims/test_mlp_vs_cnn.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import ReplicationError


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "mnist"
    seeds: tuple[int, ...] = (0, 1, 2)  # seed pairs; the prerequisites train the same seeds
    n_train: int | None = None  # must match mnist-mlp and mnist-cnn (the same test images)
    n_test: int | None = None


PROFILES = {
    "paper": Config(),
    "quick": Config(),  # the seeds of mnist-mlp and mnist-cnn quick; seconds
    "smoke": Config(seeds=(0,), n_train=1024, n_test=512),
}


def mcnemar(correct_a, correct_b) -> dict:
    """McNemar's test on paired right/wrong outcomes of two classifiers on the same examples.

    ``b``: a wrong where b is right; ``c``: a right where b is wrong. ``p_exact``: two-sided exact
    binomial test of b against Binomial(b + c, 1/2); ``chi2``/``p_chi2``: the chi-square statistic
    with continuity correction, (|b - c| - 1)^2 / (b + c), on 1 degree of freedom.
    """
    from scipy import stats

    a, b_ = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b_.shape:
        raise ValueError(f"paired outcomes differ in shape: {a.shape} vs {b_.shape}")
    b, c = int(np.sum(~a & b_)), int(np.sum(a & ~b_))
    if b + c == 0:
        return {"b": 0, "c": 0, "p_exact": 1.0, "chi2": 0.0, "p_chi2": 1.0}
    chi2 = max(abs(b - c) - 1, 0) ** 2 / (b + c)
    return {"b": b, "c": c, "p_exact": float(stats.binomtest(b, b + c, 0.5).pvalue),
            "chi2": float(chi2), "p_chi2": float(stats.chi2.sf(chi2, 1))}


def layer_table(model) -> list:
    """[[layer name, layer class, parameters], ...] for every layer."""
    return [[layer.name, layer.__class__.__name__, int(layer.count_params())] for layer in model.layers]


def planned_work(config: Config, n_train: int | None = None, n_test: int | None = None) -> list:
    """What :func:`run` computes (:class:`replication.flops.Work`): nothing. It compares the test
    predictions that ``mnist-mlp`` and ``mnist-cnn`` saved (their work is counted in their own
    results) and only loads their models to count parameters. Arguments as the other claims'."""
    return []


def run(config: Config, ctx) -> dict:
    from .. import training

    data = ctx.dataset(config.dataset).subset(config.n_train, config.n_test)
    labels = data.test.y
    mlp = ctx.prerequisite("mnist-mlp").runs_by_seed()
    cnn = ctx.prerequisite("mnist-cnn").runs_by_seed()
    seeds = [s for s in config.seeds if s in mlp and s in cnn]
    if not seeds:
        raise ReplicationError(f"no seed trained by both mnist-mlp ({sorted(mlp)}) and mnist-cnn "
                               f"({sorted(cnn)}) among {list(config.seeds)}")

    pairs, mlp_preds, cnn_preds = [], [], []
    for seed in seeds:
        p_mlp = training.load_test_probs(*mlp[seed]).argmax(1)
        p_cnn = training.load_test_probs(*cnn[seed]).argmax(1)
        if len(p_mlp) != len(labels) or len(p_cnn) != len(labels):
            raise ReplicationError(f"seed {seed}: the prerequisites predicted {len(p_mlp)} and "
                                   f"{len(p_cnn)} test images, this claim has {len(labels)}")
        e_mlp, e_cnn = int(np.sum(p_mlp != labels)), int(np.sum(p_cnn != labels))
        # A CNN without a single error counts as 1, so that the ratio stays finite (a lower bound).
        pairs.append({"seed": seed, "mlp_errors": e_mlp, "cnn_errors": e_cnn,
                      "mlp_train_accuracy": mlp[seed][1].get("train_accuracy"),
                      "cnn_train_accuracy": cnn[seed][1].get("train_accuracy"),
                      "error_ratio": e_mlp / max(e_cnn, 1),
                      "mcnemar": mcnemar(p_mlp == labels, p_cnn == labels)})
        mlp_preds.append(p_mlp)
        cnn_preds.append(p_cnn)

    mlp_model = training.load_model(*mlp[seeds[0]])
    cnn_model = training.load_model(*cnn[seeds[0]])
    params = {"mlp": int(mlp_model.count_params()), "cnn": int(cnn_model.count_params())}
    return {
        "metrics": {
            "error_ratio": [p["error_ratio"] for p in pairs],
            "mlp_errors": [p["mlp_errors"] for p in pairs],
            "cnn_errors": [p["cnn_errors"] for p in pairs],
            "mcnemar_p_exact": [p["mcnemar"]["p_exact"] for p in pairs],
            "mlp_train_accuracy": [p["mlp_train_accuracy"] for p in pairs],
            "cnn_train_accuracy": [p["cnn_train_accuracy"] for p in pairs],
        },
        "pairs": pairs,
        "n_test": len(labels),
        "params": params,
        "params_ratio": params["mlp"] / params["cnn"],
        "params_per_layer": {"mlp": layer_table(mlp_model), "cnn": layer_table(cnn_model)},
        "class_names": list(data.class_names),
        "data": data.provenance(),
        "arrays": {
            "test_labels": labels.astype("int8"),
            "mlp_predictions": np.stack(mlp_preds).astype("int8"),  # (seeds, n_test)
            "cnn_predictions": np.stack(cnn_preds).astype("int8"),
        },
    }
