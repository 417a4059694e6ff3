"""Every committed driver under ``benchmarks/`` runs against today's package (issue #20).

For each driver: ``--help`` and its ``--smoke`` mode (a few hundred CIFAR-10 images, 1 epoch) in a
subprocess, into ``tmp_path``, leaving the committed log and page byte for byte as they were. The
smoke needs the real data (``$REPLICATION_DATA_DIR`` holding ``cifar10/``) and is skipped without
it. Beside them: the logs name only commits this repository has or ones labelled as not in it, and
the generated parts of the pages are what the drivers generate from the committed logs and config.

A new ``benchmarks/*.py`` must be added to :data:`DRIVERS` (``test_every_driver_is_covered``).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"


@dataclasses.dataclass(frozen=True)
class Driver:
    log: str  # the committed JSON the driver appends to
    page: str  # the committed page generated (in part) from it
    smoke_s: int  # a generous limit for the smoke on 2 shared cores (it takes ~30 s)


DRIVERS = {
    "depth_diagnosis.py": Driver("depth_diagnosis.json", "DEPTH_DIAGNOSIS.md", 300),
    "tune_cifar10_fast.py": Driver("cifar10_fast_tuning.json", "CIFAR10_FAST_TUNING.md", 300),
    "dropout_pilot.py": Driver("dropout_pilot.json", "DROPOUT_PILOT.md", 300),
    "filters_control_pilot.py": Driver("filters_control_pilot.json", "FILTERS_CONTROL_PILOT.md", 300),
    "depth_convergence_pilot.py": Driver("depth_convergence_pilot.json", "DEPTH_CONVERGENCE_PILOT.md",
                                         300),
    "step_probe.py": Driver("step_probe.json", "STEP_PROBE.md", 400),
}


def test_every_driver_is_covered():
    """Fast: a driver added under benchmarks/ without a --help and smoke test here fails
    (``_``-prefixed modules are the drivers' shared helpers, not drivers)."""
    assert sorted(DRIVERS) == sorted(p.name for p in BENCH.glob("*.py") if not p.name.startswith("_"))


def test_the_drivers_shared_log_helpers(tmp_path):
    """Fast: the commit a pilot records names HEAD (``+dirty`` only for the package or the driver)
    and a log survives its round trip; a new log carries the driver's first paragraph; a page's
    tables are replaced between their markers and nothing else."""
    sys.path.insert(0, str(REPO))
    from benchmarks import _pilot_log as pilot_log

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert pilot_log.commit("benchmarks/depth_convergence_pilot.py").split("+")[0] == head
    assert pilot_log.git("no-such-git-command") is None
    path = tmp_path / "log.json"
    new = pilot_log.load_log(path, "About this pilot.\n\nMore.", reproduced_by=False)
    assert new == {"about": "About this pilot.", "runs": []}
    assert "reproduced_by" in pilot_log.load_log(path, "x")
    pilot_log.save_log({**new, "runs": [{"seed": 101}]}, path)
    assert pilot_log.load_log(path, "ignored")["runs"] == [{"seed": 101}]
    page = tmp_path / "PAGE.md"
    pilot_log.write_tables(page, "| a |", "A pilot", "benchmarks/x.py")
    assert page.read_text() == ("# A pilot\n\nSee the driver's docstring (`benchmarks/x.py`).\n\n"
                                "<!-- pilot-tables:start -->\n| a |\n<!-- pilot-tables:end -->\n")
    page.write_text(page.read_text().replace("# A pilot", "# A pilot\n\nHand-written.") + "After.\n")
    pilot_log.write_tables(page, "| b |", "ignored", "ignored")  # the text around the tables is kept
    text = page.read_text()
    assert "Hand-written." in text and text.endswith("| b |\n<!-- pilot-tables:end -->\nAfter.\n")
    assert "| a |" not in text


# --------------------------------------------------------------------------------------------
# Helpers


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _run(args, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO, env=_env(), capture_output=True,
                          text=True, timeout=timeout)


def _data_dir() -> Path:
    raw = os.environ.get("REPLICATION_DATA_DIR")
    if not raw:
        pytest.skip("REPLICATION_DATA_DIR is not set: the smoke trains on real CIFAR-10 images")
    if not (Path(raw) / "cifar10").is_dir():
        pytest.skip(f"REPLICATION_DATA_DIR={raw} holds no cifar10/ folder")
    return Path(raw)


def _load(name: str):
    """The driver as a module (registered in sys.modules first: its dataclasses look it up)."""
    key = f"_benchmark_driver_{Path(name).stem}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, BENCH / name)
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[key]
            raise
    return sys.modules[key]


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True,
                              timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def _commit_exists(sha: str) -> bool:
    return _git("cat-file", "-e", f"{sha}^{{commit}}") is not None


def _committed_bytes(driver: Driver) -> dict[str, bytes]:
    return {n: (BENCH / n).read_bytes() for n in (driver.log, driver.page)}


# --------------------------------------------------------------------------------------------
# --help and the smoke, in a subprocess


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_help(name):
    proc = _run([BENCH / name, "--help"], timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("usage:")
    for option in ("--smoke", "--out", "--data-dir"):
        assert option in proc.stdout, f"{name} --help does not mention {option}"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_smoke_refuses_the_committed_log(name):
    """--smoke never writes the committed log, even when asked to."""
    driver = DRIVERS[name]
    before = _committed_bytes(driver)
    proc = _run([BENCH / name, "--smoke", "--out", BENCH / driver.log], timeout=120)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "never writes" in proc.stderr
    assert _committed_bytes(driver) == before


def _check_depth_smoke(out: Path) -> None:
    data = json.loads(out.read_text())
    assert {"runs", "probes", "sweep_overhead", "reproduced_by"} <= set(data)
    runs = data["runs"]
    assert [(r["design"], r["config"]) for r in runs] == [
        ("smoke-today", "depth-d2-w56"), ("smoke-gap-bn09-flip", "gap-d2-w117")]
    for r in runs:
        assert (r["n_train"], r["n_val"], r["seed"]) == (300, 100, 0)
        assert len(r["val_accuracy_per_epoch"]) == 1 == len(r["train_s_per_epoch"])
        for key in ("val_accuracy_bn_inference", "val_accuracy_bn_reestimated",
                    "train_accuracy_bn_inference", "train_accuracy_running_last_epoch"):
            assert 0.0 <= r[key] <= 1.0
        assert r["matmul_gflops_mean"] > 0 and r["fit_s"] > 0
        assert r["environment"]["commit"] != "unknown"
    assert [(p["design"], p["config"]) for p in data["probes"]] == [("smoke-today", "depth-d2-w56")]
    assert data["probes"][0]["ms_per_step"] > 0
    (over,) = data["sweep_overhead"]
    assert (over["config"], over["design"], over["n_test"]) == ("depth-d2-w56", "smoke-today", 100)
    assert 0.0 <= over["sweep_val_accuracy"] <= 1.0 and over["sweep_execution_s"] > 0
    rep = data["reproduced_by"]
    assert all(d["matches_driver"] for d in rep["runs"]), rep["runs"]
    assert rep["branch_commits_not_in_this_repository"] == []
    page = out.with_suffix(".md").read_text()
    assert "### smoke-today" in page and "### smoke-gap-bn09-flip" in page
    assert "### Provenance" in page


def _check_tune_smoke(out: Path) -> None:
    data = json.loads(out.read_text())
    assert {"trials", "reproduced_by"} <= set(data)
    (trial,) = data["trials"]
    assert (trial["name"], trial["stage"], trial["epochs"]) == ("lr0.05-l2x4", "full-smoke", 1)
    assert (trial["n_train"], trial["n_val"]) == (300, 100)
    tune = _load("tune_cifar10_fast.py")
    assert trial["recipe"] == dataclasses.asdict(
        dataclasses.replace(tune.TRIALS["full"]["lr0.05-l2x4"], epochs=1))
    for weights in trial["val_accuracy"].values():
        assert all(0.0 <= v <= 1.0 for v in weights.values())
    assert set(trial["val_accuracy_final"]) == set(tune.TTA_VARIANTS)
    (rep,) = data["reproduced_by"]["trials"]
    assert rep["matches_driver"] and rep["recorded_commit_in_this_repository"], rep
    page = out.with_suffix(".md").read_text()
    assert "| 1 | lr0.05-l2x4 | 1 | 0 |" in page
    assert "It is row 1, `lr0.05-l2x4`" in page  # the chosen-recipe block found the trial


def _check_dropout_smoke(out: Path) -> None:
    data = json.loads(out.read_text())
    assert {"runs", "reproduced_by"} <= set(data)
    assert [(r["regime"], r["seed"], r["n_train"], r["n_val"]) for r in data["runs"]] == [
        ("smoke-300", 0, 300, 100), ("smoke-200", 0, 200, 100)]
    for r in data["runs"]:
        assert len(r["val_loss_per_epoch"]) == 1 and r["val_loss_rise"] == 0.0
        assert 0.0 <= r["train_accuracy"] <= 1.0 and r["params"] == 932_362
    assert _commit_exists(data["reproduced_by"]["commit"])
    page = out.with_suffix(".md").read_text()
    assert "| smoke-300 | 300 | 0 |" in page and "Chosen by the pilot's rule" in page


def _check_filters_control_smoke(out: Path) -> None:
    data = json.loads(out.read_text())
    assert {"runs", "comparison", "reproduced_by"} <= set(data)
    assert [(r["arm"], r["seed"], r["n_train"], r["n_val"]) for r in data["runs"]] == [
        ("trained", 0, 300, 100), ("permuted_pixels", 0, 300, 100)]
    for r in data["runs"]:
        assert [e["epoch"] for e in r["per_epoch"]] == [0, 1]
        assert len(r["val_accuracy_per_epoch"]) == 1 == len(r["running_train_accuracy_per_epoch"])
        assert 0.0 <= r["train_accuracy"] <= 1.0 and r["params"] == 382_858
        assert len(r["per_filter"]["final"]["colour_share"]) == 64
    (comp,) = data["comparison"]
    assert comp["same_initial_filters"] is True  # same seed: the permutation draws no weights
    assert _commit_exists(data["reproduced_by"]["commit"])
    page = out.with_suffix(".md").read_text()
    assert "| trained | 0 | 1 |" in page and "| permuted_pixels | 0 | 300 |" in page


def _check_depth_convergence_smoke(out: Path) -> None:
    data = json.loads(out.read_text())
    (run,) = data["runs"]
    assert run["design"] == "smoke" and run["plateau_windows"] == [2, 3, 4]
    assert [r["config"] for r in run["rows"]] == ["depth-d2-w56", "deep-w30"]
    for key, rec in run["executions"].items():
        assert len(rec["val_accuracy_per_epoch"]) == 5 == len(rec["loss_per_epoch"]), key
        curve = rec["val_accuracy_per_epoch"]
        assert rec["plateau_gain"] == pytest.approx(curve[3] - curve[2])
    assert "held-out" in out.with_suffix(".md").read_text()
    assert _commit_exists(data["reproduced_by"]["commit"])
    rows = data["probe"]["rows"]  # 2 precisions x 2 batch sizes x 2 steps per execution
    assert len(rows) == 8 and all(r["config"] == "depth-d2-w56" and r["best_ms"] > 0 for r in rows)


def _check_step_probe_smoke(out: Path) -> None:
    data = json.loads(out.read_text())
    (run,) = data["runs"]
    assert [(r["option"], r["precision"]) for r in run["options"]] == [
        ("default", "float32"), ("steps-per-execution-8", "float32")]
    for r in run["options"]:
        assert "error" not in r, r
        assert len(r["ms_per_step"]) == 1 and r["median_ms_per_step"] > 0
    assert run["options"][1]["compile"] == {"steps_per_execution": 8}
    assert [r["batch"] for r in run["evaluation"]["float32"]] == [32, 128, 512]
    assert all(r["images"] == 512 and r["median_s"] > 0 for r in run["evaluation"]["float32"])
    lay = run["layers"]["float32"]
    # Every layer of the lecture's CNN, each timed alone, beside the whole step.
    assert [r["kind"] for r in lay["layers"]].count("Conv2D") == 6 and len(lay["layers"]) == 23
    assert all(r["layer_ms"] > 0 for r in lay["layers"]) and lay["fit_ms_per_step"] > 0
    assert lay["fit_minus_layers_ms"] == pytest.approx(lay["fit_ms_per_step"] - lay["layers_sum_ms"])
    aug = run["augmentation"]["float32"]
    assert [a["augmentation"] for a in aug] == ["lecture_affine", "lecture", "flip_translate"]
    assert all(a["ms_per_batch"] > 0 for a in aug)
    assert _commit_exists(data["reproduced_by"]["commit"])
    page = out.with_suffix(".md").read_text()
    assert "| float32 | steps-per-execution-8 |" in page and "By kind: Conv2D" in page
    assert "`lecture_affine`" in page
    # What an epoch of the dropout claim's MLP costs beyond its steps, per callback.
    ep = run["epoch"]["float32"]
    assert ep["n_train"] == 512 and ep["steps_per_epoch"] == 4 and ep["n_test"] == 512
    assert [r["variant"] for r in ep["rows"]] == ["feed", "ctrl-c", "reseed", "reseed-tf", "checkpoint",
                                                  "logs", "callbacks", "callbacks+curve"]
    assert all(len(r["epoch_s"]) == 1 and len(r["epoch_s"][0]) == 1 and r["median_s"] > 0 for r in ep["rows"])
    assert "What a float32 epoch costs beyond its steps" in page and "| callbacks+curve |" in page


SMOKE_CHECKS = {"depth_diagnosis.py": _check_depth_smoke, "tune_cifar10_fast.py": _check_tune_smoke,
                "dropout_pilot.py": _check_dropout_smoke,
                "filters_control_pilot.py": _check_filters_control_smoke,
                "depth_convergence_pilot.py": _check_depth_convergence_smoke,
                "step_probe.py": _check_step_probe_smoke}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_smoke(name, tmp_path):
    data_dir = _data_dir()
    driver = DRIVERS[name]
    before = _committed_bytes(driver)
    out = tmp_path / "smoke.json"
    proc = _run([BENCH / name, "--smoke", "--out", out, "--data-dir", data_dir],
                timeout=driver.smoke_s)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert out.exists() and out.with_suffix(".md").exists()
    SMOKE_CHECKS[name](out)
    from replication import quiet

    # The drivers start the backend as run and bench do (tune_cifar10_fast imports Keras at module
    # level, before it could): none of TensorFlow's known-harmless start-up lines reaches the user.
    if name != "tune_cifar10_fast.py" and not quiet.nvidia_driver_present():
        assert "failed call to cuInit" not in proc.stderr and "oneDNN custom operations" not in proc.stderr
    assert _committed_bytes(driver) == before, "the smoke touched the committed log or page"


def test_every_driver_has_a_smoke_check():
    assert sorted(SMOKE_CHECKS) == sorted(DRIVERS)


# --------------------------------------------------------------------------------------------
# Provenance of the committed logs and pages

HEX = re.compile(r"\b[0-9a-f]{7,40}\b")


def _commit_like(text: str) -> set[str]:
    """Words that look like abbreviated commit ids: 7-40 hex digits with a letter and a digit."""
    return {w for w in HEX.findall(text) if re.search(r"[a-f]", w) and re.search(r"[0-9]", w)}


def _labelled_missing(page: str) -> set[str]:
    """Commit-like words on a table row, or in a paragraph, that says 'not in this repository'."""
    out = set()
    for para in re.split(r"\n\s*\n", page):
        units = para.splitlines() if para.lstrip().startswith("|") else [para]
        for unit in units:
            if "not in this repository" in unit:
                out |= _commit_like(unit)
    return out


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_logs_and_pages_name_only_commits_here_or_labelled(name):
    """Fast: every commit a log or page names exists here, or is labelled as a branch commit not
    in this repository (in the log's reproduced_by, and on the page next to the id)."""
    if _git("rev-parse", "--git-dir") is None:
        pytest.skip("not a git checkout")
    driver = DRIVERS[name]
    data = json.loads((BENCH / driver.log).read_text())
    rep = data["reproduced_by"]
    assert _commit_exists(rep["commit"]), f"reproduced_by names {rep['commit']}, not in this repository"
    labelled = set(rep["branch_commits_not_in_this_repository"])
    records = data["trials"] if "trials" in data else data["runs"]
    for r in records:
        sha = (r.get("commit") or r.get("environment", {}).get("commit") or "").split("+")[0]
        assert sha, r
        assert _commit_exists(sha) or sha in labelled, f"{sha} neither exists nor is labelled"
    for sha in labelled:
        assert not _commit_exists(sha), f"{sha} is labelled missing but exists"
    page = (BENCH / driver.page).read_text()
    allowed = _labelled_missing(page)
    unknown = sorted(w for w in _commit_like(page) if w not in allowed and not _commit_exists(w))
    assert unknown == [], f"{driver.page} names commits that are not here and not labelled: {unknown}"


@pytest.mark.slow
def test_tuning_page_regenerates_from_its_log_and_the_committed_config(tmp_path):
    """The trials table, the provenance table and the chosen-recipe block of CIFAR10_FAST_TUNING.md
    are what --summary makes of the committed log and replication.claims.cifar10_fast.Config, and
    every trial's recorded recipe and TTA views still match the driver's definition."""
    tune = _load("tune_cifar10_fast.py")
    page = tmp_path / "page.md"
    shutil.copy(BENCH / "CIFAR10_FAST_TUNING.md", page)
    tune.write_summary(page, log=BENCH / "cifar10_fast_tuning.json")
    assert page.read_text() == (BENCH / "CIFAR10_FAST_TUNING.md").read_text()
    records = tune.read_log(BENCH / "cifar10_fast_tuning.json")
    rows = tune.provenance_record(records)["trials"]
    assert [t["differences"] for t in rows] == [{}] * len(records)
    found = tune.chosen_trial(records, tune.committed_config())
    assert found is not None and found[1]["name"] == "lr0.05-l2x4"


@pytest.mark.slow
def test_depth_page_regenerates_from_its_log(tmp_path):
    """DEPTH_DIAGNOSIS.md's tables and provenance are what 'table --write' makes of the committed
    JSON, and every run's recorded design settings are the driver's."""
    depth = _load("depth_diagnosis.py")
    page = tmp_path / "page.md"
    shutil.copy(BENCH / "DEPTH_DIAGNOSIS.md", page)
    depth.print_tables(depth.load_results(BENCH / "depth_diagnosis.json"), write=True, markdown=page)
    assert page.read_text() == (BENCH / "DEPTH_DIAGNOSIS.md").read_text()
    for r in depth.load_results(BENCH / "depth_diagnosis.json")["runs"]:
        assert depth._settings_diff(r["design_settings"], depth.DESIGNS[r["design"]]) == {}
        assert tuple(r[k] for k in ("family", "depth", "width", "fc_width", "fc_layers")) == \
            depth.DESIGNS[r["design"]].configs[r["config"]]


@pytest.mark.slow
def test_dropout_pilot_page_regenerates_from_its_log(tmp_path):
    """DROPOUT_PILOT.md's tables are what 'table --write' makes of the committed log, every run's
    regime is the driver's, and its seeds are the dropout claim's registered pilot seeds."""
    from replication import registry

    pilot = _load("dropout_pilot.py")
    page = tmp_path / "page.md"
    shutil.copy(BENCH / "DROPOUT_PILOT.md", page)
    data = pilot.load_log(BENCH / "dropout_pilot.json")
    pilot.write_page(data, page)
    assert page.read_text() == (BENCH / "DROPOUT_PILOT.md").read_text()
    for r in data["runs"]:
        assert r["settings"] == dataclasses.asdict(pilot.REGIMES[r["regime"]])
    assert {r["seed"] for r in data["runs"]} == set(registry.get("dropout").pilot_seeds)


@pytest.mark.slow
def test_filters_control_pilot_page_regenerates_from_its_log(tmp_path):
    """FILTERS_CONTROL_PILOT.md's tables are what 'table --write' makes of the committed log, every
    run used the claim's quick settings of today, and its seed is one of the claim's pilot seeds."""
    import dataclasses as dc

    from replication import registry
    from replication.claims import filters_layer1

    pilot = _load("filters_control_pilot.py")
    page = tmp_path / "page.md"
    shutil.copy(BENCH / "FILTERS_CONTROL_PILOT.md", page)
    data = pilot.load_log(BENCH / "filters_control_pilot.json")
    pilot.write_page(data, page)
    assert page.read_text() == (BENCH / "FILTERS_CONTROL_PILOT.md").read_text()
    for r in data["runs"]:
        assert r["settings"] == json.loads(json.dumps(dc.asdict(filters_layer1.PROFILES["quick"])))
    assert {r["seed"] for r in data["runs"]} <= set(registry.get("filters-layer1").pilot_seeds)


def test_depth_convergence_page_regenerates_from_its_log(tmp_path):
    """Fast: DEPTH_CONVERGENCE_PILOT.md's tables are what 'table --write' makes of the committed
    log, and the pilot's seed is a registered pilot seed of depth-width (judged runs avoid it)."""
    from replication import registry

    pilot = _load("depth_convergence_pilot.py")
    page = tmp_path / "page.md"
    shutil.copy(BENCH / "DEPTH_CONVERGENCE_PILOT.md", page)
    data = pilot.load_log(BENCH / "depth_convergence_pilot.json")
    pilot.write_page(data, page)
    assert page.read_text() == (BENCH / "DEPTH_CONVERGENCE_PILOT.md").read_text()
    for run in data["runs"]:
        assert set(run["settings"]["seeds"]) <= set(registry.get("depth-width").pilot_seeds)



def test_the_bfloat16_machine_script_refuses_bad_steps_before_it_touches_anything(tmp_path):
    """``benchmarks/bf16_machine.sh`` trains for hours where it runs: a wrong step name stops it
    with one line and exit 2 before it makes anything; so does any call on a CPU without native
    bfloat16 (checked where this is one)."""
    out = tmp_path / "out"

    def script(*steps):
        return subprocess.run(["bash", str(BENCH / "bf16_machine.sh"), str(out), *steps],
                              capture_output=True, text=True, timeout=60)

    proc = script("claims", "nosuch")
    assert proc.returncode == 2 and not out.exists()
    assert proc.stderr.strip().splitlines() == [
        "benchmarks/bf16_machine.sh: unknown step 'nosuch' (claims, bench, fast, probe, publish)"]
    flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("flags")), "") if Path("/proc/cpuinfo").exists() else None
    if flags is None or {"avx512_bf16", "amx_bf16"} & set(flags.split()):
        return  # not Linux, or a bfloat16 CPU: a valid call would start the runs
    proc = script("publish")
    assert proc.returncode == 2 and not out.exists() and "no native bfloat16" in proc.stderr


def test_the_gpu_script_refuses_bad_steps_and_missing_data_in_one_line(tmp_path):
    """``benchmarks/gpu_device.sh`` spends a lent GPU's few minutes: a wrong step, or a data dir
    without MNIST, stops it with one line and exit 2 before it writes anything (its end-to-end
    run on the CPU is in tests/test_jax_backend.py)."""
    out = tmp_path / "out"

    def script(*args, **env):
        return subprocess.run(["bash", str(BENCH / "gpu_device.sh"), *args], capture_output=True,
                              text=True, timeout=120, env={**os.environ, "OUT": str(out), **env})

    proc = script("nosuch")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "benchmarks/gpu_device.sh: unknown step 'nosuch' (prepare here, measure on the GPU machine)"]
    proc = script("prepare", str(tmp_path / "nodata"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "no MNIST at" in proc.stderr and "nodata" in proc.stderr
    proc = script("measure", GPU_DATA=str(tmp_path / "nodata"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "no MNIST at" in proc.stderr and not out.exists()
