"""Training: seeds, the distribution strategy, resumable fits, per-seed caching.

Everything here is backend-agnostic Keras 3 except :func:`strategy`, which is the one place that
knows about ``tf.distribute`` and ``keras.distribution``.

A fit is resumable and reproducible across a crash:

- ``keras.callbacks.BackupAndRestore(double_checkpoint=True)`` saves weights, optimizer and epoch
  after every epoch, and restores them when the same command runs again;
- saved weights carry neither the shuffling state nor the dropout/augmentation random state, so
  :class:`EpochSeed` derives both from ``(seed, epoch)`` at the start of every epoch: where a run
  resumed changes neither the batches nor the masks;
- ``CSVLogger(append=True)`` keeps the curve of the epochs before a crash;
- a finished seed writes ``done.json`` last (atomically), and is never trained again for the same
  configuration.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import results

# --------------------------------------------------------------------------------------------
# Backend, hardware, strategy


def backend() -> str:
    import keras

    return keras.backend.backend()


def accelerators() -> list[str]:
    """Names of the visible GPUs/TPUs for the active backend (empty on a CPU)."""
    name = backend()
    if name == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]
    if name == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform != "cpu"]
    if name == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def default_profile() -> str:
    """``paper`` where an accelerator is visible, else ``quick``."""
    return "paper" if accelerators() else "quick"


_STRATEGY = None


def strategy():
    """The one distribution strategy every training run and the tuner use.

    TensorFlow: ``MirroredStrategy`` over all visible GPUs, the default strategy on a CPU.
    JAX: ``keras.distribution.DataParallel`` over all devices, set globally with
    ``keras.distribution.set_distribution``; returns None, because Keras Tuner 1.4 takes only
    ``tf.distribute`` strategies.
    """
    global _STRATEGY
    if _STRATEGY is not None:
        return _STRATEGY
    name = backend()
    if name == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        _STRATEGY = tf.distribute.MirroredStrategy() if gpus else tf.distribute.get_strategy()
        return _STRATEGY
    if name == "jax":
        import jax
        import keras

        devices = jax.devices()
        if len(devices) > 1 and keras.distribution.distribution() is None:
            keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return None


@contextlib.contextmanager
def distribution_scope():
    """Build and compile models inside this (the strategy's scope on TensorFlow)."""
    s = strategy()
    if s is not None and hasattr(s, "scope"):
        with s.scope():
            yield
    else:
        yield


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and the backend; optionally make TensorFlow ops deterministic."""
    import keras

    keras.utils.set_random_seed(int(seed))
    if deterministic and backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def epoch_seed(seed: int, epoch: int) -> int:
    """A seed for one epoch of one run, independent of where the run was resumed."""
    return int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1)[0] % (2**31 - 1))


# --------------------------------------------------------------------------------------------
# Runtime context


@dataclasses.dataclass
class RunContext:
    """Where a claim runs: data, its results folder, verbosity. Not part of the config."""

    work_dir: Path  # <results>/<profile>/<dataset>/<claim>/runs/<fingerprint>
    data_dir: Path | None = None
    verbose: int = 1
    deterministic: bool = False
    loader: Callable | None = None  # name -> Dataset; tests inject synthetic data here
    prerequisites: dict = dataclasses.field(default_factory=dict)  # claim id -> result dict
    _cache: dict = dataclasses.field(default_factory=dict)

    def dataset(self, name: str):
        if name not in self._cache:
            if self.loader is not None:
                self._cache[name] = self.loader(name)
            else:
                from . import data

                verify = os.environ.get("REPLICATION_NO_VERIFY", "") == ""
                self._cache[name] = data.load(name, self.data_dir, verify=verify)
        return self._cache[name]

    def run_dir(self, *parts) -> Path:
        path = Path(self.work_dir, *[str(p) for p in parts])
        path.mkdir(parents=True, exist_ok=True)
        return path


# --------------------------------------------------------------------------------------------
# One seed, resumable


def adam(learning_rate: float = 1e-3):
    def make(steps_per_epoch: int, epochs: int):
        import keras

        return keras.optimizers.Adam(learning_rate=learning_rate)

    return make


def fit_seed(
    build_model: Callable,
    dataset,
    preprocess,
    *,
    seed: int,
    epochs: int,
    batch_size: int,
    run_dir: Path,
    optimizer: Callable | None = None,
    verbose: int = 1,
    deterministic: bool = False,
    evaluate_train: bool = False,
    curve_on_test: bool = True,
    keep_predictions: bool = True,
    extra_callbacks=(),
) -> dict:
    """Train one seed (or reuse its finished run) and return its record.

    The record: per-epoch ``history`` (``loss``/``accuracy`` from training with dropout on, and
    ``test_loss``/``test_accuracy`` measured on the test set after each epoch, kept only for the
    curves: nothing stops, selects or checkpoints on them), the last epoch's ``test_loss`` and
    ``test_accuracy`` from ``evaluate``, optionally ``train_loss``/``train_accuracy`` from
    ``evaluate`` on the training set (dropout off), the wall time, and the saved model's path.
    """
    import keras

    from .epochs import EpochCounter, EpochSeed, EpochTimer, ShuffledBatches

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    done = run_dir / "done.json"
    if done.exists():
        return results.read_json(done)

    set_seed(seed, deterministic)
    with distribution_scope():
        model = build_model()
        steps = math.ceil(len(dataset.train) / batch_size)
        model.compile(
            optimizer=(optimizer or adam())(steps, epochs),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
    batches = ShuffledBatches(dataset.train.x, dataset.train.y, batch_size, dataset.num_classes,
                              preprocess, seed)
    x_test = preprocess(dataset.test.x)
    y_test = np.eye(dataset.num_classes, dtype="float32")[dataset.test.y]
    history_csv = run_dir / "history.csv"
    callbacks = [
        EpochSeed(seed, batches),
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), double_checkpoint=True),
        EpochTimer(),
        EpochCounter(run_dir / "epochs_trained.txt"),
        keras.callbacks.CSVLogger(str(history_csv), append=True),
        *extra_callbacks,
    ]
    t0 = time.perf_counter()
    model.fit(
        batches,
        epochs=epochs,
        shuffle=False,  # the order comes from (seed, epoch), see ShuffledBatches
        validation_data=(x_test, y_test) if curve_on_test else None,
        callbacks=callbacks,
        verbose=verbose,
    )
    record = {
        "seed": int(seed),
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "params": int(model.count_params()),
        "history": read_history(history_csv),
    }
    test = model.evaluate(x_test, y_test, batch_size=512, verbose=0, return_dict=True)
    record["test_loss"], record["test_accuracy"] = float(test["loss"]), float(test["accuracy"])
    if evaluate_train:
        x_train = preprocess(dataset.train.x)
        y_train = np.eye(dataset.num_classes, dtype="float32")[dataset.train.y]
        train = model.evaluate(x_train, y_train, batch_size=512, verbose=0, return_dict=True)
        record["train_loss"], record["train_accuracy"] = float(train["loss"]), float(train["accuracy"])
        del x_train, y_train
    if keep_predictions:
        probs = model.predict(x_test, batch_size=512, verbose=0).astype("float32")
        results.atomic_save_npz(run_dir / "test_probs.npz", probs=probs)
        record["test_probs"] = "test_probs.npz"
    record["wall_time_s"] = time.perf_counter() - t0
    model_path = run_dir / "model.keras"
    results.atomic_save_model(model, model_path)
    record["model"] = "model.keras"
    results.atomic_write_json(done, record)
    return record


def read_history(path: Path) -> dict[str, list[float]]:
    """The CSVLogger file as columns; a row repeated by a resume keeps its last copy."""
    import csv

    if not Path(path).exists():
        return {}
    rows: dict[int, dict] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                rows[int(row["epoch"])] = row
            except (KeyError, ValueError):
                continue  # a line cut by a crash
    hist: dict[str, list[float]] = {}
    rename = {"val_loss": "test_loss", "val_accuracy": "test_accuracy"}
    for epoch in sorted(rows):
        for key, value in rows[epoch].items():
            if key == "epoch" or value in (None, ""):
                continue
            hist.setdefault(rename.get(key, key), []).append(float(value))
    hist["epoch"] = [e + 1 for e in sorted(rows)]
    return hist


def load_model(run_dir: Path, record: dict):
    import keras

    return keras.saving.load_model(Path(run_dir) / record["model"], compile=False)


def load_test_probs(run_dir: Path, record: dict) -> np.ndarray:
    with np.load(Path(run_dir) / record["test_probs"]) as f:
        return f["probs"]
