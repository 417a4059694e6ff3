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

from . import interrupts, results

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

        names = []
        for gpu in tf.config.list_physical_devices("GPU"):
            # The model name ("NVIDIA H100 ...") where TensorFlow knows it, else the device path.
            details = tf.config.experimental.get_device_details(gpu)
            names.append(details.get("device_name") or gpu.name)
        return names
    if name == "jax":
        import jax

        return [getattr(d, "device_kind", str(d)) for d in jax.devices() if d.platform != "cpu"]
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
    force: bool = False  # --force: a claim may delete state of its own (the tuner's project)
    role: str | None = None  # Keras Tuner's distributed mode: "chief", "worker" or None
    oracle: str | None = None  # HOST:PORT of the chief's oracle
    tuner_id: str | None = None  # a worker's name
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


def warmup_cosine(peak_lr: float, *, optimizer: str = "sgd", warmup_fraction: float = 0.2,
                  start_fraction: float = 0.1, momentum: float = 0.9, nesterov: bool = True,
                  weight_decay: float | None = None):
    """A one-cycle-style schedule: a linear warm-up, then a cosine decay to 0 at the last step.

    The learning rate climbs from ``start_fraction * peak_lr`` to ``peak_lr`` over the first
    ``warmup_fraction`` of all steps and falls to 0 by the last step of the last epoch (Keras's
    ``CosineDecay`` with ``warmup_target``). ``optimizer``: ``"sgd"`` (with ``momentum`` and
    ``nesterov``) or ``"adamw"``. ``weight_decay`` is Keras's decoupled decay (each step
    multiplies weights by ``1 - lr * weight_decay``; for SGD the same as an L2 penalty of that size).
    The schedule counts optimizer steps, which BackupAndRestore saves, so a resumed run continues it.
    """
    if optimizer not in ("sgd", "adamw"):
        raise ValueError(f"unknown optimizer {optimizer!r}; choose 'sgd' or 'adamw'")

    def make(steps_per_epoch: int, epochs: int):
        import keras

        total = max(1, int(steps_per_epoch) * int(epochs))
        warmup = min(total - 1, max(0, round(warmup_fraction * total)))
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=start_fraction * peak_lr, decay_steps=max(1, total - warmup),
            alpha=0.0, warmup_target=peak_lr, warmup_steps=warmup)
        if optimizer == "sgd":
            return keras.optimizers.SGD(schedule, momentum=momentum, nesterov=nesterov,
                                        weight_decay=weight_decay)
        return keras.optimizers.AdamW(schedule, weight_decay=weight_decay if weight_decay is not None else 0.004)

    return make


def flip_tta_predict(model, x: np.ndarray, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, flip-TTA probabilities): the model on ``x`` (NHWC), and the mean of that
    and the model on ``x`` mirrored left-right. Random layers are off (inference)."""
    probs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype="float32")
    flipped = np.asarray(model.predict(x[:, :, ::-1, :], batch_size=batch_size, verbose=0), dtype="float32")
    return probs, (probs + flipped) / 2


# Wall seconds of the finished runs that fit_seed handed back instead of training again (from an
# earlier invocation of the same claim: interrupted, or its result set aside). The runner adds them
# to the claim's time, so that a reassembled result does not look as cheap as its reassembly.
_REUSED = {"seconds": 0.0}


def take_reused_seconds() -> float:
    """The reused runs' wall seconds since the last call (and reset to zero)."""
    seconds, _REUSED["seconds"] = _REUSED["seconds"], 0.0
    return seconds


def loss_and_accuracy(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Cross-entropy (no label smoothing) and accuracy of class probabilities against int labels."""
    labels = np.asarray(labels).astype("int64")
    p = np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0)
    return float(-np.log(p).mean()), float((probs.argmax(1) == labels).mean())


def adam_one_cycle(peak_learning_rate: float = 2e-3, warmup_fraction: float = 0.2,
                   start_fraction: float = 0.1):
    """Adam with a one-cycle-like schedule over the whole run (a factory, like :func:`adam`).

    The learning rate rises linearly from ``start_fraction * peak`` to the peak over the first
    ``warmup_fraction`` of all steps, then follows a cosine down to 0 at the last step. The step
    count is the optimizer's own, which BackupAndRestore restores, so a resumed run continues the
    schedule where it stopped.
    """

    def make(steps_per_epoch: int, epochs: int):
        import keras

        total = max(int(steps_per_epoch) * int(epochs), 1)
        warmup = int(round(warmup_fraction * total))
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=start_fraction * peak_learning_rate,
            decay_steps=max(total - warmup, 1),
            alpha=0.0,
            warmup_target=peak_learning_rate,
            warmup_steps=warmup,
        )
        return keras.optimizers.Adam(learning_rate=schedule)

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
    label_smoothing: float = 0.0,
    test_time_flip: bool = False,
) -> dict:
    """Train one seed (or reuse its finished run) and return its record.

    The record: per-epoch ``history`` (``loss``/``accuracy`` from training with dropout on, and
    ``test_loss``/``test_accuracy`` measured on the test set after each epoch, kept only for the
    curves: nothing stops, selects or checkpoints on them), the last epoch's ``test_loss`` and
    ``test_accuracy`` from ``evaluate``, optionally ``train_loss``/``train_accuracy`` from
    ``evaluate`` on the training set (dropout off), the wall time, and the saved model's path.

    ``label_smoothing``: train on smoothed one-hot targets (the loss ``evaluate`` reports is then
    the smoothed one too). ``test_time_flip``: also score the test set with flip test-time
    augmentation (:func:`flip_tta_predict`): the record gains ``test_loss_tta`` and
    ``test_accuracy_tta``, the history ``test_loss_tta`` and ``test_accuracy_tta`` per epoch (its
    per-epoch ``test_loss`` is then plain cross-entropy, computed by :class:`epochs.TestCurve`),
    and ``test_probs.npz`` a ``probs_tta`` array.
    """
    import keras

    from .epochs import (
        EpochCounter,
        EpochSeed,
        EpochTimer,
        StopOnInterrupt,
        TestCurve,
        epoch_batches,
    )

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    done = run_dir / "done.json"
    if done.exists():
        record = results.read_json(done)
        _REUSED["seconds"] += float(record.get("wall_time_s") or 0.0)
        return record

    set_seed(seed, deterministic)
    with distribution_scope():
        model = build_model()
        steps = math.ceil(len(dataset.train) / batch_size)
        model.compile(
            optimizer=(optimizer or adam())(steps, epochs),
            loss=(keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
                  if label_smoothing else "categorical_crossentropy"),
            metrics=["accuracy"],
        )
    batches, feed = epoch_batches(dataset.train.x, dataset.train.y, batch_size,
                                  dataset.num_classes, preprocess, seed)
    x_test = preprocess(dataset.test.x)
    y_test = np.eye(dataset.num_classes, dtype="float32")[dataset.test.y]
    history_csv = run_dir / "history.csv"
    callbacks = [
        StopOnInterrupt(),
        EpochSeed(seed, batches),
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), double_checkpoint=True),
        EpochTimer(),
        EpochCounter(run_dir / "epochs_trained.txt"),
        keras.callbacks.CSVLogger(str(history_csv), append=True),
        *extra_callbacks,
    ]
    # With flip TTA the test curve comes from TestCurve (before CSVLogger, which writes its logs).
    tta_curve = test_time_flip and curve_on_test
    if tta_curve:
        callbacks.insert(5, TestCurve(x_test, dataset.test.y))
    t0 = time.perf_counter()
    model.fit(
        feed,
        epochs=epochs,
        shuffle=False,  # the order comes from (seed, epoch), see epochs.epoch_batches
        validation_data=(x_test, y_test) if curve_on_test and not tta_curve else None,
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
    probs = None
    if test_time_flip:
        probs, probs_tta = flip_tta_predict(model, x_test)
        record["test_loss_tta"], record["test_accuracy_tta"] = loss_and_accuracy(probs_tta, dataset.test.y)
    if keep_predictions:
        if probs is None:
            probs = model.predict(x_test, batch_size=512, verbose=0).astype("float32")
        saved = {"probs": probs, **({"probs_tta": probs_tta} if test_time_flip else {})}
        results.atomic_save_npz(run_dir / "test_probs.npz", **saved)
        record["test_probs"] = "test_probs.npz"
    record["wall_time_s"] = time.perf_counter() - t0
    model_path = run_dir / "model.keras"
    results.atomic_save_model(model, model_path)
    record["model"] = "model.keras"
    results.atomic_write_json(done, record)
    return record


def fit_seeds(ctx: RunContext, build_model: Callable, dataset, preprocess, *, seeds, epochs: int,
              batch_size: int, optimizer: Callable, folder: str = "", **fit_kwargs) -> list:
    """:func:`fit_seed` for every seed, each in ``<work dir>/[folder/]seed<k>``: [(run dir, record)]."""
    runs = []
    for seed in seeds:
        interrupts.check()
        run_dir = ctx.run_dir(*([folder] if folder else []), f"seed{seed}")
        runs.append((run_dir, fit_seed(
            build_model, dataset, preprocess, seed=seed, epochs=epochs, batch_size=batch_size,
            optimizer=optimizer, run_dir=run_dir, verbose=ctx.verbose,
            deterministic=ctx.deterministic, **fit_kwargs)))
    return runs


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
    for epoch in sorted(rows):
        for key, value in rows[epoch].items():
            # CSVLogger writes "NA" for the val_ columns it adds when a fit has no validation.
            if key == "epoch" or value in (None, "", "NA"):
                continue
            # The "validation" data of every fit is the test set: val_loss -> test_loss, etc.
            name = "test_" + key[len("val_"):] if key.startswith("val_") else key
            hist.setdefault(name, []).append(float(value))
    hist["epoch"] = [e + 1 for e in sorted(rows)]
    return hist


def load_model(run_dir: Path, record: dict):
    import keras

    return keras.saving.load_model(Path(run_dir) / record["model"], compile=False)


def load_test_probs(run_dir: Path, record: dict) -> np.ndarray:
    with np.load(Path(run_dir) / record["test_probs"]) as f:
        return f["probs"]


def prerequisite_runs(ctx: RunContext, claim_id: str) -> list[tuple[Path, dict]]:
    """(run folder, done.json record) of every seed a prerequisite claim trained, in seed order.

    The runner puts the prerequisite's result in ``ctx.prerequisites[claim_id]`` with ``_dir`` =
    its folder; its seeds live in ``<_dir>/<runs_dir>/seed<k>/``.
    """
    from .errors import ReplicationError

    result = ctx.prerequisites.get(claim_id)
    if result is None:
        raise ReplicationError(f"{claim_id} was not run first: it is a prerequisite (Claim.requires)")
    runs = []
    for seed in result["seeds"]:
        run_dir = Path(result["_dir"]) / result["runs_dir"] / f"seed{seed}"
        done = run_dir / "done.json"
        if not done.exists():
            raise ReplicationError(f"{done}: missing; rerun {claim_id} with --force")
        runs.append((run_dir, results.read_json(done)))
    return runs
