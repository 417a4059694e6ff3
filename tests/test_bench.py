"""The benchmark harness's arithmetic and plumbing (never its speed: no timing assertions)."""

from __future__ import annotations

import pytest
from conftest import run_cli

from replication import bench, data, models


def test_forward_flops_count_every_multiply_add_of_conv_and_dense_layers():
    mlp = models.mlp()
    assert bench.forward_flops(mlp) == 2 * (784 * 512 + 512 * 512 + 512 * 512 + 512 * 10)
    cnn = models.mnist_cnn()
    # Conv 32 3x3 on 26x26, Conv 64 3x3 on 24x24, Conv 64 on 10x10, Conv 64 on 8x8, Dense 1024->128->10
    expected = 2 * (9 * 1 * 32 * 26 * 26 + 9 * 32 * 64 * 24 * 24 + 9 * 64 * 64 * 10 * 10
                    + 9 * 64 * 64 * 8 * 8 + 1024 * 128 + 128 * 10)
    assert bench.forward_flops(cnn) == expected


def test_throughput_and_time_to_accuracy_report_what_the_table_needs():
    row = bench.throughput("mnist-mlp", steps=2, batch_size=32)
    assert row["params"] == 932_362 and row["images_per_s"] > 0 and row["train_gflops_per_s"] > 0
    ds = data.synthetic("mnist", 256, 128)
    for recipe in ("lecture", "package"):
        r = bench.time_to_accuracy("mnist-mlp", recipe, ds, max_epochs=1, max_seconds=600)
        assert r["epochs_run"] >= 1 and len(r["test_accuracy_per_epoch"]) == r["epochs_run"]
        assert (r["epochs_to_target"] is None) == (r["seconds_to_target"] is None)
    md = bench.markdown({"provenance": {"versions": {"keras": "3", "keras_backend": "tensorflow"},
                                        "hardware": {"cpu": "X", "cpu_count": 2}, "git": {"commit": "abc"}},
                         "matmul_gflops": 10.0, "throughput": [{**row, "fraction_of_matmul": 0.5}],
                         "time_to_accuracy": [r], "peak_rss_mib": 100.0})
    assert "| mnist-mlp | 932,362 | 32 |" in md  # the throughput row
    assert "| mnist-mlp | 98.15% | (b) one-cycle" in md  # the time-to-accuracy row


@pytest.mark.parametrize("args, message", [
    (["--parts", "gpu"], "--parts"),
    (["--max-minutes", "-1"], "--max-minutes"),
])
def test_bench_refuses_bad_arguments(tmp_path, args, message):
    proc = run_cli("bench", "--out", tmp_path / "b", *args)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "b" / "bench.json").exists()


def test_cifar_part_reads_a_saved_fast_run_and_the_lecture_curve():
    # The notebook's test curve first reached its final 89.86% (and 90%) at epoch 147.
    assert bench.lecture_epochs_to(bench.TARGETS["cifar10"]) == 147
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


def test_a_part_measured_again_keeps_the_others_with_their_own_provenance(tmp_path):
    from replication import results

    old_prov = {"versions": {"keras": "3"}, "hardware": {"cpu": "Old CPU"}, "git": {"commit": "feedbeef00"},
                "measured": "2026-01-01T00:00:00+00:00"}
    lecture = {"seconds_per_epoch": 250.0, "steps_timed": 60, "target": 0.8986,
               "epochs_to_target_lecture_notebook": 147, "extrapolated_seconds_to_target": 36750.0}
    results.atomic_write_json(tmp_path / "bench.json", {
        "provenance": old_prov, "parts": ["cifar10"], "part_provenance": {"cifar10": old_prov},
        "cifar10": {"lecture": lecture, "package_fast": None}})
    report = bench.run(out=tmp_path, parts=(), log=lambda *a: None)
    assert report["cifar10"]["lecture"] == lecture and report["parts"] == ["cifar10"]
    saved = results.read_json(tmp_path / "bench.json")
    assert saved["part_provenance"]["cifar10"]["git"]["commit"] == "feedbeef00"
    assert "cifar10 at 2026-01-01T00:00:00+00:00 (commit feedbeef, Old CPU)" in (tmp_path / "BENCH.md").read_text()


def test_targets_say_met_or_by_how_much_they_were_missed():
    def tta(claim, recipe, seconds, accs):
        return {"claim": claim, "recipe": recipe, "target": bench.TARGETS[claim], "seconds_to_target": seconds,
                "seconds_run": seconds, "test_accuracy_per_epoch": accs}

    report = {"matmul_gflops": 100.0,
              "throughput": [{"model": "mnist-cnn", "train_gflops_per_s": 60.0},
                             {"model": "cifar10-cnn", "train_gflops_per_s": 40.0},
                             {"model": "mnist-mlp", "train_gflops_per_s": 10.0}],
              "time_to_accuracy": [tta("mnist-mlp", "lecture", 100.0, [0.99]), tta("mnist-mlp", "package", 40.0, [0.99]),
                                   tta("mnist-cnn", "lecture", 300.0, [0.994]),
                                   tta("mnist-cnn", "package", 200.0, [0.9941])]}
    rows = {t: v for t, _, v in bench.target_rows(report)}
    assert rows["mnist-mlp: (b) at least 2x faster than (a) to 98.15%"] == "met"  # 2.5x
    assert rows["mnist-cnn: (b) at least 2x faster than (a) to 99.37%"].startswith("missed: 1.50x")
    assert rows["mnist-cnn: (b) >= 99.40% within 5 minutes"] == "met"
    assert rows["mnist-cnn: training GFLOP/s within 2x of matmul (100.0)"] == "met"
    assert rows["cifar10-cnn: training GFLOP/s within 2x of matmul (100.0)"] == "missed by 1.25x"
    assert not any(t.startswith("mnist-mlp: training") for t in rows)  # the target is for the convnets
