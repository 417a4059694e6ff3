"""Keras Tuner machinery for sweeps: a resumable grid oracle, a tuner whose trials run one
resumable execution per seed, the project folder's safety checks, and the distributed roles.

A claim supplies the search space (a ``keras_tuner.HyperModel``) and the data; this module runs
it. Keras Tuner is imported inside the functions that need it, so importing this module does no
work.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from . import interrupts, results
from .errors import ReplicationError

ROLES = ("chief", "worker")


@dataclasses.dataclass(frozen=True)
class Distributed:
    """This process's part in a Keras Tuner distributed sweep (``run depth-width --role ...``).
    Only a claim whose module sets ``DISTRIBUTED = True`` (depth-width) accepts one."""

    role: str  # "chief" (serves the oracle, writes the result) or "worker" (trains trials)
    oracle: str  # HOST:PORT where the chief serves the oracle
    tuner_id: str | None = None  # a worker's unique name

    def __post_init__(self):
        if self.role not in ROLES:
            raise ReplicationError(f"--role: {self.role!r} is not one of {', '.join(ROLES)}")
        # Keras Tuner 1.4.8 takes any process whose KERASTUNER_TUNER_ID contains "chief" for the
        # chief (keras_tuner/src/distribute/utils.py, is_chief_oracle): such a worker would
        # start a second oracle instead of asking the chief for trials (issue #24).
        if self.worker and self.tuner_id and "chief" in self.tuner_id:
            raise ReplicationError(
                f"--tuner-id {self.tuner_id!r}: Keras Tuner treats any id containing 'chief' as "
                f"the chief; give this worker a name without it (e.g. gpu-0)")

    @property
    def worker(self) -> bool:
        return self.role == "worker"


def set_roles(distributed: Distributed | None) -> None:
    """Keras Tuner's distributed mode reads these three variables (chief or worker)."""
    if distributed is None:
        return
    host, _, port = distributed.oracle.rpartition(":")
    os.environ["KERASTUNER_ORACLE_IP"] = host
    os.environ["KERASTUNER_ORACLE_PORT"] = port
    os.environ["KERASTUNER_TUNER_ID"] = ("chief" if distributed.role == "chief"
                                         else (distributed.tuner_id or "worker"))


def oracle_class():
    """:class:`CuratedGridOracle`, made on first use (Keras Tuner is imported lazily)."""
    import keras_tuner

    class CuratedGridOracle(keras_tuner.Oracle):
        """Grid search over the one ``hp.Choice`` of the space: every value once, in order.

        Its whole state is the trials themselves, so a reloaded project resumes. Our own, because
        Keras Tuner 1.4.8's ``GridSearchOracle`` keeps its order in a linked list that it does not
        save: after a reload it fails with a KeyError as soon as a trial ends (keras-team/
        keras-tuner#1055, fix proposed in #1056; our kill-and-resume test caught it). Drop this
        class for ``keras_tuner.GridSearch`` once a released Keras Tuner persists that order.
        """

        def populate_space(self, trial_id):
            hp = self.get_space().space[0]
            taken = {t.hyperparameters.values.get(hp.name) for t in self.trials.values()}
            for value in hp.values:
                if value not in taken:
                    return {"status": keras_tuner.engine.trial.TrialStatus.RUNNING,
                            "values": {hp.name: value}}
            if self.ongoing_trials:
                return {"status": keras_tuner.engine.trial.TrialStatus.IDLE, "values": None}
            return {"status": keras_tuner.engine.trial.TrialStatus.STOPPED, "values": None}

    return CuratedGridOracle


def tuner_class():
    """:class:`SeedExecutionsTuner`, made on first use (Keras Tuner is imported lazily)."""
    import keras
    import keras_tuner

    from . import training
    from .epochs import EpochSeed, EpochTimer, HeldOutScore, StopOnInterrupt, epoch_batches
    from .evaluation import evaluate
    from .hardware import batch_multiple, synchronized_batchnorm

    class SeedExecutionsTuner(keras_tuner.Tuner):
        """A tuner whose trials run one execution per seed, each resumable (BackupAndRestore) and
        saved atomically under ``cache_dir/<config>/seed<k>/``, and which report the test
        accuracy, parameters and wall time with the objective, so the oracle's (the chief's)
        trial files hold the whole table.

        ``sweep``: seeds, epochs, batch_size, cache_dir, deterministic, verbose, num_classes,
        preprocess, x_train/y_train (uint8 images, int labels), x_val/y_val, x_test/y_test and
        x_train_eval/y_train_eval (a fixed sample of the training images for the training accuracy;
        preprocessed images, one-hot labels); optionally ``plateau``, the epoch windows of
        :func:`plateau_gain` read from each execution's validation curve. The objective is
        validation accuracy; the test set is scored once per execution, after training, and
        steers nothing.
        """

        def __init__(self, hypermodel, *, objective, max_trials, sweep, **kwargs):
            super().__init__(oracle=oracle_class()(objective=objective, max_trials=max_trials,
                                                   max_consecutive_failed_trials=1),
                             hypermodel=hypermodel, **kwargs)
            self.sweep = sweep

        def run_trial(self, trial, *args, **kwargs):
            sw = self.sweep
            name = trial.hyperparameters.get("config")
            per_seed, params = [], None
            for seed in sw["seeds"]:
                interrupts.check()
                run_dir = Path(sw["cache_dir"]) / name / f"seed{seed}"
                done = run_dir / "done.json"
                if done.exists():
                    record = results.read_json(done)
                else:
                    record = self._execute(trial.hyperparameters, seed, run_dir)
                    results.atomic_write_json(done, record)
                per_seed.append(record)
                params = record["params"]
            out = {"params": float(params), "executions": float(len(per_seed)),
                   "wall_time_s": float(sum(r["wall_time_s"] for r in per_seed))}
            for key in ("val_accuracy", "test_accuracy", "train_accuracy", "plateau_gain"):
                # NaN is stored as null in a reused execution's done.json (plateau_gain without
                # gate windows): read back as NaN, not None.
                values = [float("nan") if r.get(key) is None else r[key] for r in per_seed]
                out[key] = float(np.mean(values))  # val_accuracy: the objective
                out[f"{key}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
                for seed, v in zip(sw["seeds"], values, strict=True):
                    out[f"{key}_seed{seed}"] = float(v)
            return out

        def _execute(self, hp, seed, run_dir):
            sw = self.sweep
            run_dir.mkdir(parents=True, exist_ok=True)
            training.set_seed(seed, sw["deterministic"])
            t0 = time.perf_counter()
            model = self._try_build(hp)  # built (and compiled) by the HyperModel, in the strategy
            batches, feed = epoch_batches(sw["x_train"], sw["y_train"], sw["batch_size"],
                                          sw["num_classes"], sw["preprocess"], seed)
            # Keras's own validation, except where a JAX DataParallel could not split its
            # batches evenly (issue #24): then HeldOutScore logs the same val_* columns.
            keras_validation = batch_multiple() == 1
            held_out = [] if keras_validation else [HeldOutScore(sw["x_val"], sw["y_val"])]
            with synchronized_batchnorm(model):  # one set of BatchNorm statistics (#24)
                model.fit(
                    feed, epochs=sw["epochs"], shuffle=False, verbose=sw["verbose"],
                    validation_data=(sw["x_val"], sw["y_val"]) if keras_validation else None,
                    validation_batch_size=training.EVAL_BATCH,  # not Keras's 32 (fit_seed's note)
                    callbacks=[StopOnInterrupt(), EpochSeed(seed, batches),
                               keras.callbacks.BackupAndRestore(str(run_dir / "backup"),
                                                                double_checkpoint=True),
                               EpochTimer(), *held_out,
                               keras.callbacks.CSVLogger(str(run_dir / "history.csv"),
                                                         append=True)])
            history = training.read_history(run_dir / "history.csv")
            test = evaluate(model, sw["x_test"], sw["y_test"], batch_size=training.EVAL_BATCH)
            # Training accuracy as the verdict's models are used: inference mode (BatchNorm's
            # moving statistics), on a fixed sample of the training images.
            train = evaluate(model, sw["x_train_eval"], sw["y_train_eval"], batch_size=training.EVAL_BATCH)
            # Keras's val_* columns hold the validation split here (read_history names them test_*).
            val_curve = [float(v) for v in history["test_accuracy"]]
            return {"seed": int(seed), "params": int(model.count_params()),
                    "val_accuracy_per_epoch": val_curve,
                    "loss_per_epoch": [float(v) for v in history["loss"]],
                    "plateau_gain": plateau_gain(val_curve, sw.get("plateau")),
                    "val_accuracy": float(history["test_accuracy"][-1]),
                    "test_accuracy": float(test["accuracy"]), "test_loss": float(test["loss"]),
                    "train_accuracy": float(train["accuracy"]),
                    "epochs": int(sw["epochs"]), "wall_time_s": time.perf_counter() - t0,
                    "train_accuracy_last_epoch": float(history["accuracy"][-1])}

    return SeedExecutionsTuner


def plateau_gain(curve, windows) -> float:
    """How much a per-epoch curve still rose late in training: the mean of ``curve[b:c]`` minus
    the mean of ``curve[a:b]``, for ``windows`` = (a, b, c) (0-based epoch indices); NaN where
    ``windows`` is None or the curve is too short (depth-width's convergence gate, issue #23)."""
    if windows is None:
        return float("nan")
    a, b, c = windows
    if not 0 <= a < b < c <= len(curve):
        return float("nan")
    return float(np.mean(curve[b:c]) - np.mean(curve[a:b]))


def project_ok(project: Path) -> bool:
    """False when Keras Tuner's own files are damaged (it writes them in place, not atomically):
    a kill mid-write leaves a truncated oracle.json or trial.json that it cannot reload."""
    for path in [project / "oracle.json", *project.glob("trial_*/trial.json")]:
        if path.exists():
            try:
                json.loads(path.read_text())
            except (ValueError, OSError):
                return False
    return True


def prepare_project(tuner_dir: Path, fp: str, *, force: bool, log=print, name: str = "sweep") -> bool:
    """Make ``tuner_dir`` ready for the sweep ``fp``; return whether Keras Tuner must start its
    project afresh (overwrite). Stops with a message naming ``--force`` when the folder holds
    another sweep's project."""
    marker = tuner_dir / "sweep.json"
    if tuner_dir.exists() and any(tuner_dir.iterdir()):
        saved = None
        if marker.exists():
            try:
                saved = results.read_json(marker).get("fingerprint")
            except Exception:  # noqa: BLE001 - a damaged marker is a mismatch
                saved = None
        if saved != fp and not force:
            raise ReplicationError(
                f"{tuner_dir} holds a Keras Tuner project of another sweep configuration "
                f"(fingerprint {saved} here, {fp} now: space, data, budget or seeds changed); "
                f"rerun with --force to start this sweep afresh (the old project is deleted)")
        if saved != fp:
            log(f"[{name}] --force: deleting the old sweep in {tuner_dir}")
            shutil.rmtree(tuner_dir)
    tuner_dir.mkdir(parents=True, exist_ok=True)
    results.atomic_write_json(marker, {"fingerprint": fp})
    project = tuner_dir / "sweep"
    if project.exists() and not project_ok(project):
        log(f"[{name}] {project} was damaged by an interruption: rebuilding it; finished "
            f"executions are reused from {tuner_dir / 'executions'}, the rest train again")
        return True
    return False
