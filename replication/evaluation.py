"""Scoring a trained model: plain and test-time-augmented predictions, loss and accuracy.

Plain numpy on the model's outputs; used after training (:mod:`replication.training`) and by the
per-epoch curve callback (:class:`replication.epochs.TestCurve`).

:func:`predict` and :func:`evaluate` are ``model.predict`` and ``model.evaluate`` for every
device layout (issue #24). On a JAX ``keras.distribution.DataParallel`` over n devices every batch
must split evenly across them (keras-team/keras#21167: ``IndivisibleError`` otherwise), and a test
set need not: there the images are padded to a multiple of n by repeating the last one, the batch
is rounded down to a multiple of n, and the padded rows' outputs are dropped before anything is
computed from them, so every image is scored exactly once. Zero sample weights would not do:
Keras 3.15's ``evaluate`` counts zero-weighted rows in the loss's batch mean and in unweighted
metrics (measured: accuracy 37/102 instead of 37/101). Elsewhere both are Keras's own calls.
"""

from __future__ import annotations

import numpy as np


def _multiple() -> int:
    from .hardware import batch_multiple

    return batch_multiple()


def predict(model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """``model.predict(x)`` as float32, every image scored once on any device layout."""
    m = _multiple()
    if m == 1:
        return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype="float32")
    pad = (-len(x)) % m
    padded = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)]) if pad else x
    batch = max(m, int(batch_size) - int(batch_size) % m)
    return np.asarray(model.predict(padded, batch_size=batch, verbose=0), dtype="float32")[:len(x)]


def evaluate(model, x, y=None, batch_size: int = 512) -> dict:
    """``model.evaluate(..., return_dict=True)``'s ``loss`` and ``accuracy`` (the compiled loss,
    regularisation included, and categorical accuracy). ``x``: images with one-hot ``y``, or,
    with ``y`` None, a sequence of (images, one-hot labels) batches (``len`` and ``[i]``). On a
    JAX ``DataParallel`` both come from :func:`predict` and ``model.compute_loss``."""
    m = _multiple()
    if m == 1:
        if y is None:
            return model.evaluate(x, verbose=0, return_dict=True)
        return model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    batches = [(x, y)] if y is not None else (x[i] for i in range(len(x)))
    n, loss_sum, correct = 0, 0.0, 0
    for xb, yb in batches:
        probs = predict(model, xb, batch_size)
        yb = np.asarray(yb, dtype="float32")
        loss = float(np.asarray(model.compute_loss(x=xb, y=yb, y_pred=probs, training=False)))
        loss_sum += loss * len(yb)
        correct += int((probs.argmax(1) == yb.argmax(1)).sum())
        n += len(yb)
    return {"loss": loss_sum / n, "accuracy": correct / n}


def flip_tta_predict(model, x: np.ndarray, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, flip-TTA probabilities): the model on ``x`` (NHWC), and the mean of that
    and the model on ``x`` mirrored left-right. Random layers are off (inference)."""
    probs = predict(model, x, batch_size)
    flipped = predict(model, x[:, :, ::-1, :], batch_size)
    return probs, (probs + flipped) / 2


def loss_and_accuracy(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Cross-entropy (no label smoothing) and accuracy of class probabilities against int labels."""
    labels = np.asarray(labels).astype("int64")
    p = np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0)
    return float(-np.log(p).mean()), float((probs.argmax(1) == labels).mean())
