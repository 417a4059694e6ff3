"""The report and the tour notebook: every claim shown, figures embedded, the notebook current and
executable in ``smoke``, and the package importable without Jupyter."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import pytest
from conftest import REPO, run_cli

from replication import notebook, plotting, registry, report, verdicts
from replication.errors import ReplicationError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory, data_dir):
    """One real claim run in ``smoke`` with its figures drawn; every other claim not run.

    In-process (no interpreter start-ups): the command line itself is tested in test_cli.py.
    """
    import importlib.util
    import os

    from replication import results, runner

    root, env = data_dir
    results_dir = tmp_path_factory.mktemp("report") / "results"
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        runner.run_claim("mnist-mlp", runner.RunOptions(
            profile="smoke", store=results.Store(results_dir), data_dir=root, verbose=0,
            log=lambda *a: None))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    for name in registry.get("mnist-mlp").figures:
        spec = importlib.util.spec_from_file_location(f"plot_{name}", plotting.figure_script(name))
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        script.main(["--results-dir", str(results_dir), "--profile", "smoke"])
    return results_dir


def test_report_shows_every_claim_with_figures_embedded(smoke_results, tmp_path):
    out = tmp_path / "report"
    proc = run_cli("report", "--results-dir", smoke_results, "--out", out, "--no-figures")
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = (out / "index.html").read_text()
    md = (out / "REPORT.md").read_text()

    # The header: profile, versions, commit, hardware.
    for needle in ("smoke", "keras 3.", "git commit", "hardware"):
        assert needle in page and needle in md
    # The claims table first, each claim with its figures, then one environment table.
    for text in (page, md):
        claims, first_claim, env = (text.index("Claims"), text.index(registry.get("mnist-mlp").statement),
                                    text.index("Environment"))
        assert claims < first_claim < env
    assert page.count("<h2 id=\"environment\">") == 1 and md.count("## Environment") == 1
    # Every claim, with the registry's statement; those without results say "not run".
    for claim in registry.CLAIMS.values():
        assert f'id="{claim.id}"' in page and claim.statement in md
    not_run = len(registry.CLAIMS) - 1
    # Each shows its verdict three times: in the overview, under its heading, in its table.
    assert page.count(f'<span class="verdict none">{verdicts.NOT_RUN}</span>') == 3 * not_run
    # Every deviation is a footnote, the registry's and the smoke budget's.
    for text in registry.get("mnist-mlp").deviations:
        assert text in md
    assert "epochs 1 instead of 20" in md

    # Self-contained: every image is an embedded PNG, one per figure drawn, none linked.
    drawn = [n for n in registry.get("mnist-mlp").figures
             if (smoke_results / "smoke" / "mnist" / "figures" / f"{n}.png").exists()]
    assert "mnist_digits" in drawn
    sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(sources) == len(drawn)
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)
    assert not re.search(r'(src|href)="(?!data:|#)', page)
    # The Markdown links its copies of the same figures.
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == len(drawn) and all((out / link).is_file() for link in links)


def test_only_missing_or_outdated_figures_are_drawn(smoke_results, tmp_path, monkeypatch):
    import os
    import shutil

    results_dir = tmp_path / "results"
    shutil.copytree(smoke_results, results_dir)  # copy2: the figures keep their times
    figures = results_dir / "smoke" / "mnist" / "figures"
    (figures / "mnist_digits.png").unlink()
    old = (figures / "mnist_mlp_curves.png").stat().st_mtime - 3600
    os.utime(figures / "mnist_mlp_curves.png", (old, old))
    drawn = []
    monkeypatch.setattr(report, "draw_figure", lambda r, p, d, name, log: drawn.append((p, d, name)))
    built = report.build(results_dir, log=lambda *a: None)
    assert sorted(drawn) == [("smoke", "mnist", "mnist_digits"), ("smoke", "mnist", "mnist_mlp_curves")]
    missing = [f.name for f in built.entry("mnist-mlp").figures if f.path is None]
    assert missing == ["mnist_digits"]  # the stub drew nothing; the report says so
    assert "has not been drawn" in report.render_markdown(built)


def test_figure_scripts_import_this_checkout_from_any_directory(tmp_path, monkeypatch):
    """A figure script runs in a fresh interpreter; it must get this checkout's package, even where
    another copy is installed (an editable install of a different checkout) or none is."""

    scripts = tmp_path / "figures"
    scripts.mkdir()
    (scripts / "plot_probe.py").write_text("import replication\nprint('package at', replication.__file__)\n")
    monkeypatch.setattr(plotting, "figure_script", lambda name: scripts / f"plot_{name}.py")
    monkeypatch.chdir(tmp_path)
    logged = []
    assert plotting.run_figure_script("probe", tmp_path, "smoke", "mnist", log=logged.append)
    assert logged == [f"package at {REPO / 'replication' / '__init__.py'}"]

    (scripts / "plot_probe.py").write_text("raise SystemExit('no data here')\n")
    logged.clear()
    assert not plotting.run_figure_script("probe", tmp_path, "smoke", "mnist", log=logged.append)
    assert "[figure probe] FAILED for smoke/mnist" in logged[0] and "no data here" in logged[0]


def test_runs_in_one_environment_are_listed_once(tmp_path):
    """Two results of one commit and machine, whose processes peaked at different memory: one
    environment (the report lists environments, not runs)."""
    import shutil

    src = REPO / "reference" / "quick" / "cifar10"
    for claim in ("depth-width", "deep-vs-wide"):
        shutil.copytree(src / claim, tmp_path / "quick" / "cifar10" / claim)
    provs = [json.loads((tmp_path / "quick" / "cifar10" / c / "result.json").read_text())["provenance"]
             for c in ("depth-width", "deep-vs-wide")]
    assert provs[0] != provs[1]  # the memory so far differs
    built = report.build(tmp_path, draw_figures=False, log=lambda *a: None)
    assert len(built.environments) == 1


def test_report_without_results_lists_every_claim_as_not_run(tmp_path):
    built = report.build(tmp_path / "none", draw_figures=False, log=lambda *a: None)
    assert built.profile is None
    assert [e.verdict for e in built.entries] == [verdicts.NOT_RUN] * len(registry.CLAIMS)
    md, page = report.write(built, tmp_path / "out", log=lambda *a: None)
    assert "<img" not in page.read_text()
    assert md.read_text().count(f"**{verdicts.NOT_RUN}**") == 2 * len(registry.CLAIMS)


def test_default_profile_is_the_most_faithful_with_results(tmp_path):
    assert report.pick_profile(tmp_path) is None
    for profile in ("smoke", "quick"):
        path = tmp_path / profile / "mnist" / "mnist-mlp" / "result.json"
        path.parent.mkdir(parents=True)
        path.write_text("{}")
    assert report.pick_profile(tmp_path) == "quick"
    assert report.pick_profile(tmp_path, "smoke") == "smoke"
    with pytest.raises(ReplicationError, match="unknown profile"):
        report.pick_profile(tmp_path, "huge")


def test_ensure_results_runs_every_claim_in_smoke_only_when_none_exist(tmp_path, monkeypatch):
    from replication import runner

    calls = []
    monkeypatch.setattr(runner, "run_claim", lambda claim_id, options: calls.append((claim_id, options.profile)))
    monkeypatch.setattr(plotting, "regenerate_all", lambda *a, **kw: 0)
    assert runner.ensure_results(tmp_path, None, log=lambda *a: None) == "smoke"
    assert calls == [(c, "smoke") for c in registry.CLAIMS]

    calls.clear()
    path = tmp_path / "quick" / "mnist" / "mnist-mlp" / "result.json"
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    assert runner.ensure_results(tmp_path, None, log=lambda *a: None) == "quick"
    assert calls == []


def test_notebook_source_is_the_generated_one():
    assert notebook.is_current(), "run `python -m replication notebook --write`"
    nb = json.loads(notebook.SOURCE.read_text())
    parameters = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(parameters) == 1
    assert "profile = " in "".join(parameters[0]["source"])
    assert "results_dir = " in "".join(parameters[0]["source"])
    code = "".join("".join(c["source"]) for c in nb["cells"])
    for claim_id in registry.CLAIMS:
        assert f"show({claim_id!r})" in code
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


def test_a_stale_notebook_is_not_executed(tmp_path):
    stale = tmp_path / "tour.ipynb"
    stale.write_text(notebook.render().replace("show(", "shown("))
    said = []
    chosen = notebook.notebook_to_run(stale, log=said.append)
    assert not isinstance(chosen, str) and chosen == notebook.generate()
    assert "out of date" in said[0]
    current = tmp_path / "current.ipynb"
    current.write_text(notebook.render())
    assert notebook.notebook_to_run(current, log=said.append) == str(current)
    assert len(said) == 1


@pytest.mark.slow  # papermill executes the tour
def test_notebook_executes_in_smoke(smoke_results, tmp_path):
    out = tmp_path / "report"
    proc = run_cli("notebook", "--profile", "smoke", "--results-dir", smoke_results, "--out", out,
                   timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    executed = json.loads((out / notebook.EXECUTED_NAME).read_text())
    assert any("injected-parameters" in c["metadata"].get("tags", []) for c in executed["cells"])
    outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    text = json.dumps(outputs)
    ran = json.loads((smoke_results / "smoke" / "mnist" / "mnist-mlp" / "result.json").read_text())
    assert ran["verdict"] in text and verdicts.NOT_RUN in text
    assert list(out.glob(".*")) == []  # no temporary file left behind
    # As readable as a plainly written file (papermill's temporary file was created 0600).
    from replication import results

    assert (out / notebook.EXECUTED_NAME).stat().st_mode & 0o777 == 0o666 & ~results.umask()


def test_the_package_never_imports_jupyter():
    code = ("import sys, replication.__main__, replication.report, replication.notebook; "
            "print(sorted(m for m in ('nbformat', 'papermill', 'IPython', 'jupyter_client') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_citation_cff_has_the_required_fields():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    for key in ("cff-version", "message", "title", "authors"):
        assert cff.get(key), key
    version = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert str(cff["version"]) == version.group(1)
