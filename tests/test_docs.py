"""The README's generated tables match the registry and the committed reference results."""

from __future__ import annotations

import importlib
import re

import pytest
from conftest import REPO

from replication import display, docs


def test_readme_tables_are_current():
    text = docs.README.read_text()
    assert docs.render_readme(text) == text, "run `python -m replication readme`"


def test_claims_table_lists_every_registered_claim(tmp_path):
    from replication.registry import CLAIMS

    table = docs.claims_table(tmp_path)  # an empty results dir: every claim "not run"
    for claim_id in CLAIMS:
        assert f"`{claim_id}`" in table
    assert table.count("not run") == len(CLAIMS)


def test_publish_copies_results_but_no_weights(tmp_path):
    src = tmp_path / "results" / "quick" / "mnist" / "c"
    (src / "runs" / "abc" / "seed0").mkdir(parents=True)
    (src / "runs" / "abc" / "seed0" / "model.keras").write_bytes(b"w")
    (src / "result.json").write_text("{}")
    (src / "arrays.npz").write_bytes(b"npz")
    dest = docs.publish_reference(tmp_path / "results", "quick", dest=tmp_path / "ref", log=lambda *a: None)
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == ["mnist/c/arrays.npz", "mnist/c/result.json"]


def test_a_run_scales_to_the_reference_machine_by_its_own_precision_s_matmul_rate():
    """A bfloat16 run is scaled by its bfloat16 calibration, a float32 run by its float32 one: a
    bfloat16 wall time scaled by the float32 rate would promise a float32 machine half the time."""
    cal = {"seconds": 1.0, "matmul_gflops_float32": 300.0, "matmul_gflops_bfloat16": 750.0}
    bf16 = {"provenance": {"precision": "bfloat16", "calibration": cal}}
    f32 = {"provenance": {"precision": "float32", "calibration": {"matmul_gflops_float32": 300.0}}}
    assert docs.at_reference_speed(60.0, bf16) == 60.0 * 7.5
    assert docs.at_reference_speed(60.0, f32) == 60.0 * 3.0
    assert docs.at_reference_speed(60.0, {"provenance": {}}) is None


def test_the_runtime_table_totals_a_claim_with_its_own_budget_apart():
    table = docs.runtime_table(docs.results.REFERENCE_DIR)
    totals = [line for line in table.splitlines() if "**all of the above" in line or "its own budget" in line]
    assert len(totals) == 2, totals
    assert "but cifar10-fast" in totals[0] and "cifar10-fast" in totals[1]


# Every `replication.x.y` and `replication/x/y.py` the README quotes, wherever it stands (prose,
# backticks, code blocks); `python -m replication run` (a space, not a dot or slash) is a command.
# Not preceded by a word character, dot, slash or dash: `github.com/o/replication/x` is no name.
_README_NAME = re.compile(r"(?<![\w./-])replication[./][\w./<>*-]*")


def readme_names(text: str) -> tuple[list[str], list[str]]:
    """(dotted names, paths) quoted in ``text``; placeholders such as
    ``replication.claims.<module>`` and globs are left out: they name no one thing."""
    dotted, paths = set(), set()
    for match in _README_NAME.finditer(text):
        name = match.group().rstrip(".")  # a sentence's full stop
        if any(c in name for c in "<>*"):
            continue
        (paths if "/" in name else dotted).add(name)
    return sorted(dotted), sorted(paths)


def _resolves(dotted: str) -> bool:
    """Whether ``dotted`` is a module, or an attribute (however nested) of its longest module."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError as exc:
            if exc.name is None or not f"{dotted}.".startswith(f"{exc.name}."):
                raise  # the module exists but one of its own imports is missing: not a README typo
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def _in_checkout(path: str) -> bool:
    """Whether a package path exists in the checkout, through pyproject.toml's package-dir (the
    wheel's ``replication/figure_scripts/`` is the checkout's ``figures/``)."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    package_dir = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"].get(
        "package-dir", {})
    parts = path.rstrip("/").split("/")
    for i in range(len(parts), 0, -1):  # the longest mapped package wins, as in setuptools
        folder = package_dir.get(".".join(parts[:i]))
        if folder is not None:
            return (REPO / folder).joinpath(*parts[i:]).exists()
    return (REPO / path).exists()


def test_readme_name_extraction():
    text = ("Run `python -m replication run mnist-cnn` (see `replication.hardware.strategy`).\n"
            "Each claim is `replication.claims.<module>`; the registry: replication/registry.py.\n"
            "$REPLICATION_DATA_DIR, https://example.org/x/replication/y.py, `replication/figures/`")
    assert readme_names(text) == (["replication.hardware.strategy"],
                                  ["replication/figures/", "replication/registry.py"])


def test_the_readme_names_only_modules_functions_and_files_that_exist():
    dotted, paths = readme_names(docs.README.read_text())
    assert dotted and paths  # the extraction found what the README is known to quote
    missing = [name for name in dotted if not _resolves(name)]
    missing += [path for path in paths if not _in_checkout(path)]
    assert not missing, f"README.md names what does not exist: {missing}"


def test_rejudge_rewrites_only_verdicts_of_fresh_results_and_lists_the_stale(tmp_path):
    import json
    import shutil

    from replication import results, verdicts

    root = tmp_path / "results"
    shutil.copytree(results.REFERENCE_DIR, root)
    before = docs.rejudge(root, write=False, log=lambda *a: None)
    assert before["changed"] == [], "the committed verdicts are not today's: `python -m replication rejudge`"
    mlp_vs_cnn = root / "quick" / "mnist" / "mlp-vs-cnn" / "result.json"
    # A level claim: outside the effect tests' family, so its going stale moves no other p.
    mnist_mlp = root / "quick" / "mnist" / "mnist-mlp" / "result.json"
    tampered = json.loads(mlp_vs_cnn.read_text())
    tampered["verdict"] = tampered["verdict_detail"]["verdict"] = verdicts.REPLICATED
    mlp_vs_cnn.write_text(json.dumps(tampered))
    stale = json.loads(mnist_mlp.read_text())
    stale["registry_entry"] = "000000000000"
    mnist_mlp.write_text(json.dumps(stale))
    (root / "quick" / "mnist" / "x").mkdir()
    (root / "quick" / "mnist" / "x" / "result.json").write_text("{}")
    lines = []
    out = docs.rejudge(root, log=lines.append)
    assert out["changed"] == [("quick/mnist/mlp-vs-cnn", verdicts.REPLICATED, verdicts.INDICATIVE)]
    assert sorted(out["stale"]) == sorted([*before["stale"], "quick/mnist/mnist-mlp"])
    assert out["invalid"] == ["quick/mnist/x"]
    assert any("stale" in line and "quick/mnist/mnist-mlp" in line for line in lines)
    assert json.loads(mlp_vs_cnn.read_text())["verdict"] == verdicts.INDICATIVE
    assert json.loads(mnist_mlp.read_text()) == stale  # a stale result is listed, never re-judged
    assert docs.rejudge(root, log=lambda *a: None)["changed"] == []


def _judged_result(claim_id, values, seeds=(3, 4, 5), **summary):
    from replication import registry, verdicts

    claim = registry.get(claim_id)
    s = {claim.metric: verdicts.summarize(values),
         **{g.metric: verdicts.summarize([1.0] * len(values)) for g in claim.gates},
         **{k: verdicts.summarize(v) for k, v in summary.items()}}
    v = verdicts.judge(claim, s, profile="quick", dataset=claim.dataset, synthetic=False,
                       seeds=len(seeds), seed_ids=list(seeds))
    return claim, {"summary": s, "verdict_detail": v, "verdict": v["verdict"], "n": len(seeds),
                   "seeds": list(seeds), "registry_entry": v["registry_entry"], "claim": claim_id}


def test_the_p_column_shows_the_p_that_decided_with_its_direction_raw_and_adjusted():
    import dataclasses

    from replication import display, verdicts

    # Reversed: the reverse p decides; judged alone, Holm over 11 = 11 x raw.
    claim, result = _judged_result("mlp-vs-cnn", [1.0, 1.5, 0.5])
    _, p, _ = display.test_cells(claim, result)
    raw = result["verdict_detail"]["test"]["p_raw"]
    assert p == f"{display.p_text(11 * raw)} (reverse; raw {display.p_text(raw)}, Holm)"
    # Shown, not judged (its seeds repeat a pilot's): the raw p with its direction, and the row.
    claim, result = _judged_result("mlp-vs-cnn", [3.0, 2.5, 3.5], seeds=(0, 1, 2))
    piloted = dataclasses.replace(claim, pilot_seeds=(0,))
    result["verdict_detail"] = verdicts.judge(piloted, result["summary"], profile="quick", dataset="mnist",
                                              synthetic=False, seeds=3, seed_ids=[0, 1, 2])
    p = display.test_cells(piloted, result)[1]
    assert p.startswith("none decided (row P); raw 0.037 (lecture's direction)")


def test_a_level_row_shows_the_mean_s_one_sided_bound_beside_its_threshold_and_a_comparative_row_its_unit():
    from replication import display

    claim, result = _judged_result("mnist-cnn", [0.9942, 0.9935, 0.9950])
    reproduced, p, _ = display.test_cells(claim, result)
    assert reproduced.startswith("99.42 ± 0.08% (n=3); one-sided 95% lower bound 99.30% vs threshold 99.34%")
    assert p == "—"
    claim, result = _judged_result("cifar10-noaug", [0.1, 0.2, 0.15], loss_rise_vs_aug=[0.3, 0.31, 0.32])
    reproduced, p, _ = display.test_cells(claim, result)
    assert reproduced == f"{claim.quantity}: 0.15 ± 0.05 (n=3)" and "accuracy as a fraction" in reproduced
    assert "; beside, test-loss rise from its minimum, without minus with augmentation" in p


def test_a_runs_cpu_share_and_load_stand_beside_its_wall_time():
    """The reference's CIFAR-10 runs shared 2 cores with other jobs (issue #22), which no result
    said: a result that records its CPU use shows it; one made before shows nothing more."""
    used = docs.results.cpu_use(300.0, 200.0, 5.9)
    assert used["cpu_share"] == pytest.approx(300.0 / (200.0 * used["cores"]), abs=1e-3)
    text = display.cpu_use_text({**used, "cores": 2, "cpu_share": 0.75, "load_average_end": 6.2})
    assert text == " (CPU share 0.75 of 2 cores; load 5.9 -> 6.2)"
    assert display.cpu_use_text(None) == "" and display.cpu_use_text({"cpu_share": None}) == ""
    assert display.cpu_use_text({**used, "cores": 2, "cpu_share": 0.5, "load_average_start": None}) \
        == " (CPU share 0.50 of 2 cores)"
    assert display.cpu_use_text({**used, "cores": 2, "cpu_share": 0.5, "others_cpu_share": 0.41,
                                 "load_average_start": None}) == " (CPU share 0.50 of 2 cores, others 0.41)"
    # Others' share: the host's busy CPU seconds less this process's, over the host's total.
    assert docs.results.others_cpu_share((10.0, 100.0), (15.0, 110.0), 2.0) == pytest.approx(0.3)
    assert docs.results.others_cpu_share((10.0, 100.0), (15.0, 110.0), 9.0) == 0.0  # clock skew
    assert docs.results.others_cpu_share(None, (15.0, 110.0), 2.0) is None
    here = docs.results.host_cpu_seconds()
    if here is not None:  # Linux
        assert 0 <= here[0] <= here[1]
