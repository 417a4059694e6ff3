"""What every figure script shares: its arguments, reading saved results, the matplotlib backend,
the drawing conventions that recur (a curve per seed under their mean, a confusion matrix), and
saving atomically.

Figure scripts (``figures/<claim module>/plot_<name>.py``, in the folder of the first claim whose
registry entry lists the figure: :func:`figure_script`) read saved results only and never train. This module
imports no training code (only the registry, the result files and the errors), so a figure
script starts without TensorFlow.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from . import registry, results
from .errors import ReplicationError

# The figure scripts live in the repository's top-level figures/, where people edit and run them; a
# wheel ships that folder inside the package as replication/figure_scripts (pyproject.toml's
# package-dir). So: the shipped copy when this is an installed package, else the checkout's (a
# source checkout or an editable install, whose package folder holds no copy).
SHIPPED_FIGURES_DIR = Path(__file__).resolve().parent / "figure_scripts"
CHECKOUT_FIGURES_DIR = Path(__file__).resolve().parent.parent / "figures"
FIGURES_DIR = SHIPPED_FIGURES_DIR if SHIPPED_FIGURES_DIR.is_dir() else CHECKOUT_FIGURES_DIR
# Figure scripts that regenerate_all runs at once: one per core, at most 4.
FIGURE_WORKERS = max(1, min(4, os.cpu_count() or 1))


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend: figure scripts write PNG files and never open a
    window, so they run the same on a headless machine, in a subprocess and in the tests."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_args(doc: str, argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    parser.add_argument("--results-dir", type=Path,
                        default=Path(os.environ.get(results.RESULTS_DIR_ENV) or results.DEFAULT_RESULTS_DIR))
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--dataset", default=None, help="default: the claim's lecture dataset")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: <results>/<profile>/<dataset>/figures)")
    return parser.parse_args(argv)


def load_result(args, claim_id: str):
    """(result, arrays) for ``claim_id``, or (None, None) when it has not run."""
    dataset = args.dataset or registry.get(claim_id).dataset
    store = results.Store(args.results_dir)
    result = store.load(args.profile, dataset, claim_id)
    if result is None:
        return None, None
    return result, store.load_arrays(args.profile, dataset, claim_id)


def skip(name: str, why: str) -> int:
    print(f"[figure {name}] skipped: {why}")
    return 0


def wrapped(text: str, width: int = 100) -> str:
    """``text`` broken into lines of at most ``width`` characters, for titles that carry a verdict
    (whose wording the decision table may lengthen) and must not run off the figure."""
    import textwrap

    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def provenance_line(result: dict) -> str:
    """One line for a figure's footer: profile, seeds, n, versions, commit, hardware."""
    prov = result["provenance"]
    v, hw = prov["versions"], prov["hardware"]
    commit = (prov["git"].get("commit") or "unknown")[:8]
    acc = hw.get("accelerators") or []
    device = ", ".join(acc) if isinstance(acc, list) and acc else hw.get("cpu", "?")
    synthetic = "  SYNTHETIC DATA" if result.get("measured", {}).get("data", {}).get("synthetic") else ""
    return (f"{result['claim']} | profile {result['profile']} | {result['dataset']} | seeds "
            f"{result['seeds']} (n={result['n']}) | keras {v.get('keras')} ({v.get('keras_backend')}) | "
            f"commit {commit} | {device}{synthetic}")


def save(fig, args, name: str, result: dict | None = None) -> Path:
    dataset = args.dataset or (result["dataset"] if result else "mnist")
    out = args.out or Path(args.results_dir) / args.profile / dataset / "figures"
    if result is not None:
        fig.text(0.01, 0.005, provenance_line(result), fontsize=6, color="0.4", ha="left", va="bottom")
    path = Path(out) / f"{name}.png"
    results.atomic_savefig(fig, path, dpi=110)
    print(f"[figure {name}] {path}")
    return path


def seed_runs(histories: list[dict], key: str) -> list[list[float]]:
    """Each seed's ``key`` curve (one per history that recorded it), all cut to the shortest, so
    that they can be averaged epoch by epoch; [] when no history has ``key``."""
    runs = [h[key] for h in histories if key in h]
    n = min((len(r) for r in runs), default=0)
    return [r[:n] for r in runs]


def seed_curves(ax, runs, *, color, label: str, x=None, marker=None, ms=None, seed_marker=None):
    """One thin line per seed and their mean in bold; only the mean is labelled (``label``).

    ``runs``: equally long curves, one per seed (see :func:`seed_runs`); ``x``: their x values
    (default: epochs 1, 2, ...); ``marker``/``ms``: the mean's marker, ``seed_marker``: the seeds'.
    Returns the mean curve.
    """
    x = np.arange(1, len(runs[0]) + 1) if x is None else x
    for r in runs:
        ax.plot(x, r, color=color, alpha=0.3, lw=0.8, marker=seed_marker)
    mean = np.mean(runs, axis=0)
    ax.plot(x, mean, color=color, lw=2, marker=marker, ms=ms, label=label)
    return mean


def train_test_curves(ax, histories: list[dict], metric: str, *, train_label: str, **style) -> None:
    """Our training (blue) and test (orange) curves of ``metric``, each as :func:`seed_curves`.

    The test curve is the history's ``test_<metric>``: measured after every epoch for the picture
    only, as the lecture's notebooks measured their "val" curve on the test set. ``style`` goes to
    :func:`seed_curves` (markers).
    """
    for key, colour, label in ((metric, "C0", train_label), (f"test_{metric}", "C1", "test")):
        runs = seed_runs(histories, key)
        if runs:
            seed_curves(ax, runs, color=colour, label=f"ours: {label}, mean of {len(runs)}", **style)


def confusion(labels, predictions, n: int) -> np.ndarray:
    """The ``n`` x ``n`` confusion matrix of counts: row = true class, column = predicted class."""
    m = np.zeros((n, n), dtype=int)
    np.add.at(m, (np.asarray(labels).astype(int), np.asarray(predictions).astype(int)), 1)
    return m


def figure_owner(name: str) -> str:
    """The claim whose folder under ``figures/`` holds figure ``name``'s script: the first claim, in
    registry order, whose entry lists it (a figure two claims show lives with the first)."""
    for claim in registry.CLAIMS.values():
        if name in claim.figures:
            return claim.id
    raise ReplicationError(f"figure {name!r}: no claim of the registry lists it")


def figure_script(name: str) -> Path:
    """``figures/<module of its claim>/plot_<name>.py`` (the shipped copy in an installed package)."""
    return FIGURES_DIR / registry.get(figure_owner(name)).module / f"plot_{name}.py"


def figure_names_for(claim_ids) -> list[str]:
    names = []
    for claim_id in claim_ids:
        for name in registry.get(claim_id).figures:
            if name not in names:
                names.append(name)
    return names


def regenerate_all(results_dir: Path, profile: str | None = None, log=print, out: Path | None = None) -> int:
    """Run every figure script for every (profile, dataset) that has results. No training.

    ``out``: draw into ``out/<profile>/<dataset>/`` instead of beside the results
    (``<results>/<profile>/<dataset>/figures/``), e.g. to leave a committed run untouched.
    """
    if not FIGURES_DIR.is_dir():
        raise ReplicationError(f"{FIGURES_DIR}: figure scripts not found (neither shipped with the "
                               f"package nor in a source checkout)")
    store = results.Store(results_dir)
    combos: dict[tuple[str, str], list[str]] = {}
    for _path, result in store.all_results():
        if profile and result["profile"] != profile:
            continue
        combos.setdefault((result["profile"], result["dataset"]), []).append(result["claim"])
    if not combos:
        log(f"no results under {results_dir}{' for profile ' + profile if profile else ''}: "
            f"run `python -m replication all` first")
        return 1
    jobs = [(name, results_dir, prof, dataset, None if out is None else Path(out) / prof / dataset)
            for (prof, dataset), claims in sorted(combos.items())
            for name in figure_names_for([c for c in registry.CLAIMS if c in claims])]
    failed = []
    # Each script is its own interpreter, mostly starting up (2.5 s for a curve, about 10 s for one
    # that imports Keras): they run FIGURE_WORKERS at a time, their output logged in the order
    # above. A smoke run's 23 figures on a 2-core CPU: 95 s one at a time, 49 s two (stop 32).
    with concurrent.futures.ThreadPoolExecutor(max_workers=FIGURE_WORKERS) as pool:
        outcomes = pool.map(lambda job: _figure_subprocess(*job), jobs)
        for (name, *_), (ok, message) in zip(jobs, outcomes, strict=True):
            if message:
                log(message)
            if not ok:
                failed.append(name)
    return 1 if failed else 0


def run_figure_script(name: str, results_dir: Path, profile: str, dataset: str, log=print,
                      out: Path | None = None) -> bool:
    """Run figure ``name``'s script (:func:`figure_script`) in a fresh interpreter; False (and its
    output logged) if it failed.

    ``out``: the folder for the PNG (default: the script's, beside the results). The script imports
    this very package whether or not it is installed: the folder that holds this package (the
    checkout, or site-packages for an installed copy) goes first on its ``PYTHONPATH``.
    """
    ok, message = _figure_subprocess(name, results_dir, profile, dataset, out)
    if message:
        log(message)
    return ok


def _figure_subprocess(name: str, results_dir: Path, profile: str, dataset: str,
                       out: Path | None) -> tuple[bool, str]:
    """:func:`run_figure_script` without logging: (succeeded, what to log)."""
    script = figure_script(name)
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, str(script), "--results-dir", str(results_dir), "--profile", profile,
           "--dataset", dataset] + ([] if out is None else ["--out", str(out)])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    printed = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        return False, f"[figure {name}] FAILED for {profile}/{dataset}:\n{printed[-2000:]}"
    return True, printed
