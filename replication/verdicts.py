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
2     a sanity gate fails (a model did not train)            inconclusive (undertrained)
---   *level claims* (a lecture number to reach)
3L    mean >= the lecture's number less its tolerance,       replicated
      n >= 3
4L    ... n < 3                                              indicative
5L    mean below it                                          not reached at this budget
                                                             (not replicated)
---   *effect claims* (an effect in a stated direction)
3E    effect the other way, one-sided p < alpha               contradicted at this budget
                                                             (contradicted)
4E    effect the other way, not significant                  no effect found (not replicated)
5E    right direction, p >= alpha or below the minimum       indicative (not replicated, n >= 3)
      effect
6E    right direction, significant, >= minimum, n < 3        indicative
7E    right direction, significant, >= minimum, n >= 3       replicated
====  =====================================================  ==================================

``n`` is the number of seeds (for a sweep: seeds per configuration). The p-value is a one-sided
one-sample t-test of the per-seed values against the test's threshold (a paired t-test where each
value is a seed-paired difference), or, for tests whose statistic is not a per-seed mean (a rank
correlation over a sweep, a test over filters), the one-sided p-values the claim computed.
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
NO_EFFECT = "no effect found"
INCONCLUSIVE = "inconclusive (undertrained)"
NOT_REPLICATED = "not replicated"
STRUCTURE_ONLY = "structure only"
NOT_RUN = "not run"
MEASURED_ONLY = "measured only (no lecture value for this dataset)"
SYNTHETIC = "synthetic data: not a replication"
UNVERIFIED = "unverified data: not a replication"
SMOKE = "smoke test: not a replication"

VERDICTS = (REPLICATED, INDICATIVE, NOT_REACHED, CONTRADICTED_AT_BUDGET, CONTRADICTED, NO_EFFECT,
            INCONCLUSIVE, NOT_REPLICATED, STRUCTURE_ONLY, NOT_RUN, MEASURED_ONLY, SYNTHETIC,
            UNVERIFIED, SMOKE)


def summarize(values) -> dict:
    """mean, sample std (ddof=1; 0 for one value) and n of per-seed values."""
    arr = np.asarray([v for v in values if v is not None], dtype="float64")
    if arr.size == 0:
        return {"values": [], "mean": None, "std": None, "n": 0}
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return {"values": [float(v) for v in arr], "mean": float(arr.mean()), "std": std, "n": int(arr.size)}


def entry_hash(claim) -> str:
    """A short hash of everything in the claim's registry entry that judges a result: the
    statement, the lecture's value, the test, its threshold, alpha, minimum effect and gates.
    A stored result carries the hash it was judged under; a different hash today means the entry
    changed since (the result is stale, not wrong)."""
    import dataclasses

    from .results import to_jsonable

    entry = {k: v for k, v in dataclasses.asdict(claim).items()
             if k not in ("figures", "lecture_context", "title", "source", "paper")}
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
    return {"metric": test.metric, "label": test.label, "kind": test.kind, "method": test.method,
            "threshold": test.threshold, "min_effect": test.min_effect, "alpha": test.alpha,
            "mean": mean, "n": n, "effect": effect, "p_value": p, "p_value_reverse": p_rev}


def decide(t: dict, *, profile: str, seeds: int) -> tuple[str, str]:
    """(verdict, decision row) of one test's numbers (rows 3-7 of the module's table)."""
    paper = profile == "paper"
    effect, alpha = t["effect"], t["alpha"]
    if not _finite(effect):
        return INCONCLUSIVE, "2: no finite value of the statistic"
    if t["kind"] == "level":
        if effect >= -1e-12:
            return (REPLICATED, "3L") if seeds >= 3 else (INDICATIVE, "4L: n < 3")
        return (NOT_REPLICATED if paper else NOT_REACHED), "5L"
    p, p_rev = t["p_value"], t["p_value_reverse"]
    if effect <= 0:
        if _finite(p_rev) and p_rev < alpha:
            return (CONTRADICTED if paper else CONTRADICTED_AT_BUDGET), "3E"
        return (NOT_REPLICATED if paper else NO_EFFECT), "4E"
    if not (_finite(p) and p < alpha) or effect < t["min_effect"] - 1e-12:
        return (NOT_REPLICATED if paper and seeds >= 3 else INDICATIVE), "5E"
    if seeds < 3:
        return INDICATIVE, "6E: n < 3"
    return REPLICATED, "7E"


def judge(claim, summary: dict, *, profile: str, dataset: str, synthetic: bool,
          verified: bool = True, seeds: int | None = None) -> dict:
    """The verdict of one claim's measured summary ({metric: :func:`summarize`}), by the table in
    the module docstring. ``verified``: every data file matched its published checksum."""
    primary = test_result(claim.test, summary)
    n = seeds if seeds is not None else primary["n"]
    base = {"test": primary, "also": [], "gates": [], "n": n, "registry_entry": entry_hash(claim),
            "criterion": criterion_text(claim)}
    if claim.structure_only:
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
    gates = check_gates(claim, summary)
    base["gates"] = gates
    failed = [g for g in gates if not g["passed"]]
    if failed:
        return {**base, "verdict": INCONCLUSIVE, "row": "2",
                "failed_gates": [f"{g['label']}: {_fmt(g['worst'])} < {_fmt(g['at_least'])}"
                                 for g in failed]}
    verdict, row = decide(primary, profile=profile, seeds=n)
    also = []
    for test in claim.also_judged:
        t = test_result(test, summary)
        v, r = decide(t, profile=profile, seeds=n)
        also.append({**t, "verdict": v, "row": r})
    return {**base, "verdict": verdict, "row": row, "also": also}


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
    return f"> {fmt(t.threshold)}{extra}; {test}, alpha {t.alpha:g}"


def judge_result(result: dict, claim=None) -> dict:
    """Judge a stored result again with today's registry entry (the re-judging of committed
    results, the README and the report use this)."""
    from . import registry

    claim = claim or registry.get(result["claim"])
    data = result.get("measured", {}).get("data", {})
    return judge(claim, result["summary"], profile=result["profile"], dataset=result["dataset"],
                 synthetic=bool(data.get("synthetic")),
                 verified=bool(data.get("verified_checksums", False)), seeds=result.get("n"))


def is_stale(result: dict, claim=None) -> bool:
    """True when the registry entry that judged ``result`` has changed since (or is unknown)."""
    from . import registry

    claim = claim or registry.get(result["claim"])
    return result.get("registry_entry") != entry_hash(claim)
