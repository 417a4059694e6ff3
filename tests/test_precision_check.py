"""The side-by-side precision check compares like with like, against the registered margins."""

from __future__ import annotations

import pytest

from replication import precision_check, registry, results, verdicts
from replication.errors import ReplicationError


def _save(root, claim_id, precision, values, config=None, cpu="x"):
    claim = registry.get(claim_id)
    results.Store(root).save({
        "claim": claim_id, "profile": "quick", "dataset": claim.dataset, "precision": precision,
        "config": config or {"epochs": 4}, "seeds": [0, 1, 2],
        "summary": {claim.metric: verdicts.summarize(values)},
        "provenance": {"git": {"commit": "abc"}, "hardware": {"cpu": cpu, "cpu_count": 2}}})


def test_agree_differ_missing_and_not_comparable(tmp_path):
    a, b = tmp_path / "f32", tmp_path / "bf16"
    _save(a, "mnist-cnn", "float32", [0.9940, 0.9945, 0.9942])
    _save(b, "mnist-cnn", "bfloat16", [0.9938, 0.9944, 0.9940])  # 0.02 points apart
    _save(a, "cifar10-fast", "float32", [0.900, 0.902, 0.901])
    _save(b, "cifar10-fast", "bfloat16", [0.890, 0.892, 0.891])  # 1 point apart: more than 0.6
    rows = {r["claim"]: r for r in precision_check.compare(a, b)}
    assert rows["mnist-cnn"]["status"] == "agree"
    assert rows["mnist-cnn"]["delta"] == pytest.approx(-0.0001 - 0.00005 / 1.5, abs=1e-4)
    assert rows["cifar10-fast"]["status"] == "differ"
    _save(b, "cifar10-fast", "bfloat16", [0.901] * 3, config={"epochs": 5})
    assert {r["claim"]: r for r in precision_check.compare(a, b)}["cifar10-fast"]["status"].startswith("not comparable")
    assert {r["claim"]: r for r in precision_check.compare(a, tmp_path / "none")}["mnist-cnn"]["status"] == "missing: bfloat16"
    with pytest.raises(ReplicationError, match="not bfloat16"):
        precision_check.compare(a, a)


def test_the_table_says_where_each_pair_came_from(tmp_path):
    a, b = tmp_path / "f32", tmp_path / "bf16"
    _save(a, "mnist-cnn", "float32", [0.9940, 0.9945, 0.9942])
    _save(b, "mnist-cnn", "bfloat16", [0.9938, 0.9944, 0.9940])
    md = precision_check.markdown(precision_check.compare(a, b))
    # Commits and machine of the pair; no wall time recorded in these results: a dash, not a number.
    assert "| `mnist-cnn` | quick | abc / abc |" in md and "| — / — | — |" in md


def test_a_comparison_claim_is_judged_in_its_own_unit_and_each_machine_is_named(tmp_path):
    """filters-layer1's statistic is on a 0-1 scale, not a percentage: its difference and margin are
    shown as numbers, not 'points'; a pair run on two machines names both."""
    a, b = tmp_path / "f32", tmp_path / "bf16"
    _save(a, "filters-layer1", "float32", [0.150, 0.152, 0.151], cpu="AMD EPYC")
    _save(b, "filters-layer1", "bfloat16", [0.143, 0.145, 0.144], cpu="Intel Xeon")  # 0.007 apart
    row = {r["claim"]: r for r in precision_check.compare(a, b)}["filters-layer1"]
    assert row["margin"] == registry.PRECISION_CHECK_MARGINS["filters-layer1"] == 0.01
    assert row["status"] == "agree" and row["delta"] == pytest.approx(-0.007)
    md = precision_check.markdown([row])
    assert "| -0.0070 | 0.01 | **agree** |" in md and "points" not in md
    assert "float32: CPU only: AMD EPYC (2 cores); bfloat16: CPU only: Intel Xeon (2 cores)" in md
    _save(b, "filters-layer1", "bfloat16", [0.138, 0.140, 0.139], cpu="Intel Xeon")  # 0.012 apart
    assert {r["claim"]: r for r in precision_check.compare(a, b)}["filters-layer1"]["status"] == "differ"


def test_a_check_on_new_folders_keeps_the_earlier_pairs_they_lack(tmp_path):
    """The CIFAR-10 pairs come from other folders (and machines) than the MNIST one: a check of the
    new folders keeps the pairs only the earlier file holds, judged again by today's margin, and
    a pair in both comes from the new folders."""
    a, b, out = tmp_path / "f32", tmp_path / "bf16", tmp_path / "out"
    _save(a, "mnist-cnn", "float32", [0.9940, 0.9945, 0.9942])
    _save(b, "mnist-cnn", "bfloat16", [0.9938, 0.9944, 0.9940])
    first = {r["claim"]: r for r in precision_check.run(a, b, out, log=lambda *x: None)}
    assert first["mnist-cnn"]["status"] == "agree" and first["filters-layer1"]["status"].startswith("missing")
    c, d = tmp_path / "f32b", tmp_path / "bf16b"
    _save(c, "filters-layer1", "float32", [0.150, 0.152, 0.151])
    _save(d, "filters-layer1", "bfloat16", [0.143, 0.145, 0.144])
    second = {r["claim"]: r for r in precision_check.run(c, d, out, log=lambda *x: None)}
    assert second["filters-layer1"]["status"] == "agree" and second["filters-layer1"]["float32_results"] == str(c)
    assert second["mnist-cnn"]["status"] == "agree" and second["mnist-cnn"]["float32_results"] == str(a)
    assert second["mnist-cnn"]["checked"] == first["mnist-cnn"]["checked"]
    assert second["cifar10-fast"]["status"].startswith("missing")
    saved = results.read_json(out / "precision_check.json")
    assert {r["claim"]: r["status"] for r in saved["rows"]} == {k: r["status"] for k, r in second.items()}
    # An earlier file in the old layout (folders and date once, at the top) reads the same way.
    old = {"rows": [{**saved["rows"][0], "delta": 0.004}], "checked": "2026-11-29T15:40:49+00:00",
           "float32_results": "/old/f32", "bfloat16_results": "/old/bf16"}
    for k in ("checked", "float32_results", "bfloat16_results"):
        old["rows"][0].pop(k)
    kept = precision_check.merged(precision_check.compare(c, d), old)
    assert kept[0]["claim"] == "mnist-cnn" and kept[0]["status"] == "differ"  # 0.4 points > 0.3
    assert kept[0]["float32_results"] == "/old/f32" and kept[0]["checked"].startswith("2026-11-29")


def test_a_folder_that_holds_a_claim_in_the_other_precision_is_not_that_pairs_half(tmp_path):
    """The reference ran MNIST in float32 and CIFAR-10 in bfloat16: checked as the bfloat16 side of
    a CIFAR-10 pair, its mnist-cnn result is 'missing', said why, not an error that stops the
    check. With nothing comparable and results of the wrong precision, the folders were swapped."""
    a, b = tmp_path / "f32", tmp_path / "ref"
    _save(a, "cifar10-aug", "float32", [0.010, 0.005, 0.011])
    _save(b, "cifar10-aug", "bfloat16", [0.004, 0.001, 0.003])
    _save(b, "mnist-cnn", "float32", [0.9940, 0.9945, 0.9942])
    rows = {r["claim"]: r for r in precision_check.compare(a, b)}
    assert rows["cifar10-aug"]["status"] == "agree"
    assert rows["mnist-cnn"]["status"] == f"missing: float32, bfloat16 ({b} holds a float32 run)"
    with pytest.raises(ReplicationError, match="the cifar10-aug result there is bfloat16, not float32"):
        precision_check.compare(b, a)

