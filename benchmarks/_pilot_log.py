"""What every pilot driver of ``benchmarks/`` shares: the commit that ran, and its JSON log.

A pilot's log records, per run, the commit of the code that ran (``+dirty`` where the package or
the driver differed from it), so that a pilot that chose a design can be rerun from its log
(DEVELOPERS: commit every pilot that chose a design, driver and log). The drivers had each carried
a copy of these helpers (``duplicates``: pairs D1, D2, D4); they import them from here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git(*args: str) -> str | None:
    """``git args`` in this checkout: its stdout, stripped, or None where git fails."""
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def commit(driver: str) -> str:
    """HEAD, with ``+dirty`` when the package or ``driver`` (its path as git names it) differ from
    it; "unknown" outside a git checkout."""
    head = git("rev-parse", "HEAD")
    if not head:
        return "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "replication", driver)
    return head + ("+dirty" if dirty else "")


def load_log(path: Path, doc: str | None, *, reproduced_by: bool = True) -> dict:
    """The log at ``path``, or a new one: ``about`` (the driver's docstring's first paragraph),
    ``reproduced_by`` where the driver keeps one, and no ``runs``."""
    if path.exists():
        return json.loads(path.read_text())
    empty = {"about": (doc or "").split("\n\n")[0]}
    if reproduced_by:
        empty["reproduced_by"] = {}
    return {**empty, "runs": []}


def save_log(data: dict, path: Path) -> None:
    """Written atomically: a killed driver leaves the old log or the new one, never half."""
    from replication import results

    results.atomic_write_text(path, json.dumps(data, indent=1) + "\n")


def write_tables(page: Path, tables: str, title: str, driver: str, marker: str = "pilot-tables") -> None:
    """Put ``tables`` between the page's ``<!-- {marker}:start -->`` and ``:end -->`` lines, keeping
    the hand-written text around them; a new page gets ``title`` and a pointer to ``driver``."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    text = page.read_text() if page.exists() else (
        f"# {title}\n\nSee the driver's docstring (`{driver}`).\n\n{start}\n{end}\n")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    page.write_text(f"{head}{start}\n{tables}\n{end}{tail}")
