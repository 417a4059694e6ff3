"""Verdicts from measured numbers and the registry only: one ordered decision table.

A verdict never looks at anything but the per-seed values a run measured, the claim's registry
entry (its pre-registered :class:`registry.StatTest` and :class:`registry.Gate` s), the profile and the
data's provenance. Every case gets exactly one label; the first row that matches decides:

====  =====================================================  ==================================
row   condition                                              verdict (paper profile, if other)
====  =====================================================  ==================================
0     the claim is about a model's structure                 structure only (not replicated if
                                                             the structure does not match)
1     synthetic data / unverified data / smoke profile /      synthetic data / unverified data /
      a lecture number on another dataset                    smoke test / measured only
P     a judged seed is one a pilot of this claim used to      exploratory: judged seeds repeat
      choose its design (the registry's ``pilot_seeds``)      the pilot's
2     a sanity gate fails (a model did not train)            inconclusive (undertrained)
---   *level claims* (a lecture number to reach)
3L    mean >= the lecture's number less its tolerance,       replicated
      n >= 3
4L    ... n < 3                                              indicative
5L    mean below it                                          not reached at this budget
                                                             (not replicated)
---   *effect claims* (an effect in a stated direction; p: Holm-adjusted, see below)
3E    effect the other way, adjusted p < alpha, n >= 3       contradicted at this budget
                                                             (contradicted)
3E'   effect the other way, adjusted p < alpha, n < 3        indicative of the reverse
4E    effect the other way, not significant                  no effect found (not replicated)
5E    right direction, adjusted p >= alpha or below the      indicative (not replicated, n >= 3)
      minimum effect
6E    right direction, significant, >= minimum, n < 3        indicative
7E    right direction, significant, >= minimum, n >= 3       replicated
====  =====================================================  ==================================

``n`` is the number of seeds (for a sweep: seeds per configuration). Each test has two one-sided
p-values: a one-sided one-sample t-test of the per-seed values against the test's threshold (a
paired t-test where each value is a seed-paired difference), or, for tests whose statistic is not a
per-seed mean (a rank correlation over a sweep, a test over filters), the one-sided p-values the
claim computed. The p that decides an effect row is the one in the direction of the observed mean
(the lecture's direction when the effect is positive, the reverse otherwise), adjusted by Holm's
step-down procedure over the profile's family of effect tests (:data:`registry.EFFECT_FAMILY`; the
registry's docstring says which tests and why): a test of the family that has no p in this judging
(not run, stale, stopped by rows 1-2 or P, no spread) counts as p = 1, which can only raise the
others' adjusted p. Judged alone (:func:`judge` without ``family``, as a run judges itself), every
other test of the family counts as p = 1: Bonferroni over the family, the most conservative case;
:func:`judge_family` (the ``rejudge`` command, publishing to ``reference/``) judges a profile's
results together. Each test records its raw and its adjusted p. Row P exists because a run whose
seeds a design pilot already used is not independent of the choice it tests: it is shown, not
judged, whatever its numbers.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np

REPLICATED = "replicated"
INDICATIVE = "indicative"
NOT_REACHED = "not reached at this budget"
CONTRADICTED_AT_BUDGET = "contradicted at this budget"
CONTRADICTED = "contradicted"
INDICATIVE_REVERSE = "indicative of the reverse"
EXPLORATORY = "exploratory: judged seeds repeat the pilot's"
NO_EFFECT = "no effect found"
INCONCLUSIVE = "inconclusive (undertrained)"
NOT_REPLICATED = "not replicated"
STRUCTURE_ONLY = "structure only"
NOT_RUN = "not run"
MEASURED_ONLY = "measured only (no lecture value for this dataset)"
SYNTHETIC = "synthetic data: not a replication"
UNVERIFIED = "unverified data: not a replication"
SMOKE = "smoke test: not a replication"

VERDICTS = (REPLICATED, INDICATIVE, NOT_REACHED, CONTRADICTED_AT_BUDGET, CONTRADICTED,
            INDICATIVE_REVERSE, NO_EFFECT, INCONCLUSIVE, NOT_REPLICATED, STRUCTURE_ONLY, NOT_RUN,
            MEASURED_ONLY, SYNTHETIC, UNVERIFIED, SMOKE, EXPLORATORY)
# The family-wise error control over each profile's effect tests (module docstring).
FAMILY_WISE = "holm"
# A one-sided bound of a mean at this confidence is shown beside a level claim's threshold.
BOUND_CONFIDENCE = 0.95


def summarize(values) -> dict:
    """mean, sample std (ddof=1; 0 for one value) and n of per-seed values."""
    arr = np.asarray([v for v in values if v is not None], dtype="float64")
    if arr.size == 0:
        return {"values": [], "mean": None, "std": None, "n": 0}
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return {"values": [float(v) for v in arr], "mean": float(arr.mean()), "std": std, "n": int(arr.size)}


# Registry fields that do not enter an entry's hash: words for people (title, source, paper,
# context, figures, the ``quantity`` a table names a statistic by) and the pilot record
# (``pilot_seeds``, ``pilot``). The pilot record says which seeds design runs used; like the data's
# checksums (row 1) it is about where a run's seeds came from, not how its numbers are judged, and
# it can only withhold a verdict (row P), never grant one. A pilot recorded after a run must demote
# that run's label at once; hashed, it would leave the run stale, showing its old label until rerun.
NOT_HASHED = ("figures", "lecture_context", "title", "source", "paper", "quantity", "pilot_seeds",
              "pilot")


def entry_hash(claim) -> str:
    """A short hash of everything in the claim's registry entry that judges a result: the
    statement, the lecture's value, the test, its threshold, alpha, minimum effect and gates
    (:data:`NOT_HASHED` lists what it leaves out, and why).
    A stored result carries the hash it was judged under; a different hash today means the entry
    changed since (the result is stale, not wrong)."""
    import dataclasses

    from .results import to_jsonable

    entry = {k: v for k, v in dataclasses.asdict(claim).items() if k not in NOT_HASHED}
    entry["also_judged"] = [{k: v for k, v in t.items() if k not in NOT_HASHED}
                            for t in entry["also_judged"]]
    blob = json.dumps(to_jsonable(entry), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def one_sided_t(values, threshold: float) -> tuple[float | None, float | None]:
    """(p for mean > threshold, p for mean < threshold): a one-sample t-test of per-seed values.
    None, None where it cannot be computed (fewer than 2 values, or no spread)."""
    from scipy import stats

    arr = np.asarray(values, dtype="float64")
    if arr.size < 2:
        return None, None
    if float(arr.std(ddof=1)) <= 1e-12 * max(1.0, float(np.abs(arr).max())):
        return None, None  # no spread: the t statistic is undefined, not evidence either way
    greater = float(stats.ttest_1samp(arr, threshold, alternative="greater").pvalue)
    less = float(stats.ttest_1samp(arr, threshold, alternative="less").pvalue)
    return greater, less


def one_sided_bounds(values, confidence: float = BOUND_CONFIDENCE) -> tuple[float | None, float | None]:
    """(lower, upper) one-sided ``confidence`` bounds of the mean of per-seed values by Student's t
    (each bound alone: the mean lies above ``lower`` with that confidence); None, None for fewer
    than 2 values."""
    from scipy import stats

    arr = np.asarray(values, dtype="float64")
    if arr.size < 2:
        return None, None
    half = float(stats.t.ppf(confidence, arr.size - 1)) * float(arr.std(ddof=1)) / math.sqrt(arr.size)
    return float(arr.mean()) - half, float(arr.mean()) + half


def holm(p_values: dict, size: int | None = None) -> dict:
    """Holm's step-down adjusted p of each test in ``p_values`` ({key: p or None}), in a family of
    ``size`` tests (default: those given). A test of the family not given, or given None, counts as
    p = 1: Holm's adjusted p are non-decreasing in every raw p, so this can only raise the others'."""
    size = len(p_values) if size is None else size
    if size < len(p_values):
        raise ValueError(f"a family of {size} tests cannot hold {len(p_values)}")
    ranked = sorted(((p if _finite(p) else 1.0), key) for key, p in p_values.items())
    adjusted, running = {}, 0.0
    for i, (p, key) in enumerate(ranked):
        running = max(running, min(1.0, (size - i) * p))
        adjusted[key] = running
    return adjusted


def family_key(claim, test) -> str:
    """A test's name in the family: ``<claim id>:<metric>``."""
    return f"{claim.id}:{test.metric}"


def _family_members(claim) -> tuple[str, ...]:
    """The registered family (every effect test of the registry) when ``claim`` is registered; a
    claim outside the registry (a test's) is a family of its own effect tests."""
    from . import registry

    own = tuple(family_key(claim, t) for t in (claim.test, *claim.also_judged) if t.kind == "effect")
    if claim.id not in registry.CLAIMS:
        return own
    return registry.EFFECT_FAMILY + tuple(k for k in own if k not in registry.EFFECT_FAMILY)


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def check_gates(claim, summary: dict) -> list[dict]:
    """Each gate of the claim: every per-seed value of its metric must reach ``at_least``."""
    out = []
    for gate in claim.gates:
        values = (summary.get(gate.metric) or {}).get("values") or []
        worst = min(values) if values else None
        passed = bool(values) and all(_finite(v) and v >= gate.at_least for v in values)
        out.append({"metric": gate.metric, "label": gate.label, "at_least": gate.at_least,
                    "values": values, "worst": worst, "passed": passed,
                    "short_by": None if passed or worst is None else gate.at_least - worst})
    return out


def test_result(test, summary: dict) -> dict:
    """The numbers of one pre-registered test: mean, n, effect, one-sided p both ways."""
    s = summary.get(test.metric) or {}
    values = s.get("values") or []
    mean, n = s.get("mean"), len(values)
    if test.method == "given":
        # The claim's own one-sided p-values, one per seed: the largest decides (every seed must
        # be significant for the claimed direction, every seed for a reversal).
        greater = [v for v in (summary.get(test.p_metrics[0]) or {}).get("values") or [] if _finite(v)]
        less = [v for v in (summary.get(test.p_metrics[1]) or {}).get("values") or [] if _finite(v)]
        p = max(greater) if greater else None
        p_rev = max(less) if less else None
    else:
        p, p_rev = one_sided_t(values, test.threshold)
    effect = None if mean is None else mean - test.threshold
    lower, upper = one_sided_bounds(values) if test.method == "t" and p is not None else (None, None)
    direction = (None if test.kind != "effect" or not _finite(effect)
                 else "lecture's" if effect > 0 else "reverse")
    return {"metric": test.metric, "label": test.label, "kind": test.kind, "method": test.method,
            "threshold": test.threshold, "min_effect": test.min_effect, "alpha": test.alpha,
            "mean": mean, "n": n, "effect": effect, "p_value": p, "p_value_reverse": p_rev,
            # One-sided 95% bounds of the mean (t-tests only): lower >= threshold iff p < 0.05.
            "lower_bound": lower, "upper_bound": upper,
            # The one-sided p in the direction of the observed mean, before and after the family's
            # adjustment (judge fills p_adjusted where the test enters the family).
            "direction": direction,
            "p_raw": p if direction == "lecture's" else p_rev if direction == "reverse" else None,
            "p_adjusted": None}


def decide(t: dict, *, profile: str, seeds: int) -> tuple[str, str]:
    """(verdict, decision row) of one test's numbers (rows 3-7 of the module's table); an effect
    row reads ``t["p_adjusted"]``, the family-adjusted p in the direction of the observed mean."""
    paper = profile == "paper"
    effect, alpha = t["effect"], t["alpha"]
    if not _finite(effect):
        return INCONCLUSIVE, "2: no finite value of the statistic"
    if t["kind"] == "level":
        if effect >= -1e-12:
            return (REPLICATED, "3L") if seeds >= 3 else (INDICATIVE, "4L: n < 3")
        return (NOT_REPLICATED if paper else NOT_REACHED), "5L"
    p = t["p_adjusted"]
    significant = _finite(p) and p < alpha
    if effect <= 0:
        if significant:
            if seeds < 3:
                return INDICATIVE_REVERSE, "3E': n < 3"
            return (CONTRADICTED if paper else CONTRADICTED_AT_BUDGET), "3E"
        return (NOT_REPLICATED if paper else NO_EFFECT), "4E"
    if not significant or effect < t["min_effect"] - 1e-12:
        return (NOT_REPLICATED if paper and seeds >= 3 else INDICATIVE), "5E"
    if seeds < 3:
        return INDICATIVE, "6E: n < 3"
    return REPLICATED, "7E"


def judge(claim, summary: dict, *, profile: str, dataset: str, synthetic: bool,
          verified: bool = True, seeds: int | None = None, seed_ids=None,
          family: dict | None = None) -> dict:
    """The verdict of one claim's measured summary ({metric: :func:`summarize`}), by the table in
    the module docstring. ``verified``: every data file matched its published checksum.
    ``seed_ids``: the seeds the run used (row P compares them with the claim's pilot seeds).
    ``family``: {family key: raw p} of the other tests of this profile's family (the p that would
    decide each, see :func:`judge_family`); None: none known, each counts as p = 1."""
    primary = test_result(claim.test, summary)
    n = seeds if seeds is not None else primary["n"]
    base = {"test": primary, "also": [], "gates": [], "n": n, "registry_entry": entry_hash(claim),
            "criterion": criterion_text(claim)}
    if claim.structure_only:
        primary.update(direction=None, p_raw=None)  # a count, not a test
        ok = primary["effect"] is not None and abs(primary["effect"]) <= claim.tolerance + 1e-12
        return {**base, "verdict": STRUCTURE_ONLY if ok else NOT_REPLICATED, "row": "0"}
    if synthetic:
        return {**base, "verdict": SYNTHETIC, "row": "1"}
    if claim.lecture_value and dataset != claim.dataset:
        return {**base, "verdict": MEASURED_ONLY, "row": "1"}
    if not verified:
        return {**base, "verdict": UNVERIFIED, "row": "1"}
    if profile == "smoke":
        # One epoch on ~1,000 images exercises the code; it is no evidence either way.
        return {**base, "verdict": SMOKE, "row": "1"}
    overlap = sorted(set(int(s) for s in seed_ids or ()) & set(claim.pilot_seeds))
    if overlap:
        return {**base, "verdict": EXPLORATORY, "row": "P", "pilot_seeds_repeated": overlap,
                "pilot": claim.pilot}
    gates = check_gates(claim, summary)
    base["gates"] = gates
    failed = [g for g in gates if not g["passed"]]
    if failed:
        return {**base, "verdict": INCONCLUSIVE, "row": "2",
                "failed_gates": [f"{g['label']}: {_fmt(g['worst'])} < {_fmt(g['at_least'])}"
                                 for g in failed]}
    tests = [(claim.test, primary)] + [(test, test_result(test, summary)) for test in claim.also_judged]
    own = {family_key(claim, test): t["p_raw"] for test, t in tests if t["kind"] == "effect"}
    members = _family_members(claim)
    p_raw = {k: None for k in members}
    p_raw.update({k: v for k, v in (family or {}).items() if k not in own})
    p_raw.update(own)
    adjusted = holm(p_raw, len(p_raw)) if own else {}
    for test, t in tests:
        if t["kind"] == "effect":
            t["p_adjusted"] = adjusted[family_key(claim, test)]
    verdict, row = decide(primary, profile=profile, seeds=n)
    also = []
    for _test, t in tests[1:]:
        v, r = decide(t, profile=profile, seeds=n)
        also.append({**t, "verdict": v, "row": r})
    family_record = {"method": FAMILY_WISE, "size": len(p_raw), "own": sorted(own),
                     "p_raw": p_raw} if own else None
    return {**base, "verdict": verdict, "row": row, "also": also, "family": family_record}


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.4g}"


def criterion_text(claim) -> str:
    """The pre-registered criterion in one line, e.g. ``mean >= <the lecture's value less its
    tolerance> (<value> - <tolerance>), n >= 3`` for a level claim."""
    t = claim.test
    fmt = (lambda v: f"{100 * v:.2f}%") if claim.percent else (lambda v: f"{v:.4g}")
    if claim.structure_only:
        return f"{fmt(claim.expected)} +/- {fmt(claim.tolerance)}"
    if t.kind == "level":
        return f"mean >= {fmt(t.threshold)}" + (
            f" ({fmt(claim.expected)} - {fmt(claim.tolerance)})" if claim.lecture_value else "")
    test = ("one-sided t-test over seeds" if t.method == "t" else t.method_label or "one-sided test")
    extra = f", effect >= {fmt(t.min_effect)}" if t.min_effect else ""
    size = len(_family_members(claim))
    return f"> {fmt(t.threshold)}{extra}; {test}, alpha {t.alpha:g} after Holm over {size} effect tests"


def judge_result(result: dict, claim=None, family: dict | None = None) -> dict:
    """Judge a stored result again with today's registry entry (the re-judging of committed
    results, the README and the report use this); ``family`` as in :func:`judge`."""
    from . import registry

    claim = claim or registry.get(result["claim"])
    data = result.get("measured", {}).get("data", {})
    return judge(claim, result["summary"], profile=result["profile"], dataset=result["dataset"],
                 synthetic=bool(data.get("synthetic")),
                 verified=bool(data.get("verified_checksums", False)), seeds=result.get("n"),
                 seed_ids=result.get("seeds"), family=family)


def family_p_values(verdict: dict) -> dict:
    """{family key: raw p} of the judged result's own tests that entered its family (none where a
    row before the effect rows decided)."""
    record = verdict.get("family") or {}
    return {k: record["p_raw"][k] for k in record.get("own", ())}


def judge_family(found) -> list[dict]:
    """Judge stored results together: each profile's effect tests as one family (Holm). ``found``:
    results (dicts); returns their verdicts in the same order. Results of one profile on their
    claims' own datasets make the family; a result on another dataset is judged in it with its own
    tests in place of its claim's. A stale result (judged under another registry entry) lends the
    family no p: it must be rerun, not re-judged."""
    from . import registry

    found = list(found)
    alone = [judge_result(r) for r in found]
    lent = []
    for r, v in zip(found, alone, strict=True):
        claim = registry.get(r["claim"])
        ok = r["dataset"] == claim.dataset and not is_stale(r, claim)
        lent.append(family_p_values(v) if ok else {})
    out = []
    for i, r in enumerate(found):
        family = {}
        for j, other in enumerate(found):
            if j != i and other["profile"] == r["profile"] and other["claim"] != r["claim"]:
                family.update(lent[j])
        out.append(judge_result(r, family=family))
    return out


def is_stale(result: dict, claim=None) -> bool:
    """True when the registry entry that judged ``result`` has changed since (or is unknown: a
    result without ``registry_entry`` is stale, and tests/test_reference.py fails on it)."""
    from . import registry

    claim = claim or registry.get(result["claim"])
    return result.get("registry_entry") != entry_hash(claim)
