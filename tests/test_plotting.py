"""What the figure scripts share (``replication.plotting``) and the ``figures`` command's ``--out``.

The figures themselves are drawn from real (smoke) results in test_report.py and
tests/claims/test_<module>.py (filters_layer1, top_patches, depth_width); here: the helpers on a few numbers, and where the command writes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
from conftest import REPO, run_cli, tree_snapshot

from replication import plotting


def test_confusion_counts_true_rows_and_predicted_columns():
    m = plotting.confusion(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]), 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert plotting.confusion([], [], 2).tolist() == [[0, 0], [0, 0]]


def test_seed_runs_are_cut_to_the_shortest_and_skip_seeds_without_the_key():
    histories = [{"loss": [3, 2, 1]}, {"loss": [4, 3]}, {"accuracy": [0.5]}]
    assert plotting.seed_runs(histories, "loss") == [[3, 2], [4, 3]]
    assert plotting.seed_runs(histories, "test_loss") == []


def test_seed_curves_draw_each_seed_thin_under_their_labelled_mean():
    plt = plotting.pyplot()
    fig, ax = plt.subplots()
    try:
        mean = plotting.seed_curves(ax, [[1.0, 2.0], [3.0, 4.0]], color="C0", label="ours")
        lines = ax.get_lines()
        assert mean.tolist() == [2.0, 3.0]
        assert [line.get_linewidth() for line in lines] == [0.8, 0.8, 2]
        assert [line.get_label().startswith("_") for line in lines] == [True, True, False]
        assert lines[-1].get_xdata().tolist() == [1, 2]  # epochs count from 1
        plotting.train_test_curves(ax, [{"loss": [1.0], "test_loss": [2.0]}], "loss", train_label="train")
        means = [line for line in ax.get_lines()[3:] if not line.get_label().startswith("_")]
        assert [(m.get_label(), m.get_color()) for m in means] == [
            ("ours: train, mean of 1", "C0"), ("ours: test, mean of 1", "C1")]
    finally:
        plt.close(fig)


def test_plotting_imports_no_training_code():
    """A figure script reads results only: importing the helpers must not start TensorFlow."""
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, replication.plotting; print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=True)
    loaded = proc.stdout.split()
    allowed = {"replication", "replication.plotting", "replication.registry", "replication.results",
               "replication.errors", "replication.lecture",
               "replication.hardware"}  # results' provenance: the CPU; it imports a backend lazily
    assert not [m for m in loaded if m.startswith("replication.") and m not in allowed]
    assert not [m for m in loaded if m.split(".")[0] in ("tensorflow", "keras", "jax")]


def test_figures_out_draws_into_another_folder_and_leaves_the_results_alone(tmp_path):
    """``figures --out DIR``: DIR/<profile>/<dataset>/<name>.png; the results folder is not touched
    (tox -e figures draws the committed reference run this way)."""
    results = tmp_path / "results"
    shutil.copytree(REPO / "reference" / "quick" / "mnist" / "dropout", results / "quick" / "mnist" / "dropout")
    before = tree_snapshot(results)
    proc = run_cli("figures", "--results-dir", results, "--out", tmp_path / "drawn")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "drawn" / "quick" / "mnist" / "dropout_curves.png").stat().st_size > 10_000
    assert tree_snapshot(results) == before


def test_figure_scripts_run_side_by_side_and_log_in_their_order(tmp_path, monkeypatch):
    """regenerate_all runs FIGURE_WORKERS scripts at once (each is an interpreter starting up) but
    logs their output in the order of the claims' figures, whichever finished first, and a
    failed script still makes it return 1."""
    import threading
    import time

    from replication import plotting, registry

    results = tmp_path / "results"
    shutil.copytree(REPO / "reference" / "quick" / "mnist" / "mnist-mlp",
                    results / "quick" / "mnist" / "mnist-mlp")
    names = plotting.figure_names_for(["mnist-mlp"])
    assert len(names) >= 2 and names == list(registry.get("mnist-mlp").figures)
    running, most = [0], [0]
    lock = threading.Lock()

    def fake(name, results_dir, profile, dataset, out):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.3 if name == names[0] else 0.05)  # the first finishes last
        with lock:
            running[0] -= 1
        return name != names[-1], f"[figure {name}] {profile}/{dataset}"

    monkeypatch.setattr(plotting, "_figure_subprocess", fake)
    monkeypatch.setattr(plotting, "FIGURE_WORKERS", 2)
    logged = []
    assert plotting.regenerate_all(results, log=logged.append) == 1
    assert logged == [f"[figure {n}] quick/mnist" for n in names]
    assert most[0] == 2
