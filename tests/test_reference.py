"""Expected results are data: every committed result under reference/ is judged again with today's
registry, and a stored verdict that differs fails. A result judged under an older registry entry
(its stored hash differs from today's) is stale: listed, not failed, so main stays green while its
rerun spans sessions; the README and the report say "stale" beside it."""

from __future__ import annotations

import copy
import json
import warnings

import pytest

from replication import registry, results, verdicts

STORE = results.Store(results.REFERENCE_DIR)
COMMITTED = [(path, result) for path, result in STORE.all_results()]


def test_there_are_committed_results():
    assert COMMITTED, "reference/ holds no result.json"


@pytest.mark.parametrize("path, result", COMMITTED,
                         ids=[str(p.relative_to(results.REFERENCE_DIR).parent) for p, _ in COMMITTED])
def test_a_committed_verdict_is_what_today_s_registry_says(path, result):
    claim = registry.get(result["claim"])
    if verdicts.is_stale(result, claim):
        warnings.warn(f"stale: {path} was judged under registry entry "
                      f"{result.get('registry_entry')}, today's is {verdicts.entry_hash(claim)}; rerun it",
                      stacklevel=1)
        pytest.skip(f"stale result (registry entry changed since): {path}")
    again = verdicts.judge_result(result, claim)
    assert again["verdict"] == result["verdict"], f"{path}: stored {result['verdict']!r}, today {again['verdict']!r}"
    assert [a["verdict"] for a in again["also"]] == [a["verdict"] for a in result["verdict_detail"]["also"]]


def test_rejudging_catches_a_verdict_that_does_not_follow_from_the_numbers():
    fresh = [r for _, r in COMMITTED if not verdicts.is_stale(r) and r["verdict"] == verdicts.REPLICATED]
    if not fresh:
        pytest.skip("no current replicated result to tamper with")
    tampered = copy.deepcopy(fresh[0])
    metric = registry.get(tampered["claim"]).metric
    tampered["summary"][metric] = verdicts.summarize([-v for v in tampered["summary"][metric]["values"]])
    assert verdicts.judge_result(tampered)["verdict"] != tampered["verdict"]


def test_no_replicated_verdict_rests_on_fewer_than_three_seeds():
    for path, result in COMMITTED:
        if result["verdict"] == verdicts.REPLICATED and not verdicts.is_stale(result):
            assert result["n"] >= 3, path


def test_every_committed_result_records_its_precision_and_registry_entry():
    for path, result in COMMITTED:
        if verdicts.is_stale(result):
            continue
        assert result.get("precision") in ("float32", "bfloat16"), path
        assert json.dumps(result["verdict_detail"]["test"])  # the statistic, n and p are stored


@pytest.mark.parametrize("path, result", COMMITTED,
                         ids=[str(p.relative_to(results.REFERENCE_DIR).parent) for p, _ in COMMITTED])
def test_a_committed_result_was_made_by_today_s_config(path, result):
    """The reference mixes commits (claims rerun when their design changed); what a rerun with
    today's code would fingerprint is what each committed result recorded, so `all` would reuse
    it, not retrain it. A config changed since shows here until the claim is rerun."""
    from replication import runner

    config = runner.make_config(result["claim"], result["profile"], result["dataset"], result.get("seeds"))
    fp = runner.config_fingerprint(result["claim"], config, result.get("deterministic", False),
                                   result.get("precision", "float32"))
    assert fp == result["fingerprint"], f"{path}: made by another config than today's; rerun it"
