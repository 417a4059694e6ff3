"""Start the Keras backend without the start-up lines that are known to be harmless (issue #21).

On a machine without an NVIDIA driver, TensorFlow 2.21 prints from C++, straight to file
descriptor 2 and before its logging is configured (so ``TF_CPP_MIN_LOG_LEVEL`` does not reach
them): "All log messages before absl::InitializeLog() ...", "oneDNN custom operations are on ...",
"Could not find cuda drivers on your machine, GPU will not be used", an *error* "failed call to
cuInit: ... UNKNOWN ERROR (303)", and a note on CPU instructions it was not compiled for. A user
reads them as something gone wrong before every run. :func:`start_backend` imports Keras and asks
for the devices (where cuInit is called) with descriptor 2 sent to a temporary file, then prints
every line it caught except those; the CUDA lines are dropped only where no NVIDIA driver is
installed (with one, a failed cuInit is a real problem and is shown).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

HARMLESS = (
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"oneDNN custom operations are on",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler",
)
NO_DRIVER_HARMLESS = (
    r"Could not find cuda drivers on your machine, GPU will not be used",
    r"failed call to cuInit",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"computation placer already registered",
)


def nvidia_driver_present() -> bool:
    """An NVIDIA kernel driver is loaded (its /proc entry or a device node exists)."""
    return Path("/proc/driver/nvidia").exists() or Path("/dev/nvidiactl").exists()


def harmless(line: str, driver: bool) -> bool:
    patterns = HARMLESS if driver else HARMLESS + NO_DRIVER_HARMLESS
    return any(re.search(p, line) for p in patterns)


def filtered(text: str, driver: bool) -> str:
    """``text`` without the lines :func:`harmless` names."""
    return "".join(line for line in text.splitlines(keepends=True) if not harmless(line, driver))


def start_backend() -> None:
    """Import Keras and enumerate the devices, printing only what is not known to be harmless."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import keras

            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                tf.config.list_physical_devices()
            elif keras.backend.backend() == "jax":
                import jax

                jax.devices()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            rest = filtered(caught.read().decode(errors="replace"), nvidia_driver_present())
            if rest:
                sys.stderr.write(rest)
                sys.stderr.flush()
