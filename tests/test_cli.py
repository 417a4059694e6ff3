"""The command line, run as a subprocess: usage errors, clear data errors, a smoke run."""

from __future__ import annotations

import json
import os
import re

import pytest
from conftest import run_cli, tree_snapshot


@pytest.mark.parametrize("args, needle", [
    (["run", "nope"], "unknown claim 'nope'"),
    (["run", "mnist-mlp", "--seeds", "abc"], "--seeds: 'abc' is not a count"),
    (["run", "mnist-mlp", "--seeds", "-2"], "--seeds"),
    (["run", "mnist-mlp", "--seeds", "0"], "--seeds: need at least one seed"),
    (["run", "mnist-mlp", "--profile", "huge"], "invalid choice: 'huge'"),
    (["run", "mnist-mlp", "--dataset", "imagenet"], "--dataset: unknown dataset 'imagenet'"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_are_usage_errors(args, needle):
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert not re.search(r"(--[a-z-]+): \1:", proc.stderr), "the option is named twice"


def test_version():
    proc = run_cli("--version")
    assert proc.returncode == 0 and re.fullmatch(r"replication \d+\.\d+\.\d+\s*", proc.stdout)


def test_help_explains_every_option():
    proc = run_cli("run", "--help")
    for option in ("--profile", "--dataset", "--data-dir", "--results-dir", "--seeds", "--force"):
        assert option in proc.stdout


def test_bad_data_gets_one_line_and_leaves_results_untouched(tmp_path, fake_data_dir):
    results_dir = tmp_path / "results"
    (results_dir / "quick").mkdir(parents=True)
    (results_dir / "quick" / "keep.json").write_text('{"keep": 1}')
    before = tree_snapshot(results_dir)
    bad = tmp_path / "data" / "mnist"
    bad.mkdir(parents=True)
    for f in (fake_data_dir / "mnist").iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    victim = bad / "train-images-idx3-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:1000])  # truncated
    proc = run_cli("run", "mnist-mlp", "--profile", "smoke", "--data-dir", bad.parent,
                   "--results-dir", results_dir, env_extra={"REPLICATION_NO_VERIFY": "1"})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "train-images-idx3-ubyte.gz: truncated or corrupt gzip" in errors[0]
    assert tree_snapshot(results_dir) == before


def test_data_dir_that_is_a_file_and_results_dir_under_a_file(tmp_path):
    a_file = tmp_path / "f"
    a_file.write_text("x")
    proc = run_cli("run", "mnist-mlp", "--profile", "smoke", "--data-dir", a_file,
                   "--results-dir", tmp_path / "r")
    assert proc.returncode == 1 and "is a file, not a folder of datasets" in proc.stderr
    proc = run_cli("run", "mnist-mlp", "--profile", "smoke", "--results-dir", a_file / "r")
    assert proc.returncode == 1 and "--results-dir: cannot create" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow  # every claim in smoke, figures, report
def test_all_smoke_draws_figures_writes_report_then_list_and_a_damaged_result(tmp_path, data_dir):
    """One command runs every claim, draws every figure and writes the report; its output, sent to
    a pipe as in a logged 4-hour run, has one plain line per epoch and no terminal escape codes."""
    root, env = data_dir
    results_dir = tmp_path / "results"
    proc = run_cli("all", "--profile", "smoke", "--data-dir", root, "--results-dir", results_dir,
                   "--report-dir", tmp_path / "report", env_extra=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "claim" in proc.stdout and "verdict" in proc.stdout
    assert "claim 1 of 13: mnist-mlp (elapsed" in proc.stdout
    result = json.loads((results_dir / "smoke" / "mnist" / "mnist-mlp" / "result.json").read_text())
    assert result["profile"] == "smoke" and result["measured"]["data"]["n_train"] == 1024
    epoch_lines = [line for line in proc.stdout.splitlines() if " - loss: " in line or "- loss:" in line]
    assert epoch_lines, "no per-epoch line"
    assert not re.search("[\x1b\r\x08]", proc.stdout), "terminal control characters in a piped log"

    assert (results_dir / "smoke" / "mnist" / "figures" / "mnist_mlp_curves.png").stat().st_size > 10_000
    assert (tmp_path / "report" / "index.html").stat().st_size > 10_000
    assert f"report: {tmp_path / 'report' / 'index.html'}" in proc.stdout

    proc = run_cli("list", "--profile", "smoke", "--results-dir", results_dir)
    assert proc.returncode == 0 and "mnist-mlp" in proc.stdout

    # A result.json damaged by hand: a clear error naming it, nothing changed.
    path = results_dir / "smoke" / "mnist" / "mnist-mlp" / "result.json"
    path.write_text("{ not json")
    before = tree_snapshot(results_dir)
    proc = run_cli("run", "mnist-mlp", "--profile", "smoke", "--data-dir", root,
                   "--results-dir", results_dir, env_extra=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "mnist-mlp/result.json: damaged JSON" in proc.stderr
    assert tree_snapshot(results_dir) == before


@pytest.mark.slow  # a real training subprocess
def test_fashion_mnist_runs_the_same_claim_with_no_lecture_value(tmp_path, fake_data_dir):
    """--dataset fashion_mnist: same code path, class names, and a verdict that compares nothing."""
    # The fake files are synthetic digits: they fail Fashion-MNIST's checksums like MNIST's.
    proc = run_cli("run", "mnist-mlp", "--profile", "smoke", "--dataset", "fashion_mnist", "--quiet",
                   "--data-dir", fake_data_dir, "--results-dir", tmp_path,
                   env_extra={"REPLICATION_NO_VERIFY": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((tmp_path / "smoke" / "fashion_mnist" / "mnist-mlp" / "result.json").read_text())
    assert result["verdict"].startswith("measured only")
    assert result["measured"]["class_names"][0] == "T-shirt/top"
    assert not (tmp_path / "smoke" / "mnist").exists()  # never overwrites MNIST


@pytest.mark.slow  # two real processes
def test_a_second_run_of_a_claim_stops_with_one_line_or_waits_with_wait(tmp_path, data_dir):
    """Two processes, one claim folder: the second stops at once naming the holder (PID, host,
    since) and --wait, exit 1, nothing written; with --wait it runs once the first is done."""
    import subprocess
    import sys

    from conftest import REPO

    root, env = data_dir
    results_dir = tmp_path / "results"
    folder = results_dir / "smoke" / "mnist" / "mnist-mlp"
    release = tmp_path / "release"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import pathlib, sys, time\n"
         "from replication.locks import claim_lock\n"
         "with claim_lock(pathlib.Path(sys.argv[1]), log=lambda *a: None):\n"
         "    print('held', flush=True)\n"
         "    while not pathlib.Path(sys.argv[2]).exists():\n"
         "        time.sleep(0.05)\n", str(folder), str(release)],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = run_cli("run", "mnist-mlp", "--profile", "smoke", "--quiet", "--data-dir", root,
                       "--results-dir", results_dir, env_extra=env)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, proc.stderr
        assert f"locked by PID {holder.pid}" in errors[0] and "--wait" in errors[0]
        assert not (folder / "result.json").exists()

        waiter = subprocess.Popen(
            [sys.executable, "-m", "replication", "run", "mnist-mlp", "--profile", "smoke", "--quiet",
             "--wait", "--data-dir", str(root), "--results-dir", str(results_dir)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env})
        seen = []
        for line in waiter.stdout:  # until it says it waits (then the holder lets go)
            seen.append(line)
            if "waiting for it" in line:
                break
        release.write_text("go")
        out, _ = waiter.communicate(timeout=600)
        assert waiter.returncode == 0, "".join(seen) + out
        assert json.loads((folder / "result.json").read_text())["claim"] == "mnist-mlp"
        assert not (folder / ".lock").exists()
    finally:
        release.write_text("go")
        holder.wait(timeout=60)
