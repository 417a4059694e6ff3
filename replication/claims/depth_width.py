"""Deeper beats wider (Goodfellow et al. 2014; Deep Learning book, Figures 6.6 and 6.7).

Lecture: the slides that show Figures 6.6 (test accuracy rises steadily with depth, from 3 to 11
layers, on SVHN; the numbers: registry entry ``depth-width``) and 6.7 (adding parameters without
depth helps far less).
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
Figures: ``figures/depth_width/plot_depth_accuracy.py``, ``figures/depth_width/plot_params_accuracy.py``,
``figures/depth_width/plot_convergence.py``.
Tests: ``tests/claims/test_depth_width.py``.

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

from ..errors import ReplicationError

# run() takes a tuning.Distributed (--role chief/worker): the runner passes it to this claim only.
DISTRIBUTED = True

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

# The in-band networks: the depth series (2 to 11 conv layers) and the in-band member of each
# shallow family. quick sweeps only these, to buy steps for them; paper sweeps all of CONFIGS.
IN_BAND_GRID = ("depth-d2-w56", "shallow_conv-w48", "depth-d5-w40", "depth-d7-w36", "depth-d9-w32",
                "deep-w30", "shallow_fc-fc176")
# smoke: the depth series' ends and middle (2, 3, 11 conv layers) and each family's in-band member,
# so every step of the analysis runs (the depth trend, the deep-vs-wide rival) with 4 of the 7
# trials (the 7 took 77 s of the smoke `all` on a 2-core CPU, mostly tracing; stop 32).
SMOKE_GRID = ("depth-d2-w56", "shallow_conv-w48", "deep-w30", "shallow_fc-fc176")


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "cifar10"
    seeds: tuple[int, ...] = (0, 1, 2)  # one execution per seed, in every trial
    grid: tuple[str, ...] = tuple(CONFIGS)
    band: tuple[int, int] = (140_000, 150_000)  # the matched parameter count (both verdicts)
    epochs: int = 30
    batch_size: int = 128
    peak_learning_rate: float = 2e-3  # Adam's peak learning rate
    # "one_cycle" (optimizers.one_cycle, the designs of benchmarks/DEPTH_DIAGNOSIS.md) or "wsd"
    # (optimizers.warmup_stable_decay: 5% warm-up, the peak held, a linear decay over the last
    # decay_fraction of the steps; the convergence gate reads the stable phase, issue #23).
    schedule: str = "one_cycle"
    decay_fraction: float = 0.2
    n_train: int | None = None  # training images used (validation carved from them); None: all
    validation_fraction: float = 0.1
    n_test: int | None = None  # test images scored per execution; None: all 10,000
    n_train_eval: int = 5000  # training images scored for the training accuracy (inference mode)
    # The design (issue #16, chosen on validation; benchmarks/DEPTH_DIAGNOSIS.md): BatchNorm's
    # moving statistics must follow a few hundred steps (Keras's 0.99 kept 18% of their start after
    # 172 and left the deep nets at chance in inference mode), and a random flip in training.
    bn_momentum: float = 0.9
    flip: bool = True
    head: str = "flatten"  # "flatten" (the 4x4 map into Dense 128) or "gap" (models.depth_width_cnn)


PROFILES = {
    # Judged seeds 10-12 in both profiles, disjoint from the pilots' 0, 1, 100 and 101 (registry).
    "paper": Config(seeds=(10, 11, 12), schedule="wsd"),
    # The 7 in-band networks x 3 seeds trained to convergence on a small problem (issue #23, item 1;
    # design wsd-32e-8k-b64 of benchmarks/DEPTH_CONVERGENCE_PILOT.md): 8,000 training + 2,000
    # validation images, 32 epochs at batch 64 (4,000 steps), the peak learning rate held to epoch
    # 26, all 10,000 test images scored once per execution.
    "quick": Config(seeds=(10, 11, 12), grid=IN_BAND_GRID, schedule="wsd", epochs=32, n_train=10_000,
                    validation_fraction=0.2, batch_size=64),
    "smoke": Config(seeds=(0,), grid=SMOKE_GRID, epochs=1, n_train=256, n_test=128,
                    validation_fraction=0.25),
}

def spec(name: str) -> dict:
    family, depth, width, fc_width, fc_layers = CONFIGS[name]
    return {"config": name, "family": family, "depth": depth, "width": width, "fc_width": fc_width,
            "fc_layers": fc_layers}


def build_config(name: str, input_shape, num_classes: int, *, bn_momentum: float = 0.99,
                 flip: bool = False, head: str = "flatten"):
    """The network ``name`` of :data:`CONFIGS` (the design's options as in :class:`Config`; the
    defaults build the original sweep's network, parameter for parameter)."""
    from .. import models

    s = spec(name)
    return models.depth_width_cnn(s["depth"], s["width"], s["fc_width"], s["fc_layers"],
                                  input_shape=input_shape, num_classes=num_classes, name=name,
                                  bn_momentum=bn_momentum, flip=flip, head=head)


def _hypermodel_class():
    import keras_tuner

    class DepthWidthHyperModel(keras_tuner.HyperModel):
        """One ``hp.Choice("config", ...)`` over named configurations with known parameter
        counts: a curated list rather than a depth x width grid, so the families overlap."""

        def __init__(self, grid, input_shape, num_classes, optimizer, steps_per_epoch, epochs,
                     design: dict):
            super().__init__(name="depth_width")
            self.grid, self.input_shape, self.num_classes = list(grid), tuple(input_shape), num_classes
            self.optimizer, self.steps_per_epoch, self.epochs = optimizer, steps_per_epoch, epochs
            self.design = dict(design)  # bn_momentum, flip, head

        def build(self, hp):
            name = hp.Choice("config", self.grid)
            model = build_config(name, self.input_shape, self.num_classes, **self.design)
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


def plateau_windows(config: Config) -> tuple[int, int, int] | None:
    """The convergence gate's epochs (0-based, as :func:`replication.tuning.plateau_gain` reads
    them): the last two fifths of all epochs before the decay phase, ``(a, b, c)`` with windows
    ``a:b`` and ``b:c``. With 20 epochs and a decay over the last fifth: epochs 9-12 and 13-16
    (1-based). None where a window would be empty."""
    fifth = round(config.epochs / 5)
    c = config.epochs - round(config.decay_fraction * config.epochs)
    b, a = c - fifth, c - 2 * fifth
    return (a, b, c) if fifth >= 1 and a >= 0 else None


def make_tuner(config: Config, ctx, data, *, overwrite: bool, distributed=None):
    import keras_tuner

    from .. import hardware, optimizers, tuning
    from ..data import Preprocess

    train, val = data.validation_split(int(round(config.validation_fraction * len(data.train))), seed=0)
    preprocess = Preprocess.standardize_from(train)
    num_classes = data.num_classes
    onehot = np.eye(num_classes, dtype="float32")
    steps = int(np.ceil(len(train) / config.batch_size))
    if config.schedule == "wsd":
        optimizer = optimizers.warmup_stable_decay(config.peak_learning_rate,
                                                   decay_fraction=config.decay_fraction)
    elif config.schedule == "one_cycle":
        optimizer = optimizers.one_cycle(config.peak_learning_rate)
    else:
        raise ReplicationError(f"depth-width: unknown schedule {config.schedule!r} "
                               "(choose 'wsd' or 'one_cycle')")
    hypermodel = _hypermodel_class()(config.grid, data.image_shape, num_classes, optimizer, steps,
                                     config.epochs, design={"bn_momentum": config.bn_momentum,
                                                            "flip": config.flip, "head": config.head})
    s = hardware.strategy()  # TensorFlow: a tf.distribute strategy; JAX: set globally, None here
    worker = distributed is not None and distributed.worker
    directory = (ctx.tuner_dir / "workers" / (distributed.tuner_id or "worker") if worker
                 else ctx.tuner_dir)
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
            # A fixed sample of the training images (the first n_train_eval), for the training
            # accuracy in inference mode: did the deep networks fit at all?
            "x_train_eval": preprocess(train.x[:config.n_train_eval]),
            "y_train_eval": onehot[train.y[:config.n_train_eval]],
            "plateau": plateau_windows(config) if config.schedule == "wsd" else None,
        },
    )
    return tuner, {"n_train": len(train), "n_validation": len(val), "n_test": len(data.test)}


def table_from_oracle(oracle, config: Config) -> list[dict]:
    """One row per trial, from the oracle's trial records (on the chief: every worker's trials):
    parameters, depth, width, family, and training / validation / test accuracy per seed with
    their mean and std, and wall time."""
    rows, failed = [], []
    for trial in oracle.trials.values():
        name = trial.hyperparameters.values.get("config")
        status = str(trial.status)
        if "COMPLETED" not in status:
            failed.append(f"trial {trial.trial_id} ({name}): {status} {trial.message or ''}".strip())
            continue
        m = {k: float(trial.metrics.get_last_value(k)) for k in trial.metrics.metrics}
        row = {**spec(name), "trial_id": trial.trial_id, "params": int(m["params"]),
               "wall_time_s": m["wall_time_s"], "executions": int(m["executions"])}
        for key in ("val_accuracy", "test_accuracy", "train_accuracy", "plateau_gain"):
            nan = float("nan")  # plateau_gain: absent from sweeps before the gate (issue #23)
            row[key] = m.get(key, nan)
            row[f"{key}_std"] = m.get(f"{key}_std", 0.0)
            row[f"{key}_per_seed"] = [m.get(f"{key}_seed{s}", nan) for s in config.seeds]
        rows.append(row)
    if failed:
        raise ReplicationError("depth-width: trials did not complete: " + "; ".join(failed))
    return sorted(rows, key=lambda r: config.grid.index(r["config"]))


def spearman_exact(depths, accs) -> dict:
    """Spearman rho of ``accs`` against ``depths`` with its exact one-sided permutation p-values
    (every ordering of the accuracies; 720 for six depths, so the smallest p is 1/720), instead
    of scipy's asymptotic p, which is meaningless for six points."""
    import itertools

    from scipy import stats

    rho = float(stats.spearmanr(depths, accs).statistic)
    perms = [float(stats.spearmanr(depths, p).statistic) for p in itertools.permutations(accs)]
    eps = 1e-12
    return {"rho": rho, "p_greater": sum(r >= rho - eps for r in perms) / len(perms),
            "p_less": sum(r <= rho + eps for r in perms) / len(perms), "permutations": len(perms)}


def analyse(rows: list[dict], band: tuple[int, int], seeds) -> dict:
    """Both verdicts' numbers from the table.

    depth-width: Spearman rho of the seed-mean test accuracy against depth over the in-band depth
    series (every in-band network but the shallow fully connected family), with its exact one-sided
    permutation p. deep-vs-wide: per seed, the deepest in-band network's test accuracy minus that of
    the shallow rival with the best mean *validation* accuracy (test accuracy selects nothing); per
    family the same beside it. Gate: the lowest mean validation accuracy of the in-band networks.
    """
    lo, hi = band
    in_band = [r for r in rows if lo <= r["params"] <= hi]
    series = sorted((r for r in in_band if r["family"] != "shallow_fc"), key=lambda r: r["depth"])
    depths = [r["depth"] for r in series]
    if len(set(depths)) >= 3:
        corr = spearman_exact(depths, [r["test_accuracy"] for r in series])
        corr_val = spearman_exact(depths, [r["val_accuracy"] for r in series])
    else:
        nan = float("nan")
        corr = corr_val = {"rho": nan, "p_greater": nan, "p_less": nan, "permutations": 0}
    deepest = max(series, key=lambda r: r["depth"]) if series else None
    shallow = [r for r in in_band if r["family"] in ("shallow_conv", "shallow_fc")]

    def per_seed_margin(rival):
        return [d - r for d, r in zip(deepest["test_accuracy_per_seed"], rival["test_accuracy_per_seed"],
                                      strict=True)]

    margins, rival = {}, None
    if deepest is not None and shallow:
        rival = max(shallow, key=lambda r: r["val_accuracy"])  # chosen on validation
        for fam in ("shallow_conv", "shallow_fc"):
            best = [r for r in shallow if r["family"] == fam]
            if best:
                best = max(best, key=lambda r: r["val_accuracy"])
                m = per_seed_margin(best)
                margins[fam] = {"rival": best["config"], "margin_per_seed": m, "margin": float(sum(m) / len(m))}
    return {
        "band": list(band), "n_in_band": len(in_band), "seeds": list(seeds),
        "depth_series": [{"config": r["config"], "depth": r["depth"], "params": r["params"],
                          **{k: r[k] for k in ("test_accuracy", "test_accuracy_std", "val_accuracy",
                                                "val_accuracy_std", "train_accuracy", "train_accuracy_std")},
                          "plateau_gain": r.get("plateau_gain", float("nan"))}
                         for r in series],
        "spearman_rho": corr["rho"], "spearman_p_greater": corr["p_greater"],
        "spearman_p_less": corr["p_less"], "spearman_permutations": corr["permutations"],
        "spearman_rho_validation": corr_val["rho"],
        "deepest": deepest["config"] if deepest else None,
        "rival": rival["config"] if rival else None,
        "deep_margin_per_seed": per_seed_margin(rival) if rival else [],
        "margins": margins,
        "min_val_accuracy_in_band": min((r["val_accuracy"] for r in in_band), default=float("nan")),
        "min_train_accuracy_in_band": min((r["train_accuracy"] for r in in_band), default=float("nan")),
        # The convergence gate: the largest late rise of an in-band network's validation accuracy
        # (mean over seeds; NaN, which fails the gate, where a network has none).
        "max_plateau_gain_in_band": _max_or_nan([r.get("plateau_gain", float("nan")) for r in in_band]),
    }


def _max_or_nan(values) -> float:
    values = list(values)
    if not values or any(not np.isfinite(v) for v in values):
        return float("nan")
    return float(max(values))


def execution_curves(tuner_dir, grid, seeds) -> dict:
    """{network: {seed: per-epoch validation accuracy, training loss and plateau gain}} from the
    executions' records under ``tuner_dir`` (the chief's own and, in a distributed sweep run on
    one file system, its workers'); a record without curves (older sweeps) is left out."""
    from pathlib import Path

    from .. import results

    out: dict = {}
    for name in grid:
        for seed in seeds:
            found = sorted(Path(tuner_dir).glob(f"**/executions/{name}/seed{seed}/done.json"))
            if not found:
                continue
            rec = results.read_json(found[0])
            if "val_accuracy_per_epoch" in rec:
                out.setdefault(name, {})[str(seed)] = {
                    k: rec[k] for k in ("val_accuracy_per_epoch", "loss_per_epoch", "plateau_gain")}
    return out


def planned_work(config: Config, n_train: int | None = None, n_test: int | None = None) -> list:
    """What :func:`run` trains and scores (:class:`replication.flops.Work`), from the config alone:
    every network of the grid, one execution per seed: training on the training images less the
    validation split, the validation pass after every epoch, then evaluate on the test images and
    on the first ``n_train_eval`` training images. ``n_train``/``n_test``: the loaded dataset's
    split sizes before the config's subsets (None: CIFAR-10's 50,000 / 10,000)."""
    from .. import flops
    from ..data import DATASETS

    spec = DATASETS[config.dataset]
    ntr, nte = flops.split_sizes(config.dataset, n_train, n_test, config.n_train, config.n_test)
    n_val = int(round(config.validation_fraction * ntr))  # as make_tuner's validation split
    fit = ntr - n_val
    seeds = len(config.seeds)
    per_seed = config.epochs * n_val + nte + min(config.n_train_eval, fit)
    design = {"bn_momentum": config.bn_momentum, "flip": config.flip, "head": config.head}

    def work(name):
        return flops.Work(
            name, lambda: build_config(name, spec.image_shape, len(spec.class_names), **design),
            train_images=seeds * config.epochs * fit, eval_images=seeds * per_seed)

    return [work(name) for name in config.grid]


def run(config: Config, ctx, distributed=None) -> dict:
    """The sweep; ``distributed`` (a :class:`replication.tuning.Distributed`, from ``--role``) makes
    this process Keras Tuner's chief or one of its workers."""
    from .. import hardware, tuning

    tuning.set_roles(distributed)
    worker = distributed is not None and distributed.worker
    data = ctx.dataset(config.dataset).subset(config.n_train, config.n_test)
    fp = sweep_fingerprint(config, data.provenance())
    overwrite = False
    if not worker:
        overwrite = tuning.prepare_project(ctx.tuner_dir, fp, force=ctx.force, name="depth-width")
    tuner, sizes = make_tuner(config, ctx, data, overwrite=overwrite, distributed=distributed)
    t0 = time.perf_counter()
    tuner.search(verbose=0)
    wall = time.perf_counter() - t0
    if worker:
        return {"worker_only": True, "wall_time_s": wall}
    rows = table_from_oracle(tuner.oracle, config)
    missing = sorted(set(config.grid) - {r["config"] for r in rows})
    if missing:
        raise ReplicationError(f"depth-width: the sweep ended without trials for {missing}")
    a = analyse(rows, config.band, config.seeds)
    windows = plateau_windows(config) if config.schedule == "wsd" else None
    return {
        # One value each for the sweep's statistics (over seed means); deep_margin per seed.
        "metrics": {
            "spearman_rho": [a["spearman_rho"]],
            "spearman_p_greater": [a["spearman_p_greater"]],
            "spearman_p_less": [a["spearman_p_less"]],
            "spearman_rho_validation": [a["spearman_rho_validation"]],
            "deep_margin": a["deep_margin_per_seed"],
            "min_val_accuracy_in_band": [a["min_val_accuracy_in_band"]],
            "min_train_accuracy_in_band": [a["min_train_accuracy_in_band"]],
            # Negated, so that the registry's gate reads "at least": -0.01 means no in-band
            # network's validation accuracy rose by more than 1 point late in its stable phase.
            "minus_max_plateau_gain_in_band": [-a["max_plateau_gain_in_band"]],
        },
        "table": rows,
        "analysis": a,
        # Per network and seed: the validation accuracy and training loss after every epoch, and
        # the windows of the convergence gate (figures/depth_width/plot_convergence.py).
        "curves": execution_curves(ctx.tuner_dir, config.grid, config.seeds),
        "plateau_windows": list(windows) if windows else None,
        "sizes": sizes,
        "search_wall_time_s": wall,
        "strategy": hardware.strategy_name(),
        "distributed": distributed is not None and distributed.role == "chief",
        "tuner_fingerprint": fp,
        "lecture_dataset_note": (
            "The lecture's Figures 6.6 and 6.7 are on SVHN (Goodfellow et al. 2014); this sweep runs "
            "on CIFAR-10 by default, because SVHN cannot be downloaded here "
            "(--dataset svhn_cropped goes through TFDS where it can)."),
        "data": data.provenance(),
    }
