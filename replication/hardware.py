"""The machine: the Keras backend, its accelerators, the CPU, and the one distribution strategy.

Everything else in the package is backend-agnostic Keras 3; this is the one place that knows about
``tf.distribute`` and ``keras.distribution``, and the one place that describes the hardware a
number was measured on (results, the bench and the report all read :func:`info`).
"""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path

# CPU instruction sets that change how fast (and in which precision) Keras trains on a CPU: two
# machines sold under the same "AMD EPYC" name differed 4.5x in speed, by these flags.
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16")


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


def cpu() -> dict:
    """The CPU's model name, core count and the relevant instruction sets (from /proc/cpuinfo)."""
    model, flags = platform.processor() or platform.machine(), set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and model in ("", platform.machine(), platform.processor()):
                model = value.strip()
            elif key == "flags" and not flags:
                flags = set(value.split())
    return {"cpu": model, "cpu_count": os.cpu_count(), "cpu_flags": [f for f in CPU_FLAGS if f in flags]}


def info() -> dict:
    """What a result records about the machine: CPU (with its instruction sets), platform, GPUs."""
    out = {**cpu(), "platform": platform.platform()}
    try:
        out["accelerators"] = accelerators()
    except Exception as exc:  # no backend importable: still record the CPU
        out["accelerators"] = f"unknown ({type(exc).__name__})"
    return out


# The strategy is made once per process: TensorFlow allows one MirroredStrategy per set of devices,
# and every model of a run (and the tuner) must be built under the same one. The only other
# module-level state of the package is the SIGINT flag (interrupts.py).
_STRATEGY = None


def strategy():
    """The one distribution strategy every training run and the tuner use.

    TensorFlow: ``MirroredStrategy`` over all visible GPUs, the default strategy on a CPU.
    JAX: ``keras.distribution.DataParallel`` over all devices, set globally with
    ``keras.distribution.set_distribution``; returns None, because Keras Tuner 1.4 takes only
    ``tf.distribute`` strategies. :func:`set_strategy` chooses another (tests: two logical CPUs).

    Every visible GPU (issue #24): one process trains on all of them. For Keras Tuner workers on
    one host, give each its own GPU before it starts (``CUDA_VISIBLE_DEVICES=<i>``, README "The
    depth sweep on many machines"): the sweep's networks are small, so a trial per GPU keeps
    every GPU busier than one trial mirrored over all of them.
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


def set_strategy(chosen) -> None:
    """Use ``chosen`` instead of :func:`strategy`'s choice, from now on in this process.

    TensorFlow: a ``tf.distribute`` strategy (e.g. ``MirroredStrategy(["/cpu:0", "/cpu:1"])`` over
    two logical CPU devices, as ``tests/test_multi_device.py`` runs the multi-device path without a
    GPU). JAX: a ``keras.distribution.Distribution`` (set globally) or None for none.
    """
    global _STRATEGY
    if backend() == "jax":
        import keras

        keras.distribution.set_distribution(chosen)
        _STRATEGY = None
        return
    _STRATEGY = chosen


def replicas() -> int:
    """How many replicas a training step runs on: the TensorFlow strategy's replicas in sync, the
    devices of the JAX distribution; 1 on one device."""
    s = strategy()
    if s is not None:
        return int(getattr(s, "num_replicas_in_sync", 1))
    if backend() == "jax":
        import keras

        d = keras.distribution.distribution()
        return int(len(d.device_mesh.devices.flatten())) if d is not None else 1
    return 1


def batch_multiple() -> int:
    """What every batch's size must be a multiple of (issue #24): the device count of a JAX
    ``DataParallel``, whose batches are split evenly across devices (an uneven one raises
    ``IndivisibleError``; keras-team/keras#21167), else 1 (``tf.distribute`` splits a batch
    unevenly itself). :class:`epochs.ShuffledBatches` and :mod:`evaluation` apply the rule."""
    return replicas() if backend() == "jax" else 1


def per_replica_variable(variable) -> list:
    """The per-replica copies of a Keras variable under a ``tf.distribute`` strategy (one copy
    elsewhere): a ``MirroredVariable``'s components, each on its own device."""
    value = getattr(variable, "value", variable)
    return list(getattr(value, "values", None) or [value])


@contextlib.contextmanager
def synchronized_batchnorm(model):
    """Within this block, with more than one TensorFlow replica: every BatchNormalization layer of
    ``model`` computes its batch statistics over the global batch (``synchronized=True``), so every
    replica applies the same update to its copy of the moving statistics (issue #24).

    Why: Keras 3 creates the moving mean and variance with ``aggregation="none"``; each replica
    then averages its own shard's statistics into its own copy, the copies drift apart, and a
    saved model, ``BackupAndRestore`` and ``evaluate`` each see another one. Measured on two
    logical CPU devices (``tests/test_multi_device.py``; the depth-width CNN, 5 layers, one step of
    128 CIFAR-10 images): per-replica statistics differ from a single-device run's by up to
    1.9e-3 (mean) and 0.43% (variance) and from each other by 3.7e-3; averaging the copies after
    the step still leaves 1.0e-4 and 0.026% (each replica's variance misses the spread between
    shards); synchronized statistics are 2.8e-6 and 0.0006% from the single-device ones, and the
    copies identical. Synchronising also makes training itself the single-device computation
    (BatchNorm over the global batch) rather than one that depends on the device count. Its cost:
    three all-reduces of a few hundred floats per BatchNorm layer and step (0.39 against 0.27 s
    per step on two logical CPUs, whose all-reduce is a memory copy; NCCL's on GPUs is
    microseconds).

    The flag is set for the fit only: Keras's synchronised moments are sum-of-squares ones, which
    on one device round differently from ``tf.nn.moments`` (single-device numbers must not
    change), and a saved ``synchronized=True`` cannot be loaded by JAX, which rejects it. JAX
    needs nothing: a ``DataParallel`` step is one program over the global batch, whose BatchNorm
    statistics are global already.
    """
    import keras

    bns = []
    if backend() == "tensorflow" and replicas() > 1:
        bns = [layer for layer in model._flatten_layers(include_self=False)
               if isinstance(layer, keras.layers.BatchNormalization) and not layer.synchronized]
    for layer in bns:
        layer.synchronized = True
    try:
        yield
    finally:
        for layer in bns:
            layer.synchronized = False


def strategy_name() -> str:
    s = strategy()
    return type(s).__name__ if s is not None else "keras.distribution (JAX)"


@contextlib.contextmanager
def distribution_scope():
    """Build and compile models inside this (the strategy's scope on TensorFlow)."""
    s = strategy()
    if s is not None and hasattr(s, "scope"):
        with s.scope():
            yield
    else:
        yield


# --------------------------------------------------------------------------------------------
# Precision

PRECISIONS = ("auto", "float32", "bfloat16")


def _gpu_compute_capabilities() -> list[tuple[int, int]]:
    name = backend()
    out = []
    with contextlib.suppress(Exception):
        if name == "tensorflow":
            import tensorflow as tf

            for gpu in tf.config.list_physical_devices("GPU"):
                cc = tf.config.experimental.get_device_details(gpu).get("compute_capability")
                if cc:
                    out.append(tuple(int(v) for v in cc))
        elif name == "jax":
            import jax

            for d in jax.devices():
                cc = getattr(d, "compute_capability", None)
                if d.platform == "gpu" and cc:
                    out.append(tuple(int(v) for v in str(cc).split(".")[:2]))
        elif name == "torch":
            import torch

            out = [tuple(torch.cuda.get_device_capability(i)) for i in range(torch.cuda.device_count())]
    return out


def native_bfloat16() -> tuple[bool, str]:
    """(whether this machine computes bfloat16 natively, why): a GPU of compute capability 8.0 or
    more (Ampere and later), or a CPU with AVX-512 BF16 or AMX."""
    caps = _gpu_compute_capabilities()
    if caps:
        ok = all(cc >= (8, 0) for cc in caps)
        return ok, f"GPU compute capability {'.'.join(map(str, min(caps)))}"
    flags = set(cpu()["cpu_flags"])
    found = sorted(flags & {"avx512_bf16", "amx_bf16"})
    return bool(found), (f"CPU with {' and '.join(found)}" if found else "CPU without avx512_bf16 or amx_bf16")


def resolve_precision(choice: str = "auto") -> tuple[str, str]:
    """(``"float32"`` or ``"bfloat16"``, why) for ``--precision``. ``auto`` picks bfloat16 where the
    hardware runs it natively (:func:`native_bfloat16`), float32 elsewhere."""
    if choice not in PRECISIONS:
        raise ValueError(f"unknown precision {choice!r}; choose from {', '.join(PRECISIONS)}")
    if choice != "auto":
        return choice, "asked for"
    ok, why = native_bfloat16()
    return ("bfloat16" if ok else "float32"), f"auto: {why}"


@contextlib.contextmanager
def precision_policy(precision: str):
    """Keras's global dtype policy for one claim: ``mixed_bfloat16`` (bfloat16 compute, float32
    variables; the models' softmax stays float32) or ``float32``; the previous policy afterwards."""
    import keras

    if precision not in ("float32", "bfloat16"):
        raise ValueError(f"precision must be float32 or bfloat16, got {precision!r}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def matmul_gflops(seconds: float = 1.0, n: int = 1024, dtype: str = "float32") -> float:
    """A calibration: GFLOP/s of repeated n x n matrix products on the backend for about
    ``seconds`` (after one warm-up product), so that wall times can be compared across machines."""
    import time

    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    a = keras.ops.convert_to_tensor(rng.standard_normal((n, n)).astype("float32"), dtype=dtype)
    b = keras.ops.convert_to_tensor(rng.standard_normal((n, n)).astype("float32"), dtype=dtype)
    keras.ops.convert_to_numpy(keras.ops.matmul(a, b))  # warm-up (and JIT on JAX)
    done, t0 = 0, time.perf_counter()
    while True:
        keras.ops.convert_to_numpy(keras.ops.matmul(a, b))
        done += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return 2.0 * n**3 * done / elapsed / 1e9


def calibration(precision: str, seconds: float = 1.0) -> dict:
    """Matmul rates over ``seconds`` each, in float32 and, where it is used, bfloat16."""
    out = {"seconds": seconds,
           "matmul_gflops_float32": round(matmul_gflops(seconds, dtype="float32"), 1)}
    if precision == "bfloat16":
        out["matmul_gflops_bfloat16"] = round(matmul_gflops(seconds, dtype="bfloat16"), 1)
    return out
