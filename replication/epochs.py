"""Per-epoch determinism: batches and random state that depend on (seed, epoch) only.

Saved weights carry neither the shuffling state nor the dropout/augmentation random state, so a run
resumed from a checkpoint would otherwise see other batches and masks than an uninterrupted one.
"""

from __future__ import annotations

import math
import os
import random
import time
from pathlib import Path

import keras
import numpy as np

from . import interrupts
from .evaluation import flip_tta_predict, loss_and_accuracy

# TFEpochBatches's input pipeline (issue #24: an accelerator must not wait for its batches). One
# batch of 128 CIFAR-10 images is a gather, a cast and a standardisation: 0.68-0.76 ms on one core
# of this 2-core CPU, i.e. 170,000-190,000 images/s inside a tf.function with 1, 2 or 4 parallel
# calls (the other core was busy; prefetch depth 2 or 4 made no difference there). A fast GPU
# may train the lecture's small CNNs at a rate of that order (not measured: no GPU was lent), so
# a host that feeds one maps batches in parallel: half its cores, at most 4 calls, in order (deterministic=True, so the
# batches and their order are exactly those of one call), with twice as many batches prefetched
# as are in flight so that one slow batch does not stall a step. On a 2- or 3-core CPU (the
# quick profile) this is the single call and 2 batches of before: CPU runs are unchanged.
# The numpy feed of other backends (ShuffledBatches, 0.41 ms per CIFAR-10 batch here) runs
# between steps, overlapped with the device by JAX's asynchronous dispatch.
MAP_CALLS = max(1, min(4, (os.cpu_count() or 2) // 2))
PREFETCH_BATCHES = 2 * MAP_CALLS


def epoch_seed(seed: int, epoch: int) -> int:
    """A seed for one epoch of one run, independent of where the run was resumed."""
    return int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1)[0] % (2**31 - 1))


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Optimizer steps in an epoch of ``n`` images: ``ceil(n / batch_size)``, after
    :class:`ShuffledBatches`'s rule on a JAX ``DataParallel`` (``n % devices`` images left out)."""
    from .hardware import batch_multiple

    return math.ceil((int(n) - int(n) % batch_multiple()) / int(batch_size))


class ShuffledBatches(keras.utils.PyDataset):
    """Batches of (preprocessed images, one-hot labels) in an order fixed by (seed, epoch).

    :class:`EpochSeed` sets :attr:`epoch` at the start of every epoch; the permutation is a pure
    function of ``(seed, epoch)``, so a resumed run sees the same batches as an uninterrupted one.
    Works on every backend (numpy in, numpy out).

    On a JAX ``keras.distribution.DataParallel`` over n devices (issue #24), whose batches must
    split evenly (keras-team/keras#21167), the rule is to drop, not pad: an epoch trains on the
    first ``len - len % n`` images of its permutation, so the last batch loses at most n - 1
    images, other ones every epoch (50,000 CIFAR-10 images in batches of 128 leave 80: nothing
    is dropped on 2, 4 or 8 devices, 2 images on 3). Padding would weight some images twice and
    shift BatchNorm's statistics. A batch size that is not a multiple of n is refused: it would
    drop images from every batch. One device: unchanged.
    """

    def __init__(self, x, y, batch_size: int, num_classes: int, preprocess, seed: int):
        from .errors import ReplicationError
        from .hardware import batch_multiple

        super().__init__(workers=1, use_multiprocessing=False)
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.multiple = batch_multiple()
        if self.batch_size % self.multiple:
            raise ReplicationError(
                f"batch size {self.batch_size} does not split evenly over the {self.multiple} "
                f"devices of keras.distribution.DataParallel: make the device count divide it "
                f"(e.g. CUDA_VISIBLE_DEVICES with fewer GPUs)")
        self.n_used = len(y) - len(y) % self.multiple
        self.eye = np.eye(num_classes, dtype="float32")
        self.preprocess = preprocess
        self.seed = int(seed)
        self.epoch = 0
        self._order_epoch, self._order = None, None

    def __len__(self):
        return math.ceil(self.n_used / self.batch_size)

    def order(self) -> np.ndarray:
        if self._order_epoch != self.epoch:
            rng = np.random.default_rng([self.seed, self.epoch])
            self._order, self._order_epoch = rng.permutation(len(self.y)), self.epoch
        return self._order

    def __getitem__(self, index):
        hi = min((index + 1) * self.batch_size, self.n_used)
        idx = np.sort(self.order()[index * self.batch_size:hi])
        return self.preprocess(self.x[idx]), self.eye[self.y[idx]]


class TFEpochBatches:
    """The TensorFlow twin of :class:`ShuffledBatches`: a ``tf.data`` pipeline, about 1.4x faster on
    this CPU than feeding Python batches (measured: 132 vs 189 s per MNIST-CNN epoch, 2 cores).

    The order of each epoch is ``stateless_shuffle`` of the indices with seed ``(seed, epoch)``,
    where ``epoch`` is a variable that :class:`EpochSeed` sets at every epoch start; Keras makes a
    new iterator for every epoch, after ``on_epoch_begin``, so a resumed run sees the same batches.
    No autotune: it can take seconds to return from many short fits; a fixed parallel map and
    prefetch instead (:data:`MAP_CALLS`, :data:`PREFETCH_BATCHES`).
    """

    def __init__(self, x, y, batch_size: int, num_classes: int, preprocess, seed: int):
        import tensorflow as tf

        n = len(y)
        self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        x_t, y_t = tf.constant(x), tf.constant(np.asarray(y, dtype="int32"))
        mean, std = float(preprocess.mean), float(preprocess.std)
        standardize = mean != 0.0 or std != 1.0

        def order(_):
            perm = tf.random.experimental.stateless_shuffle(
                tf.range(n, dtype=tf.int32), seed=tf.stack([tf.constant(int(seed), tf.int64), self._epoch]))
            return tf.data.Dataset.from_tensor_slices(perm).batch(int(batch_size))

        def load(idx):
            idx = tf.sort(idx)
            xb = tf.cast(tf.gather(x_t, idx), tf.float32) / 255.0
            if standardize:
                xb = (xb - mean) / (std + 1e-7)
            return xb, tf.one_hot(tf.gather(y_t, idx), num_classes)

        # A known length lets Keras make each epoch's iterator after on_epoch_begin.
        steps = math.ceil(n / int(batch_size))
        self.dataset = (tf.data.Dataset.range(1).flat_map(order)
                        .apply(tf.data.experimental.assert_cardinality(steps))
                        .map(load, **({"num_parallel_calls": MAP_CALLS, "deterministic": True}
                                      if MAP_CALLS > 1 else {}))
                        .prefetch(PREFETCH_BATCHES))

    @property
    def epoch(self) -> int:
        return int(self._epoch.numpy())

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._epoch.assign(int(value))


def eval_batches(x, y, batch_size: int, num_classes: int, preprocess):
    """The images in order, preprocessed one batch at a time from uint8 (for ``evaluate``): the
    whole training set as float32 at once is a 600 MB transient on CIFAR-10 (issue #17)."""
    steps = math.ceil(len(y) / int(batch_size))
    eye = np.eye(num_classes, dtype="float32")
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        def gen():
            for i in range(steps):
                lo, hi = i * batch_size, (i + 1) * batch_size
                yield preprocess(x[lo:hi]), eye[y[lo:hi]]

        spec = (tf.TensorSpec((None, *x.shape[1:]), tf.float32), tf.TensorSpec((None, num_classes), tf.float32))
        # A known length: without it Keras 3.15 warns "Your input ran out of data" at the end of
        # every evaluate, though nothing is wrong (keras-team/keras#23360 limits the warning to a
        # caller's steps_per_epoch; issue #21).
        return (tf.data.Dataset.from_generator(gen, output_signature=spec)
                .apply(tf.data.experimental.assert_cardinality(steps)).prefetch(2))

    class Ordered(keras.utils.PyDataset):
        def __len__(self):
            return steps

        def __getitem__(self, i):
            lo, hi = i * batch_size, (i + 1) * batch_size
            return preprocess(x[lo:hi]), eye[y[lo:hi]]

    return Ordered()


def epoch_batches(x, y, batch_size: int, num_classes: int, preprocess, seed: int):
    """(feeder, what to pass to fit): tf.data on TensorFlow, numpy batches on other backends."""
    if keras.backend.backend() == "tensorflow":
        feeder = TFEpochBatches(x, y, batch_size, num_classes, preprocess, seed)
        return feeder, feeder.dataset
    feeder = ShuffledBatches(x, y, batch_size, num_classes, preprocess, seed)
    return feeder, feeder


def reseed_host(s: int) -> None:
    """Seed Python's and NumPy's global generators (and PyTorch's under its backend) with ``s``:
    ``keras.utils.set_random_seed`` without its ``tf.random.set_seed``.

    Why not Keras's own at every epoch (stop 32): ``tf.random.set_seed`` clears TensorFlow's eager
    kernel cache (``TFE_ContextClearCaches``; its docstring: "tf.random.set_seed function resets
    the kernel cache"), so the first training step and the first evaluation batch after it build
    their kernels again. Measured on a 2-core AVX2 EPYC, float32, the first 128-image step after
    it: MLP +133 ms, MNIST CNN +210 ms, the augmented CIFAR-10 CNN +970 ms; an epoch of the
    ``dropout`` claim's MLP (24 steps, 0.55 s without its test curve) took 0.23 s more
    (``benchmarks/STEP_PROBE.md``, the epoch part). Nothing in an epoch draws from TensorFlow's
    global generator: every random layer draws from its own ``SeedGenerator`` state (reset by
    :class:`EpochSeed`), the batch order is a stateless shuffle of ``(seed, epoch)``, and
    TensorFlow's seed stays what :func:`replication.training.set_seed` set before the fit. The
    weights after a fit are bit-identical either way (checked on the MLP with dropout and the
    augmented CIFAR-10 CNN, 3 epochs each).
    """
    random.seed(int(s))
    np.random.seed(int(s))
    if keras.backend.backend() == "torch":
        import torch

        torch.manual_seed(int(s))


def replica_seed(s: int, replica: int) -> int:
    """The epoch seed ``s`` of one replica: ``s`` itself for replica 0 (so one device draws what
    it always drew), a seed derived from ``(s, replica)`` for the others."""
    if replica == 0:
        return int(s)
    return int(np.random.SeedSequence([int(s), int(replica)]).generate_state(1)[0] % (2**31 - 1))


class EpochSeed(keras.callbacks.Callback):
    """At every epoch start: reseed the host's generators (:func:`reseed_host`) and every layer's
    random state from (seed, epoch), and, under a ``tf.distribute`` strategy, from the replica too.

    Per replica (issue #24): a layer's ``SeedGenerator`` state is a variable made with
    ``aggregation="none"`` (keras-team/keras#20611, #20612), which ``MirroredStrategy`` mirrors:
    every replica starts from the same copy and draws the same numbers, so in a 2-replica run
    both halves of each batch got identical dropout masks, flips and shifts (measured on two
    logical CPU devices). Each replica's copy is set to its own :func:`replica_seed` here, and
    each replica then advances its own copy. Replica 0's is what one device gets, so single-device
    runs are unchanged. JAX needs nothing: a ``DataParallel`` step draws one mask for the global
    batch, which differs across devices already.
    """

    def __init__(self, seed: int, batches=None):
        super().__init__()
        self.seed, self.batches = int(seed), batches

    def on_epoch_begin(self, epoch, logs=None):
        from .hardware import per_replica_variable

        s = epoch_seed(self.seed, epoch)
        reseed_host(s)
        if self.batches is not None:
            self.batches.epoch = epoch
        # Dropout and augmentation layers keep their own SeedGenerator state, which saved
        # weights do not include: reset it too, so the masks depend on (seed, epoch) only.
        for i, v in enumerate(self.model.variables):
            if v.name == "seed_generator_state":
                copies = per_replica_variable(v)
                if len(copies) == 1:
                    v.assign(np.array([s, 1000 * i + 1], dtype=v.dtype))
                    continue
                for r, copy in enumerate(copies):
                    copy.assign(np.array([replica_seed(s, r), 1000 * i + 1], dtype=v.dtype))


class HeldOutScore(keras.callbacks.Callback):
    """After every epoch: ``val_loss`` and ``val_accuracy`` of held-out data, by
    :func:`replication.evaluation.evaluate`. What ``fit(validation_data=...)`` logs, for where
    Keras's own validation would fail: a JAX ``DataParallel`` whose devices do not divide the
    held-out set's last batch (issue #24). Place it where :class:`TestCurve` goes."""

    def __init__(self, x: np.ndarray, y_onehot: np.ndarray, batch_size: int = 512):
        super().__init__()
        self.x, self.y, self.batch_size = x, y_onehot, int(batch_size)

    def on_epoch_end(self, epoch, logs=None):
        from .evaluation import evaluate

        if logs is None:
            return
        score = evaluate(self.model, self.x, self.y, self.batch_size)
        logs["val_loss"], logs["val_accuracy"] = score["loss"], score["accuracy"]


class StopOnInterrupt(keras.callbacks.Callback):
    """Ends fit/evaluate/predict at the next batch once Ctrl-C was requested, even where the
    signal's own ``KeyboardInterrupt`` was swallowed (see :mod:`replication.interrupts`)."""

    def on_train_batch_end(self, batch, logs=None):
        interrupts.check()

    def on_test_batch_end(self, batch, logs=None):
        interrupts.check()

    def on_predict_batch_end(self, batch, logs=None):
        interrupts.check()

    def on_epoch_begin(self, epoch, logs=None):
        interrupts.check()


class EpochTimer(keras.callbacks.Callback):
    """Adds the epoch's wall time (seconds) to the logs, so CSVLogger records it."""

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_time_s"] = time.perf_counter() - self._t0


class EpochCounter(keras.callbacks.Callback):
    """Appends every epoch this process trains to a file: proves resumed epochs are not repeated."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs=None):
        with open(self.path, "a") as f:
            f.write(f"{epoch}\n")


class TestCurve(keras.callbacks.Callback):
    """After every epoch: the test set's loss and accuracy, plain and with flip test-time
    augmentation, added to the logs as ``val_loss``, ``val_accuracy``, ``val_loss_tta`` and
    ``val_accuracy_tta`` (Keras's names for held-out data; :func:`replication.training.read_history` turns
    them into ``test_*``). For curves only: nothing stops, selects or checkpoints on them.

    Place it after :class:`EpochTimer` (so ``epoch_time_s`` is training time only) and before
    ``CSVLogger`` (which writes the logs).
    """

    def __init__(self, x_test: np.ndarray, y_test: np.ndarray, batch_size: int = 512):
        super().__init__()
        self.x, self.y, self.batch_size = x_test, y_test, int(batch_size)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        probs, probs_tta = flip_tta_predict(self.model, self.x, self.batch_size)
        logs["val_loss"], logs["val_accuracy"] = loss_and_accuracy(probs, self.y)
        logs["val_loss_tta"], logs["val_accuracy_tta"] = loss_and_accuracy(probs_tta, self.y)
