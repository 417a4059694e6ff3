"""mnist-mlp runs on the JAX backend with TensorFlow unimportable (the GPU host has none)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow  # a JAX subprocess with TensorFlow blocked

BLOCK_TF_AND_RUN = """
import sys
import importlib.abc


# Importing tensorflow (or tensorflow_datasets) raises ImportError, as on a host without it.
class NoTensorFlow(importlib.abc.MetaPathFinder):

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tensorflow_datasets", "tf_keras"):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
        return None


sys.meta_path.insert(0, NoTensorFlow())
import runpy
sys.argv = ["replication"] + sys.argv[1:]
runpy.run_module("replication", run_name="__main__")
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
def test_mnist_mlp_smoke_on_jax_without_tensorflow(tmp_path, data_dir):
    root, env_extra = data_dir
    env = {**os.environ, **env_extra, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK_TF_AND_RUN, "run", "mnist-mlp", "--profile", "smoke",
         "--data-dir", str(root), "--results-dir", str(tmp_path), "--quiet"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    result = json.loads((tmp_path / "smoke" / "mnist" / "mnist-mlp" / "result.json").read_text())
    assert result["provenance"]["versions"]["keras_backend"] == "jax"
    assert 0.0 <= result["summary"]["test_accuracy"]["mean"] <= 1.0


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
def test_tfds_without_tensorflow_says_how_to_use_local_files(tmp_path):
    code = BLOCK_TF_AND_RUN.replace('sys.argv = ["replication"] + sys.argv[1:]\nrunpy.run_module("replication", run_name="__main__")', "") + """
from replication import data
from replication.errors import DataError
try:
    data.load("mnist", None)
except DataError as e:
    print("ERR", e)
"""
    env = {k: v for k, v in os.environ.items() if k != "REPLICATION_DATA_DIR"}
    env["KERAS_BACKEND"] = "jax"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300)
    assert "ERR" in proc.stdout and "needs TensorFlow" in proc.stdout and "--data-dir" in proc.stdout


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
def test_depth_width_sweep_smoke_on_jax_without_tensorflow(tmp_path, data_dir):
    """The Keras Tuner sweep on JAX: no tf.distribute strategy goes to the tuner, and the feed is
    the numpy PyDataset."""
    root, env_extra = data_dir
    env = {**os.environ, **env_extra, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK_TF_AND_RUN, "run", "depth-width", "--profile", "smoke",
         "--dataset", "mnist", "--data-dir", str(root), "--results-dir", str(tmp_path), "--quiet"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    result = json.loads((tmp_path / "smoke" / "mnist" / "depth-width" / "result.json").read_text())
    assert result["provenance"]["versions"]["keras_backend"] == "jax"
    from replication.claims import depth_width

    assert [r["config"] for r in result["measured"]["table"]] == list(depth_width.SMOKE_GRID)
    assert result["measured"]["strategy"] == "keras.distribution (JAX)"


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
def test_the_gpu_script_measures_end_to_end_on_the_cpu(tmp_path, data_dir):
    """``benchmarks/gpu_device.sh measure``, prepared for a session lent a GPU (JAX, no TensorFlow,
    a few minutes of device time), runs here on JAX's CPU backend in the smoke profile: both plans
    and both MNIST claims come back as the files it names, with JAX as the backend."""
    root, env_extra = data_dir
    out = tmp_path / "out"
    env = {**os.environ, **env_extra, "JAX_PLATFORMS": "cpu", "OUT": str(out), "PYTHON": sys.executable,
           "GPU_MEASURE_PROFILE": "smoke", "GPU_DATA": str(root), "TF_CPP_MIN_LOG_LEVEL": "2",
           "GPU_MEASURE_PLAN_CAP_S": "600", "GPU_MEASURE_CAP_S": "600"}  # a slow CPU's, not a GPU's
    env.pop("REPLICATION_RESULTS_DIR", None)
    proc = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_device.sh"), "measure"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    files = {p.name for p in out.iterdir()}
    # step_calibration.json too, in any profile but smoke (whose plan times no steps).
    assert {"log.txt", "env.txt", "plan_paper_assumed.txt", "plan_mnist_calibrated.txt",
            "mnist-mlp.result.json", "mnist-cnn.result.json"} <= files
    assert "jax" in (out / "env.txt").read_text()
    assert "assumed" in (out / "plan_paper_assumed.txt").read_text()
    assert "mnist-cnn" in (out / "plan_mnist_calibrated.txt").read_text()
    for claim in ("mnist-mlp", "mnist-cnn"):
        result = json.loads((out / f"{claim}.result.json").read_text())
        assert result["profile"] == "smoke" and result["claim"] == claim
        assert result["provenance"]["versions"]["keras_backend"] == "jax"
    assert len(files) <= 8  # what the device tool brings back from $OUT
