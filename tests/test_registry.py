"""The registry's facts and the verdict logic that reads them."""

from __future__ import annotations

import importlib

import pytest

from replication import registry, verdicts
from replication.registry import CLAIMS


def test_every_claim_is_complete_and_importable_without_work():
    for claim in CLAIMS.values():
        assert claim.statement and claim.source and claim.tolerance_reason
        assert claim.criterion in ("at_least", "within", "greater_than")
        # Every trained claim has a sanity gate, and every effect claim a test that could fail.
        if not claim.structure_only:
            assert claim.gates, f"{claim.id}: no sanity gate"
            assert claim.test.method in ("t", "given") and 0 < claim.alpha <= 0.05
            if claim.test.method == "given":
                assert claim.p_metrics and claim.test_label
        for t in (claim.test, *claim.also_judged):
            assert t.kind in ("level", "effect") and t.min_effect >= 0
        module = importlib.import_module(f"replication.claims.{claim.module}")
        assert set(module.PROFILES) == set(registry.PROFILES)
        for config in module.PROFILES.values():
            assert config.dataset == claim.dataset and len(config.seeds) >= 1
        if not claim.structure_only:  # a count of layers has no seed spread to report
            assert len(module.PROFILES["paper"].seeds) >= 3, f"{claim.id}: paper needs >= 3 seeds"
        assert callable(module.run)
        assert (module.__doc__ or "").strip(), "a claim module opens with the lecture's sentence"


def test_requirements_and_figures_exist():
    from replication.plotting import figure_script

    for claim in CLAIMS.values():
        for req in claim.requires:
            assert req in CLAIMS
        for name in claim.figures:
            assert figure_script(name).is_file(), name


def test_unknown_claim():
    from replication.errors import ReplicationError

    with pytest.raises(ReplicationError, match="unknown claim 'nope'"):
        registry.get("nope")


def test_summarize():
    s = verdicts.summarize([0.98, 0.99])
    assert s["n"] == 2 and abs(s["mean"] - 0.985) < 1e-12 and abs(s["std"] - 0.00707107) < 1e-6
    assert verdicts.summarize([0.5])["std"] == 0.0


def test_the_bench_targets_are_the_notebooks_own_final_accuracies():
    """The registry is the one home of lecture numbers: the bench reads its targets there, and they
    are what the notebooks printed last (package data), not numbers of the bench's own."""
    from replication import bench, lecture

    assert not hasattr(bench, "TARGETS")
    finals = {"mnist-mlp": lecture.curve("mnist_mlp", copy="DeepLearning_2020"),
              "mnist-cnn": lecture.curve("mnist_cnn", copy="DeepLearning_2020"),
              "cifar10": lecture.curve("CNN_with_Image_Augmentation", variant="augmented")}
    for key, curve in finals.items():
        assert registry.BENCH_TARGETS[key] == pytest.approx(float(curve["val_accuracy"].iloc[-1])), key
    assert any(f"{registry.BENCH_TARGETS['cifar10']:.4f}" in line
               for line in registry.CLAIMS["cifar10-aug"].lecture_context)


def test_every_judged_effect_test_names_its_statistic_and_unit():
    """A comparative row in the README and the report says what was measured and in what unit
    (issue #23: "0.1167 ± 0.12" alone said neither)."""
    for claim in CLAIMS.values():
        if claim.structure_only:
            continue
        for test in (claim.test, *claim.also_judged):
            if test.kind == "effect":
                assert test.quantity and "(" in test.quantity, (claim.id, test.metric)


def test_the_family_is_every_judged_effect_test_and_no_level_claim():
    expected = [f"{c.id}:{t.metric}" for c in CLAIMS.values() if not c.structure_only
                for t in (c.test, *c.also_judged) if t.kind == "effect"]
    assert list(registry.EFFECT_FAMILY) == expected and len(expected) == len(set(expected)) == 11
    levels = {c.id for c in CLAIMS.values() if c.criterion == "at_least"}
    assert not {key.split(":")[0] for key in registry.EFFECT_FAMILY} & levels


def test_every_pilot_names_its_committed_driver_and_log():
    """A claim whose design a pilot chose records the pilot's seeds and where its driver and log
    are committed; each benchmarks/ path it names exists."""
    import re

    from conftest import REPO

    piloted = {c.id for c in CLAIMS.values() if c.pilot_seeds}
    assert {"depth-width", "deep-vs-wide", "cifar10-fast", "dropout"} <= piloted
    for claim in CLAIMS.values():
        assert bool(claim.pilot_seeds) == bool(claim.pilot), claim.id
        paths = re.findall(r"benchmarks/[\w.]+\.(?:py|json|md)", claim.pilot)
        if claim.pilot_seeds:
            assert any(p.endswith(".py") for p in paths) and any(p.endswith(".json") for p in paths), claim.id
        for path in paths:
            assert (REPO / path).is_file(), (claim.id, path)
