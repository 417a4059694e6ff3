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
