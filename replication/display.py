"""How numbers and machines are written for people: one place for the CLI, README, report, notebook.

Reads the registry and plain result dicts only.
"""

from __future__ import annotations

import datetime as dt

from . import registry, verdicts


def now() -> str:
    """The current UTC time, ISO 8601 to the second (every timestamp a result or report carries)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def duration(seconds: float) -> str:
    """``"42 s"``, ``"12.5 min"`` or ``"2 h 05 min"``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


def format_value(claim: registry.Claim, value) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if claim.percent else f"{value:.4g}"


def format_summary(claim: registry.Claim, s: dict) -> str:
    if not s or s.get("mean") is None:
        return "-"
    if claim.percent:
        return f"{100 * s['mean']:.2f} ± {100 * s['std']:.2f}% (n={s['n']})"
    return f"{s['mean']:.4g} ± {s['std']:.2g} (n={s['n']})"


def hardware_text(hw: dict) -> str:
    """``"NVIDIA H100; AMD EPYC (2 cores, avx2 avx512_bf16)"`` or ``"CPU only: AMD EPYC (...)"``."""
    flags = hw.get("cpu_flags")
    extra = f", {' '.join(flags)}" if flags else ""
    cpu = f"{hw.get('cpu', '?')} ({hw.get('cpu_count', '?')} cores{extra})"
    acc = hw.get("accelerators")
    if isinstance(acc, list) and acc:
        return f"{', '.join(acc)}; {cpu}"
    return f"CPU only: {cpu}"


def cpu_use_text(used: dict | None) -> str:
    """``" (CPU share 0.93 of 2 cores, others 0.02; load 2.1 -> 2.3)"``: whether the run had the
    host to itself; nothing for results made before it was recorded."""
    if not used or used.get("cpu_share") is None:
        return ""
    others = used.get("others_cpu_share")
    others = "" if others is None else f", others {others:.2f}"
    loads = [used.get("load_average_start"), used.get("load_average_end")]
    load = "" if None in loads else f"; load {loads[0]:.1f} -> {loads[1]:.1f}"
    return f" (CPU share {used['cpu_share']:.2f} of {used['cores']} cores{others}{load})"


def precision_text(prov: dict) -> str:
    """``"bfloat16 (matmul 450 GFLOP/s float32, 900 bfloat16)"``; ``"float32"`` when uncalibrated."""
    precision = prov.get("precision") or "float32 (not recorded)"
    cal = prov.get("calibration") or {}
    rates = [f"{cal[k]:.0f} {k.rsplit('_', 1)[-1]}" for k in ("matmul_gflops_float32",
                                                              "matmul_gflops_bfloat16") if k in cal]
    return f"{precision} (matmul GFLOP/s: {', '.join(rates)})" if rates else precision


def p_text(p) -> str:
    if p is None:
        return "—"
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def verdict_text(result: dict) -> str:
    """The stored verdict, with the other judged halves and, when the registry entry that judged
    it has changed since, the word stale (the result must be rerun to be judged by today's)."""
    text = result["verdict"]
    for also in (result.get("verdict_detail") or {}).get("also", []):
        text += f"; {also['label'].split(',')[0]}: {also['verdict']}"
    if verdicts.is_stale(result):
        text += " (stale: judged under an older registry entry)"
    return text


def _scaled(claim: registry.Claim, x: float) -> float:
    return 100 * x if claim.percent else x


def level_bound_text(claim: registry.Claim, result: dict) -> str:
    """``"one-sided 95% lower bound 99.28% vs threshold 99.34%"`` for a level claim: the mean's
    one-sided 95% confidence bound (Student's t over seeds) beside the threshold it is judged by."""
    test = (result.get("verdict_detail") or {}).get("test") or {}
    lower = test.get("lower_bound")
    if lower is None:  # judged before the bound was stored: from the per-seed values
        lower, _ = verdicts.one_sided_bounds((result["summary"].get(claim.metric) or {}).get("values") or [])
    level = f"{100 * verdicts.BOUND_CONFIDENCE:g}%"
    bound = "— (fewer than 2 seeds)" if lower is None else format_value(claim, lower)
    return f"one-sided {level} lower bound {bound} vs threshold {format_value(claim, claim.test.threshold)}"


def _effect_summary(claim: registry.Claim, quantity: str, s: dict) -> str:
    """``"<statistic and unit>: mean ± std (n=…)"``: the unit is in the words, so a percentage
    difference is written in points, without a % sign."""
    if not s or s.get("mean") is None:
        return "-"
    name = f"{quantity}: " if quantity else ""
    return f"{name}{_scaled(claim, s['mean']):.4g} ± {_scaled(claim, s['std']):.2g} (n={s['n']})"


def decided_p_text(test: dict, row: str | None = None) -> str:
    """The p that decided an effect row, with its direction: ``"0.16 (lecture's direction; raw
    0.027, Holm)"`` or ``"1.9e-06 (reverse; raw 2.2e-07, Holm)"``; where an earlier row decided
    (exploratory, a failed gate, ...), the raw p that would have been tested, marked as not deciding.
    "—" for level and structure claims (the mean decides, or a count)."""
    if test.get("kind") != "effect":
        return "—"
    if "p_raw" in test:
        raw, adjusted, direction = test["p_raw"], test.get("p_adjusted"), test.get("direction")
    else:  # judged before issue #23: both raw p, no adjustment stored
        effect = test.get("effect")
        direction = None if effect is None else "lecture's" if effect > 0 else "reverse"
        raw = test.get("p_value") if direction == "lecture's" else test.get("p_value_reverse")
        adjusted = None
    where = {"lecture's": "lecture's direction", "reverse": "reverse"}.get(direction, "")
    if raw is None and adjusted is None:
        return "— (no p: fewer than 2 seeds or no spread)" if row and row[:1] in "34567" else "—"
    if adjusted is None:
        return f"none decided (row {row}); raw {p_text(raw)} ({where})" if row else f"{p_text(raw)} ({where})"
    return f"{p_text(adjusted)} ({where}; raw {p_text(raw)}, Holm)"


def test_cells(claim: registry.Claim, result: dict | None) -> tuple[str, str, str]:
    """(what was reproduced: the statistic, its unit, mean ± std, n and, for a level claim, the
    mean's one-sided 95% bound beside the threshold; the p that decided the row, with its
    direction, and the judged-beside halves' after it; the gates) for the README and report."""
    if result is None:
        return "—", "—", "—"
    s = result["summary"].get(claim.metric)
    detail = result.get("verdict_detail") or {}
    test = detail.get("test") or {}
    if claim.test.kind == "level":
        reproduced = f"{format_summary(claim, s)}; {level_bound_text(claim, result)}"
    elif claim.structure_only:
        reproduced = format_summary(claim, s)
    else:
        reproduced = _effect_summary(claim, claim.quantity, s)
    if s and s.get("n") == 1 and (result.get("n") or 1) > 1:
        # One statistic over seed means (a rank correlation over a sweep): n is the seeds behind it.
        name = f"{claim.quantity}: " if claim.quantity else ""
        reproduced = f"{name}{format_value(claim, s['mean'])} (over the means of n={result['n']} seeds per network)"
    p = decided_p_text(test, detail.get("row"))
    for also in detail.get("also", []):
        p += f"; beside, {also_name(claim, also)}: {decided_p_text(also, also.get('row'))}"
    gates = detail.get("gates") or []
    gate = ("—" if not gates else "passed" if all(g["passed"] for g in gates)
            else "failed: " + "; ".join(detail.get("failed_gates", [])))
    return reproduced, p, gate


def also_name(claim: registry.Claim, also: dict) -> str:
    """A judged-beside half's short name: its registered quantity, else its label's first clause."""
    for test in claim.also_judged:
        if test.metric == also.get("metric") and test.quantity:
            return test.quantity
    return also["label"].split(",")[0]


def also_text(claim: registry.Claim, also: dict, summary: dict | None = None) -> str:
    """``"indicative: <statistic and unit>: mean ± std (n=…); p <the p that decided, with its
    direction>"`` for a judged-beside half (``summary``: the result's, for the spread)."""
    s = (summary or {}).get(also["metric"]) or {"mean": also.get("mean"), "std": 0.0, "n": also.get("n")}
    return (f"{also['verdict']}: {_effect_summary(claim, also_name(claim, also), s)}; "
            f"p {decided_p_text(also, also.get('row'))}")


def summary_rows(found: dict[str, dict | None]) -> list[tuple[str, str, str, str]]:
    """(claim, lecture value, reproduced, verdict) for each claim id -> result or None."""
    rows = []
    for claim_id, result in found.items():
        claim = registry.get(claim_id)
        lecture = format_value(claim, claim.expected) if claim.lecture_value else "-"
        if result is None:
            rows.append((claim_id, lecture, "-", verdicts.NOT_RUN))
            continue
        rows.append((claim_id, lecture, format_summary(claim, result["summary"][claim.metric]),
                     result["verdict"]))
    return rows


def print_table(rows, log=print) -> None:
    header = ("claim", "lecture", "reproduced (mean ± std, n)", "verdict")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    log(line.format(*header))
    log(line.format(*("-" * w for w in widths)))
    for r in rows:
        log(line.format(*r))
