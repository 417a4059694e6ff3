"""Deeper beats wider (Goodfellow et al. 2014; Deep Learning book, Figures 6.6 and 6.7).

Lecture: the slides that show Figures 6.6 (test accuracy rises with depth, from about 92.0% with 3
layers to 96.0% with 11, on SVHN) and 6.7 (adding parameters without depth helps far less).
Test: a Keras Tuner sweep (a grid search over one ``hp.Choice`` of named configurations, see
:data:`CONFIGS`) of one plain CNN (:func:`replication.models.depth_width_cnn`) in three families,
as in Fig. 6.7: deep (11 conv layers), shallow and wide (3 conv layers, more filters), shallow with
wide fully connected layers; plus a depth series (2 to 11 conv layers) at one matched parameter
count (the band), for Fig. 6.6. The tuner's objective is accuracy on a validation split carved
from the training set; test accuracy is measured once per execution, after training, and never
steers anything. Every trial records its parameters, depth, width, family, test accuracy (mean and
std over its executions, one per seed) and wall time.
Tested by: registry entries ``depth-width`` (Spearman rho of test accuracy against depth, in the
band) and ``deep-vs-wide`` (the deepest network in the band minus the best shallow one).
Figures: ``figures/plot_depth_accuracy.py``, ``figures/plot_params_accuracy.py``.

Scaling out: Keras Tuner's own distributed mode. ``run depth-width --role chief --oracle
HOST:PORT`` serves the oracle and writes the result once every trial has run; each ``run
depth-width --role worker --oracle HOST:PORT --tuner-id NAME`` asks it for trials and trains them
(see the README). A sweep resumes from its Keras Tuner project (``<claim dir>/tuner/``) only when
its fingerprint matches; a project damaged by a crash is rebuilt from the per-execution results
this module saves atomically, so only the damaged trials train again.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

# name: (family, depth, width, fc_width, fc_layers). Families as in Fig. 6.7; "depth" configs only
# fill in the depth series (Fig. 6.6), whose members all have about 145k parameters (the band).
CONFIGS = {
    "depth-d2-w56": ("depth", 2, 56, 128, 1),  # 146,402
    "shallow_conv-w48": ("shallow_conv", 3, 48, 128, 1),  # 143,210 (also depth 3 of the series)
    "depth-d5-w40": ("depth", 5, 40, 128, 1),  # 143,018
    "depth-d7-w36": ("depth", 7, 36, 128, 1),  # 147,362
    "depth-d9-w32": ("depth", 9, 32, 128, 1),  # 142,986
    "deep-w30": ("deep", 11, 30, 128, 1),  # 146,318 (also depth 11 of the series)
    "deep-w24": ("deep", 11, 24, 128, 1),  # 104,378
    "deep-w48": ("deep", 11, 48, 128, 1),  # 311,018
    "deep-w64": ("deep", 11, 64, 128, 1),  # 506,378
    "deep-w96": ("deep", 11, 96, 128, 1),  # 1,035,338
    "shallow_conv-w96": ("shallow_conv", 3, 96, 128, 1),  # 367,946
    "shallow_conv-w160": ("shallow_conv", 3, 160, 128, 1),  # 796,618
    "shallow_conv-w256": ("shallow_conv", 3, 256, 128, 1),  # 1,716,106
    "shallow_fc-fc176": ("shallow_fc", 3, 32, 176, 2),  # 142,986
    "shallow_fc-fc384": ("shallow_fc", 3, 32, 384, 2),  # 368,458
    "shallow_fc-fc768": ("shallow_fc", 3, 32, 768, 2),  # 1,012,042
    "shallow_fc-fc1536": ("shallow_fc", 3, 32, 1536, 2),  # 3,183,946
}
FAMILIES = ("deep", "shallow_conv", "shallow_fc")

QUICK_GRID = ("depth-d2-w56", "shallow_conv-w48", "depth-d5-w40", "depth-d7-w36", "depth-d9-w32",
              "deep-w30", "deep-w24", "deep-w48", "shallow_conv-w96", "shallow_fc-fc176",
              "shallow_fc-fc384")
SMOKE_GRID = ("depth-d2-w56", "shallow_conv-w48", "depth-d5-w40", "depth-d7-w36", "depth-d9-w32",
              "deep-w30", "shallow_fc-fc176")


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "cifar10"
    seeds: tuple[int, ...] = (0, 1, 2)  # one execution per seed, in every trial
    grid: tuple[str, ...] = tuple(CONFIGS)
    band: tuple[int, int] = (140_000, 150_000)  # the matched parameter count (both verdicts)
    epochs: int = 30
    batch_size: int = 128
    peak_learning_rate: float = 2e-3  # Adam, one-cycle (optimizers.one_cycle)
    n_train: int | None = None  # training images used (validation carved from them); None: all
    validation_fraction: float = 0.1
    n_test: int | None = None  # test images scored per execution; None: all 10,000


PROFILES = {
    "paper": Config(),
    # 11 trials x 1 execution, 4 epochs on 6,000 training images (600 of them for validation),
    # test accuracy on 2,000 test images: about 20-30 minutes on 2 CPU cores.
    "quick": Config(seeds=(0,), grid=QUICK_GRID, epochs=4, n_train=6000, n_test=2000),
    "smoke": Config(seeds=(0,), grid=SMOKE_GRID, epochs=1, n_train=256, n_test=128,
                    validation_fraction=0.25),
}

def spec(name: str) -> dict:
    family, depth, width, fc_width, fc_layers = CONFIGS[name]
    return {"config": name, "family": family, "depth": depth, "width": width, "fc_width": fc_width,
            "fc_layers": fc_layers}


def build_config(name: str, input_shape, num_classes: int):
    from .. import models

    s = spec(name)
    return models.depth_width_cnn(s["depth"], s["width"], s["fc_width"], s["fc_layers"],
                                  input_shape=input_shape, num_classes=num_classes, name=name)


def _hypermodel_class():
    import keras_tuner

    class DepthWidthHyperModel(keras_tuner.HyperModel):
        """One ``hp.Choice("config", ...)`` over named configurations with known parameter
        counts: a curated list rather than a depth x width grid, so the families overlap."""

        def __init__(self, grid, input_shape, num_classes, optimizer, steps_per_epoch, epochs):
            super().__init__(name="depth_width")
            self.grid, self.input_shape, self.num_classes = list(grid), tuple(input_shape), num_classes
            self.optimizer, self.steps_per_epoch, self.epochs = optimizer, steps_per_epoch, epochs

        def build(self, hp):
            name = hp.Choice("config", self.grid)
            model = build_config(name, self.input_shape, self.num_classes)
            model.compile(optimizer=self.optimizer(self.steps_per_epoch, self.epochs),
                          loss="categorical_crossentropy", metrics=["accuracy"])
            return model

    return DepthWidthHyperModel


# --------------------------------------------------------------------------------------------
# The sweep


def sweep_fingerprint(config: Config, data_provenance: dict) -> str:
    """What must match for a saved Keras Tuner project to be resumed: the space, the data (name,
    subset, checksums), the training budget and the seeds. The profile name is part of the folder."""
    from .. import results

    return results.fingerprint({"config": dataclasses.asdict(config),
                                "space": {n: CONFIGS[n] for n in config.grid},
                                "data": data_provenance})


def make_tuner(config: Config, ctx, data, *, overwrite: bool):
    import keras_tuner

    from .. import hardware, optimizers, tuning
    from ..data import Preprocess

    train, val = data.validation_split(int(round(config.validation_fraction * len(data.train))), seed=0)
    preprocess = Preprocess.standardize_from(train)
    num_classes = data.num_classes
    onehot = np.eye(num_classes, dtype="float32")
    steps = int(np.ceil(len(train) / config.batch_size))
    hypermodel = _hypermodel_class()(config.grid, data.image_shape, num_classes,
                                     optimizers.one_cycle(config.peak_learning_rate), steps,
                                     config.epochs)
    s = hardware.strategy()  # TensorFlow: a tf.distribute strategy; JAX: set globally, None here
    directory = (ctx.tuner_dir if ctx.role != "worker"
                 else ctx.tuner_dir / "workers" / (ctx.tuner_id or "worker"))
    tuner = tuning.tuner_class()(
        hypermodel,
        objective=keras_tuner.Objective("val_accuracy", direction="max"),
        max_trials=len(config.grid),
        executions_per_trial=1,  # run_trial runs one execution per seed itself
        distribution_strategy=s if hasattr(s, "scope") else None,
        directory=str(directory),
        project_name="sweep",
        overwrite=overwrite,
        sweep={
            "seeds": list(config.seeds), "epochs": config.epochs, "batch_size": config.batch_size,
            "cache_dir": str(directory / "executions"), "deterministic": ctx.deterministic,
            "verbose": 2 if ctx.verbose else 0, "num_classes": num_classes, "preprocess": preprocess,
            "x_train": train.x, "y_train": train.y,
            "x_val": preprocess(val.x), "y_val": onehot[val.y],
            "x_test": preprocess(data.test.x), "y_test": onehot[data.test.y],
        },
    )
    return tuner, {"n_train": len(train), "n_validation": len(val), "n_test": len(data.test)}


def table_from_oracle(oracle, config: Config) -> list[dict]:
    """One row per trial, from the oracle's trial records (on the chief: every worker's trials)."""
    from ..errors import ReplicationError

    rows, failed = [], []
    for trial in oracle.trials.values():
        name = trial.hyperparameters.values.get("config")
        status = str(trial.status)
        if "COMPLETED" not in status:
            failed.append(f"trial {trial.trial_id} ({name}): {status} {trial.message or ''}".strip())
            continue
        m = {k: float(trial.metrics.get_last_value(k)) for k in trial.metrics.metrics}
        rows.append({**spec(name), "trial_id": trial.trial_id,
                     "params": int(m["params"]), "val_accuracy": m["val_accuracy"],
                     "test_accuracy": m["test_accuracy"], "test_accuracy_std": m["test_accuracy_std"],
                     "test_accuracy_per_seed": [m[f"test_accuracy_seed{s}"] for s in config.seeds],
                     "wall_time_s": m["wall_time_s"], "executions": int(m["executions"])})
    if failed:
        raise ReplicationError("depth-width: trials did not complete: " + "; ".join(failed))
    return sorted(rows, key=lambda r: config.grid.index(r["config"]))


def analyse(rows: list[dict], band: tuple[int, int]) -> dict:
    """Both verdicts' numbers from the table: Spearman rho of test accuracy against depth among
    the single-FC-layer networks in the band, and the deepest in-band network's margin over the
    best in-band network of each shallow family."""
    from scipy import stats

    lo, hi = band
    in_band = [r for r in rows if lo <= r["params"] <= hi]
    series = sorted((r for r in in_band if r["fc_layers"] == 1), key=lambda r: r["depth"])
    depths = [r["depth"] for r in series]
    accs = [r["test_accuracy"] for r in series]
    if len(set(depths)) >= 3:
        res = stats.spearmanr(depths, accs)
        rho, p = float(res.statistic), float(res.pvalue)
    else:
        rho, p = float("nan"), float("nan")
    deepest = max(series, key=lambda r: r["depth"]) if series else None
    margins = {}
    for fam in ("shallow_conv", "shallow_fc"):
        rivals = [r for r in in_band if r["family"] == fam]
        if deepest is not None and rivals:
            best = max(rivals, key=lambda r: r["test_accuracy"])
            margins[fam] = {"rival": best["config"], "margin": deepest["test_accuracy"] - best["test_accuracy"]}
    return {
        "band": list(band), "n_in_band": len(in_band),
        "depth_series": [{"config": r["config"], "depth": r["depth"], "params": r["params"],
                          "test_accuracy": r["test_accuracy"]} for r in series],
        "spearman_rho": rho, "spearman_p_value": p,
        "deepest": deepest["config"] if deepest else None,
        "margins": margins,
        "deep_margin": min((m["margin"] for m in margins.values()), default=float("nan")),
    }


def run(config: Config, ctx) -> dict:
    from .. import hardware, tuning

    tuning.set_roles(ctx.role, ctx.oracle, ctx.tuner_id)
    data = ctx.dataset(config.dataset).subset(config.n_train, config.n_test)
    fp = sweep_fingerprint(config, data.provenance())
    overwrite = False
    if ctx.role != "worker":
        overwrite = tuning.prepare_project(ctx.tuner_dir, fp, force=ctx.force, name="depth-width")
    tuner, sizes = make_tuner(config, ctx, data, overwrite=overwrite)
    t0 = time.perf_counter()
    tuner.search(verbose=0)
    wall = time.perf_counter() - t0
    if ctx.role == "worker":
        return {"worker_only": True, "wall_time_s": wall}
    rows = table_from_oracle(tuner.oracle, config)
    missing = sorted(set(config.grid) - {r["config"] for r in rows})
    if missing:
        from ..errors import ReplicationError

        raise ReplicationError(f"depth-width: the sweep ended without trials for {missing}")
    a = analyse(rows, config.band)
    return {
        "metrics": {
            "spearman_rho": [a["spearman_rho"]],
            "deep_margin": [a["deep_margin"]],
        },
        "table": rows,
        "analysis": a,
        "sizes": sizes,
        "search_wall_time_s": wall,
        "strategy": hardware.strategy_name(),
        "distributed": ctx.role == "chief",
        "tuner_fingerprint": fp,
        "lecture_dataset_note": (
            "The lecture's Figures 6.6 and 6.7 are on SVHN (Goodfellow et al. 2014); this sweep runs "
            "on CIFAR-10 by default, because SVHN cannot be downloaded here "
            "(--dataset svhn_cropped goes through TFDS where it can)."),
        "data": data.provenance(),
    }
