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


def test_one_sided_t_points_each_p_its_own_way():
    """[1, 2, 3] against 0: t = 2 / (1 / sqrt(3)) = 3.464 with 2 degrees of freedom."""
    greater, less = verdicts.one_sided_t([1.0, 2.0, 3.0], 0.0)
    assert greater == pytest.approx(0.037089, abs=1e-5) and less == pytest.approx(1 - 0.037089, abs=1e-5)
    assert verdicts.one_sided_t([-1.0, -2.0, -3.0], 0.0) == pytest.approx((less, greater))
    lower, upper = verdicts.one_sided_bounds([1.0, 2.0, 3.0])
    assert lower == pytest.approx(2 - 2.919986 / 3 ** 0.5, abs=1e-5) and upper == pytest.approx(4 - lower)


def test_a_significant_reversal_on_fewer_than_three_seeds_is_only_indicative():
    """Contradicted needs n >= 3, like replicated."""
    two = [-0.05, -0.0501]  # t = -1001 on 1 degree of freedom: p 3e-4
    for profile in ("quick", "paper"):
        v = judge(EFFECT, two, profile=profile)
        assert (v["verdict"], v["row"]) == (verdicts.INDICATIVE_REVERSE, "3E': n < 3")
    v = judge(EFFECT, [0.05, 0.0501], other=[-0.02, -0.0201])
    assert (v["verdict"], [a["verdict"] for a in v["also"]]) == (verdicts.INDICATIVE, [verdicts.INDICATIVE_REVERSE])


def test_a_run_that_repeats_a_pilot_s_seeds_is_exploratory_whatever_its_numbers():
    piloted = dataclasses.replace(EFFECT, pilot_seeds=(0, 1), pilot="benchmarks/x.py")
    strong = [0.05, 0.06, 0.055]
    v = judge(piloted, strong, seed_ids=[1, 2, 3])
    assert (v["verdict"], v["row"], v["pilot_seeds_repeated"]) == (verdicts.EXPLORATORY, "P", [1])
    assert judge(piloted, [-0.05, -0.06, -0.055], seed_ids=[0, 1, 2])["verdict"] == verdicts.EXPLORATORY
    assert judge(piloted, strong, seed_ids=[2, 3, 4])["verdict"] == verdicts.REPLICATED
    assert judge(EFFECT, strong, seed_ids=[0, 1, 2])["verdict"] == verdicts.REPLICATED  # no pilot
    # The pilot record does not enter the entry's hash (verdicts.NOT_HASHED says why).
    assert verdicts.entry_hash(piloted) == verdicts.entry_hash(EFFECT)


def test_holm_step_down():
    p = {"a": 0.01, "b": 0.04, "c": 0.03}
    assert verdicts.holm(p) == pytest.approx({"a": 0.03, "c": 0.06, "b": 0.06})
    # Two more members without a p count as p = 1: every adjusted p can only rise.
    assert verdicts.holm({**p, "d": None}, 5) == pytest.approx({"a": 0.05, "c": 0.12, "b": 0.12, "d": 1.0})
    assert verdicts.holm({"a": 0.3, "b": 0.2}) == pytest.approx({"b": 0.4, "a": 0.4})
    with pytest.raises(ValueError):
        verdicts.holm(p, 2)


def test_the_effect_rows_read_the_family_adjusted_p_and_record_both():
    claim = registry.get("mlp-vs-cnn")
    summary = {claim.metric: verdicts.summarize([3.0, 2.5, 3.5]),
               **{g.metric: verdicts.summarize([1.0] * 3) for g in claim.gates}}

    def judged(family=None):
        return verdicts.judge(claim, summary, profile="quick", dataset="mnist", synthetic=False,
                              seeds=3, seed_ids=[0, 1, 2], family=family)

    alone = judged()  # the 10 other tests of the registered family count as p = 1: 11 x p
    raw = alone["test"]["p_raw"]
    assert raw == pytest.approx(0.037089, abs=1e-5) and alone["test"]["direction"] == "lecture's"
    assert alone["test"]["p_adjusted"] == pytest.approx(11 * raw)
    assert alone["family"]["size"] == len(registry.EFFECT_FAMILY) == 11
    assert (alone["verdict"], alone["row"]) == (verdicts.INDICATIVE, "5E")
    others = {k: 1e-9 for k in registry.EFFECT_FAMILY if not k.startswith("mlp-vs-cnn:")}
    together = judged(others)  # ranked last of 11: Holm multiplies it by 1
    assert together["test"]["p_adjusted"] == pytest.approx(raw) and together["verdict"] == verdicts.REPLICATED
    assert together["family"]["p_raw"]["dropout:gap_reduction"] == 1e-9
    # A p the family lends for this claim's own test is ignored: its own numbers decide.
    assert judged({"mlp-vs-cnn:error_ratio": 1e-9})["test"]["p_adjusted"] == pytest.approx(11 * raw)
