"""The README's generated tables match the registry and the committed reference results."""

from __future__ import annotations

from replication import docs


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
