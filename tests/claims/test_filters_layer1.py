"""`filters-layer1`: replication/claims/filters_layer1.py, registry entry CLAIMS["filters-layer1"].

The structure measures of replication/filters.py (spectral concentration, orientation, colour
share, the Mann-Whitney effect size), the filters CNN, the verdicts, and the claim in smoke on
synthetic data with its figures.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from _helpers import filter_verdict

from replication import data, filters, models, plotting, registry, results, runner, verdicts


def _gabor(k=7, theta=0.6, freq=0.2):
    y, x = np.mgrid[:k, :k] - (k - 1) / 2
    u = x * np.cos(theta) + y * np.sin(theta)
    return np.exp(-(x ** 2 + y ** 2) / (2 * (k / 4) ** 2)) * np.cos(2 * np.pi * freq * u)


def test_structure_measures_tell_edges_and_blobs_from_noise():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(7, 7, 3, 200))
    edge = np.repeat(_gabor()[:, :, None, None], 3, axis=2)
    blob = np.zeros((7, 7, 3, 1))
    blob[..., 0, 0] = np.exp(-((np.mgrid[:7, :7] - 3) ** 2).sum(0) / 8)  # a red blob
    sc_noise = filters.spectral_concentration(noise)
    assert sc_noise.max() < 0.15  # white noise: about 0.04
    assert filters.spectral_concentration(edge)[0] > 0.4  # a Gabor edge: about 0.49
    assert filters.spectral_concentration(blob)[0] > 0.6  # a smooth blob: about 0.76
    # Scale-free: a filter and ten times it score the same.
    assert np.allclose(filters.spectral_concentration(10 * noise[..., :5]),
                       filters.spectral_concentration(noise[..., :5]))
    assert filters.orientation_selectivity(edge)[0] > 0.6
    assert np.median(filters.orientation_selectivity(noise)) < 0.35
    assert filters.colour_share(edge)[0] < 1e-12  # grey: the same pattern in R, G and B
    assert filters.colour_share(blob)[0] > 0.6
    stats = filters.structure_stats(np.concatenate([edge, blob], -1).repeat(20, -1), noise[..., :40])
    assert stats["spectral_concentration"]["A"] == 1.0
    assert stats["spectral_concentration"]["p_value"] < 1e-6


def test_mann_whitney_effect_size_is_half_without_a_difference():
    a = np.arange(50.0)
    assert filters.mann_whitney_greater(a, a)["A"] == pytest.approx(0.5)
    assert filters.mann_whitney_greater(a + 100, a)["A"] == 1.0


def test_filters_cnn_shape():
    model = models.filters_cnn()
    assert model.count_params() == 382_858
    assert model.get_layer("conv1").kernel.shape == (7, 7, 3, 64)


def test_filters_layer1_verdicts_follow_the_registry():
    verdict = filter_verdict
    # A large effect (A >= 0.71), significant in every seed, over 3 seeds.
    assert verdict("filters-layer1", [0.8, 0.85, 0.9], [1e-4, 1e-3, 0.01]) == verdicts.REPLICATED
    assert verdict("filters-layer1", [0.8, 0.85], [1e-4, 1e-3]) == verdicts.INDICATIVE
    assert verdict("filters-layer1", [0.65, 0.66, 0.67], [1e-4] * 3) == verdicts.INDICATIVE  # not large
    assert verdict("filters-layer1", [0.8, 0.85, 0.9], [1e-4, 0.2, 0.01]) == verdicts.INDICATIVE  # one seed not
    assert verdict("filters-layer1", [0.2, 0.3, 0.25], [0.99] * 3, p_rev=1e-3) == verdicts.CONTRADICTED_AT_BUDGET
    assert verdict("filters-layer1", [0.8, 0.85, 0.9], [1e-4] * 3, gate=0.3) == verdicts.INCONCLUSIVE


@pytest.mark.slow  # a claim and its prerequisite in smoke
def test_filters_layer1_smoke(tmp_path):
    """filters-layer1 in smoke (it trains its prerequisite's smoke run first), then its figures
    from the saved results only."""
    store = results.Store(tmp_path)
    runner.run_claim("filters-layer1", runner.RunOptions(
        profile="smoke", store=store, loader=lambda name: data.synthetic(name, 256, 128), verbose=0,
        log=lambda *a: None))
    saved = json.loads((tmp_path / "smoke/cifar10/filters-layer1/result.json").read_text())
    assert saved["verdict"] == verdicts.SYNTHETIC
    assert 0.0 <= saved["summary"]["structure_vs_shuffled"]["mean"] <= 1.0
    assert 0.0 <= saved["summary"]["structure_vs_init"]["mean"] <= 1.0
    claim = registry.get("filters-layer1")
    names = [claim.metric, *(g.metric for g in claim.gates), *(t.metric for t in claim.also_judged),
             *(t.p_metrics[i] for t in claim.also_judged for i in (0, 1)), *claim.reported, *claim.p_metrics]
    assert set(names) <= set(saved["summary"])
    arrays = store.load_arrays("smoke", "cifar10", "filters-layer1")
    assert arrays["trained_kernels"].shape == arrays["initial_kernels"].shape == (7, 7, 3, 64)
    assert arrays["shuffled_label_kernels"].shape == (7, 7, 3, 64)
    assert not np.allclose(arrays["trained_kernels"], arrays["shuffled_label_kernels"])
    assert not np.allclose(arrays["trained_kernels"], arrays["initial_kernels"])  # one epoch moved them
    assert arrays["cifar10_aug_kernels"].shape == (3, 3, 3, 32)

    for name in ("filters_layer1", "filter_structure"):
        spec = importlib.util.spec_from_file_location(f"plot_{name}", plotting.figure_script(name))
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        assert script.main(["--results-dir", str(tmp_path), "--profile", "smoke",
                            "--out", str(tmp_path / "fig")]) == 0
        assert (tmp_path / "fig" / f"{name}.png").stat().st_size > 10_000
