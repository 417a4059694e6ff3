"""`depth-width`: replication/claims/depth_width.py, registry entry CLAIMS["depth-width"].

The HyperModel, the parameter band, the analysis of the sweep's table, the smoke sweep and its
figures, its resume rules, distributed mode. deep-vs-wide, which reads this sweep's analysis, is
tested in tests/claims/test_deep_vs_wide.py.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time

import pytest
from _helpers import REST_OF_FAMILY_SIGNIFICANT
from conftest import REPO

from replication import data, models, plotting, registry, results, runner, verdicts
from replication.claims import depth_width
from replication.errors import ReplicationError


def _synthetic(name):
    return data.synthetic(name, 256, 128)


def _run(tmp_path, claim_id="depth-width", **kw):
    return runner.run_claim(claim_id, runner.RunOptions(
        profile="smoke", store=results.Store(tmp_path), loader=_synthetic, verbose=0,
        log=lambda *a: None, **kw))


def test_hypermodel_builds_every_configuration_at_every_depth():
    import keras_tuner

    hm = depth_width._hypermodel_class()(list(depth_width.CONFIGS), (32, 32, 3), 10,
                                         lambda steps, epochs: "adam", 10, 1,
                                         design={"bn_momentum": 0.9, "flip": True, "head": "flatten"})
    depths = set()
    for name, (_family, depth, width, fc_width, fc_layers) in depth_width.CONFIGS.items():
        hp = keras_tuner.HyperParameters()
        hp.values["config"] = name
        model = hm.build(hp)
        convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
        assert len(convs) == depth and convs[0].filters == width, name
        assert model.outputs[0].shape[-1] == 10
        assert model.layers[-1 - fc_layers].output.shape[-1] == fc_width
        depths.add(depth)
    assert depths == {2, 3, 5, 7, 9, 11}


def test_known_parameter_counts_and_the_band():
    # 3 conv layers of 48 filters: 3*9*48+48 = 1,344, then 2 x (48*9*48+48) = 2 x 20,784; BatchNorm
    # 3 x 4 x 48 = 576; Flatten 4x4x48 = 768 -> Dense 128: 98,432; Dense 10: 1,290. Sum 143,210.
    assert models.depth_width_cnn(3, 48).count_params() == 143_210
    assert models.depth_width_cnn(11, 30).count_params() == 146_318
    lo, hi = depth_width.Config().band
    in_band = {n for n in depth_width.CONFIGS if lo <= depth_width.build_config(n, (32, 32, 3), 10)
               .count_params() <= hi}
    assert in_band == {"depth-d2-w56", "shallow_conv-w48", "depth-d5-w40", "depth-d7-w36",
                       "depth-d9-w32", "deep-w30", "shallow_fc-fc176"}
    for d in (2, 3, 5, 7, 9, 11):  # every depth ends at 4x4 on 32x32 inputs
        flat = [layer for layer in models.depth_width_cnn(d, 8).layers if type(layer).__name__ == "Flatten"][0]
        assert flat.output.shape[-1] == 4 * 4 * 8


def test_depth_width_cnn_options_keep_the_defaults_and_solve_the_gap_band():
    # Issue #16's options: BN momentum, a global-average-pooling head and a flip layer (0 params).
    default = models.depth_width_cnn(2, 56)
    assert {layer.momentum for layer in default.layers if type(layer).__name__ == "BatchNormalization"} == {0.99}
    tuned = models.depth_width_cnn(2, 56, bn_momentum=0.9, flip=True)
    assert tuned.count_params() == default.count_params() == 146_402
    assert {layer.momentum for layer in tuned.layers if type(layer).__name__ == "BatchNormalization"} == {0.9}
    assert type(tuned.layers[0]).__name__ == "RandomFlip"
    # GAP head: widths re-solved for about 145k parameters (benchmarks/depth_diagnosis.py GAP_CONFIGS).
    assert models.depth_width_cnn(2, 117, head="gap").count_params() == 143_924
    assert models.depth_width_cnn(11, 39, head="gap").count_params() == 146_498
    assert models.depth_width_cnn(3, 32, 333, 2, head="gap").count_params() == 145_327
    with pytest.raises(ValueError, match="head"):
        models.depth_width_cnn(2, 8, head="dense")


def test_analysis_computes_the_table_measures_and_the_depth_width_verdict():
    def row(name, test, val, params, spread=0.01):
        return {**depth_width.spec(name), "params": params,
                "test_accuracy": test, "test_accuracy_std": spread, "val_accuracy": val,
                "val_accuracy_std": spread, "train_accuracy": val + 0.1, "train_accuracy_std": spread,
                "test_accuracy_per_seed": [test - spread, test + spread]}

    rows = [row("depth-d2-w56", 0.50, 0.51, 146_000), row("shallow_conv-w48", 0.52, 0.60, 143_000),
            row("depth-d5-w40", 0.55, 0.56, 143_000), row("depth-d7-w36", 0.56, 0.57, 147_000),
            row("depth-d9-w32", 0.58, 0.59, 142_000), row("deep-w30", 0.60, 0.61, 146_000),
            row("shallow_fc-fc176", 0.58, 0.59, 143_000), row("deep-w48", 0.70, 0.70, 311_000)]
    a = depth_width.analyse(rows, (140_000, 150_000), (0, 1))
    assert a["spearman_rho"] == pytest.approx(1.0)
    # Exact: of the 720 orderings of six accuracies only the observed one reaches rho = 1.
    assert a["spearman_p_greater"] == pytest.approx(1 / 720) and a["spearman_p_less"] == 1.0
    assert a["deepest"] == "deep-w30" and a["n_in_band"] == 7
    # The rival is the shallow network with the best validation accuracy (shallow_conv, 0.60),
    # even though shallow_fc has the better test accuracy: the test set selects nothing.
    assert a["rival"] == "shallow_conv-w48"
    assert a["deep_margin_per_seed"] == pytest.approx([0.08, 0.08])
    assert a["margins"]["shallow_fc"]["margin"] == pytest.approx(0.02)
    assert a["min_val_accuracy_in_band"] == pytest.approx(0.51)
    rows[5]["test_accuracy"], rows[5]["test_accuracy_per_seed"] = 0.40, [0.39, 0.41]
    a = depth_width.analyse(rows, (140_000, 150_000), (0, 1))
    assert a["spearman_rho"] < 1.0 and a["deep_margin_per_seed"] == pytest.approx([-0.12, -0.12])

    def verdict(claim_id, summary):
        return verdicts.judge(registry.get(claim_id), {k: verdicts.summarize(v) for k, v in summary.items()},
                              profile="quick", dataset="cifar10", synthetic=False, seeds=3,
                              family=REST_OF_FAMILY_SIGNIFICANT)["verdict"]

    gate = {"min_val_accuracy_in_band": [0.6], "minus_max_plateau_gain_in_band": [-0.004]}
    assert verdict("depth-width", {"spearman_rho": [1.0], "spearman_p_greater": [1 / 720],
                                   "spearman_p_less": [1.0], **gate}) == verdicts.REPLICATED
    assert verdict("depth-width", {"spearman_rho": [-0.94], "spearman_p_greater": [0.99],
                                   "spearman_p_less": [0.008], **gate}) == verdicts.CONTRADICTED_AT_BUDGET
    assert verdict("depth-width", {"spearman_rho": [1.0], "spearman_p_greater": [1 / 720],
                                   "spearman_p_less": [1.0], **gate,
                                   "min_val_accuracy_in_band": [0.12]}) == verdicts.INCONCLUSIVE
    # The convergence gate (issue #23): a network whose validation accuracy still rose by 2 points
    # late in its stable phase makes any rho, either sign, inconclusive; so does a missing gain.
    for rho, p_greater, p_less in ((1.0, 1 / 720, 1.0), (-0.94, 0.99, 0.008)):
        for late in (-0.02, float("nan")):
            assert verdict("depth-width", {"spearman_rho": [rho], "spearman_p_greater": [p_greater],
                                           "spearman_p_less": [p_less], **gate,
                                           "minus_max_plateau_gain_in_band": [late]}) == verdicts.INCONCLUSIVE


def test_the_quick_design_keeps_the_parameter_counts_and_sweeps_the_band():
    quick = depth_width.PROFILES["quick"]
    assert set(quick.grid) == set(depth_width.IN_BAND_GRID) and len(quick.seeds) >= 2
    for name in quick.grid:
        plain = depth_width.build_config(name, (32, 32, 3), 10).count_params()
        design = depth_width.build_config(name, (32, 32, 3), 10, bn_momentum=quick.bn_momentum,
                                          flip=quick.flip, head=quick.head)
        assert design.count_params() == plain  # flip adds no weight, momentum none
        bn = [layer for layer in design.layers if type(layer).__name__ == "BatchNormalization"]
        assert bn and all(layer.momentum == quick.bn_momentum for layer in bn)


@pytest.fixture(scope="module")
def smoke_sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    _run(root)
    return root


@pytest.mark.slow  # a smoke sweep
def test_smoke_sweep_records_every_trial_and_its_verdict(smoke_sweep):
    store = results.Store(smoke_sweep)
    saved = store.load("smoke", "cifar10", "depth-width")
    table = saved["measured"]["table"]
    assert [r["config"] for r in table] == list(depth_width.PROFILES["smoke"].grid)
    for r in table:
        assert r["params"] == depth_width.build_config(r["config"], (32, 32, 3), 10).count_params()
        assert 0.0 <= r["test_accuracy"] <= 1.0 and r["wall_time_s"] > 0 and r["executions"] == 1
        assert set(r) >= {"family", "depth", "width", "test_accuracy_std", "val_accuracy", "train_accuracy",
                          "train_accuracy_per_seed", "val_accuracy_per_seed"}
    assert saved["verdict"] == verdicts.SYNTHETIC
    assert "SVHN" in saved["measured"]["lecture_dataset_note"]
    claim = registry.get(saved["claim"])
    names = [claim.metric, *(g.metric for g in claim.gates), *claim.reported, *(claim.p_metrics or ())]
    assert set(names) <= set(saved["summary"]), claim.id
    # Every execution's curves reach the result (the convergence figure reads them).
    assert set(saved["measured"]["curves"]) == set(depth_width.PROFILES["smoke"].grid)
    for name in ("depth_accuracy", "params_accuracy", "convergence"):
        # PYTHONPATH: this checkout's package, not another copy that is installed (editable elsewhere).
        out = subprocess.run([sys.executable, str(plotting.figure_script(name)), "--results-dir",
                              str(smoke_sweep), "--profile", "smoke", "--out", str(smoke_sweep / "fig")],
                             capture_output=True, text=True, cwd=REPO, timeout=300,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                 filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))})
        assert out.returncode == 0, out.stderr[-2000:]
        assert (smoke_sweep / "fig" / f"{name}.png").stat().st_size > 10_000


def _done_files(root):
    return {p: p.stat().st_mtime_ns for p in root.rglob("executions/*/seed*/done.json")}


@pytest.mark.slow  # the smoke sweep
def test_a_changed_sweep_is_refused_without_force_and_restarted_with_it(smoke_sweep):
    tuner_dir = smoke_sweep / "smoke/cifar10/depth-width/tuner"
    before = json.loads((tuner_dir / "sweep.json").read_text())
    with pytest.raises(ReplicationError, match="--force"):
        _run(smoke_sweep, seeds=[1])  # another seed: another sweep
    assert json.loads((tuner_dir / "sweep.json").read_text()) == before  # nothing touched
    assert (smoke_sweep / "smoke/cifar10/depth-width/result.json").exists()


@pytest.mark.slow  # the smoke sweep
def test_a_damaged_trial_file_is_rerun_not_fatal(smoke_sweep, tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(smoke_sweep, root)
    claim_dir = root / "smoke/cifar10/depth-width"
    trial = sorted((claim_dir / "tuner/sweep").glob("trial_*/trial.json"))[2]
    trial.write_text(trial.read_text()[:40])  # what a kill mid-write leaves
    (claim_dir / "result.json").unlink()  # so the runner runs the claim again
    done_before = _done_files(claim_dir)
    result = _run(root)
    assert [r["config"] for r in result["measured"]["table"]] == list(depth_width.PROFILES["smoke"].grid)
    assert _done_files(claim_dir) == done_before  # finished executions were reused, none retrained


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # a chief and two workers on 127.0.0.1
def test_distributed_sweep_chief_and_two_workers(tmp_path, fake_data_dir):
    """A chief and two workers on 127.0.0.1: every trial runs exactly once, on some worker, and the
    chief's result holds them all."""
    import os

    port = _free_port()
    env = {**os.environ, "REPLICATION_NO_VERIFY": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    common = ["run", "depth-width", "--profile", "smoke", "--dataset", "mnist", "--quiet",
              "--data-dir", str(fake_data_dir), "--results-dir", str(tmp_path), "--oracle", f"127.0.0.1:{port}"]
    chief = subprocess.Popen([sys.executable, "-m", "replication", *common, "--role", "chief"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    time.sleep(5)
    workers = [subprocess.Popen([sys.executable, "-m", "replication", *common, "--role", "worker",
                                 "--tuner-id", f"tuner{i}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
               for i in range(2)]
    try:
        outs = [w.communicate(timeout=600) for w in workers]
        chief_out = chief.communicate(timeout=300)
    finally:
        for p in (chief, *workers):
            if p.poll() is None:
                p.kill()
    for p, (_out, err) in zip(workers, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    assert chief.returncode == 0, chief_out[1][-3000:]
    claim_dir = tmp_path / "smoke/mnist/depth-width"
    grid = list(depth_width.PROFILES["smoke"].grid)
    ran = [p.parent.parent.name for p in claim_dir.glob("tuner/workers/*/executions/*/seed*/done.json")]
    assert sorted(ran) == sorted(grid)  # each configuration trained exactly once, by some worker
    assert not list(claim_dir.glob("tuner/executions"))  # the chief trained nothing itself
    per_worker = {w.name for w in (claim_dir / "tuner/workers").iterdir()}
    assert per_worker <= {"tuner0", "tuner1"}
    saved = json.loads((claim_dir / "result.json").read_text())
    assert sorted(r["config"] for r in saved["measured"]["table"]) == sorted(grid)
    assert saved["measured"]["distributed"] is True


@pytest.mark.slow  # kill and resume
def test_a_sweep_killed_mid_trial_resumes_from_its_keras_tuner_project(tmp_path, fake_data_dir):
    """SIGKILL once two executions have finished; the same command then completes the sweep
    without training those two again."""
    import os
    import signal

    env = {**os.environ, "REPLICATION_NO_VERIFY": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    cmd = [sys.executable, "-m", "replication", "run", "depth-width", "--profile", "smoke", "--quiet",
           "--dataset", "mnist", "--data-dir", str(fake_data_dir), "--results-dir", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO, env=env)
    claim_dir = tmp_path / "smoke/mnist/depth-width"
    deadline = time.time() + 600
    while time.time() < deadline and len(_done_files(claim_dir)) < 2 and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = _done_files(claim_dir)
    assert 2 <= len(first) < len(depth_width.PROFILES["smoke"].grid)
    assert (claim_dir / "tuner/sweep/oracle.json").exists()  # Keras Tuner's project, to resume from
    assert not (claim_dir / "result.json").exists()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    after = _done_files(claim_dir)
    assert {p: after[p] for p in first} == first  # finished executions were not trained again
    saved = json.loads((claim_dir / "result.json").read_text())
    assert sorted(r["config"] for r in saved["measured"]["table"]) == sorted(depth_width.PROFILES["smoke"].grid)


def test_plateau_windows_and_gain():
    """The convergence gate reads the two fifths of the epochs before the decay (issue #23): with
    20 epochs, epochs 9-12 against 13-16 (1-based); a still-rising curve fails, a flat one passes."""
    from replication import tuning
    from replication.claims import depth_width

    cfg = depth_width.Config(epochs=20, decay_fraction=0.2)
    assert depth_width.plateau_windows(cfg) == (8, 12, 16)
    rising = [0.02 * e for e in range(20)]
    assert tuning.plateau_gain(rising, (8, 12, 16)) == pytest.approx(0.08)
    flat = [0.5] * 8 + [0.7, 0.71, 0.69, 0.70, 0.70, 0.705, 0.695, 0.70] + [0.75] * 4
    assert tuning.plateau_gain(flat, (8, 12, 16)) == pytest.approx(0.0)
    assert depth_width.plateau_windows(depth_width.Config(epochs=1)) is None
    assert math.isnan(tuning.plateau_gain(rising, None))
    assert math.isnan(tuning.plateau_gain(rising[:10], (8, 12, 16)))


def test_warmup_stable_decay_schedule():
    """Warm-up to the peak, the peak held, a linear fall to 0 over the last fifth of the steps."""
    from replication import optimizers

    opt = optimizers.warmup_stable_decay(2e-3, warmup_fraction=0.05, decay_fraction=0.2)(10, 20)
    sched = opt._learning_rate
    at = {s: float(sched(s)) for s in (0, 10, 100, 160, 180, 200)}
    assert at[0] == pytest.approx(2e-4, rel=1e-5)
    assert [at[10], at[100], at[160]] == pytest.approx([2e-3] * 3, rel=1e-5)
    assert at[180] == pytest.approx(1e-3, rel=1e-5) and at[200] == 0.0
    with pytest.raises(ValueError, match="warmup"):
        optimizers.warmup_stable_decay(1e-3, warmup_fraction=0.5, decay_fraction=0.6)


def test_analyse_convergence_gate_metric():
    """The sweep's gate metric is minus the largest in-band plateau gain; NaN where any in-band
    network has none (a sweep from before the gate fails it rather than passing it)."""
    from replication.claims import depth_width

    rows = []
    for i, (name, (fam, depth, width, _, _)) in enumerate(
            (n, depth_width.CONFIGS[n]) for n in depth_width.IN_BAND_GRID):
        rows.append({"config": name, "family": fam, "depth": depth, "width": width, "params": 145_000,
                     "test_accuracy": 0.6 + 0.01 * i, "test_accuracy_std": 0.0, "val_accuracy": 0.6,
                     "val_accuracy_std": 0.0, "train_accuracy": 0.8, "train_accuracy_std": 0.0,
                     "test_accuracy_per_seed": [0.6 + 0.01 * i] * 3, "plateau_gain": 0.001 * i})
    a = depth_width.analyse(rows, (140_000, 150_000), (10, 11, 12))
    assert a["max_plateau_gain_in_band"] == pytest.approx(0.006)
    rows[0]["plateau_gain"] = float("nan")
    assert math.isnan(depth_width.analyse(rows, (140_000, 150_000), (10, 11, 12))["max_plateau_gain_in_band"])
