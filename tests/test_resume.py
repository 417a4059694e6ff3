"""Crash and rerun: SIGKILL mid-epoch, rerun, and the result equals an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from replication import training

pytestmark = pytest.mark.slow  # SIGKILL and rerun of real training processes

WORKER = Path(__file__).with_name("resume_worker.py")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO)}


def _run(run_dir, *extra, timeout=600):
    proc = subprocess.run([sys.executable, str(WORKER), str(run_dir), "4", *extra],
                          capture_output=True, text=True, env=ENV, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _kill_after(run_dir: Path, epochs_done: int, extra_delay: float):
    proc = subprocess.Popen([sys.executable, str(WORKER), str(run_dir), "4", "0.08"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    counter = run_dir / "epochs_trained.txt"
    deadline = time.time() + 300
    while time.time() < deadline:
        if counter.exists() and len(counter.read_text().split()) >= epochs_done:
            break
        if proc.poll() is not None:
            pytest.fail("worker ended before it could be killed")
        time.sleep(0.05)
    time.sleep(extra_delay)  # into the next epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run_dir / "done.json").exists(), "killed too late: the run had finished"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("whole"))


@pytest.mark.parametrize("epochs_done, delay", [(1, 0.3), (2, 0.8), (3, 0.1)])
def test_sigkill_then_rerun_matches_an_uninterrupted_run(tmp_path, uninterrupted, epochs_done, delay):
    _kill_after(tmp_path, epochs_done, delay)
    # Every file left behind parses (or is the backup Keras itself restores from).
    for path in tmp_path.rglob("*.json"):
        json.loads(path.read_text())
    earlier = training.trained_seconds(tmp_path)  # the killed invocation's finished epochs
    assert earlier > 0
    resumed = _run(tmp_path)
    trained = [int(e) for e in (tmp_path / "epochs_trained.txt").read_text().split()]
    assert sorted(trained) == [0, 1, 2, 3], f"an epoch was trained twice or skipped: {trained}"
    assert resumed["test_loss"] == uninterrupted["test_loss"]
    assert resumed["test_accuracy"] == uninterrupted["test_accuracy"]
    assert resumed["history"]["loss"] == uninterrupted["history"]["loss"]
    done = json.loads((tmp_path / "done.json").read_text())
    assert done["epochs"] == 4
    # The run's wall time counts the epochs trained before the kill (they are not trained again):
    # at least every epoch's own time.
    assert done["wall_time_s"] >= sum(done["history"]["epoch_time_s"]) > earlier


def test_deterministic_smoke_runs_give_identical_metrics(tmp_path, data_dir):
    root, env = data_dir
    values = []
    for name in ("a", "b"):
        proc = run_cli("run", "mnist-mlp", "--profile", "smoke", "--deterministic", "--quiet",
                       "--data-dir", root, "--results-dir", tmp_path / name, env_extra=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        result = json.loads((tmp_path / name / "smoke" / "mnist" / "mnist-mlp" / "result.json").read_text())
        values.append((result["summary"]["test_accuracy"]["values"], result["summary"]["test_loss"]["values"]))
    assert values[0] == values[1]
