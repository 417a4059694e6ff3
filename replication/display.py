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


def test_cells(claim: registry.Claim, result: dict | None) -> tuple[str, str, str]:
    """(reproduced mean ± std, n; the effect's one-sided p; the gates) for the README and report."""
    if result is None:
        return "—", "—", "—"
    s = result["summary"].get(claim.metric)
    reproduced = format_summary(claim, s)
    if s and s.get("n") == 1 and (result.get("n") or 1) > 1:
        # One statistic over seed means (a rank correlation over a sweep): n is the seeds behind it.
        value = format_value(claim, s["mean"])
        reproduced = f"{value} (over the means of n={result['n']} seeds per network)"
    detail = result.get("verdict_detail") or {}
    test = detail.get("test") or {}
    p = p_text(test.get("p_value")) if test.get("kind") == "effect" else "—"
    gates = detail.get("gates") or []
    gate = ("—" if not gates else "passed" if all(g["passed"] for g in gates)
            else "failed: " + "; ".join(detail.get("failed_gates", [])))
    return reproduced, p, gate


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
