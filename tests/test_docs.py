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
