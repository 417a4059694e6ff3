"""Expected results are data: every committed result under reference/ is judged again with today's
registry, and a stored verdict that differs fails. A result without the hash of the registry entry
that judged it fails. A result judged under an older registry entry (its stored hash differs from
today's) is stale: it fails unless :data:`EXPECTED_STALE` names it with the reason, so a registry
change that makes a committed result stale (a loosened threshold, say) cannot pass unnoticed; the
README and the report say "stale" beside a listed one until it is rerun."""

from __future__ import annotations

import copy

import pytest

from replication import registry, results, verdicts

STORE = results.Store(results.REFERENCE_DIR)
COMMITTED = [(path, result) for path, result in STORE.all_results()]

# Committed results whose registry entry or config changed since their run, by name
# (<profile>/<dataset>/<claim>), each with the reason and the rerun that will replace it.
EXPECTED_STALE: dict[str, str] = {
}
# Committed results whose config (not registry entry) changed since their run: fingerprint only.
EXPECTED_RECONFIGURED: dict[str, str] = {
    "quick/cifar10/cifar10-fast": (
        "issue #21, item 2: Config gained `baseline_augmentation` ('lecture_affine'; the one-epoch "
        "lecture-recipe baseline of this run, reported only, trained the chain 'lecture'); the "
        "judged fast recipe is unchanged: python -m replication run cifar10-fast"),
}


def _name(path) -> str:
    return str(path.relative_to(results.REFERENCE_DIR).parent)


def _today() -> dict[str, dict]:
    """name -> today's verdict of every committed result judged under today's entry, each
    profile's effect tests judged together as one family (Holm), as `rejudge` judges them."""
    fresh = [(path, r) for path, r in COMMITTED if not verdicts.is_stale(r)]
    return {_name(path): v for (path, _), v in zip(fresh, verdicts.judge_family([r for _, r in fresh]),
                                                   strict=True)}


TODAY = _today()


def _stale() -> dict[str, tuple[str | None, str]]:
    """name -> (the entry hash stored, today's) of every committed result judged under another."""
    out = {}
    for path, result in COMMITTED:
        claim = registry.get(result["claim"])
        if result.get("registry_entry") != verdicts.entry_hash(claim):
            out[_name(path)] = (result.get("registry_entry"), verdicts.entry_hash(claim))
    return out


def test_there_are_committed_results():
    assert COMMITTED, "reference/ holds no result.json"


def test_every_committed_result_names_the_registry_entry_that_judged_it():
    missing = [_name(path) for path, result in COMMITTED if not result.get("registry_entry")]
    assert not missing, f"results without registry_entry (cannot tell fresh from stale): {missing}"


def test_stale_results_are_exactly_the_listed_ones():
    """A result judged under an older entry fails here by name unless EXPECTED_STALE lists it."""
    stale = _stale()
    unlisted = {k: v for k, v in stale.items() if k not in EXPECTED_STALE}
    assert not unlisted, ("judged under another registry entry than today's (stored, today): "
                          f"{unlisted}; rerun them, or list them in EXPECTED_STALE with the reason")
    fresh = sorted(set(EXPECTED_STALE) - set(stale))
    assert not fresh, f"listed in EXPECTED_STALE but judged under today's entry: {fresh}"


@pytest.mark.parametrize("path, result", COMMITTED, ids=[_name(p) for p, _ in COMMITTED])
def test_a_committed_verdict_is_what_today_s_registry_says(path, result):
    claim = registry.get(result["claim"])
    assert result.get("registry_entry"), f"{path}: no registry_entry"
    if verdicts.is_stale(result, claim):
        assert _name(path) in EXPECTED_STALE, (
            f"{path}: stale (judged under registry entry {result['registry_entry']}, today's is "
            f"{verdicts.entry_hash(claim)}) and not listed in EXPECTED_STALE")
        pytest.skip(f"{_name(path)}: stale, listed: {EXPECTED_STALE[_name(path)]}")
    again = TODAY[_name(path)]
    stored = result["verdict_detail"]
    assert again["verdict"] == result["verdict"] == stored["verdict"], \
        f"{path}: stored {result['verdict']!r}, today {again['verdict']!r}; `python -m replication rejudge`"
    assert again["row"] == stored["row"], path
    assert [(a["verdict"], a["row"]) for a in again["also"]] == \
        [(a["verdict"], a["row"]) for a in stored["also"]], path
    # The p that decided each effect row, raw and adjusted over the family, is the one stored.
    for now, then in zip([again["test"], *again["also"]], [stored["test"], *stored["also"]], strict=True):
        for key in ("p_raw", "p_adjusted"):
            assert now[key] == pytest.approx(then[key], rel=1e-9, abs=1e-15), (path, now["metric"], key)
        assert now["direction"] == then["direction"], path


def test_rejudging_catches_a_verdict_that_does_not_follow_from_the_numbers():
    # An effect claim: its negated effect lies in the reverse direction (a level claim's values near
    # 0, such as cifar10-aug's distance from the notebook's curve, would pass negated too).
    fresh = [r for _, r in COMMITTED if not verdicts.is_stale(r) and r["verdict"] == verdicts.REPLICATED
             and registry.get(r["claim"]).criterion != "at_least"]
    if not fresh:
        pytest.skip("no current replicated result to tamper with")
    tampered = copy.deepcopy(fresh[0])
    metric = registry.get(tampered["claim"]).metric
    tampered["summary"][metric] = verdicts.summarize([-v for v in tampered["summary"][metric]["values"]])
    assert verdicts.judge_result(tampered)["verdict"] != tampered["verdict"]


def test_no_replicated_or_contradicted_verdict_rests_on_fewer_than_three_seeds():
    decided = (verdicts.REPLICATED, verdicts.CONTRADICTED, verdicts.CONTRADICTED_AT_BUDGET)
    for path, result in COMMITTED:
        labels = [result["verdict"], *(a["verdict"] for a in result["verdict_detail"]["also"])]
        if set(labels) & set(decided):
            assert result["n"] >= 3, (path, labels)


def test_no_committed_result_that_repeats_a_pilot_s_seeds_carries_a_judged_label():
    """Pilot seeds and judged seeds are disjoint (the registry's pilot_seeds), or the result says
    it is exploratory: a run that repeats the seeds its design was chosen on is not evidence."""
    for path, result in COMMITTED:
        if _name(path) in EXPECTED_STALE:  # judged under an older entry: its own test
            continue
        claim = registry.get(result["claim"])
        overlap = sorted(set(result["seeds"]) & set(claim.pilot_seeds))
        if overlap and result["verdict_detail"]["row"] not in ("0", "1"):
            assert result["verdict"] == verdicts.EXPLORATORY, (
                f"{path}: seeds {overlap} are {claim.id}'s pilot seeds, yet it reads {result['verdict']!r}")
            assert result["verdict_detail"]["also"] == [], path


def test_every_effect_verdict_was_adjusted_over_the_registered_family():
    for path, result in COMMITTED:
        if _name(path) in EXPECTED_STALE:  # judged under an older entry: its own test
            continue
        detail = result["verdict_detail"]
        if detail["row"][:1] in "34567" and detail["test"]["kind"] == "effect":
            family = detail["family"]
            assert (family["method"], family["size"]) == ("holm", len(registry.EFFECT_FAMILY)), path
            assert list(family["p_raw"]) == list(registry.EFFECT_FAMILY), path
            assert detail["test"]["p_adjusted"] >= detail["test"]["p_raw"], path


def test_every_committed_result_records_its_precision_and_the_numbers_of_its_test():
    """The stored statistic, n, mean and one-sided p of each judged test are what the stored
    per-seed values give today (the README and the report print them from there)."""
    for path, result in COMMITTED:
        if _name(path) in EXPECTED_STALE:  # judged under an older entry: its own test
            continue
        assert result.get("precision") in ("float32", "bfloat16"), path
        claim = registry.get(result["claim"])
        stored = result["verdict_detail"]
        tests = [(claim.test, stored["test"])]
        tests += list(zip(claim.also_judged, stored["also"], strict=False))
        for test, numbers in tests:
            today = verdicts.test_result(test, result["summary"])
            for key in ("metric", "kind", "threshold", "min_effect", "alpha", "n"):
                assert numbers[key] == today[key], (path, test.metric, key)
            for key in ("mean", "effect", "p_value", "p_value_reverse"):
                assert numbers[key] == pytest.approx(today[key], rel=1e-9, abs=1e-15), (path, test.metric, key)
        if not claim.structure_only:
            assert stored["test"]["n"] == result["n"] or stored["test"]["n"] == 1, path  # 1: one rho


@pytest.mark.parametrize("path, result", COMMITTED, ids=[_name(p) for p, _ in COMMITTED])
def test_a_committed_result_was_made_by_today_s_config(path, result):
    """The reference mixes commits (claims rerun when their design changed); what a rerun with
    today's code would fingerprint is what each committed result recorded, so `all` would reuse
    it, not retrain it. A config changed since shows here until the claim is rerun."""
    from replication import runner

    if _name(path) in EXPECTED_STALE or _name(path) in EXPECTED_RECONFIGURED:
        pytest.skip(f"{_name(path)}: listed: "
                    f"{EXPECTED_STALE.get(_name(path)) or EXPECTED_RECONFIGURED[_name(path)]}")
    config = runner.make_config(result["claim"], result["profile"], result["dataset"], result.get("seeds"))
    fp = runner.config_fingerprint(result["claim"], config, result.get("deterministic", False),
                                   result.get("precision", "float32"))
    assert fp == result["fingerprint"], f"{path}: made by another config than today's; rerun it"


def test_a_result_listed_as_reconfigured_differs_from_today_s_profile_in_a_named_field():
    """EXPECTED_RECONFIGURED lists results whose profile's config changed since the run; a listed
    one whose stored config today's profile would reproduce is listed wrongly, and the reason
    names every field that differs (seeds, or a field the config gained)."""
    import dataclasses

    from replication import runner

    for name, reason in EXPECTED_RECONFIGURED.items():
        path, result = next((p, r) for p, r in COMMITTED if _name(p) == name)
        config = runner.make_config(result["claim"], result["profile"], result["dataset"])
        today = results.to_jsonable(dataclasses.asdict(config))
        stored = result["config"]
        differ = sorted(k for k in set(today) | set(stored) if today.get(k) != stored.get(k))
        assert differ, f"{name}: today's profile would reproduce its config"
        for field in differ:
            assert (field in reason or (field == "seeds" and "seeds" in reason)), (name, field)
