"""The package as users install it: a wheel (``pip install .``) or an editable checkout (CI's
``pip install -e ".[test]"``) must both find the figure scripts and draw the figures and the report.

The figure scripts stay in the top-level ``figures/`` and ship inside the package as
``replication.figure_scripts`` (pyproject.toml's ``package-dir``).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from replication import plotting


def test_every_package_folder_ships_and_the_figures_come_from_this_checkout():
    """pyproject.toml lists the packages by hand (to map figures/ into the package): a subpackage
    left off that list would be missing from every wheel while all tests pass in the checkout."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {".".join(p.relative_to(REPO).parts) for p in (REPO / "replication").rglob("*")
               if p.is_dir() and p.name != "__pycache__"} | {"replication"}
    assert folders <= set(config["packages"]), "add the new folder to [tool.setuptools] packages"
    assert config["package-dir"]["replication.figure_scripts"] == "figures"
    # In a checkout (and an editable install) the scripts are read where people edit them.
    assert plotting.FIGURES_DIR == REPO / "figures"


def _tracked_copy(dest: Path) -> Path:
    """The checkout's files as git sees them (tracked, plus new files it does not ignore)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=REPO, capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot list the checkout's files with git: {exc}")
    for name in filter(None, listed.decode().split("\0")):
        src = REPO / name
        if src.is_file():  # a file deleted in the working tree but not yet in git is left out
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _venv(root: Path) -> Path:
    """A venv that sees this interpreter's packages (TensorFlow, matplotlib, pip), so that
    installing this package downloads nothing but its build backend. Skips when venv or pip cannot
    work here.

    Not ``--system-site-packages``: run from a venv (CI's, tox's, a fresh clone's), that would show
    the base interpreter's packages, not this venv's. A ``.pth`` file lists this interpreter's
    site-packages instead, as plain paths (their own ``.pth`` files, such as an editable install's
    finder for the checkout, are not run); the venv's own site-packages stays first."""
    try:
        # --without-pip: no ensurepip needed; this interpreter's pip (on the listed paths) installs
        # into whichever environment runs it.
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)],
                       capture_output=True, check=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot create a venv here: {exc}")
    python = root / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    own = subprocess.run([str(python), "-c", purelib], capture_output=True, text=True, check=True,
                         timeout=120).stdout.strip()
    outer = site.getsitepackages() + ([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])
    Path(own, "_outer_site_packages.pth").write_text("".join(f"{p}\n" for p in outer))
    proc = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True, text=True,
                          timeout=120)
    if proc.returncode != 0:
        pytest.skip(f"pip does not run in the venv: {proc.stderr.strip()[-300:]}")
    return python


def _build_requires() -> list[str]:
    try:
        import tomllib  # Python 3.11+
    except ModuleNotFoundError:  # Python 3.10: pip's own TOML parser (pip is needed here anyway)
        from pip._vendor import tomli as tomllib
    return tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]


def _pip_building(python: Path, args: list[str], scratch: Path) -> None:
    """Runs ``pip <args>``, which builds this package as ``pip install .`` does: in an isolated
    environment with the build backend (pyproject.toml's build-system) fetched from the package
    index, so nothing depends on setuptools or wheel being installed here. Only when the index
    cannot be reached does it fall back to a backend installed here, and it skips when there is
    none; a build that fails for any other reason fails the test."""
    pip = [str(python), "-m", "pip"]
    proc = subprocess.run([*pip, *args], capture_output=True, text=True, timeout=600, cwd=scratch)
    if proc.returncode == 0:
        return
    failure = proc.stdout[-3000:] + proc.stderr[-3000:]
    requires = _build_requires()
    probe = subprocess.run([*pip, "download", "-q", "--no-deps", "-d", str(scratch / "backend"),
                            *requires], capture_output=True, text=True, timeout=600, cwd=scratch)
    assert probe.returncode != 0, f"the backend ({requires}) can be fetched, yet:\n{failure}"
    offline = probe.stderr.strip()[-300:]
    local = subprocess.run([*pip, *args, "--no-build-isolation"], capture_output=True, text=True,
                           timeout=600, cwd=scratch)
    if local.returncode != 0:
        pytest.skip(f"cannot build the wheel: the package index is unreachable (fetching the build "
                    f"backend {requires} failed: {offline}) and no usable backend is installed "
                    f"here ({local.stderr.strip()[-300:]})")


@pytest.mark.slow
# The editable install is what CI itself tests with (every figure test draws through it), so only
# the wheel is installed here.
@pytest.mark.parametrize("editable", [False], ids=["wheel"])
def test_an_installed_package_draws_the_figures_and_the_report(tmp_path, editable):
    copy = _tracked_copy(tmp_path / "checkout")
    python = _venv(tmp_path / "venv")
    if editable:
        _pip_building(python, ["install", "-q", "--no-deps", "-e", str(copy)], tmp_path)
    else:  # what `pip install .` does: build a wheel in isolation, then install it
        wheels = tmp_path / "wheels"
        _pip_building(python, ["wheel", "-q", "--no-deps", "-w", str(wheels), str(copy)], tmp_path)
        (wheel,) = wheels.glob("replication-*.whl")
        install = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)]
        proc = subprocess.run(install, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    # The committed reference run, without its figures, so that every PNG below is drawn here.
    results = tmp_path / "results"
    shutil.copytree(REPO / "reference", results, ignore=shutil.ignore_patterns("figures"))
    elsewhere = tmp_path / "elsewhere"  # outside any checkout: `python -m` puts the cwd first
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "REPLICATION_RESULTS_DIR")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"

    def run(*args):
        proc = subprocess.run([str(python), *args], capture_output=True, text=True, cwd=elsewhere,
                              env=env, timeout=900)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout

    where = run("-c", "import replication, replication.plotting as p; print(replication.__file__); "
                      "print(p.FIGURES_DIR)").splitlines()
    installed = tmp_path / ("checkout" if editable else "venv")  # not the checkout under test
    assert Path(where[0]).resolve().is_relative_to(installed.resolve()), where
    assert Path(where[1]).resolve() == (copy / "figures" if editable else
                                        Path(where[0]).parent / "figure_scripts").resolve(), where

    run("-m", "replication", "figures", "--results-dir", str(results))
    # model_diagrams is drawn from saved models, which reference/ does not keep.
    expected = sorted(p.relative_to(REPO / "reference") for p in (REPO / "reference").rglob("figures/*.png")
                      if p.name != "model_diagrams.png")
    assert expected
    drawn = sorted(p.relative_to(results) for p in results.rglob("figures/*.png"))
    assert drawn == expected

    run("-m", "replication", "report", "--results-dir", str(results), "--out", str(tmp_path / "report"))
    assert (tmp_path / "report" / "index.html").stat().st_size > 100_000  # figures embedded
