"""The side-by-side precision check (issue #17): the same claims, configs and seeds in float32 and
bfloat16 agree within margins registered beforehand (``registry.PRECISION_CHECK_MARGINS``).

Reads two results folders, one run with ``--precision float32`` and one with ``--precision
bfloat16`` (e.g. ``run mnist-cnn --precision bfloat16 --results-dir results-bf16``); trains nothing.
A pair counts only when both results have the same claim, profile, dataset, config and seeds.
"""

from __future__ import annotations

from pathlib import Path

from . import display, registry, results
from .errors import ReplicationError


def compare(float32_dir: Path, bfloat16_dir: Path, profile: str = "quick") -> list[dict]:
    """One row per registered claim: both means, their difference, the margin, and whether it held."""
    rows, other_precision = [], []
    for claim_id, margin in registry.PRECISION_CHECK_MARGINS.items():
        claim = registry.get(claim_id)
        pair, why = {}, []
        for precision, root in (("float32", float32_dir), ("bfloat16", bfloat16_dir)):
            found = results.Store(root).load(profile, claim.dataset, claim_id)
            if found is not None and found.get("precision", "float32") != precision:
                # A folder may hold some claims in the other precision (the reference ran MNIST in
                # float32): not this pair's half.
                other_precision.append(f"{root}: the {claim_id} result there is "
                                       f"{found.get('precision', 'float32')}, not {precision}")
                why.append(f"{precision} ({root} holds a {found.get('precision', 'float32')} run)")
                found = None
            elif found is None:
                why.append(precision)
            pair[precision] = found
        row = {"claim": claim_id, "metric": claim.metric, "margin": margin, "profile": profile}
        a, b = pair["float32"], pair["bfloat16"]
        if a is None or b is None:
            rows.append({**row, "status": "missing: " + ", ".join(why)})
            continue
        if a["config"] != b["config"] or a["seeds"] != b["seeds"]:
            rows.append({**row, "status": "not comparable: configs or seeds differ"})
            continue
        fa, fb = a["summary"][claim.metric], b["summary"][claim.metric]
        delta = fb["mean"] - fa["mean"]
        rows.append({**row, "seeds": a["seeds"], "float32": fa, "bfloat16": fb, "delta": delta,
                     "status": "agree" if abs(delta) <= margin + 1e-12 else "differ",
                     "seconds_per_epoch": {p: (r["summary"].get("seconds_per_epoch") or {}).get("mean")
                                           for p, r in pair.items()},
                     "commits": {p: (r["provenance"]["git"].get("commit") or "?")[:8] for p, r in pair.items()},
                     "wall_time_s": {p: None if r.get("wall_time_s") is None else
                                     r["wall_time_s"] + float(r.get("reused_runs_wall_time_s") or 0.0)
                                     for p, r in pair.items()},
                     "hardware": {p: display.hardware_text(r["provenance"]["hardware"])
                                  for p, r in pair.items()}})
    if other_precision and not any("delta" in r for r in rows):
        # Nothing compared and results of the wrong precision: most likely the folders swapped.
        raise ReplicationError(other_precision[0] + " (float32 folder first, then bfloat16)")
    return rows


def amount(claim, x: float, signed: bool = False) -> str:
    """A difference or margin in the claim's unit: points of a percentage, else the metric's own."""
    if claim.percent:
        return f"{100 * x:+.2f} points" if signed else f"{100 * x:.1f} points"
    return f"{x:+.4f}" if signed else f"{x:g}"


def machines(hardware) -> str:
    """One machine, or each precision's where the pair ran on two (older rows hold one string)."""
    if isinstance(hardware, str):
        return hardware
    if hardware["float32"] == hardware["bfloat16"]:
        return hardware["float32"]
    return f"float32: {hardware['float32']}; bfloat16: {hardware['bfloat16']}"


def markdown(rows: list[dict]) -> str:
    """The table, and where each pair of runs came from (commits, machine, wall time)."""
    lines = ["| claim | seeds | float32 | bfloat16 | difference | margin (registered) | result |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        claim = registry.get(r["claim"])
        if "delta" not in r:
            lines.append(f"| `{r['claim']}` | | | | | {amount(claim, r['margin'])} | {r['status']} |")
            continue
        lines.append(f"| `{r['claim']}` | {r['seeds']} | {display.format_summary(claim, r['float32'])} | "
                     f"{display.format_summary(claim, r['bfloat16'])} | {amount(claim, r['delta'], True)} | "
                     f"{amount(claim, r['margin'])} | **{r['status']}** |")
    compared = [r for r in rows if "delta" in r]
    if compared:
        lines += ["", "| claim | profile | commits (float32 / bfloat16) | machine | wall time, min "
                      "(float32 / bfloat16) | checked |", "|---|---|---|---|---|---|"]
        for r in compared:
            wall = r.get("wall_time_s") or {}
            minutes = " / ".join("—" if wall.get(p) is None else f"{wall[p] / 60:.1f}" for p in ("float32", "bfloat16"))
            lines.append(f"| `{r['claim']}` | {r['profile']} | {r['commits']['float32']} / {r['commits']['bfloat16']} | "
                         f"{machines(r['hardware'])} | {minutes} | {(r.get('checked') or '—')[:10]} |")
    return "\n".join(lines)


def merged(rows: list[dict], earlier: dict | None) -> list[dict]:
    """``rows`` with each claim these folders lack taken from the earlier check (``earlier``: its
    precision_check.json), judged again against today's margin. The pairs of one check need not
    come from one pair of folders (issue #21, item 5: the CIFAR-10 pairs were run on other machines,
    sessions after the MNIST and cifar10-fast pairs), and running the check on new folders must not
    lose the pairs it cannot see."""
    old = {}
    for r in (earlier or {}).get("rows", []):
        if "delta" in r:  # an older file names its folders and date once, for all its rows
            old[r["claim"]] = {"checked": earlier.get("checked"),
                               "float32_results": earlier.get("float32_results"),
                               "bfloat16_results": earlier.get("bfloat16_results"), **r}
    out = []
    for r in rows:
        kept = old.get(r["claim"])
        if r["status"].startswith("missing") and kept is not None and kept.get("profile") == r["profile"]:
            margin = registry.PRECISION_CHECK_MARGINS[r["claim"]]
            r = {**kept, "margin": margin,
                 "status": "agree" if abs(kept["delta"]) <= margin + 1e-12 else "differ"}
        out.append(r)
    return out


def run(float32_dir: Path, bfloat16_dir: Path, out: Path, profile: str = "quick", log=print) -> list[dict]:
    """Compare, keep the earlier check's pairs these folders lack, write both files."""
    path = Path(out) / "precision_check.json"
    earlier = results.read_json(path) if path.exists() else None
    when = display.now()
    rows = [{**r, "checked": when, "float32_results": str(float32_dir), "bfloat16_results": str(bfloat16_dir)}
            if "delta" in r else r for r in compare(Path(float32_dir), Path(bfloat16_dir), profile)]
    rows = merged(rows, earlier)
    results.atomic_write_json(path, {"rows": rows, "checked": when,
                                     "margins": registry.PRECISION_CHECK_MARGINS})
    table = markdown(rows)
    results.atomic_write_text(Path(out) / "PRECISION_CHECK.md", table + "\n")
    log(table)
    return rows
