"""Training: seeds, resumable fits, per-seed caching, and the block of a result they make.

Backend-agnostic Keras 3. The strategy comes from :mod:`replication.hardware`, optimizers from
:mod:`replication.optimizers`, the per-epoch callbacks and batches from :mod:`replication.epochs`.

A fit is resumable and reproducible across a crash:

- ``keras.callbacks.BackupAndRestore(double_checkpoint=True)`` saves weights, optimizer and epoch
  after every epoch, and restores them when the same command runs again;
- saved weights carry neither the shuffling state nor the dropout/augmentation random state, so
  :class:`epochs.EpochSeed` derives both from ``(seed, epoch)`` at the start of every epoch: where
  a run resumed changes neither the batches nor the masks;
- ``CSVLogger(append=True)`` keeps the curve of the epochs before a crash;
- a finished seed writes ``done.json`` last (atomically), and is never trained again for the same
  configuration.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import interrupts, optimizers, results
from .errors import ResultError
from .evaluation import evaluate, flip_tta_predict, loss_and_accuracy, predict
from .hardware import backend, batch_multiple, distribution_scope, synchronized_batchnorm


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and the backend; optionally make TensorFlow ops deterministic."""
    import keras

    keras.utils.set_random_seed(int(seed))
    if deterministic and backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


HISTORY_FILE = "history.csv"  # a seed run's CSVLogger file, in its run folder
EVAL_BATCH = 512  # every evaluation of a trained network: the per-epoch test curve and the final one


def seed_callbacks(run_dir: Path, seed: int, batches, *, extra=(), test_curve=None) -> list:
    """The callbacks of a :func:`fit_seed` run, in their order: a Ctrl-C check after every batch,
    the (seed, epoch) reseeding of ``batches`` and the layers, a ``BackupAndRestore`` checkpoint,
    the epoch timer and counter, ``test_curve`` (a :class:`epochs.TestCurve`, or None), the CSV
    log, then ``extra``. The bench times the package's training step with this same list."""
    import keras

    from .epochs import EpochCounter, EpochSeed, EpochTimer, StopOnInterrupt

    run_dir = Path(run_dir)
    return [
        StopOnInterrupt(),
        EpochSeed(seed, batches),
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), double_checkpoint=True),
        EpochTimer(),
        EpochCounter(run_dir / "epochs_trained.txt"),
        *([test_curve] if test_curve is not None else []),
        keras.callbacks.CSVLogger(str(run_dir / HISTORY_FILE), append=True),
        *extra,
    ]


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
    tta: Callable | None = None,
    finalize: Callable | None = None,
    on_reuse: Callable[[float], None] | None = None,
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
    and ``test_probs.npz`` a ``probs_tta`` array. ``tta(model, x_test) -> probabilities``: the
    test-time augmentation of the final scoring instead of the flip mean (the per-epoch curve
    keeps the flip mean). ``finalize(model)``: called once training has ended, before anything
    is scored or saved (e.g. BatchNorm statistics recomputed for averaged weights).
    ``on_reuse(seconds)`` is told the wall time of a finished run that is handed back instead of
    trained again, and of the epochs an earlier, interrupted invocation trained of a run this one
    resumes (:func:`trained_seconds`): a claim's compute is then its invocation's wall time plus
    these. The record's ``wall_time_s`` counts a resumed run's earlier epochs too.
    """
    import keras

    from .epochs import HeldOutScore, TestCurve, epoch_batches, eval_batches, steps_per_epoch

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    done = run_dir / "done.json"
    if done.exists():
        record = results.read_json(done)
        if on_reuse is not None:
            on_reuse(float(record.get("wall_time_s") or 0.0))
        return record

    set_seed(seed, deterministic)
    with distribution_scope():
        model = build_model()
        steps = steps_per_epoch(len(dataset.train), batch_size)
        model.compile(
            optimizer=(optimizer or optimizers.adam())(steps, epochs),
            loss=(keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
                  if label_smoothing else "categorical_crossentropy"),
            metrics=["accuracy"],
        )
    batches, feed = epoch_batches(dataset.train.x, dataset.train.y, batch_size,
                                  dataset.num_classes, preprocess, seed)
    x_test = preprocess(dataset.test.x)
    y_test = np.eye(dataset.num_classes, dtype="float32")[dataset.test.y]
    history_csv = run_dir / HISTORY_FILE
    # With flip TTA the test curve comes from TestCurve (before CSVLogger, which writes its logs);
    # so does the plain one where Keras's validation could not split its batches (issue #24).
    tta_curve = test_time_flip and curve_on_test
    keras_validation = curve_on_test and not tta_curve and batch_multiple() == 1
    curve = (TestCurve(x_test, dataset.test.y) if tta_curve
             else HeldOutScore(x_test, y_test) if curve_on_test and not keras_validation else None)
    callbacks = seed_callbacks(run_dir, seed, batches, extra=extra_callbacks, test_curve=curve)
    earlier = trained_seconds(run_dir)  # > 0: BackupAndRestore resumes an interrupted fit
    if earlier and on_reuse is not None:
        on_reuse(earlier)
    t0 = time.perf_counter()
    with synchronized_batchnorm(model):  # one set of BatchNorm statistics across replicas (#24)
        model.fit(
            feed,
            epochs=epochs,
            shuffle=False,  # the order comes from (seed, epoch), see epochs.epoch_batches
            validation_data=(x_test, y_test) if keras_validation else None,
            # Keras scores validation_data at batch 32 when the training feed is a dataset: 313
            # calls for 10,000 images, each with its fixed cost. The MLP's per-epoch test curve
            # took 1.74 s at 32 and 0.72 at 512 (stop 31; the lecture's CNNs: the same within the
            # host's noise), in an epoch of 3,000 training digits whose steps take 0.4 s.
            validation_batch_size=EVAL_BATCH,
            callbacks=callbacks,
            verbose=verbose,
        )
    own_buffers(model)
    if finalize is not None:
        finalize(model)
    record = {
        "seed": int(seed),
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "params": int(model.count_params()),
        "history": read_history(history_csv),
    }
    test = evaluate(model, x_test, y_test, batch_size=EVAL_BATCH)
    record["test_loss"], record["test_accuracy"] = float(test["loss"]), float(test["accuracy"])
    if evaluate_train:
        train = evaluate(model, eval_batches(dataset.train.x, dataset.train.y, EVAL_BATCH,
                                             dataset.num_classes, preprocess))
        record["train_loss"], record["train_accuracy"] = float(train["loss"]), float(train["accuracy"])
    probs = None
    if test_time_flip:
        if tta is None:
            probs, probs_tta = flip_tta_predict(model, x_test)
        else:
            probs = predict(model, x_test, batch_size=EVAL_BATCH)
            probs_tta = np.asarray(tta(model, x_test), dtype="float32")
        record["test_loss_tta"], record["test_accuracy_tta"] = loss_and_accuracy(probs_tta, dataset.test.y)
    if keep_predictions:
        if probs is None:
            probs = predict(model, x_test, batch_size=EVAL_BATCH)
        saved = {"probs": probs, **({"probs_tta": probs_tta} if test_time_flip else {})}
        results.atomic_save_npz(run_dir / "test_probs.npz", **saved)
        record["test_probs"] = "test_probs.npz"
    record["wall_time_s"] = time.perf_counter() - t0 + earlier
    model_path = run_dir / "model.keras"
    results.atomic_save_model(model, model_path)
    record["model"] = "model.keras"
    results.atomic_write_json(done, record)
    return record


def own_buffers(model) -> None:
    """JAX, after a fit with ``use_ema``: give every trainable variable a buffer of its own.

    Keras's ``finalize_variable_values`` puts the optimizer's average arrays themselves in the
    model's variables; the next jit-compiled ``evaluate`` or ``predict`` donates the model's
    buffers, which deletes the optimizer's averages too, and saving the model (with its
    optimizer) then fails with "Array has been deleted" (Keras 3.15, JAX 0.10; on one device as
    on two). Found by ``tests/test_multi_device.py`` once the augmentation layers compile on JAX
    (issue #24): until then cifar10-fast's steps ran op by op, and nothing was donated. The
    values are unchanged; other backends and runs without EMA are left alone.
    """
    if backend() != "jax" or not getattr(getattr(model, "optimizer", None), "use_ema", False):
        return
    import jax.numpy as jnp

    for v in model.trainable_variables:
        v.assign(jnp.array(v.value, copy=True))


def fit_seeds(ctx, build_model: Callable, dataset, preprocess, *, seeds, epochs: int,
              batch_size: int, optimizer: Callable, folder: str = "", **fit_kwargs) -> list:
    """:func:`fit_seed` for every seed, each in ``<work dir>/[folder/]seed<k>``: [(run dir, record)]."""
    runs = []
    for seed in seeds:
        interrupts.check()
        run_dir = ctx.run_dir(*([folder] if folder else []), f"seed{seed}")
        runs.append((run_dir, fit_seed(
            build_model, dataset, preprocess, seed=seed, epochs=epochs, batch_size=batch_size,
            optimizer=optimizer, run_dir=run_dir, verbose=ctx.verbose,
            deterministic=ctx.deterministic, on_reuse=ctx.add_reused, **fit_kwargs)))
    return runs


def per_seed(records, *keys: str) -> dict[str, list]:
    """``{key: [record[key] for every seed]}``: a claim's per-seed metrics, in seed order."""
    return {key: [r[key] for _, r in records] for key in keys}


def seed_block(records, suffix: str = "") -> dict:
    """The part of a claim's result that every trained model set shares: its parameter count, the
    per-epoch histories and the seed runs' records (without their histories), each key ending in
    ``suffix`` (``"_no_pooling"``: a control's block beside the claim's own)."""
    return {
        f"params{suffix}": records[0][1]["params"],
        f"histories{suffix}": [r["history"] for _, r in records],
        f"seed_runs{suffix}": [{k: v for k, v in r.items() if k != "history"} for _, r in records],
    }


def layer_params(model) -> list[list]:
    """``[[layer name, parameters], ...]`` for every layer of a model."""
    return [[layer.name, int(layer.count_params())] for layer in model.layers]


def trained_seconds(run_dir: Path) -> float:
    """Wall seconds a seed run has cost so far: a finished run's ``wall_time_s``; an unfinished
    one's epochs in its history (their ``epoch_time_s``: what an interrupted invocation trained and
    the next resumes); 0.0 for a run not started. Without it a resumed claim's compute left out
    the epochs trained before the interruption, and its plan counted the whole claim as still to
    run (stop 33: a resume planned 3 h 10 min with 2 of 3 seeds and half the third trained)."""
    run_dir = Path(run_dir)
    done = run_dir / "done.json"
    if done.exists():
        try:
            return float(results.read_json(done).get("wall_time_s") or 0.0)
        except ResultError:  # only an estimate; a damaged done.json fails where it is read
            return 0.0
    return float(sum(read_history(run_dir / HISTORY_FILE).get("epoch_time_s", [])))


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
