"""The seed run's training loop (``replication.training.fit_seed``): how it scores the test set
during training. Fast: a tiny MLP on synthetic digits."""

from __future__ import annotations

import math

import keras

from replication import data, models, optimizers, training


class ValidationBatches(keras.callbacks.Callback):
    """Counts the test batches of each epoch's validation pass."""

    def __init__(self):
        super().__init__()
        self.per_epoch, self.count = [], 0

    def on_test_batch_end(self, batch, logs=None):
        self.count += 1

    def on_epoch_end(self, epoch, logs=None):
        self.per_epoch.append(self.count)
        self.count = 0


def test_the_per_epoch_test_curve_is_scored_at_the_evaluation_batch_not_kerass_32(tmp_path):
    """Keras scores ``validation_data`` at batch 32 when the training feed is a dataset (313 calls
    for 10,000 images, the dropout claim's epochs 3-8x their steps on a 2-core CPU; stop 31):
    fit_seed asks for :data:`training.EVAL_BATCH`. The curve is still recorded every epoch."""
    ds = data.synthetic("mnist", 256, 1100)
    counter = ValidationBatches()
    record = training.fit_seed(lambda: models.mlp(ds.image_shape, ds.num_classes, width=16), ds,
                               data.Preprocess(), seed=0, epochs=2, batch_size=128,
                               run_dir=tmp_path / "seed0", optimizer=optimizers.adam(1e-3),
                               verbose=0, keep_predictions=False, extra_callbacks=[counter])
    assert counter.per_epoch == [math.ceil(1100 / training.EVAL_BATCH)] * 2
    assert len(record["history"]["test_loss"]) == 2
    keras.backend.clear_session()
