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


def test_the_epoch_reseed_leaves_tensorflows_seed_and_kernel_cache_alone():
    """EpochSeed reseeds Python and NumPy from (seed, epoch) but not TensorFlow's global seed:
    ``tf.random.set_seed`` clears TensorFlow's kernel cache, which cost the first step of every
    epoch 0.13-0.97 s on a 2-core CPU (stop 32). An op-seeded TensorFlow draw after the callback
    is the one it would be without it; NumPy's and Python's are the epoch's."""
    import random

    import numpy as np
    import tensorflow as tf

    from replication import epochs

    model = models.mlp((28, 28, 1), 10, width=8)
    seeder = epochs.EpochSeed(5)
    seeder.set_model(model)

    tf.random.set_seed(1234)
    expected = tf.random.uniform([4], seed=7).numpy()
    tf.random.set_seed(1234)
    seeder.on_epoch_begin(3)
    assert np.array_equal(tf.random.uniform([4], seed=7).numpy(), expected)

    s = epochs.epoch_seed(5, 3)
    drawn = (np.random.rand(3), random.random())
    np.random.seed(s)
    random.seed(s)
    assert np.array_equal(drawn[0], np.random.rand(3)) and drawn[1] == random.random()
    keras.backend.clear_session()
