"""What a user reads (issue #21): TensorFlow's known-harmless start-up lines are dropped, real
warnings are kept, and a fit's end no longer warns that the input ran out of data."""

from __future__ import annotations

import pytest
from conftest import real_data_dir, run_cli

from replication import quiet

STARTUP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796487398.558353   26816 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results.
I0000 00:00:1796487398.558715   26816 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
E0000 00:00:1796487405.406549   26816 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
W0000 00:00:1796487405.406549   26816 something.cc:1] a real warning about the model
"""


def test_harmless_startup_lines_are_dropped_and_real_ones_kept():
    kept = quiet.filtered(STARTUP, driver=False).splitlines()
    assert kept == ["W0000 00:00:1796487405.406549   26816 something.cc:1] a real warning about the model"]


def test_a_failed_cuinit_is_shown_where_an_nvidia_driver_is_installed():
    kept = quiet.filtered(STARTUP, driver=True)
    assert "failed call to cuInit" in kept and "Could not find cuda drivers" in kept
    assert "oneDNN custom operations" not in kept


@pytest.mark.slow  # a subprocess that trains (seconds)
@pytest.mark.skipif(quiet.nvidia_driver_present(), reason="a machine with an NVIDIA driver")
@pytest.mark.skipif(real_data_dir() is None, reason="no real MNIST (REPLICATION_DATA_DIR)")
def test_a_smoke_run_prints_no_known_harmless_startup_or_end_of_input_lines(tmp_path):
    proc = run_cli("run", "mnist-mlp", "--profile", "smoke", "--results-dir", str(tmp_path),
                   "--precision", "float32", "--quiet", "--data-dir", str(real_data_dir()))
    assert proc.returncode == 0, proc.stderr
    for line in ("cuInit", "Could not find cuda drivers", "absl::InitializeLog", "oneDNN custom",
                 "Your input ran out of data"):
        assert line not in proc.stderr + proc.stdout, line


@pytest.mark.slow  # a subprocess that starts TensorFlow (it counts every claim's FLOPs)
@pytest.mark.skipif(quiet.nvidia_driver_present(), reason="a machine with an NVIDIA driver")
def test_list_prints_no_known_harmless_startup_lines(tmp_path):
    proc = run_cli("list", "--results-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "depth-width" in proc.stdout
    # Nothing timed on this machine in a fresh results folder: list says how to, and times nothing.
    assert "not timed here" in proc.stdout and "all --dry-run --profile quick" in proc.stdout
    assert not (tmp_path / "step_calibration.json").exists()
    for line in ("cuInit", "Could not find cuda drivers", "absl::InitializeLog", "oneDNN custom"):
        assert line not in proc.stderr + proc.stdout, line
