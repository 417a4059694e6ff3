"""`deep-vs-wide`: replication/claims/deep_vs_wide.py, registry entry CLAIMS["deep-vs-wide"].

The claim reads the depth-width sweep's analysis (tests/claims/test_depth_width.py tests the
analysis itself): its verdicts, its run on a hand-made sweep result, and the claim in smoke on
synthetic data after the smoke sweep it trains first.
"""

from __future__ import annotations

import types

import pytest
from _helpers import REST_OF_FAMILY_SIGNIFICANT, smoke_run

from replication import registry, results, verdicts
from replication.claims import deep_vs_wide


def test_deep_vs_wide_verdicts_follow_the_registry():
    def verdict(claim_id, summary):
        return verdicts.judge(registry.get(claim_id), {k: verdicts.summarize(v) for k, v in summary.items()},
                              profile="quick", dataset="cifar10", synthetic=False, seeds=3,
                              family=REST_OF_FAMILY_SIGNIFICANT)["verdict"]

    gate = {"min_val_accuracy_in_band": [0.6], "minus_max_plateau_gain_in_band": [-0.004]}
    assert verdict("deep-vs-wide", {"deep_margin": [0.02, 0.03, 0.025], **gate}) == verdicts.REPLICATED
    assert verdict("deep-vs-wide", {"deep_margin": [-0.09, -0.10, -0.08], **gate}) == verdicts.CONTRADICTED_AT_BUDGET
    # Unconverged (a 2-point late rise): inconclusive whichever way the margin points.
    unconverged = {**gate, "minus_max_plateau_gain_in_band": [-0.02]}
    for margin in ([0.02, 0.03, 0.025], [-0.09, -0.10, -0.08]):
        assert verdict("deep-vs-wide", {"deep_margin": margin, **unconverged}) == verdicts.INCONCLUSIVE


def test_run_reads_the_margins_from_the_sweeps_analysis_and_trains_nothing():
    """New with issue #20 (deep-vs-wide had no fast test of its own code path): run() on a
    hand-made depth-width result, through a context that only offers that prerequisite."""
    analysis = {"deep_margin_per_seed": [0.02, 0.03], "min_val_accuracy_in_band": 0.55,
                "margins": {"shallow_conv": {"margin_per_seed": [0.02, 0.03]},
                            "shallow_fc": {"margin_per_seed": [0.04, 0.05]}},
                "rival": "shallow_conv-w48", "deepest": "deep-w30", "band": [140_000, 150_000]}
    table = [{"config": "shallow_conv-w48", "params": 143_000}, {"config": "deep-w30", "params": 146_318},
             {"config": "deep-w48", "params": 311_000}]
    sweep = {"profile": "quick", "fingerprint": "f00d",
             "measured": {"analysis": analysis, "table": table, "data": {"dataset": "cifar10"}}}

    def prerequisite(claim_id):
        assert claim_id == "depth-width"
        return types.SimpleNamespace(result=sweep)

    ctx = types.SimpleNamespace(prerequisite=prerequisite)  # no dataset(), no training: it must not ask
    out = deep_vs_wide.run(deep_vs_wide.PROFILES["quick"], ctx)
    m = out["metrics"]
    assert m["deep_margin"] == [0.02, 0.03] and m["min_val_accuracy_in_band"] == [0.55]
    assert m["margin_shallow_conv"] == [0.02, 0.03] and m["margin_shallow_fc"] == [0.04, 0.05]
    claim = registry.get("deep-vs-wide")
    assert {claim.metric, *(g.metric for g in claim.gates), *claim.reported} <= set(m)
    assert [r["config"] for r in out["in_band"]] == ["shallow_conv-w48", "deep-w30"]
    assert (out["rival"], out["deepest"]) == ("shallow_conv-w48", "deep-w30")
    assert out["from_sweep"] == {"profile": "quick", "fingerprint": "f00d"}


@pytest.mark.slow  # a smoke sweep
def test_smoke_run_reads_the_deep_margin_from_the_sweep(tmp_path):
    smoke_run(tmp_path, "deep-vs-wide")  # trains its prerequisite depth-width first
    store = results.Store(tmp_path)
    saved = store.load("smoke", "cifar10", "depth-width")
    other = store.load("smoke", "cifar10", "deep-vs-wide")
    assert other["summary"]["deep_margin"]["values"] == pytest.approx(
        saved["measured"]["analysis"]["deep_margin_per_seed"])
    claim = registry.get(other["claim"])
    names = [claim.metric, *(g.metric for g in claim.gates), *claim.reported, *(claim.p_metrics or ())]
    assert set(names) <= set(other["summary"]), claim.id


def test_a_stored_sweep_without_a_plateau_gain_fails_the_convergence_gate_instead_of_crashing():
    """A depth-width result read back from disk holds a NaN plateau gain as null (one-cycle or
    smoke sweeps): the gate metric is NaN, which fails the gate."""
    import math

    analysis = {"deep_margin_per_seed": [0.02], "min_val_accuracy_in_band": 0.55,
                "max_plateau_gain_in_band": None, "margins": {}, "rival": "shallow_conv-w48",
                "deepest": "deep-w30", "band": [140_000, 150_000]}
    sweep = {"profile": "quick", "fingerprint": "f00d",
             "measured": {"analysis": analysis, "table": [], "data": {"dataset": "cifar10"}}}
    ctx = types.SimpleNamespace(prerequisite=lambda claim_id: types.SimpleNamespace(result=sweep))
    (value,) = deep_vs_wide.run(deep_vs_wide.PROFILES["quick"], ctx)["metrics"]["minus_max_plateau_gain_in_band"]
    assert math.isnan(value)
