"""Estimates before a run (issue #21) and for a named accelerator (#24): the plan's arithmetic,
the efficiency read off a committed result, the dry run that trains nothing, and the counted work
every trained result records."""

from __future__ import annotations

import pytest
from conftest import run_cli, tree_snapshot

from replication import data, estimate, flops, registry, results, runner
from replication.results import REFERENCE_DIR, Store


def test_seconds_are_flops_over_efficiency_times_rate():
    assert estimate.seconds_for(2e12, 0.5, 100.0) == pytest.approx(40.0)
    assert estimate.seconds_for(None, 0.5, 100.0) is None
    assert estimate.seconds_for(2e12, None, 100.0) is None
    assert flops.efficiency(2e12, 40.0, 100.0) == pytest.approx(0.5)
    assert estimate.median_or_assumed([None, 0.2, 0.4, 0.3])[0] == pytest.approx(0.3)
    assert estimate.median_or_assumed([None])[0] == estimate.ASSUMED


def test_the_efficiency_of_a_committed_result_is_its_planned_flops_over_its_time_and_rate():
    claim = "mnist-mlp"
    result = Store(REFERENCE_DIR).load("quick", "mnist", claim)
    eff, where, precision = runner.last_efficiency(claim, "quick", [("ref", Store(REFERENCE_DIR))])
    config = runner.make_config(claim, "quick", "mnist", result["seeds"])
    planned = estimate.planned_flops(claim, config)["total"]
    assert eff == pytest.approx(planned / (estimate.compute_seconds(result) * 1e9
                                           * estimate.matmul_rate(result)))
    assert precision == result["precision"] and where.startswith("ref")
    # A result made by another config (a stale fingerprint) says nothing about today's.
    stale = dict(result, fingerprint="0" * 12)

    class OneResult:
        def load(self, *a):
            return stale

    assert runner.last_efficiency(claim, "quick", [("stale", OneResult())]) == (None, "", None)


def test_a_dry_run_for_a_named_accelerator_prints_the_paper_plan_and_trains_nothing(tmp_path):
    before = tree_snapshot(tmp_path)
    proc = run_cli("all", "--dry-run", "--device", "h200", "--results-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "profile paper" in out and "NVIDIA H200" in out and "precision: bfloat16" in out
    for claim_id in registry.CLAIMS:
        assert claim_id in out
    assert "assumed" in out and out.strip().splitlines()[-1].startswith("total")
    assert tree_snapshot(tmp_path) == before


def test_device_without_dry_run_is_refused_in_one_line(tmp_path):
    proc = run_cli("run", "mnist-mlp", "--device", "h100", "--results-dir", str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: --device: only with --dry-run (a run uses this machine's devices)"]


@pytest.mark.slow  # trains mnist-mlp in smoke
def test_a_trained_result_records_its_counted_work_and_the_estimate_made_before(tmp_path):
    options = runner.RunOptions(profile="smoke", store=results.Store(tmp_path), verbose=0,
                                loader=lambda name: data.synthetic(name, 512, 128),
                                log=lambda *a: None, precision="float32",
                                estimates={"mnist-mlp": 12.5})
    result = runner.run_claim("mnist-mlp", options)
    work = result["work"]
    config = runner.make_config("mnist-mlp", "smoke")
    assert work["flops"] == estimate.planned_flops("mnist-mlp", config, n_train=512, n_test=128)
    assert work["flops"]["total"] > 0 and work["estimate_s"] == 12.5
    rate = result["provenance"]["calibration"]["matmul_gflops_float32"]
    assert work["matmul_gflops"] == rate
    assert work["seconds_at_limit"] == pytest.approx(work["flops"]["total"] / (rate * 1e9))
    assert work["efficiency"] == pytest.approx(
        work["flops"]["total"] / (result["wall_time_s"] * rate * 1e9))


def test_every_committed_result_carries_the_work_todays_plan_counts():
    """The committed results' counted work is what today's planned_work gives for their config
    (regenerate with `python -m replication count-work --results-dir reference` when it changes),
    and its efficiency is FLOPs over the run's compute time and own matmul rate. A result made by
    an earlier config (test_reference.py lists each by name, with its rerun) is checked against
    nothing but its own efficiency: today's plan counts another problem."""
    checked = 0
    for _, result in Store(REFERENCE_DIR).all_results():
        work = result["work"]
        config = runner.make_config(result["claim"], result["profile"], result["dataset"],
                                    result["seeds"])
        current = runner.config_fingerprint(result["claim"], config, bool(result.get("deterministic")),
                                            result.get("precision", "float32")) == result["fingerprint"]
        if current:
            checked += 1
            assert work["flops"] == estimate.planned_flops(result["claim"], config), result["claim"]
        if work["flops"]["total"]:
            assert work["efficiency"] == pytest.approx(flops.efficiency(
                work["flops"]["total"], estimate.compute_seconds(result),
                estimate.matmul_rate(result))), result["claim"]
    assert checked >= 10


def test_a_claim_without_a_current_run_takes_its_own_earlier_runs_efficiency():
    """A stale result (another config of the same claim) stands in, named as such; the strict
    lookup still passes it over."""
    claim = "mnist-mlp"
    result = Store(REFERENCE_DIR).load("quick", "mnist", claim)
    stale = dict(result, fingerprint="0" * 12, work={**(result.get("work") or {}), "efficiency": 0.123})

    class OneResult:
        def load(self, *a):
            return stale

    eff, where, precision = runner.last_efficiency(claim, "quick", [("old", OneResult())],
                                                   earlier_config=True)
    assert eff == 0.123 and "earlier config" in where and precision == result["precision"]
    assert runner.last_efficiency(claim, "quick", [("old", OneResult())])[0] is None
    # A current result is not an earlier config.
    assert runner.last_efficiency(claim, "quick", [("ref", Store(REFERENCE_DIR))],
                                  earlier_config=True)[0] is None


def test_a_plan_of_one_unrun_claim_falls_back_to_the_median_of_its_datasets_claims(tmp_path):
    """``run X`` alone, X with no run of any config: the median over the profile's other claims'
    known runs of X's dataset, not the assumed value."""

    class Nothing:
        def load(self, *a):
            return None

    options = runner.RunOptions(profile="quick", store=results.Store(tmp_path), log=lambda *a: None)
    real = runner.last_efficiency

    def lookup(claim_id, profile, stores, *, earlier_config=False):
        if claim_id == "mnist-cnn":
            return real(claim_id, profile, [("none", Nothing())], earlier_config=earlier_config)
        return real(claim_id, profile, stores, earlier_config=earlier_config)

    try:
        runner.last_efficiency = lookup
        (e,), _ = runner.plan(["mnist-cnn"], options)
    finally:
        runner.last_efficiency = real
    assert "mnist claims'" in e.source and e.efficiency != estimate.ASSUMED and e.seconds > 0


def test_a_float32_plan_applies_a_bfloat16_runs_efficiency_at_the_float32_rate(tmp_path, monkeypatch):
    """The reference run of cifar10-noaug is bfloat16: planned in float32 here, its efficiency is a
    share of this machine's float32 rate (the bfloat16 one is never calibrated); planned in
    bfloat16, of the bfloat16 rate."""
    asked = []

    def rate_here(precision, device=None, seconds=0.5):
        asked.append(precision)
        return {"float32": 100.0, "bfloat16": 400.0}[precision], f"{precision} rate"

    monkeypatch.setattr(estimate, "rate_here", rate_here)
    ref = Store(REFERENCE_DIR).load("quick", "cifar10", "cifar10-noaug")
    assert ref["precision"] == "bfloat16"
    eff = ref["work"]["efficiency"]
    for precision, gflops in (("float32", 100.0), ("bfloat16", 400.0)):
        asked.clear()
        options = runner.RunOptions(profile="quick", store=results.Store(tmp_path), precision=precision,
                                    log=lambda *a: None)
        estimates, _ = runner.plan(["cifar10-noaug"], options)  # with its prerequisite, cifar10-aug
        e = next(e for e in estimates if e.claim == "cifar10-noaug")
        assert e.efficiency == eff
        assert e.seconds == pytest.approx(ref["work"]["flops"]["total"] / (eff * gflops * 1e9))
        assert asked == [precision], asked


def test_an_efficiency_above_one_is_passed_over_for_the_median_of_other_claims(tmp_path, monkeypatch):
    """The quick reference's pooling-translation recorded 1.29 (its calibration read 43 GFLOP/s on a
    busy machine): no run beats the matmul it is measured against, so the plan takes the median of
    the other claims' runs instead, which excludes it too."""
    ref = Store(REFERENCE_DIR).load("quick", "mnist", "pooling-translation")
    assert ref["work"]["efficiency"] > 1
    assert runner.last_efficiency("pooling-translation", "quick", [("ref", Store(REFERENCE_DIR))])[0] is None
    assert not estimate.plausible(1.29) and not estimate.plausible(0.0) and estimate.plausible(0.37)
    assert estimate.median_or_assumed([1.29, 0.2, 0.4])[0] == pytest.approx(0.3)
    monkeypatch.setattr(estimate, "rate_here", lambda precision, device=None, seconds=0.5: (100.0, "x"))
    options = runner.RunOptions(profile="quick", store=results.Store(tmp_path), precision="float32",
                                log=lambda *a: None)
    estimates, _ = runner.plan(["pooling-translation"], options)
    e = next(e for e in estimates if e.claim == "pooling-translation")
    # The median of the other MNIST claims' runs (mnist-mlp, mnist-cnn, dropout), not of all 13.
    assert "mnist claims'" in e.source and e.efficiency <= 1
    mnist = [Store(REFERENCE_DIR).load("quick", "mnist", c)["work"]["efficiency"]
             for c in ("mnist-mlp", "mnist-cnn", "dropout")]
    assert e.efficiency == pytest.approx(sorted(mnist)[1])
    mlp = next(e for e in estimates if e.claim == "mnist-mlp")  # its prerequisite keeps its own run's
    assert mlp.efficiency == Store(REFERENCE_DIR).load("quick", "mnist", "mnist-mlp")["work"]["efficiency"]
