"""The README's generated parts, and publishing a run as the committed reference results.

The claims table and the run-time table are written between markers from the registry and the
results in ``reference/`` (the latest real run, committed without model weights), so the README
cannot drift from the data: a test checks that the README matches what this module would write.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from . import registry, results, verdicts
from .display import (
    cpu_use_text,
    format_value,
    hardware_text,
    precision_text,
    test_cells,
    verdict_text,
)
from .errors import ResultError

README = Path(__file__).resolve().parent.parent / "README.md"
BENCH_MD = README.parent / "benchmarks" / "BENCH.md"  # written by `python -m replication bench`
PROFILE_ORDER = results.PROFILE_ORDER


def _best_result(store: results.Store, claim: registry.Claim):
    for profile in PROFILE_ORDER:
        found = store.load(profile, claim.dataset, claim.id)
        if found is not None:
            return found
    return None


def claims_table(results_dir: Path | None = None) -> str:
    store = results.Store(results_dir or results.REFERENCE_DIR)
    lines = [
        "| claim | the lecture says | lecture | pre-registered test | reproduced (mean ± std, n) | "
        "p that decided the row (one-sided, Holm-adjusted; raw) | sanity gate | profile | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for claim in registry.CLAIMS.values():
        result = _best_result(store, claim)
        lecture = (format_value(claim, claim.expected) if claim.lecture_value
                   else f"— (our target: {format_value(claim, claim.expected)})" if claim.test.kind == "level"
                   else "—")
        criterion = verdicts.criterion_text(claim)
        if result is None:
            lines.append(f"| `{claim.id}` | {claim.statement} | {lecture} | {criterion} | — | — | — | — | "
                         f"{verdicts.NOT_RUN} |")
            continue
        reproduced, p, gate = test_cells(claim, result)
        lines.append(f"| `{claim.id}` | {claim.statement} | {lecture} | {criterion} | {reproduced} | "
                     f"{p} | {gate} | {result['profile']} | **{verdict_text(result)}** |")
    return "\n".join(lines)


# The reference machine of the budgets: a 2-core CPU whose float32 matmul runs at this rate (the
# AVX2 machine of the first reference runs). A wall time scales by the ratio of matmul rates.
REFERENCE_GFLOPS = 100.0


def at_reference_speed(seconds: float, result: dict) -> float | None:
    """``seconds`` on a machine of :data:`REFERENCE_GFLOPS`, scaled by the run's own one-second
    matmul calibration in the run's precision (measured when it ended, so under the same load);
    None without one. A bfloat16 run scales by its bfloat16 rate: the reference machine (AVX2,
    no native bfloat16) runs the same work in float32 at its float32 rate, and a bfloat16 training
    step here is about as much faster than float32 as the matmul is (bench: 2.0-2.5x)."""
    prov = result.get("provenance") or {}
    cal = prov.get("calibration") or {}
    rate = cal.get(f"matmul_gflops_{prov.get('precision') or 'float32'}") or cal.get("matmul_gflops_float32")
    return seconds * rate / REFERENCE_GFLOPS if rate else None


# Claims with a budget of their own, outside the evidence claims' 4 hours (issue #17: cifar10-fast,
# about 15 epochs x 3 seeds, whose runs may span sessions); the runtime table totals them apart.
OWN_BUDGET = ("cifar10-fast",)


def display_minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def runtime_table(results_dir: Path | None = None) -> str:
    """Measured wall time of each committed result beside the time its counted FLOPs take at the
    run's own matmul rate (``work``, issue #21: efficiency = the one over the other), and scaled
    to a 100 GFLOP/s machine."""
    store = results.Store(results_dir or results.REFERENCE_DIR)
    lines = [f"| profile | claim | seeds | wall time | at the limit (efficiency) | "
             f"≈ on a {REFERENCE_GFLOPS:.0f} GFLOP/s CPU | precision | hardware | commit |",
             "|---|---|---|---|---|---|---|---|---|"]
    rows = [r for _, r in store.all_results()]
    if not rows:
        return "No reference run yet."
    rows.sort(key=lambda r: (PROFILE_ORDER.index(r["profile"]) if r["profile"] in PROFILE_ORDER else 9,
                             list(registry.CLAIMS).index(r["claim"]) if r["claim"] in registry.CLAIMS else 99))
    totals: dict[tuple[str, bool], list[float]] = {}
    limits: dict[tuple[str, bool], float] = {}
    for r in rows:
        reused = float(r.get("reused_runs_wall_time_s") or 0.0)
        seconds = r["wall_time_s"] + reused
        scaled = at_reference_speed(seconds, r)
        total = totals.setdefault((r["profile"], r["claim"] in OWN_BUDGET), [0.0, 0.0, 0])
        work = r.get("work") or {}
        limit = work.get("seconds_at_limit")
        if limit is not None:
            limits[(r["profile"], r["claim"] in OWN_BUDGET)] = (
                limits.get((r["profile"], r["claim"] in OWN_BUDGET), 0.0) + limit)
        limit_text = ("—" if limit is None else
                      f"{display_minutes(limit)} ({work['efficiency']:.2f})" if work.get("efficiency")
                      else display_minutes(limit))
        total[0] += seconds
        if scaled is not None:
            total[1] += scaled
            total[2] += 1
        commit = (r["provenance"]["git"].get("commit") or "?")[:8]
        note = f" (of which {reused / 60:.1f} min trained by an earlier invocation)" if reused > 0 else ""
        note += cpu_use_text(r.get("cpu_use"))
        lines.append(f"| {r['profile']} | `{r['claim']}` ({r['dataset']}) | {r['n']} | "
                     f"{seconds / 60:.1f} min{note} | {limit_text} | "
                     f"{'—' if scaled is None else f'{scaled / 60:.0f} min'} | {precision_text(r['provenance'])} | "
                     f"{hardware_text(r['provenance']['hardware'])} | {commit} |")
    for (profile, own), (total, scaled, n_scaled) in totals.items():
        what = (f"**{', '.join(OWN_BUDGET)}** (its own budget)" if own
                else "**all of the above**" + (f" but {', '.join(OWN_BUDGET)}" if (profile, True) in totals else ""))
        scaled_text = f"**{scaled / 60:.0f} min** ({n_scaled} claim{'s' if n_scaled != 1 else ''} calibrated)" if n_scaled else ""
        limit = limits.get((profile, own))
        limit_text = "" if limit is None else f"**{display_minutes(limit)}**"
        lines.append(f"| {profile} | {what} | | **{total / 60:.1f} min** | {limit_text} | {scaled_text} "
                     "| | | |")
    return "\n".join(lines)


def _replace_between(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"README.md lacks the markers {start} ... {end}")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def bench_table(path: Path = BENCH_MD) -> str:
    """The latest committed benchmark tables, as the bench wrote them."""
    if not path.exists():
        return "No benchmark has been run yet (`python -m replication bench`)."
    return path.read_text().strip()


def render_readme(text: str, results_dir: Path | None = None) -> str:
    text = _replace_between(text, "claims-table", claims_table(results_dir))
    text = _replace_between(text, "runtime-table", runtime_table(results_dir))
    if "<!-- bench-table:start -->" in text:
        text = _replace_between(text, "bench-table", bench_table())
    return text


def update_readme(check: bool = False, results_dir: Path | None = None, readme: Path = README) -> bool:
    """Rewrite the generated parts; with ``check``, only report whether they are current."""
    text = readme.read_text()
    new = render_readme(text, results_dir)
    if check:
        return new == text
    if new != text:
        results.atomic_write_text(readme, new)
    return True


def rejudge(results_dir: Path | None = None, profiles=None, write: bool = True, log=print) -> dict:
    """Judge every result under ``results_dir`` (default: reference/) again from its stored per-seed
    numbers with today's registry and decision table, each profile's effect tests as one family
    (:func:`verdicts.judge_family`), and, with ``write``, store the new verdicts (no retraining;
    the registry entry hash stays, since only results judged under today's entry are re-judged).
    Returns {"changed": [(name, old, new)], "unchanged": [name], "stale": [name], "invalid": [name]}:
    a stale result (judged under another entry, or naming none) is listed, never re-judged: its
    entry changed after its run, so only a rerun can judge it."""
    root = Path(results_dir or results.REFERENCE_DIR)
    store = results.Store(root)
    found, out = [], {"changed": [], "unchanged": [], "stale": [], "invalid": []}
    for path, result in store.all_results():
        name = str(path.relative_to(root).parent)
        if profiles is not None and path.relative_to(root).parts[0] not in profiles:
            continue
        if not {"claim", "summary", "profile", "dataset"} <= set(result) or result["claim"] not in registry.CLAIMS:
            out["invalid"].append(name)
        elif verdicts.is_stale(result):
            out["stale"].append(name)
        else:
            found.append((path, name, result))
    judged = verdicts.judge_family([r for _, _, r in found])
    for (path, name, result), verdict in zip(found, judged, strict=True):
        new = results.to_jsonable(verdict)
        if new == result.get("verdict_detail") and new["verdict"] == result.get("verdict"):
            out["unchanged"].append(name)
            continue
        out["changed"].append((name, result.get("verdict"), new["verdict"]))
        if write:
            results.atomic_write_json(path, {**result, "verdict": new["verdict"], "verdict_detail": new})
    for name, old, new in out["changed"]:
        log(f"{'re-judged' if write else 'would re-judge'} {name}: {old} -> {new}")
    for name in out["stale"]:
        log(f"stale, not re-judged (its registry entry changed since the run: rerun it): {name}")
    for name in out["invalid"]:
        log(f"not a result of a registered claim, skipped: {name}")
    return out


def publish_reference(results_dir: Path, profile: str, dest: Path | None = None, log=print) -> Path:
    """Copy one profile's results (JSON, NPZ, figures; no weights, no run state) into reference/,
    then judge them again as one family (:func:`rejudge`): a run judged itself alone."""
    src = Path(results_dir) / profile
    dest = Path(dest or results.REFERENCE_DIR) / profile
    if not src.is_dir():
        raise ResultError(f"{src}: no results for profile {profile}")
    staging = dest.with_name(f".{profile}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    for path in src.rglob("*"):
        rel = path.relative_to(src)
        # runs/ (per-seed state, models) and tuner/ (the sweep's Keras Tuner project) are state,
        # not results.
        if {"runs", "tuner"} & set(rel.parts) or not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix not in (".json", ".npz", ".png", ".csv", ".md"):
            continue
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    # Swap in one step, so reference/ never holds half of a run.
    old = dest.with_name(f".{profile}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    staging.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    log(f"published {src} -> {dest}")
    rejudge(dest.parent, profiles=[profile], log=log)
    return dest
