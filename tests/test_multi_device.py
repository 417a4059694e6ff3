"""The multi-device path without a GPU (issue #24): two logical CPU devices stand in for two GPUs.

Each slow test runs in a subprocess, because devices must be configured before the backend
initialises: TensorFlow splits the CPU into two logical devices and trains under
``MirroredStrategy(["/cpu:0", "/cpu:1"])``; JAX gets two host devices from
``XLA_FLAGS=--xla_force_host_platform_device_count=2`` and trains under
``keras.distribution.DataParallel``. Both go through ``replication.hardware.set_strategy``, as a
GPU machine's run goes through ``hardware.strategy``. The subprocess prints what it measured as
JSON; the assertions are here. CIFAR-10 is the real one where ``$REPLICATION_DATA_DIR`` has it,
synthetic images otherwise: the properties asserted hold for any images.

What must hold across replicas, and what each test found before its fix (TF 2.21, Keras 3.15,
JAX 0.10):

- identical weights and BatchNorm statistics on every replica after training: per-replica
  BatchNorm copies differed by 0.033 after one step (fixed: ``hardware.synchronized_batchnorm``);
- BatchNorm's moving statistics after one step equal to one device's: 5.2e-3 (mean) and 1.8%
  (variance) apart before, 6e-7 and 2e-6 after (TensorFlow); 8e-9 on JAX, which needed nothing;
- different dropout masks, flips and shifts on each replica: both replicas drew the same ones
  (fixed: ``epochs.EpochSeed`` seeds each replica's copy of the seed state);
- a crashed and resumed run equal to an uninterrupted one (it was, and stays so);
- JAX with data divisible neither by the batch nor by the devices: ``IndivisibleError`` before
  (fixed: ``epochs.ShuffledBatches`` drops ``n % devices`` images per epoch, ``evaluation.predict``
  and ``evaluate`` pad and discard), and the flip-and-shift CNN's op-by-op step deadlocked in
  XLA's all-reduce (fixed: the augmentation layers compile on JAX, ``models.cifar10_augmentation``);
- the depth-width Keras Tuner sweep under the strategy, every trial synchronised.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, real_data_dir

TF_PREAMBLE = """
import json, os, sys, time
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np
from replication import data, hardware
MIRRORED = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
SINGLE = tf.distribute.get_strategy()
"""

JAX_PREAMBLE = """
import json, os, sys, time
import jax
import keras
import numpy as np
from replication import data, hardware
assert len(jax.devices()) == 2, jax.devices()
ONE = keras.distribution.DataParallel(devices=jax.devices()[:1])
TWO = keras.distribution.DataParallel(devices=jax.devices())
"""

COMMON = """
from pathlib import Path
from replication import epochs, fast_recipe, models, optimizers, training
WORK = Path(sys.argv[1])
OUT = {}
ROOT = os.environ.get("REPLICATION_DATA_DIR")


def cifar(n_train, n_test):
    return (data.load("cifar10", ROOT).subset(n_train, n_test) if ROOT
            else data.synthetic("cifar10", n_train, n_test))


def bn_stats(model):
    return [(np.asarray(hardware.per_replica_variable(b.moving_mean)[0]),
             np.asarray(hardware.per_replica_variable(b.moving_variance)[0]))
            for b in model._flatten_layers(include_self=False)
            if isinstance(b, keras.layers.BatchNormalization)]


def step_difference(stats_a, stats_b):
    # BatchNorm after one step: largest |mean difference| and relative variance difference.
    OUT["step_mean_diff"] = max(float(np.abs(a[0] - b[0]).max()) for a, b in zip(stats_a, stats_b))
    OUT["step_var_rel_diff"] = max(float((np.abs(a[1] - b[1]) / a[1]).max())
                                   for a, b in zip(stats_a, stats_b))


def one_step(name, strategy, keep):
    # One step of the lecture's CIFAR-10 CNN on one batch of 64 images, no augmentation (each
    # BatchNorm sees the same images on one device as on two); keep(model) records it.
    ds = cifar(64, 64)
    hardware.set_strategy(strategy)
    training.fit_seed(lambda: models.cifar10_vgg(ds.image_shape, 10), ds,
                      data.Preprocess.standardize_from(ds.train), seed=0, epochs=1, batch_size=64,
                      run_dir=WORK / f"step-{name}", optimizer=optimizers.adam(1e-3), verbose=0,
                      curve_on_test=False, keep_predictions=False, finalize=keep)


class Crash(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise RuntimeError("crash after the first epoch")


def fast_recipe_runs(ds, bn_images, record):
    # cifar10-fast's training path (replication/claims/cifar10_fast.py): flips and 4-pixel
    # shifts, L2 on the kernels, label smoothing, SGD one-cycle with an EMA of the weights,
    # BatchNorm recomputed for the averaged weights, flip-and-shift TTA, training accuracy;
    # 2 epochs in batches of 64, once whole and once crashed after epoch 1 and resumed.
    pre = data.Preprocess.standardize_from(ds.train)

    def build():
        model = models.cifar10_vgg(ds.image_shape, 10, augmentation="flip_translate")
        fast_recipe.kernel_l2(model, 1e-3)
        return model

    opt = optimizers.one_cycle(0.05, optimizer="sgd", momentum=0.9, nesterov=True,
                               ema_momentum=0.99)
    kept = {}

    def fit(key, **kw):
        def finalize(model):
            fast_recipe.recompute_batchnorm(model, pre(ds.train.x[:bn_images]), batch_size=50)
            kept[key] = model
            record(key, model)
        return training.fit_seed(
            build, ds, pre, seed=3, epochs=2, batch_size=64, run_dir=WORK / key, optimizer=opt,
            verbose=0, evaluate_train=True, label_smoothing=0.1, test_time_flip=True,
            tta=lambda m, x: fast_recipe.tta_predict(m, x, shifts=((0, 0), (1, 1), (-1, -1))),
            finalize=finalize, **kw)

    whole = fit("whole")
    try:
        fit("resumed", extra_callbacks=[Crash()])
    except RuntimeError:
        OUT["crashed_after"] = (WORK / "resumed" / "epochs_trained.txt").read_text().split()
    resumed = fit("resumed")
    OUT["epochs_trained"] = (WORK / "resumed" / "epochs_trained.txt").read_text().split()
    OUT["whole"] = {k: whole[k] for k in ("history", "test_accuracy", "test_accuracy_tta",
                                          "train_accuracy", "test_loss")}
    OUT["resumed"] = {k: resumed[k] for k in OUT["whole"]}
    with np.load(WORK / "whole" / whole["test_probs"]) as f:
        OUT["probs_shape"] = list(f["probs"].shape)
    return whole, kept["whole"], pre
"""

TF_CIFAR = """
def spread(model):
    # The largest difference between the replicas' copies of every variable (seed states aside).
    copies = [[np.asarray(c) for c in hardware.per_replica_variable(v)]
              for v in model.variables if v.name != "seed_generator_state"]
    return max(float(np.abs(c - cs[0]).max()) for cs in copies for c in cs)


steps = {}
one_step("single", SINGLE, lambda m: steps.__setitem__("single", bn_stats(m)))
one_step("mirrored", MIRRORED, lambda m: (steps.__setitem__("mirrored", bn_stats(m)),
                                          OUT.__setitem__("step_spread", spread(m))))
step_difference(steps["single"], steps["mirrored"])

spreads = []
ds = cifar(256, 128)
whole, model, pre = fast_recipe_runs(ds, 128, lambda key, m: spreads.append(spread(m)))
OUT["final_spread"] = max(spreads)
OUT["replicas"] = len(hardware.per_replica_variable(model.weights[0]))
# The saved model (one copy of each variable) scores the test set as the two replicas did.
with np.load(WORK / "whole" / whole["test_probs"]) as f:
    saved = training.load_model(WORK / "whole", whole).predict(pre(ds.test.x), verbose=0)
    OUT["saved_vs_trained"] = float(np.abs(saved - f["probs"]).max())

# After EpochSeed, the same 8 images through the augmentation and ones through the Dropout, on
# each replica.
seeder = epochs.EpochSeed(3)
seeder.set_model(model)
seeder.on_epoch_begin(0)
aug = model.get_layer("augmentation")
drop = [lay for lay in model.layers if isinstance(lay, keras.layers.Dropout) and lay.rate > 0][0]


@tf.function
def draw(x, ones):
    return aug(x, training=True), drop(ones, training=True)


(a0, a1), (d0, d1) = [[v.numpy() for v in per.values] for per in
                      MIRRORED.run(draw, args=(tf.constant(pre(ds.train.x[:8])), tf.ones((8, 64))))]
OUT["aug_identical_images"] = float(np.mean(np.all(a0 == a1, axis=(1, 2, 3))))
OUT["dropout_agreement"] = float(np.mean((d0 > 0) == (d1 > 0)))
print(json.dumps(OUT))
"""

TF_SWEEP = """
import contextlib
import dataclasses
from replication import results, runner
from replication.claims import depth_width

hardware.set_strategy(MIRRORED)
# The smoke sweep (1 epoch, 192 training images) on two of its networks.
depth_width.PROFILES["smoke"] = dataclasses.replace(
    depth_width.PROFILES["smoke"], grid=("depth-d2-w56", "shallow_conv-w48"))
trained, inner = [], hardware.synchronized_batchnorm


@contextlib.contextmanager
def watched(model):
    # Each trial's fit: its BatchNorm synchronised, and after it every variable's copies equal.
    with inner(model):
        bns = [lay for lay in model.layers if isinstance(lay, keras.layers.BatchNormalization)]
        synchronized = bool(bns) and all(lay.synchronized for lay in bns)
        yield
    copies = [(np.asarray(c), np.asarray(hardware.per_replica_variable(v)[0]))
              for v in model.variables if v.name != "seed_generator_state"
              for c in hardware.per_replica_variable(v)]
    trained.append({"synchronized": synchronized,
                    "replicas": len(hardware.per_replica_variable(model.weights[0])),
                    "spread": max(float(np.abs(a - b).max()) for a, b in copies)})


hardware.synchronized_batchnorm = watched
runner.run_claim("depth-width", runner.RunOptions(
    profile="smoke", store=results.Store(WORK), verbose=0, log=lambda *a: None,
    loader=lambda name: data.synthetic(name, 256, 128)))
saved = json.loads((WORK / "smoke" / "cifar10" / "depth-width" / "result.json").read_text())
OUT["strategy"] = saved["measured"]["strategy"]
OUT["table"] = {r["config"]: r["test_accuracy"] for r in saved["measured"]["table"]}
OUT["trained"] = trained
print(json.dumps(OUT))
"""

JAX_CIFAR = """
steps = {}
for name, dist in (("one", ONE), ("two", TWO)):
    one_step(name, dist, lambda m, name=name: steps.__setitem__(
        name, (bn_stats(m), [np.asarray(w) for w in m.trainable_weights])))
step_difference(steps["one"][0], steps["two"][0])
OUT["step_weights_diff"] = max(float(np.abs(a - b).max())
                               for a, b in zip(steps["one"][1], steps["two"][1]))

hardware.set_strategy(TWO)
OUT["batch_multiple"] = hardware.batch_multiple()
# 301 training and 101 test images: multiples neither of the batch (64) nor of the 2 devices.
ds = cifar(301, 101)
pre = data.Preprocess.standardize_from(ds.train)
feeder = epochs.ShuffledBatches(ds.train.x, ds.train.y, 64, 10, pre, seed=3)
OUT["batch_sizes"] = [len(feeder[i][1]) for i in range(len(feeder))]
left_out = []
for epoch in (0, 1):
    feeder.epoch = epoch
    used = {int(i) for b in range(len(feeder))
            for i in feeder.order()[b * 64:min((b + 1) * 64, feeder.n_used)]}
    left_out.append(sorted(set(range(301)) - used))
OUT["left_out"] = left_out
try:
    epochs.ShuffledBatches(ds.train.x, ds.train.y, 63, 10, pre, seed=3)
except Exception as e:  # noqa: BLE001
    OUT["odd_batch_error"] = f"{type(e).__name__}: {e}"

whole, model, pre = fast_recipe_runs(ds, 101, lambda key, m: None)
# Saved, then loaded without a distribution: one device scores the 101 images as two did.
with np.load(WORK / "whole" / whole["test_probs"]) as f:
    probs = f["probs"]
hardware.set_strategy(None)
one = training.load_model(WORK / "whole", whole).predict(pre(ds.test.x), verbose=0)
OUT["one_device_vs_two"] = float(np.abs(one - probs).max())
hardware.set_strategy(TWO)
# A Dropout over 8 identical rows, 4 on each device.
drop = [lay for lay in model.layers if isinstance(lay, keras.layers.Dropout) and lay.rate > 0][0]
rows = jax.device_put(np.ones((8, 64), "float32"), TWO.get_data_layout((8, 64)).backend_layout)
mask = np.asarray(drop(rows, training=True)) > 0
OUT["dropout_agreement"] = float(np.mean(mask[:4] == mask[4:]))
print(json.dumps(OUT))
"""


def run_script(tmp_path, body: str, backend: str = "tensorflow") -> dict:
    """Run preamble + body in a fresh interpreter with two devices; the JSON it printed last."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": backend}
    env.pop("REPLICATION_DATA_DIR", None)
    if real_data_dir() is not None and (real_data_dir() / "cifar10").is_dir():
        env["REPLICATION_DATA_DIR"] = str(real_data_dir())
    if backend == "jax":
        env["JAX_PLATFORMS"] = "cpu"
        flags = env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
        env["XLA_FLAGS"] = flags.strip()
    script = tmp_path / "script.py"
    script.write_text((TF_PREAMBLE if backend == "tensorflow" else JAX_PREAMBLE) + COMMON + body)
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run([sys.executable, str(script), str(work)], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_fast_recipe_runs(out):
    """The crashed run stopped after its first epoch, resumed at its second, and equals the
    uninterrupted one in every per-epoch number and every final score."""
    assert out["crashed_after"] == ["0"] and out["epochs_trained"] == ["0", "1"]
    whole, resumed = out["whole"], out["resumed"]
    for key in ("loss", "accuracy", "test_loss", "test_accuracy", "test_accuracy_tta"):
        np.testing.assert_allclose(resumed["history"][key], whole["history"][key], rtol=1e-6,
                                   err_msg=key)
    for key in ("test_accuracy", "test_accuracy_tta", "train_accuracy", "test_loss"):
        assert resumed[key] == pytest.approx(whole[key], rel=1e-6), key


@pytest.mark.slow
def test_cifar10_fast_path_on_two_tensorflow_replicas(tmp_path):
    out = run_script(tmp_path, TF_CIFAR)
    # One step: the replicas' copies are identical, and BatchNorm's moving statistics are the
    # single-device run's (per-replica statistics were 5.2e-3 and 1.8% off, 0.033 apart).
    assert out["step_spread"] == 0.0
    assert out["step_mean_diff"] < 1e-4 and out["step_var_rel_diff"] < 1e-4, out
    # After training with EMA and BatchNorm recomputed: identical on both replicas, and the
    # saved model (one copy) scores the test set exactly as the trained one on two replicas.
    assert out["replicas"] == 2 and out["final_spread"] == 0.0
    assert out["saved_vs_trained"] < 1e-5
    assert out["probs_shape"] == [128, 10]
    check_fast_recipe_runs(out)
    # Each replica draws its own flips, shifts and dropout masks (they were identical: 1.0).
    assert out["aug_identical_images"] < 0.5
    assert 0.2 < out["dropout_agreement"] < 0.8  # two independent masks of rate 0.5 agree on half


@pytest.mark.slow
def test_depth_width_sweep_under_mirrored_strategy(tmp_path):
    out = run_script(tmp_path, TF_SWEEP)
    assert out["strategy"] == "MirroredStrategy"
    assert set(out["table"]) == {"depth-d2-w56", "shallow_conv-w48"}
    assert all(0.0 <= acc <= 1.0 for acc in out["table"].values())
    assert len(out["trained"]) == 2  # one execution per network (smoke: one seed)
    for trial in out["trained"]:
        assert trial == {"synchronized": True, "replicas": 2, "spread": 0.0}, trial


@pytest.mark.slow
def test_jax_data_parallel_with_indivisible_data(tmp_path):
    out = run_script(tmp_path, JAX_CIFAR, backend="jax")
    # A DataParallel step is one program over the global batch: BatchNorm and the weights after
    # one step are the single device's (float rounding apart).
    assert out["step_mean_diff"] < 1e-5 and out["step_var_rel_diff"] < 1e-5, out
    assert out["step_weights_diff"] < 1e-3, out
    # The rule: drop the last 301 % 2 = 1 image of each epoch's order (another each epoch),
    # keep every batch a multiple of the devices; refuse a batch size that is not.
    assert out["batch_multiple"] == 2
    assert out["batch_sizes"] == [64, 64, 64, 64, 44]
    assert [len(x) for x in out["left_out"]] == [1, 1] and out["left_out"][0] != out["left_out"][1]
    assert out["odd_batch_error"].startswith("ReplicationError: batch size 63")
    # Every one of the 101 test images scored once, as one device scores them.
    assert out["probs_shape"] == [101, 10]
    assert out["one_device_vs_two"] < 1e-4
    for key, n in (("test_accuracy", 101), ("train_accuracy", 301)):  # counts of n, not of n + 1
        assert out["whole"][key] * n == pytest.approx(round(out["whole"][key] * n)), key
    check_fast_recipe_runs(out)
    assert 0.2 < out["dropout_agreement"] < 0.8  # each device's rows get their own mask


def test_a_worker_id_keras_tuner_would_take_for_the_chief_is_refused():
    from replication.errors import ReplicationError
    from replication.tuning import Distributed

    for name in ("chief", "chief-2", "mischief"):
        with pytest.raises(ReplicationError, match="--tuner-id") as err:
            Distributed(role="worker", oracle="10.0.0.1:8000", tuner_id=name)
        assert "\n" not in str(err.value)
    Distributed(role="worker", oracle="10.0.0.1:8000", tuner_id="gpu-0")
    Distributed(role="chief", oracle="10.0.0.1:8000")


def test_augmentation_stays_float32_with_a_gpu_kernel_under_bfloat16():
    """Under mixed_bfloat16 every ImageProjectiveTransformV3 (shift, rotation, zoom) of the
    augmented models computes in a dtype that TensorFlow has a GPU kernel for; in bfloat16 it
    has none (it would run on the CPU, a copy each way per batch)."""
    tf = pytest.importorskip("tensorflow")
    from tensorflow.python.framework import kernels

    from replication import hardware, models

    registered = kernels.get_registered_kernels_for_op("ImageProjectiveTransformV3").kernel
    gpu_dtypes = {tf.dtypes.as_dtype(t).name for k in registered if k.device_type == "GPU"
                  for c in k.constraint if c.name == "dtype" for t in c.allowed_values.list.type}
    assert "float32" in gpu_dtypes and "bfloat16" not in gpu_dtypes

    def transform_dtypes(model):
        graph = tf.function(lambda x: model(x, training=True)).get_concrete_function(
            tf.TensorSpec((2, 32, 32, 3), tf.float32)).graph
        found, graphs = set(), [graph]
        while graphs:
            g = graphs.pop()
            found |= {op.get_attr("dtype").name for op in g.get_operations()
                      if op.type == "ImageProjectiveTransformV3"}
            graphs += [f.graph for f in g._functions.values()]
        return found

    with hardware.precision_policy("bfloat16"):
        for kind in ("flip_translate", "lecture", "lecture_affine"):
            model = models.cifar10_vgg(augmentation=kind)
            assert model.layers[-1].compute_dtype == "float32"  # the softmax, as before
            assert model.layers[1].compute_dtype == "bfloat16"  # the convolutions stay bfloat16
            assert transform_dtypes(model) == {"float32"}, kind
