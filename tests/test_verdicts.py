"""The decision table (replication.verdicts): every case gets exactly one label, from the measured
numbers and the registry entry only; each row of the table is reached here."""

from __future__ import annotations

import dataclasses

import pytest

from replication import display, registry, verdicts
from replication.registry import Claim, Gate, StatTest

LEVEL = Claim(id="level", title="t", statement="s", source="src", module="m", dataset="mnist",
              metric="acc", metric_label="accuracy", expected=0.98, criterion="at_least",
              tolerance=0.01, tolerance_reason="why", gates=(Gate("train", 0.9, "train accuracy"),))
EFFECT = Claim(id="effect", title="t", statement="s", source="src", module="m", dataset="mnist",
               metric="diff", metric_label="difference", expected=0.0, criterion="greater_than",
               tolerance=0.0, tolerance_reason="why", lecture_value=False, min_effect=0.01,
               gates=(Gate("train", 0.9, "train accuracy"),),
               also_judged=(StatTest("other", "other half", 0.0),))


def judge(claim, values, *, train=None, profile="quick", other=None, **kw):
    n = len(values)
    summary = {claim.metric: verdicts.summarize(values),
               "train": verdicts.summarize(train if train is not None else [0.99] * n)}
    if other is not None:
        summary["other"] = verdicts.summarize(other)
    return verdicts.judge(claim, summary, profile=profile, dataset="mnist", synthetic=False, seeds=n, **kw)


def test_level_claims():
    assert judge(LEVEL, [0.975, 0.972, 0.978])["verdict"] == verdicts.REPLICATED  # >= 0.97
    assert judge(LEVEL, [0.975, 0.972])["verdict"] == verdicts.INDICATIVE  # n < 3
    assert judge(LEVEL, [0.96, 0.965, 0.962])["verdict"] == verdicts.NOT_REACHED
    assert judge(LEVEL, [0.96, 0.965, 0.962], profile="paper")["verdict"] == verdicts.NOT_REPLICATED


def test_a_failed_gate_is_inconclusive_whatever_the_number_and_says_by_how_much():
    v = judge(LEVEL, [0.99, 0.99, 0.99], train=[0.95, 0.80, 0.97])
    assert v["verdict"] == verdicts.INCONCLUSIVE and v["row"] == "2"
    assert v["failed_gates"] == ["train accuracy: 0.8 < 0.9"]
    assert [g["passed"] for g in v["gates"]] == [False]
    # Gate before direction: an effect the other way is not "contradicted" when nothing trained.
    assert judge(EFFECT, [-0.05, -0.06, -0.04], train=[0.5] * 3)["verdict"] == verdicts.INCONCLUSIVE


def test_effect_claims_every_row():
    strong = [0.05, 0.06, 0.055]
    assert judge(EFFECT, strong)["verdict"] == verdicts.REPLICATED  # 7E
    assert judge(EFFECT, strong[:2])["verdict"] == verdicts.INDICATIVE  # 6E: n < 3
    v = judge(EFFECT, [0.005, 0.006, 0.0055])  # significant but below the minimum effect
    assert (v["verdict"], v["row"]) == (verdicts.INDICATIVE, "5E")
    noisy = [0.05, -0.03, 0.04]  # right direction, not significant
    assert judge(EFFECT, noisy)["verdict"] == verdicts.INDICATIVE
    assert judge(EFFECT, noisy, profile="paper")["verdict"] == verdicts.NOT_REPLICATED
    reversed_ = [-0.05, -0.06, -0.055]
    assert judge(EFFECT, reversed_)["verdict"] == verdicts.CONTRADICTED_AT_BUDGET  # 3E
    assert judge(EFFECT, reversed_, profile="paper")["verdict"] == verdicts.CONTRADICTED
    assert judge(EFFECT, [-0.05, 0.03, -0.04])["verdict"] == verdicts.NO_EFFECT  # 4E
    assert judge(EFFECT, [-0.05])["verdict"] == verdicts.NO_EFFECT  # one seed: no test at all


def test_the_numbers_beside_a_verdict():
    v = judge(EFFECT, [0.05, 0.06, 0.055], other=[-0.02, -0.03, -0.025])
    t = v["test"]
    assert t["n"] == 3 and t["mean"] == pytest.approx(0.055) and t["effect"] == pytest.approx(0.055)
    assert 0 < t["p_value"] < 0.01 and t["p_value_reverse"] > 0.99
    # The other half is judged beside, with its own label; it does not change the verdict.
    assert v["verdict"] == verdicts.REPLICATED
    assert [a["verdict"] for a in v["also"]] == [verdicts.CONTRADICTED_AT_BUDGET]
    assert v["registry_entry"] == verdicts.entry_hash(EFFECT)


def test_given_p_values_take_the_largest_over_seeds():
    claim = dataclasses.replace(EFFECT, test_method="given", p_metrics=("pg", "pl"), test_label="MW")
    summary = {"diff": verdicts.summarize([0.3, 0.3]), "train": verdicts.summarize([1.0, 1.0]),
               "pg": verdicts.summarize([1e-5, 0.2]), "pl": verdicts.summarize([0.99, 0.8])}
    v = verdicts.judge(claim, summary, profile="quick", dataset="mnist", synthetic=False, seeds=3)
    assert v["test"]["p_value"] == 0.2 and v["verdict"] == verdicts.INDICATIVE  # one seed not significant
    summary["pg"] = verdicts.summarize([1e-5, 0.01])
    v = verdicts.judge(claim, summary, profile="quick", dataset="mnist", synthetic=False, seeds=3)
    assert v["verdict"] == verdicts.REPLICATED


def test_no_spread_is_no_test():
    assert verdicts.one_sided_t([0.5, 0.5, 0.5], 0.0) == (None, None)
    assert verdicts.one_sided_t([0.5], 0.0) == (None, None)
    assert judge(EFFECT, [0.05, 0.05, 0.05])["verdict"] == verdicts.INDICATIVE


def test_data_status_comes_before_everything():
    good = [0.99, 0.99, 0.99]
    assert judge(LEVEL, good, verified=False)["verdict"] == verdicts.UNVERIFIED
    assert judge(LEVEL, good, profile="smoke")["verdict"] == verdicts.SMOKE
    s = {"acc": verdicts.summarize(good), "train": verdicts.summarize(good)}
    assert verdicts.judge(LEVEL, s, profile="quick", dataset="mnist", synthetic=True)["verdict"] == verdicts.SYNTHETIC
    assert verdicts.judge(LEVEL, s, profile="quick", dataset="fashion_mnist",
                          synthetic=False)["verdict"] == verdicts.MEASURED_ONLY


def test_the_entry_hash_changes_with_what_judges_not_with_figures():
    h = verdicts.entry_hash(EFFECT)
    assert verdicts.entry_hash(dataclasses.replace(EFFECT, figures=("x",))) == h
    for change in ({"min_effect": 0.02}, {"alpha": 0.01}, {"expected": 0.1},
                   {"gates": (Gate("train", 0.8, "train"),)}):
        assert verdicts.entry_hash(dataclasses.replace(EFFECT, **change)) != h, change


def _registered_summary(claim, sign: float) -> dict:
    """Per-seed values (3 seeds) that pass every gate of ``claim`` and put each of its tests far
    beyond its threshold in the claimed direction (``sign`` +1) or the reverse (-1)."""
    summary = {g.metric: verdicts.summarize([g.at_least + 0.01] * 3) for g in claim.gates}
    for test in (claim.test, *claim.also_judged):
        step = max(test.min_effect, 0.01) * 2
        summary[test.metric] = verdicts.summarize(
            [test.threshold + sign * step * k for k in (1.0, 1.001, 1.002)])
        if test.method == "given":
            tiny, one = verdicts.summarize([1e-12] * 3), verdicts.summarize([1.0] * 3)
            summary[test.p_metrics[0]], summary[test.p_metrics[1]] = (tiny, one) if sign > 0 else (one, tiny)
    return summary


@pytest.mark.parametrize("claim_id", [c.id for c in registry.CLAIMS.values() if not c.structure_only])
def test_every_registered_test_could_have_failed(claim_id):
    """Each registered claim's test decides both ways: numbers far in the claimed direction give
    "replicated" (3 seeds, gates passed), the same numbers reversed do not, and its criterion text
    states the threshold it is judged by."""
    claim = registry.get(claim_id)

    def verdicts_for(sign):
        v = verdicts.judge(claim, _registered_summary(claim, sign), profile="quick",
                           dataset=claim.dataset, synthetic=False, seeds=3)
        return [v["verdict"], *(a["verdict"] for a in v["also"])]

    assert set(verdicts_for(+1)) == {verdicts.REPLICATED}
    reverse = {verdicts.NOT_REACHED} if claim.test.kind == "level" else {verdicts.CONTRADICTED_AT_BUDGET}
    assert set(verdicts_for(-1)) == reverse
    fmt = display.format_value
    assert fmt(claim, claim.test.threshold) in verdicts.criterion_text(claim)
    if claim.test.method == "given":
        assert len(claim.p_metrics) == 2 and claim.p_metrics[0] != claim.p_metrics[1]
