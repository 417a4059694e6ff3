"""Scoring a trained model: plain and test-time-augmented predictions, loss and accuracy.

Plain numpy on the model's outputs; used after training (:mod:`replication.training`) and by the
per-epoch curve callback (:class:`replication.epochs.TestCurve`).
"""

from __future__ import annotations

import numpy as np


def flip_tta_predict(model, x: np.ndarray, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, flip-TTA probabilities): the model on ``x`` (NHWC), and the mean of that
    and the model on ``x`` mirrored left-right. Random layers are off (inference)."""
    probs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype="float32")
    flipped = np.asarray(model.predict(x[:, :, ::-1, :], batch_size=batch_size, verbose=0), dtype="float32")
    return probs, (probs + flipped) / 2


def loss_and_accuracy(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Cross-entropy (no label smoothing) and accuracy of class probabilities against int labels."""
    labels = np.asarray(labels).astype("int64")
    p = np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0)
    return float(-np.log(p).mean()), float((probs.argmax(1) == labels).mean())
