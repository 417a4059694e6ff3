"""The report: every claim with its verdict, numbers, figures and deviations, as Markdown and HTML.

``python -m replication report`` writes ``report/REPORT.md`` (figures copied beside it) and
``report/index.html`` (one self-contained file: figures embedded as data URIs). Both are rendered
from the same :class:`Report`, built from the registry and the saved results only: a claim with no
result is shown as "not run", never left out. The tour notebook (``notebooks/tour.ipynb``) reads
the same :class:`Report`, so the notebook and the report cannot say different things.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import os
import re
from pathlib import Path

from . import claims, display, registry, results, verdicts
from .display import format_value
from .results import pick_profile

DEFAULT_OUT = Path("report")
PROFILE_NOTES = {
    "paper": "the lecture's settings (epochs, batch size, optimiser), at least 3 seeds",
    "quick": "each claim's stated 2-core CPU budget; fewer seeds, sometimes fewer epochs or images "
             "(the footnotes list every cut)",
    "smoke": "seconds per claim on ~1,000 images, 1 epoch, 1 seed: the code path only, the numbers "
             "mean nothing",
}


# --------------------------------------------------------------------------------------------
# What the report shows


@dataclasses.dataclass(frozen=True)
class Figure:
    name: str
    path: Path | None  # None: the figure has not been drawn


@dataclasses.dataclass(frozen=True)
class Entry:
    """One claim on one dataset at one profile; ``result`` is None when it has not run."""

    claim: registry.Claim
    dataset: str
    result: dict | None
    figures: tuple[Figure, ...]
    deviations: tuple[str, ...]  # the registry's, then this run's (budget, dataset, data)

    @property
    def anchor(self) -> str:
        suffix = "" if self.dataset == self.claim.dataset else f"-{self.dataset}"
        return f"{self.claim.id}{suffix}".replace("_", "-")

    @property
    def heading(self) -> str:
        on = "" if self.dataset == self.claim.dataset else f" — on {self.dataset}, not the lecture's {self.claim.dataset}"
        return f"{self.claim.title} (`{self.claim.id}`){on}"

    @property
    def verdict(self) -> str:
        return self.result["verdict"] if self.result else verdicts.NOT_RUN

    @property
    def verdict_line(self) -> str:
        """The verdict with the other judged halves and, if so, the word stale."""
        return display.verdict_text(self.result) if self.result else verdicts.NOT_RUN

    @property
    def lecture(self) -> str:
        value = format_value(self.claim, self.claim.expected)
        if self.claim.lecture_value:
            return value
        if self.claim.test.kind == "level":
            return f"— (our target: {value})"
        return "— (the lecture gives no number; the test is in the next rows)"

    @property
    def reproduced(self) -> str:
        return display.test_cells(self.claim, self.result)[0]

    @property
    def wall_time(self) -> str:
        if self.result is None or self.result.get("wall_time_s") is None:
            return "—"
        reused = float(self.result.get("reused_runs_wall_time_s") or 0.0)
        seconds = float(self.result["wall_time_s"]) + reused

        def fmt(s):
            return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"

        text = fmt(seconds) + (f" (of which {fmt(reused)} trained by an earlier invocation)"
                               if reused > 0 else "") + display.cpu_use_text(self.result.get("cpu_use"))
        # Issue #21: the estimate printed before it started, and its own step time on its machine.
        work = self.result.get("work") or {}
        if work.get("estimate_s"):
            text += f"; estimated {fmt(float(work['estimate_s']))} before it started"
        if work.get("steps_s") and work.get("overhead"):
            text += (f"; its training steps and predictions alone {fmt(float(work['steps_s']))} "
                     f"(overhead {float(work['overhead']):.2f})")
        return text

    @property
    def seeds(self) -> str:
        return "—" if self.result is None else ", ".join(str(s) for s in self.result["seeds"])

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) rows of the claim's table, shared by the Markdown and the HTML."""
        c = self.claim
        _, p, gate = display.test_cells(c, self.result)
        rows = [
            ("measured", c.metric_label),
            ("lecture", self.lecture),
            ("reproduced (mean ± std, n seeds)", self.reproduced),
            ("pre-registered test", verdicts.criterion_text(c)),
            ("p that decided (one-sided, Holm-adjusted; raw)", p),
            ("sanity gate", "; ".join(f"{g.label} >= {g.at_least:g}" for g in c.gates) or "—"),
            ("gate result", gate),
            ("verdict", self.verdict_line),
            ("seeds", self.seeds),
            ("wall time", self.wall_time),
        ]
        detail = (self.result or {}).get("verdict_detail") or {}
        for also in detail.get("also", []):
            rows.append((f"judged beside: {also['label']}",
                         display.also_text(c, also, self.result.get("summary"))))
        reported = [m for m in c.reported if self.result and m in self.result.get("summary", {})]
        if reported:
            rows.append(("reported beside", "; ".join(
                f"{m} {display.format_summary(dataclasses.replace(c, percent=False), self.result['summary'][m])}"
                for m in reported)))
        if self.result is not None:
            rows.append(("run", run_line(self.result)))
        elif c.figures:
            rows.append(("figures", ", ".join(c.figures) + " (drawn once the claim has run)"))
        return rows


@dataclasses.dataclass(frozen=True)
class Report:
    results_dir: Path
    profile: str | None  # None: no results at all
    entries: tuple[Entry, ...]
    environments: tuple[dict, ...]  # the distinct provenances of the results (empty if none ran)
    generated: str

    def entry(self, claim_id: str, dataset: str | None = None) -> Entry:
        dataset = dataset or registry.get(claim_id).dataset
        for e in self.entries:
            if e.claim.id == claim_id and e.dataset == dataset:
                return e
        raise KeyError(f"no entry for {claim_id} on {dataset}")

    def footnotes(self) -> dict[str, int]:
        """Every distinct deviation, numbered in order of first appearance."""
        numbers: dict[str, int] = {}
        for e in self.entries:
            for text in e.deviations:
                numbers.setdefault(text, len(numbers) + 1)
        return numbers


# --------------------------------------------------------------------------------------------
# Building it from the registry and the results store


def figure_path(results_dir: Path, profile: str, dataset: str, name: str) -> Path:
    return Path(results_dir) / profile / dataset / "figures" / f"{name}.png"


def _config_deviations(claim: registry.Claim, result: dict) -> list[str]:
    """How this run's config differs from the claim's ``paper`` config (the lecture's settings)."""
    try:
        paper = results.to_jsonable(dataclasses.asdict(claims.profiles(claim.id)["paper"]))
    except Exception:  # a claim module that cannot be imported here: say nothing rather than guess
        return []
    cut = [f"{key} {_plain(ours)} instead of {_plain(paper[key])}"
           for key, ours in result.get("config", {}).items()
           if key in paper and key != "dataset" and ours != paper[key]]
    if not cut:
        return []
    return [f"`{claim.id}`, profile {result['profile']}: " + "; ".join(cut) + " (the paper profile "
            "has the lecture's settings)."]


def _plain(value) -> str:
    if value is None:
        return "all"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


def _run_deviations(claim: registry.Claim, dataset: str, result: dict | None) -> list[str]:
    out = []
    if dataset != claim.dataset:
        out.append(f"`{claim.id}` on {dataset}: the lecture used {claim.dataset}, so this run has no "
                   f"lecture value to meet; it is measured only.")
    if result is None:
        return out
    out += _config_deviations(claim, result)
    data = result.get("measured", {}).get("data", {})
    if data.get("synthetic"):
        out.append(f"`{claim.id}`: trained on synthetic data, not {dataset}: not a replication.")
    elif data and not data.get("verified_checksums", True):
        out.append(f"`{claim.id}`: the {dataset} files did not match their published checksums.")
    out += [f"`{claim.id}`: {note}" for note in data.get("notes", [])]
    return out


# A figure is redrawn when its claim's result is this much newer: a rerun, not a checkout or a copy
# (which write both within seconds, in no particular order).
STALE_AFTER_S = 60.0


def _stale_or_missing(result_path: Path, png: Path) -> bool:
    return not png.exists() or png.stat().st_mtime < result_path.stat().st_mtime - STALE_AFTER_S


def draw_figure(results_dir: Path, profile: str, dataset: str, name: str, log=print) -> bool:
    """Run figure ``name``'s script (``figures/<claim module>/plot_<name>.py``) on saved results (it
    never trains); False if it drew nothing."""
    from .plotting import figure_script, run_figure_script

    script = figure_script(name)
    if not script.exists():
        log(f"[figure {name}] no script {script}: not drawn")
        return False
    run_figure_script(name, results_dir, profile, dataset, log=log)
    return figure_path(results_dir, profile, dataset, name).exists()


# Provenance keys that measure the run, not its environment (they differ from run to run on one machine).
RUN_MEASUREMENTS = ("peak_rss_mib_process_so_far", "calibration")


def build(results_dir: str | os.PathLike, profile: str | None = None, *, draw_figures: bool = True,
          log=print) -> Report:
    """The report for one profile: every registered claim, run or not.

    ``draw_figures``: draw the figures that are missing or clearly older than their claim's result
    (the figure scripts read saved results only; nothing trains).
    """
    results_dir = Path(results_dir)
    store = results.Store(results_dir)
    profile = pick_profile(results_dir, profile)
    if profile is None:
        entries = tuple(Entry(c, c.dataset, None, (), c.deviations) for c in registry.CLAIMS.values())
        return Report(results_dir, None, entries, (), display.now())

    found: list[tuple[registry.Claim, str, dict | None]] = []
    datasets = sorted(p.name for p in (results_dir / profile).iterdir() if p.is_dir())
    for claim in registry.CLAIMS.values():
        found.append((claim, claim.dataset, store.load(profile, claim.dataset, claim.id)))
        for ds in datasets:  # the same claim on other datasets (--dataset), after the lecture's
            if ds != claim.dataset and (other := store.load(profile, ds, claim.id)) is not None:
                found.append((claim, ds, other))

    if draw_figures:
        stale = {(ds, name) for claim, ds, result in found if result is not None for name in claim.figures
                 if _stale_or_missing(store.result_path(profile, ds, claim.id),
                                      figure_path(results_dir, profile, ds, name))}
        for ds, name in sorted(stale):
            draw_figure(results_dir, profile, ds, name, log=log)

    entries = []
    for claim, ds, result in found:
        figures = ()
        if result is not None:
            figures = tuple(Figure(name, p if (p := figure_path(results_dir, profile, ds, name)).exists() else None)
                            for name in claim.figures)
        entries.append(Entry(claim, ds, result, figures,
                             tuple(dict.fromkeys([*claim.deviations, *_run_deviations(claim, ds, result)]))))
    environments = []
    for e in entries:
        if e.result is None or not (prov := e.result.get("provenance")):
            continue
        # The environment, not the run: a process's memory so far and the 1-s matmul calibration
        # are measurements of the run and differ from run to run on one machine.
        env = {k: v for k, v in prov.items() if k not in RUN_MEASUREMENTS}
        if env not in environments:
            environments.append(env)
    return Report(results_dir, profile, tuple(entries), tuple(environments), display.now())


DATASET_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "svhn": "SVHN"}


def explanation(claim: registry.Claim) -> str:
    """Two or three sentences for a student: what is measured and when it counts as replicated."""
    dataset = DATASET_NAMES.get(claim.dataset, claim.dataset)
    if claim.test.kind == "level":
        rule = f"the mean over at least 3 seeds reaches the lecture's number ({verdicts.criterion_text(claim)})"
    else:
        rule = (f"the effect is in the lecture's direction, at least the minimum effect and significant "
                f"over at least 3 seeds ({verdicts.criterion_text(claim)})")
    return (f"We measure the {claim.metric_label} on {dataset}, over several seeds. The claim counts "
            f"as replicated when its sanity gate passes and {rule}. {claim.tolerance_reason}")


# --------------------------------------------------------------------------------------------
# Rendering


def run_line(result: dict) -> str:
    prov = result.get("provenance", {})
    git = prov.get("git", {})
    commit = (git.get("commit") or "unknown")[:8] + (" (uncommitted changes)" if git.get("dirty") else "")
    return (f"{result.get('finished', '?')}, commit {commit}, {display.hardware_text(prov.get('hardware', {}))}, "
            f"{result['dataset']} ({data_text(result)})")


def data_text(result: dict) -> str:
    data = result.get("measured", {}).get("data", {})
    if not data:
        return "data: not recorded"
    checked = ("synthetic" if data.get("synthetic") else
               "checksums verified" if data.get("verified_checksums") else "checksums NOT verified")
    return f"{data.get('n_train', '?')} training / {data.get('n_test', '?')} test images, {checked}"


ENVIRONMENT_HEADER = ("claim", "git commit", "finished", "hardware", "precision", "software")


def software_text(prov: dict) -> str:
    v = prov.get("versions", {})
    packages = ", ".join(f"{k} {val}" for k, val in v.items()
                         if k not in ("python", "keras_backend", "replication"))
    return f"Python {v.get('python', '?')}, Keras backend {v.get('keras_backend', '?')}; {packages}"


def environment_rows(report: Report) -> list[tuple[str, ...]]:
    """One row per result: where and with what it was computed (commit, time, machine, packages)."""
    rows = []
    for e in report.entries:
        if e.result is None or not (prov := e.result.get("provenance")):
            continue
        git = prov.get("git", {})
        commit = (git.get("commit") or "unknown")[:12] + (" (uncommitted changes)" if git.get("dirty") else "")
        ds = "" if e.dataset == e.claim.dataset else f" ({e.dataset})"
        rows.append((f"{e.claim.id}{ds}", commit, e.result.get("finished", "?"),
                     display.hardware_text(prov.get("hardware", {})), display.precision_text(prov),
                     software_text(prov)))
    return rows


def _header_rows(report: Report) -> list[tuple[str, str]]:
    profile = report.profile or "none (no results yet)"
    rows = [("profile", f"{profile}: {PROFILE_NOTES[report.profile]}" if report.profile else profile),
            ("results", str(report.results_dir)),
            ("generated", report.generated)]
    ran = sum(e.result is not None for e in report.entries)
    rows.append(("claims", f"{ran} of {len(report.entries)} run"))
    return rows


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(rows, header=("", "")) -> list[str]:
    lines = [f"| {header[0]} | {header[1]} |", "|---|---|"]
    return lines + [f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in rows]


def header_markdown(report: Report) -> str:
    """What the report shows: profile, results folder, time, claims run (also in the tour)."""
    return "\n".join(_md_table(_header_rows(report), ("", "")))


def environment_markdown(report: Report) -> str:
    """One table: each result's commit, time, machine and packages (also in the tour)."""
    rows = environment_rows(report)
    if not rows:
        return "No claim has run: there is no environment to report."
    lines = ["| " + " | ".join(ENVIRONMENT_HEADER) + " |", "|" + "---|" * len(ENVIRONMENT_HEADER)]
    return "\n".join(lines + ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows])


def entry_markdown(entry: Entry, footnotes: dict[str, int] | None = None,
                   figure_links: dict[Path, str] | None = None, *, level: int = 2,
                   intro: bool = True, with_figures: bool = True) -> str:
    """One claim's section.

    ``footnotes``: deviation -> footnote number (None: list the deviations inline);
    ``figure_links``: how to link each figure file (default: its path); ``intro``: the heading,
    the lecture's sentence and its source; ``with_figures``: the figures as Markdown images.
    """
    c = entry.claim
    marks = "".join(f"[^{footnotes[d]}]" for d in entry.deviations if d in footnotes) if footnotes else ""
    lines = [f"{'#' * level} {entry.heading}", ""] if intro else []
    lines += [f"**{entry.verdict}**{marks}", ""]
    if intro:
        lines += [f"> {c.statement}", "", f"*Source:* {c.source}."]
        if c.paper:
            lines.append(f"*Paper:* {c.paper}.")
        lines.append("")
    lines += [*_md_table(entry.rows(), ("", "")), "", f"*Tolerance:* {c.tolerance_reason}"]
    if c.lecture_context:
        lines += ["", "*The lecture also printed:* " + "; ".join(c.lecture_context) + "."]
    if footnotes is None and entry.deviations:
        lines += ["", "*Deviations from the lecture:*", "", *(f"- {d}" for d in entry.deviations)]
    for fig in entry.figures if with_figures else ():
        if fig.path is None:
            lines += ["", f"*Figure `{fig.name}` has not been drawn: run `python -m replication figures`.*"]
        else:
            link = (figure_links or {}).get(fig.path, str(fig.path))
            lines += ["", f"![{fig.name}]({link})"]
    return "\n".join(lines)


def _overview_rows(report: Report):
    for e in report.entries:
        ds = "" if e.dataset == e.claim.dataset else f" ({e.dataset})"
        _, p, _ = display.test_cells(e.claim, e.result)
        yield e, (f"{e.claim.id}{ds}", e.lecture, e.reproduced, p, e.verdict_line, e.wall_time)


OVERVIEW_HEADER = ("claim", "lecture", "reproduced (mean ± std, n)",
                   "p that decided (one-sided, Holm-adjusted; raw)", "verdict", "wall time")


def render_markdown(report: Report, figure_links: dict[Path, str] | None = None) -> str:
    footnotes = report.footnotes()
    lines = ["# Lecture 6, re-run: the report", "",
             "M. Wolter, *Machine learning, Lecture 6: Convolutional Deep Neural Network* (IFJ PAN, "
             "2 December 2020), every claim re-run with Keras 3 and judged against the lecture's own "
             "numbers. Generated by `python -m replication report` from the claim registry "
             "(`replication/registry.py`) and the saved results; do not edit by hand.", "",
             header_markdown(report), "", "## Claims", "",
             "| " + " | ".join(OVERVIEW_HEADER) + " |", "|" + "---|" * len(OVERVIEW_HEADER)]
    for e, row in _overview_rows(report):
        cells = [f"[`{row[0]}`](#{e.anchor})", *(_md_cell(v) for v in row[1:])]
        cells[4] = f"**{cells[4]}**"
        lines.append("| " + " | ".join(cells) + " |")
    for e in report.entries:
        lines += ["", f'<a id="{e.anchor}"></a>', "", entry_markdown(e, footnotes, figure_links)]
    lines += ["", "## Environment", "", "Where each result was computed (recorded by the run).", "",
              environment_markdown(report)]
    if footnotes:
        lines += ["", "## Deviations from the lecture", ""]
        lines += [f"[^{n}]: {text}" for text, n in footnotes.items()]
    return "\n".join(lines) + "\n"


def _h(text) -> str:
    """Escape for HTML, with `code` spans kept."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(str(text)))


_VERDICT_CLASS = {verdicts.REPLICATED: "ok", verdicts.NOT_REPLICATED: "bad", verdicts.CONTRADICTED: "bad",
                  verdicts.CONTRADICTED_AT_BUDGET: "bad", verdicts.NOT_RUN: "none",
                  verdicts.INCONCLUSIVE: "none"}

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.7rem} h2{margin-top:2.5rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0} td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f4f4} blockquote{margin:.6rem 0;padding:.2rem 1rem;border-left:4px solid #9ab;background:#f6f9fb}
code{background:#f2f2f2;padding:0 .2rem;border-radius:3px}
.verdict{display:inline-block;padding:.1rem .55rem;border-radius:4px;font-weight:600;background:#fdf0c8}
.verdict.ok{background:#d4f2d4} .verdict.bad{background:#f7d0d0} .verdict.none{background:#e4e4e4}
figure{margin:1rem 0} figure img{max-width:100%;border:1px solid #eee} figcaption{color:#666;font-size:.85rem}
.missing{color:#a40}
"""


def _html_table(rows, header=None) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{_h(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    return "\n".join(out + ["</table>"])


def _verdict_html(text: str, verdict: str | None = None) -> str:
    """The verdict as a coloured label; ``text`` may add the judged halves to ``verdict``."""
    return f'<span class="verdict {_VERDICT_CLASS.get(verdict or text, "")}">{_h(text)}</span>'


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def render_html(report: Report) -> str:
    """One self-contained page: styles inline, every figure embedded as a data URI."""
    footnotes = report.footnotes()
    body = ["<h1>Lecture 6, re-run: the report</h1>",
            "<p>M. Wolter, <em>Machine learning, Lecture 6: Convolutional Deep Neural Network</em> "
            "(IFJ PAN, 2 December 2020), every claim re-run with Keras 3 and judged against the "
            "lecture's own numbers. Generated by <code>python -m replication report</code> from the "
            "claim registry and the saved results.</p>",
            _html_table([(f"<strong>{_h(k)}</strong>", _h(v)) for k, v in _header_rows(report)])]
    body.append("<h2>Claims</h2>")
    body.append(_html_table(
        [(f'<a href="#{e.anchor}"><code>{_h(row[0])}</code></a>', _h(row[1]), _h(row[2]), _h(row[3]),
          _verdict_html(row[4], e.verdict), _h(row[5])) for e, row in _overview_rows(report)],
        header=OVERVIEW_HEADER))
    for e in report.entries:
        c = e.claim
        marks = ", ".join(f'<a href="#fn-{footnotes[d]}">{footnotes[d]}</a>'
                          for d in e.deviations if d in footnotes)
        marks = f"<sup>{marks}</sup>" if marks else ""
        body += [f'<h2 id="{e.anchor}">{_h(e.heading)}</h2>',
                 f"<p>{_verdict_html(e.verdict)}{marks}</p>",
                 f"<blockquote>{_h(c.statement)}</blockquote>",
                 f"<p><em>Source:</em> {_h(c.source)}.</p>"]
        if c.paper:
            body.append(f"<p><em>Paper:</em> {_h(c.paper)}.</p>")
        body.append(_html_table([(_h(k), _verdict_html(v, e.verdict) if k == "verdict" else _h(v))
                                 for k, v in e.rows()]))
        body.append(f"<p><em>Tolerance:</em> {_h(c.tolerance_reason)}</p>")
        if c.lecture_context:
            body.append("<p><em>The lecture also printed:</em> " + _h("; ".join(c.lecture_context)) + ".</p>")
        for fig in e.figures:
            if fig.path is None:
                body.append(f'<p class="missing">Figure <code>{_h(fig.name)}</code> has not been drawn: '
                            f"run <code>python -m replication figures</code>.</p>")
            else:
                body.append(f'<figure><img alt="{_h(fig.name)}" src="{_data_uri(fig.path)}">'
                            f"<figcaption>{_h(fig.name)}</figcaption></figure>")
    body.append('<h2 id="environment">Environment</h2>')
    body.append("<p>Where each result was computed (recorded by the run).</p>")
    env = environment_rows(report)
    body.append(_html_table([tuple(_h(c) for c in row) for row in env], header=ENVIRONMENT_HEADER)
                if env else "<p>No claim has run: there is no environment to report.</p>")
    if footnotes:
        body.append("<h2 id=\"deviations\">Deviations from the lecture</h2><ol>")
        body += [f'<li id="fn-{n}">{_h(text)}</li>' for text, n in footnotes.items()]
        body.append("</ol>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>Lecture 6, re-run: the report ({_h(report.profile or 'no results')})</title>\n"
            f"<style>{_CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def write(report: Report, out_dir: str | os.PathLike = DEFAULT_OUT, log=print) -> tuple[Path, Path]:
    """``<out>/REPORT.md`` with its figures copied to ``<out>/figures/``, and ``<out>/index.html``."""
    out = results.ensure_writable_dir(Path(out_dir), "--out")
    links = {}
    for e in report.entries:
        for fig in e.figures:
            if fig.path is not None:
                name = f"{report.profile}-{e.dataset}-{fig.name}.png"
                results.atomic_write_bytes(out / "figures" / name, fig.path.read_bytes())
                links[fig.path] = f"figures/{name}"
    md, page = out / "REPORT.md", out / "index.html"
    results.atomic_write_bytes(md, render_markdown(report, links).encode("utf-8"))
    results.atomic_write_bytes(page, render_html(report).encode("utf-8"))
    log(f"report: {md} and {page} (profile {report.profile or 'none'}, "
        f"{sum(e.result is not None for e in report.entries)} of {len(report.entries)} claims run)")
    return md, page
