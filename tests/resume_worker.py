"""Trains one seed of the MLP on synthetic data for the crash tests (run as a subprocess).

usage: python resume_worker.py RUN_DIR EPOCHS [SLEEP_PER_EPOCH_S]
Prints the final record as JSON on the last line.
"""

import json
import sys
import time
from pathlib import Path

import keras

from replication import data, models, training
from replication.data import Preprocess


class Slow(keras.callbacks.Callback):
    """Makes each epoch last long enough for the test to kill it mid-epoch."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(self.seconds)


def main():
    run_dir, epochs = Path(sys.argv[1]), int(sys.argv[2])
    ds = data.synthetic("mnist", 2048, 256, seed=5)
    record = training.fit_seed(
        lambda: models.mlp(ds.image_shape, 10, width=64), ds, Preprocess(), seed=7, epochs=epochs,
        batch_size=128, run_dir=run_dir, verbose=0, deterministic=True, keep_predictions=False,
        extra_callbacks=[Slow(float(sys.argv[3]))] if len(sys.argv) > 3 else [])
    print(json.dumps({k: record[k] for k in ("test_loss", "test_accuracy", "history")}))


if __name__ == "__main__":
    main()
