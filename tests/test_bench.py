"""The benchmark harness's arithmetic and plumbing (never its speed: no timing assertions)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli

from replication import bench, data, models, registry


def test_forward_flops_count_every_multiply_add_of_conv_and_dense_layers():
    mlp = models.mlp()
    assert bench.forward_flops(mlp) == 2 * (784 * 512 + 512 * 512 + 512 * 512 + 512 * 10)
    cnn = models.mnist_cnn()
    # Conv 32 3x3 on 26x26, Conv 64 3x3 on 24x24, Conv 64 on 10x10, Conv 64 on 8x8, Dense 1024->128->10
    expected = 2 * (9 * 1 * 32 * 26 * 26 + 9 * 32 * 64 * 24 * 24 + 9 * 64 * 64 * 10 * 10
                    + 9 * 64 * 64 * 8 * 8 + 1024 * 128 + 128 * 10)
    assert bench.forward_flops(cnn) == expected


TINY = bench.StepConfig(models=("mnist-mlp",), steps=2, repeats=2, warmup_steps=1, matmul_n=64,
                        matmul_seconds=0.01)


def test_fit_seed_and_the_bench_share_one_callback_list(tmp_path):
    import keras

    from replication import training
    from replication.epochs import EpochCounter, EpochSeed, EpochTimer, StopOnInterrupt, TestCurve

    curve = TestCurve(np.zeros((2, 28, 28, 1), "float32"), np.zeros(2, "int64"))
    extra = keras.callbacks.Callback()
    kinds = [type(c) for c in training.seed_callbacks(tmp_path, 0, None, test_curve=curve, extra=[extra])]
    # The test curve writes into the logs before CSVLogger writes them.
    assert kinds == [StopOnInterrupt, EpochSeed, keras.callbacks.BackupAndRestore, EpochTimer, EpochCounter,
                     TestCurve, keras.callbacks.CSVLogger, keras.callbacks.Callback]
    assert TestCurve not in [type(c) for c in training.seed_callbacks(tmp_path, 0, None)]


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_the_package_step_and_a_plain_fit_are_timed_in_the_precision_asked(precision):
    import keras

    before = keras.config.dtype_policy().name
    row = bench.package_vs_plain_step("mnist-mlp", precision, TINY)
    assert row["compute_dtype"] == precision and keras.config.dtype_policy().name == before
    assert row["params"] == 932_362 and row["steps_per_epoch"] == 2 and row["full_epoch_steps"] == 469
    # Every timed epoch of each way is kept (the warm-up's are not), and the medians come from them.
    assert len(row["package_ms_per_step_each"]) == len(row["plain_ms_per_step_each"]) == 2
    assert row["package_ms_per_step"] == np.median(row["package_ms_per_step_each"])
    assert row["package_over_plain"] > 0 and row["train_gflops_per_s"] > 0


def test_full_epochs_time_whole_epochs_of_each_model_s_dataset(monkeypatch):
    """--full-epochs: each model's timed epoch is its dataset's whole epoch, not the short one."""
    import dataclasses

    monkeypatch.setitem(bench.STEP_MODELS, "mnist-mlp",
                        dataclasses.replace(bench.STEP_MODELS["mnist-mlp"], steps=2, full_epoch_steps=3))
    cfg = dataclasses.replace(TINY, steps=None, full_epochs=True, repeats=1)
    assert bench.package_vs_plain_step("mnist-mlp", "float32", cfg)["steps_per_epoch"] == 3
    cfg = dataclasses.replace(cfg, full_epochs=False)
    assert bench.package_vs_plain_step("mnist-mlp", "float32", cfg)["steps_per_epoch"] == 2


def test_time_to_accuracy_runs_both_recipes_in_the_precision_asked():
    ds = data.synthetic("mnist", 256, 128)
    for recipe in ("lecture", "package"):
        r = bench.time_to_accuracy("mnist-mlp", recipe, ds, max_epochs=1, max_seconds=600, precision="bfloat16")
        assert r["precision"] == "bfloat16" and r["epochs_run"] >= 1
        assert len(r["test_accuracy_per_epoch"]) == r["epochs_run"]
        assert (r["epochs_to_target"] is None) == (r["seconds_to_target"] is None)


@pytest.mark.slow  # a whole (tiny) bench run
def test_a_run_records_the_cpu_and_precision_and_scales_the_5_minute_target(tmp_path, monkeypatch):
    from replication import hardware, results

    # A CPU without bfloat16: auto resolves to float32 and bfloat16's rows are skipped, with why.
    monkeypatch.setattr(hardware, "native_bfloat16", lambda: (False, "CPU without avx512_bf16 or amx_bf16"))
    monkeypatch.setattr(hardware, "cpu", lambda: {"cpu": "Test CPU", "cpu_count": 2, "cpu_flags": ["avx2", "fma"]})
    monkeypatch.setattr(data, "load", lambda name, data_dir=None: data.synthetic(name, 256, 128))
    report = bench.run(out=tmp_path, parts=("throughput", "mnist"), max_minutes=0.01, step_config=TINY,
                       log=lambda *a: None)
    saved = results.read_json(tmp_path / "bench.json")
    assert saved["provenance"]["precision"] == "float32"
    assert saved["provenance"]["precision_reason"].startswith("auto: CPU without")
    assert saved["provenance"]["hardware"]["cpu_flags"] == ["avx2", "fma"]
    assert list(saved["matmul"]["gflops"]) == ["float32"] and "bfloat16 not measured" in saved["matmul"]["why"]
    assert [(r["model"], r["precision"]) for r in saved["training_step"]] == [("mnist-mlp", "float32")]
    g32 = saved["matmul"]["gflops"]["float32"]
    budget = saved["time_to_accuracy_budget"]
    assert budget["matmul_gflops_float32"] == g32 and budget["seconds"] == pytest.approx(300 * 100 / g32)
    assert {r["precision"] for r in saved["time_to_accuracy"]} == {"float32"}
    md = (tmp_path / "BENCH.md").read_text()
    assert md.startswith("Benchmarks on CPU only: Test CPU (2 cores, avx2 fma); precision float32 (auto: CPU")
    assert "bfloat16 not measured: CPU without" in md and "| mnist-mlp | float32 | 932,362 | 128 | 2 (469) |" in md
    assert "| mnist-mlp | 98.15% | (b) one-cycle" in md
    targets = [t for t, _, _ in bench.target_rows(report)]
    assert "mnist-mlp (float32): the package's step within 1.05x of a plain fit" in targets
    assert f"mnist-mlp (float32): training GFLOP/s within 2x of matmul ({g32:.1f}, float32)" in targets
    assert any(t.startswith(f"mnist-cnn: (b) >= 99.40% within 5 minutes on a 100 GFLOP/s machine "
                            f"({budget['seconds']:.0f} s here") for t in targets)


def test_compared_precisions_add_bfloat16_where_native_or_asked(monkeypatch):
    from replication import hardware

    monkeypatch.setattr(hardware, "native_bfloat16", lambda: (True, "CPU with avx512_bf16"))
    assert bench.compared_precisions("float32") == (["float32", "bfloat16"], "CPU with avx512_bf16")
    monkeypatch.setattr(hardware, "native_bfloat16", lambda: (False, "CPU without avx512_bf16 or amx_bf16"))
    assert bench.compared_precisions("auto")[0] == ["float32"]
    assert bench.compared_precisions("bfloat16")[0] == ["float32", "bfloat16"]


@pytest.mark.parametrize("args, message", [
    (["--parts", "gpu"], "--parts"),
    (["--max-minutes", "-1"], "--max-minutes"),
    (["--precision", "float16"], "--precision"),
    (["--step-repeats", "0"], "--step-repeats"),
])
def test_bench_refuses_bad_arguments(tmp_path, args, message):
    proc = run_cli("bench", "--out", tmp_path / "b", *args)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "b" / "bench.json").exists()


def test_cifar_part_reads_a_saved_fast_run_and_the_lecture_curve():
    # The notebook's test curve first reached its final 89.86% (and 90%) at epoch 147.
    assert bench.lecture_epochs_to(registry.BENCH_TARGETS["cifar10"]) == 147
    assert bench.lecture_epochs_to(0.99) is None
    history = {"epoch": [1, 2, 3], "epoch_time_s": [100.0, 90.0, 110.0],
               "test_accuracy_tta": [0.5, 0.8990, 0.905]}
    saved = {"profile": "quick", "seeds": [0], "provenance": {"git": {"commit": "0123456789ab"}},
             "measured": {"histories": [history]}}
    fast = bench.fast_recipe_from_result(saved, "results")
    assert fast["to_notebook_final"] == {"epoch": 2, "train_seconds": 190.0, "best": 0.905}
    assert fast["to_90"]["epoch"] == 3 and fast["seconds_run"] == 300.0
    lecture = {"seconds_per_epoch": 250.0, "steps_timed": 60, "target": 0.8986,
               "epochs_to_target_lecture_notebook": 147, "extrapolated_seconds_to_target": 147 * 250.0}
    md = bench.markdown({"provenance": {"versions": {}, "hardware": {}, "git": {"commit": "abc"}},
                         "cifar10": {"lecture": lecture, "package_fast": fast}})
    assert "**extrapolated** from 60 steps" in md and "| 193.4x |" in md  # 36750 s / 190 s

    history["test_accuracy_tta"] = [0.5, 0.6, 0.7]
    md = bench.markdown({"provenance": {"versions": {}, "hardware": {}, "git": {"commit": "abc"}},
                         "cifar10": {"lecture": lecture,
                                     "package_fast": bench.fast_recipe_from_result(saved, "results")}})
    assert "not reached in 3 (best 70.00%)" in md and "x |" not in md


def test_the_cifar_compute_target_needs_one_precision_and_the_headline_is_the_seeds_mean():
    history = {"epoch": [1, 2], "epoch_time_s": [100.0, 100.0], "test_accuracy_tta": [0.8990, 0.8995]}
    saved = {"profile": "quick", "seeds": [0, 1, 2], "precision": "bfloat16", "metric": "test_accuracy_tta",
             "provenance": {"git": {"commit": "0123456789ab"}}, "measured": {"histories": [history]},
             "summary": {"test_accuracy_tta": {"mean": 0.9012, "n": 3}}}
    fast = bench.fast_recipe_from_result(saved, "results")
    lecture = {"seconds_per_epoch": 250.0, "steps_timed": 60, "target": 0.8986, "precision": "float32",
               "epochs_to_target_lecture_notebook": 147, "extrapolated_seconds_to_target": 147 * 250.0}
    compute = "cifar10: (b) reaches 89.86% with at most 1/10 of (a)'s compute (epochs and seconds)"
    rows = {t: (m, v) for t, m, v in bench.target_rows({"cifar10": {"lecture": lecture, "package_fast": fast}})}
    # 147 epochs / 1 and 36750 s / 100 s: far over 10x, but a float32 epoch against bfloat16 ones.
    assert rows[compute][1] == "not comparable: precisions differ"
    assert rows["cifar10: (b) mean >= 90% within 15 epochs"][1] == "met"  # 90.12%, though seed 0 ended at 89.95%
    assert "mean of 3 seeds" in rows["cifar10: (b) mean >= 90% within 15 epochs"][0]
    rows = {t: (m, v) for t, m, v in bench.target_rows(
        {"cifar10": {"lecture": {**lecture, "precision": "bfloat16"}, "package_fast": fast}})}
    assert rows[compute][1] == "met" and "147 / 1 = 147.0x" in rows[compute][0]
    slow = {**lecture, "precision": "bfloat16", "epochs_to_target_lecture_notebook": 8,
            "extrapolated_seconds_to_target": 8 * 250.0}
    rows = {t: v for t, _, v in bench.target_rows({"cifar10": {"lecture": slow, "package_fast": fast}})}
    assert rows[compute] == "missed: 8.0x"


def test_the_fast_runs_efficiency_is_judged_on_its_slowest_seed():
    history = {"epoch": [1], "epoch_time_s": [100.0], "test_accuracy_tta": [0.91]}
    # 3 seeds share 3e15 FLOPs; at 1000 GFLOP/s a seed's 1e15 takes 1000 s at the limit.
    saved = {"profile": "quick", "seeds": [0, 1, 2], "precision": "bfloat16", "provenance": {"git": {"commit": "0" * 12}},
             "measured": {"histories": [history], "seed_runs": [{"wall_time_s": w} for w in (2000.0, 2500.0, 1800.0)]},
             "work": {"flops": {"total": 3e15}, "matmul_gflops": 1000.0, "precision": "bfloat16", "efficiency": 0.47}}
    fast = bench.fast_recipe_from_result(saved, "results")
    assert fast["seed_efficiencies"] == pytest.approx([0.5, 0.4, 1 / 1.8])
    lecture = {"seconds_per_epoch": 250.0, "steps_timed": 60, "target": 0.8986, "precision": "bfloat16",
               "epochs_to_target_lecture_notebook": 147, "extrapolated_seconds_to_target": 147 * 250.0}
    rows = {t: (m, v) for t, m, v in bench.target_rows({"cifar10": {"lecture": lecture, "package_fast": fast}})}
    target = next(t for t in rows if t.startswith("cifar10-fast: efficiency of every seed >= 0.45"))
    assert rows[target][1] == "missed by 1.12x" and "0.40-0.56 per seed" in rows[target][0]
    saved["measured"]["seed_runs"] = [{"wall_time_s": 2000.0}] * 3
    rows = {t: v for t, _, v in bench.target_rows(
        {"cifar10": {"lecture": lecture, "package_fast": bench.fast_recipe_from_result(saved, "results")}})}
    assert rows[target] == "met"
    del saved["work"]  # a result from before the work was counted: no row
    rows = bench.target_rows({"cifar10": {"lecture": lecture, "package_fast": bench.fast_recipe_from_result(saved, "r")}})
    assert not any(t.startswith("cifar10-fast: efficiency") for t, _, _ in rows)


def test_a_part_measured_again_keeps_the_others_with_their_own_provenance(tmp_path):
    from replication import results

    old_prov = {"versions": {"keras": "3"}, "hardware": {"cpu": "Old CPU"}, "git": {"commit": "feedbeef00"},
                "measured": "2026-01-01T00:00:00+00:00"}
    lecture = {"seconds_per_epoch": 250.0, "steps_timed": 60, "target": 0.8986,
               "epochs_to_target_lecture_notebook": 147, "extrapolated_seconds_to_target": 36750.0}
    # An older bench's throughput part (other keys than this bench writes) is dropped, not half kept.
    results.atomic_write_json(tmp_path / "bench.json", {
        "provenance": old_prov, "parts": ["throughput", "cifar10"],
        "part_provenance": {"cifar10": old_prov, "throughput": old_prov},
        "matmul_gflops": 100.0, "throughput": [], "cifar10": {"lecture": lecture, "package_fast": None}})
    report = bench.run(out=tmp_path, parts=(), log=lambda *a: None)
    assert report["cifar10"]["lecture"] == lecture and report["parts"] == ["cifar10"]
    assert "throughput" not in report and "throughput" not in report["part_provenance"]
    saved = results.read_json(tmp_path / "bench.json")
    assert saved["part_provenance"]["cifar10"]["git"]["commit"] == "feedbeef00"
    assert "cifar10 at 2026-01-01T00:00:00+00:00 (commit feedbeef, Old CPU)" in (tmp_path / "BENCH.md").read_text()


def test_targets_say_met_or_by_how_much_they_were_missed():
    def tta(claim, recipe, seconds, accs):
        return {"claim": claim, "recipe": recipe, "target": registry.BENCH_TARGETS[claim], "seconds_to_target": seconds,
                "seconds_run": seconds, "test_accuracy_per_epoch": accs, "precision": "float32"}

    def step(model, precision, package_ms, ratio, gflops, matmul):
        return {"model": model, "precision": precision, "package_ms_per_step": package_ms,
                "plain_ms_per_step": package_ms / ratio, "package_over_plain": ratio, "repeats": 5,
                "train_gflops_per_s": gflops, "matmul_gflops": matmul}

    report = {"training_step": [step("mnist-cnn", "float32", 100.0, 1.02, 60.0, 100.0),
                                step("mnist-cnn", "bfloat16", 50.0, 1.10, 120.0, 300.0),
                                step("cifar10-cnn", "float32", 600.0, 1.05, 40.0, 100.0),
                                step("cifar10-cnn-aug", "float32", 690.0, 1.0, 40.0, 100.0),
                                step("cifar10-cnn-aug-chain", "float32", 900.0, 1.0, 40.0, 100.0),
                                # No unaugmented bfloat16 row to compare with: no target row.
                                step("cifar10-cnn-aug", "bfloat16", 300.0, 1.0, 40.0, 100.0)],
              # 5 minutes on a 100 GFLOP/s machine is 150 s on one of 200.
              "time_to_accuracy_budget": bench.time_to_accuracy_budget(200.0, "float32"),
              "time_to_accuracy": [tta("mnist-mlp", "lecture", 100.0, [0.99]), tta("mnist-mlp", "package", 40.0, [0.99]),
                                   tta("mnist-cnn", "lecture", 300.0, [0.994]),
                                   tta("mnist-cnn", "package", 200.0, [0.9941])]}
    rows = {t: v for t, _, v in bench.target_rows(report)}
    assert rows["mnist-mlp: (b) at least 2x faster than (a) to 98.15%"] == "met"  # 2.5x
    assert rows["mnist-cnn: (b) at least 2x faster than (a) to 99.37%"].startswith("missed: 1.50x")
    five = ("mnist-cnn: (b) >= 99.40% within 5 minutes on a 100 GFLOP/s machine "
            "(150 s here: 300 s x 100 / 200.0 GFLOP/s float32 matmul)")
    assert rows[five] == "missed, 50 s over"
    assert rows["mnist-cnn (float32): the package's step within 1.05x of a plain fit"] == "met"
    assert rows["mnist-cnn (bfloat16): the package's step within 1.05x of a plain fit"] == "missed by 1.05x"
    assert rows["cifar10-cnn (float32): the package's step within 1.05x of a plain fit"] == "met"
    assert rows["mnist-cnn (float32): training GFLOP/s within 2x of matmul (100.0, float32)"] == "met"
    # bfloat16 is judged against bfloat16's matmul: 300 / 120 = 2.5x below, 1.25x over the 2x.
    assert rows["mnist-cnn (bfloat16): training GFLOP/s within 2x of matmul (300.0, bfloat16)"] == "missed by 1.25x"
    assert rows["cifar10-cnn (float32): training GFLOP/s within 2x of matmul (100.0, float32)"] == "missed by 1.25x"
    # The augmented step against the unaugmented one in the same precision: 690 / 600 and 900 / 600.
    aug = ("cifar10-cnn-aug (float32): the lecture's augmented step (one composed transform) within "
           "1.2x of the unaugmented step")
    assert rows[aug] == "met"
    chain = ("cifar10-cnn-aug-chain (float32): the lecture's augmented step (the four-layer chain) "
             "within 1.2x of the unaugmented step")
    assert rows[chain] == "missed by 1.25x"
    assert not any(t.startswith("cifar10-cnn-aug (bfloat16): the lecture's") for t in rows)

    # Issue #21's share of matmul for the CNNs' steps: 60 / 100 met, 40 / 100 missed by 1.375x;
    # a precision the machine did not measure gets a row that says so, not a verdict.
    share = "training steps at least 55% of the matmul rate in"
    assert rows[f"mnist-cnn (float32): {share} float32"] == "met"
    assert rows[f"mnist-cnn (bfloat16): {share} bfloat16"] == "missed by 1.38x"  # 120 / 300 = 40%
    assert rows[f"cifar10-cnn (float32): {share} float32"] == "missed by 1.38x"
    assert rows[f"cifar10-cnn (bfloat16): {share} bfloat16"] == "not measured"
    assert not any(t.startswith("cifar10-cnn-aug (float32): training steps") for t in rows)

    # Without a measured budget (a bench.json from before it), the plain 5 minutes.
    del report["time_to_accuracy_budget"]
    assert bench.target_rows(report)[2][0] == "mnist-cnn: (b) >= 99.40% within 5 minutes"


def test_a_seeds_efficiency_leaves_out_the_lecture_recipe_baseline():
    """The one-epoch lecture-recipe baseline is in a ``cifar10-fast`` result's counted FLOPs but in
    no seed's wall time: each seed is judged on the fast recipe's FLOPs only (a one-seed run read
    0.49 with the baseline counted in, 0.46 without)."""
    import dataclasses

    from replication.claims import cifar10_fast

    config = dataclasses.asdict(dataclasses.replace(cifar10_fast.PROFILES["quick"], seeds=(10,)))
    # 15 epochs x 50,000 images x 3 passes + 440,000 scored; the baseline: 50,000 x 3 + 50,000.
    share = (3 * 750_000 + 440_000) / (3 * 750_000 + 440_000 + 3 * 50_000 + 50_000)
    assert bench.fast_recipe_share(config) == pytest.approx(share)
    assert bench.fast_recipe_share(dataclasses.asdict(dataclasses.replace(
        cifar10_fast.PROFILES["quick"], seeds=(10,), baseline_epochs=0))) == 1.0
    assert bench.fast_recipe_share(None) == 1.0
    saved = {"config": json.loads(json.dumps(config)), "measured": {"seed_runs": [{"wall_time_s": 1000.0}]},
             "work": {"flops": {"total": 1e15}, "matmul_gflops": 1000.0, "precision": "float32", "efficiency": 0.9}}
    assert bench.seed_efficiencies(saved)["seed_efficiencies"] == pytest.approx([share])
