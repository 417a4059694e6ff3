"""`filters-layer1`: replication/claims/filters_layer1.py, registry entry CLAIMS["filters-layer1"].

The structure measures of replication/filters.py (spectral concentration, orientation, colour
share, the colour threshold of random filters, the per-network summary, the Mann-Whitney effect
size), the filters CNN and its permuted-pixel control (models.PixelPermutation), the verdicts, and
the claim in smoke on synthetic data with its figures.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from _helpers import REST_OF_FAMILY_SIGNIFICANT, check_reports_every_judged_metric
from conftest import REPO

from replication import data, filters, models, plotting, registry, results, runner, verdicts


def _gabor(k=7, theta=0.6, freq=0.2):
    y, x = np.mgrid[:k, :k] - (k - 1) / 2
    u = x * np.cos(theta) + y * np.sin(theta)
    return np.exp(-(x ** 2 + y ** 2) / (2 * (k / 4) ** 2)) * np.cos(2 * np.pi * freq * u)


def _colour_blob(channel=0, k=7, opponent=False):
    """A smooth blob in one channel, or (``opponent``) that channel minus the next one."""
    blob = np.zeros((k, k, 3, 1))
    blob[..., channel, 0] = np.exp(-((np.mgrid[:k, :k] - (k - 1) / 2) ** 2).sum(0) / 8)
    if opponent:
        blob[..., (channel + 1) % 3, 0] = -blob[..., channel, 0]
    return blob


def test_structure_measures_tell_edges_and_blobs_from_noise():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(7, 7, 3, 200))
    edge = np.repeat(_gabor()[:, :, None, None], 3, axis=2)
    blob = _colour_blob()  # a red blob
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


def test_random_filters_colour_reference():
    """Random filters have a colour share of about 2/3 (two of every pixel's three channel
    directions are not grey; for Gaussian weights it is Beta(k*k*(C-1)/2, k*k/2), and uniform
    weights, Keras's glorot_uniform, come close), and the colour part of a random filter is noise.
    The reference is drawn once from a fixed seed; Keras's own initial filters match it."""
    from scipy import stats

    ref = filters.random_colour_reference((7, 7, 3))
    assert ref == filters.random_colour_reference((7, 7, 3))  # fixed draw
    assert ref["colour_share"] == pytest.approx(
        stats.beta(49, 24.5).ppf(filters.COLOUR_QUANTILE), abs=0.005)
    assert ref["min_share"] == filters.COLOUR_MIN_SHARE
    assert 0.05 < ref["threshold"] < 0.15  # noise: the colour part's concentration is low
    assert ref["fraction"] == pytest.approx(1 - filters.COLOUR_QUANTILE, abs=0.002)
    # Keras's own initial filters (100 layers of 64): colour blobs about as often as the reference.
    init = np.asarray(keras.initializers.GlorotUniform(seed=3)((7, 7, 3, 6400)))
    assert np.mean(filters.colour_blobs(init, ref["threshold"])) == pytest.approx(ref["fraction"],
                                                                                  abs=0.01)


def test_colour_blobs_are_coloured_patterns_not_coloured_noise():
    ref = filters.random_colour_reference((7, 7, 3))
    edge = np.repeat(_gabor()[:, :, None, None], 3, axis=2)
    red, opponent = _colour_blob(0), _colour_blob(0, opponent=True)
    # A blob in one channel has a colour share of exactly 2/3, as random filters on average: the
    # share alone cannot tell it from noise; the pattern of its colour part can.
    assert filters.colour_share(red)[0] == pytest.approx(2 / 3)
    assert filters.colour_share(opponent)[0] == pytest.approx(1.0)
    assert filters.chromatic_concentration(red)[0] > 0.6
    bank = np.concatenate([edge, red, opponent], -1)
    assert filters.colour_blobs(bank, ref["threshold"]).tolist() == [False, True, True]
    # A grey edge with a faint structured tint is not a colour blob (under a third of its energy).
    tinted = edge + 0.1 * red * np.abs(edge).max() / red.max()
    assert filters.chromatic_concentration(tinted)[0] > ref["threshold"]
    assert not filters.colour_blobs(tinted, ref["threshold"])[0]


def test_network_summary_is_one_network_in_a_few_numbers():
    ref = filters.random_colour_reference((7, 7, 3))
    edges = np.repeat(_gabor()[:, :, None, None], 3, axis=2).repeat(48, -1)  # grey edges
    blobs = np.concatenate([_colour_blob(c, opponent=c % 2 == 0) for c in (0, 1, 2, 0)],
                           -1).repeat(4, -1)  # 16 colour blobs
    s = filters.network_summary(np.concatenate([edges, blobs], -1), ref)
    assert s["structure_median"] == pytest.approx(filters.spectral_concentration(edges)[0])
    assert s["colour_fraction"] == 16 / 64
    assert s["colour_excess"] == pytest.approx(16 / 64 - ref["fraction"])
    # The colour share alone counts only the opponent blobs (share 1), not the one-channel ones.
    assert s["colour_share_excess"] == pytest.approx(12 / 64 - (1 - filters.COLOUR_QUANTILE))
    assert s["colour_share_median"] < 1e-12
    noise = np.random.default_rng(0).uniform(-1, 1, size=(7, 7, 3, 64 * 200))
    nets = [filters.network_summary(noise[..., i:i + 64], ref) for i in range(0, noise.shape[-1], 64)]
    assert abs(np.mean([n["colour_excess"] for n in nets])) < 0.01  # random: no blobs beyond chance
    assert abs(np.mean([n["colour_share_excess"] for n in nets])) < 0.01
    assert np.std([n["structure_median"] for n in nets]) < 0.005  # random networks' medians agree
    assert "colour_excess" not in filters.network_summary(edges)  # no reference, no fraction


def test_filters_cnn_shape():
    model = models.filters_cnn()
    assert model.count_params() == 382_858
    assert model.get_layer("conv1").kernel.shape == (7, 7, 3, 64)


def test_the_control_is_the_same_network_behind_a_pixel_permutation():
    """Same parameters and, for a seed, the same initial weights; the permutation sits right after
    the augmentation (flips and shifts act on the natural image) and before conv1."""
    keras.utils.set_random_seed(5)
    plain = models.filters_cnn()
    keras.utils.set_random_seed(5)
    control = models.filters_cnn(permute_pixels=1729)
    assert control.count_params() == plain.count_params()
    names = [layer.name for layer in control.layers]
    assert names[:3] == ["augmentation", "pixel_permutation", "conv1"]
    kinds = [type(layer).__name__ for layer in control.layers]
    assert kinds[1:] == ["PixelPermutation"] + [type(layer).__name__ for layer in plain.layers][1:]
    assert all(np.array_equal(a, b) for a, b in zip(plain.get_weights(), control.get_weights(),
                                                    strict=True))


def _images(n=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 32, 32, 3)).astype("float32")


def test_pixel_permutation_is_one_fixed_permutation():
    layer = models.PixelPermutation(1729)
    x = _images()
    out = np.asarray(layer(x))
    # Every image gets the same permutation of its pixel positions, and each pixel's RGB triplet
    # moves whole: output pixel i is input pixel order[i].
    order = layer.order(32, 32)
    assert sorted(order) == list(range(32 * 32)) and not np.array_equal(order, np.arange(32 * 32))
    assert np.array_equal(out.reshape(6, -1, 3), x.reshape(6, -1, 3)[:, order])
    # The multiset of pixels of each image is kept.
    for a, b in zip(x, out, strict=True):
        assert np.array_equal(np.sort(a.reshape(-1, 3), axis=0), np.sort(b.reshape(-1, 3), axis=0))
    # Identical in training and at inference, from call to call and for a new layer of the same
    # seed; another seed, another permutation.
    assert np.array_equal(np.asarray(layer(x, training=True)), out)
    assert np.array_equal(np.asarray(layer(x, training=False)), out)
    assert np.array_equal(np.asarray(models.PixelPermutation(1729)(x[:2])), out[:2])
    assert not np.array_equal(models.PixelPermutation(1730).order(32, 32), order)


def test_the_permuted_model_scores_the_same_at_training_and_test_time_without_augmentation():
    """With the augmentation off, training=True and training=False differ only in BatchNorm: the
    permutation itself adds no train/test difference (checked on the layer output feeding conv1)."""
    model = models.filters_cnn(augmentation=None, permute_pixels=7)
    probe = keras.Model(model.inputs, model.get_layer("pixel_permutation").output)
    x = _images(3)
    assert np.array_equal(np.asarray(probe(x, training=True)), np.asarray(probe(x, training=False)))


def test_pixel_permutation_survives_save_and_load(tmp_path):
    model = models.filters_cnn(permute_pixels=1729)
    path = tmp_path / "control.keras"
    results.atomic_save_model(model, path)
    loaded = keras.saving.load_model(path, compile=False)
    assert isinstance(loaded.get_layer("pixel_permutation"), models.PixelPermutation)
    assert loaded.get_layer("pixel_permutation").seed == 1729
    x = _images(4)
    assert np.allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.slow  # a fresh Python and TensorFlow
def test_a_saved_control_loads_in_a_fresh_process(tmp_path):
    """Importing replication.models registers the layer: training.load_model needs nothing else."""
    model = models.filters_cnn(permute_pixels=1729)
    results.atomic_save_model(model, tmp_path / "model.keras")
    x = _images(2)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "want.npy", model.predict(x, verbose=0))
    code = ("import sys, numpy as np; from pathlib import Path; from replication import models, "
            "training; d = Path(sys.argv[1]); m = training.load_model(d, {'model': 'model.keras'}); "
            "got = m.predict(np.load(d / 'x.npy'), verbose=0); "
            "assert np.allclose(got, np.load(d / 'want.npy'), atol=1e-6); print('ok')")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def _verdict(primary, colour=None, *, train=0.9, control_train=0.9):
    """The registry's verdict on per-seed values of the primary statistic (and the colour half),
    with every gate at ``train`` except the control's, at ``control_train``."""
    claim = registry.get("filters-layer1")
    summary = {claim.metric: verdicts.summarize(primary),
               **{g.metric: verdicts.summarize([control_train if g.metric == "control_train_accuracy"
                                                else train] * len(primary)) for g in claim.gates}}
    for test in claim.also_judged:
        summary[test.metric] = verdicts.summarize(colour if colour is not None else primary)
    judged = verdicts.judge(claim, summary, profile="quick", dataset="cifar10", synthetic=False,
                            family=REST_OF_FAMILY_SIGNIFICANT)
    return judged["verdict"]


def test_filters_layer1_is_judged_per_network_by_a_paired_t_test():
    claim = registry.get("filters-layer1")
    assert claim.test_method == "t" and claim.expected == 0.0 and claim.p_metrics is None
    assert all(t.method == "t" and t.threshold == 0.0 for t in claim.also_judged)
    assert {g.metric for g in claim.gates} == {"test_accuracy", "control_train_accuracy"}
    big = 3 * claim.min_effect
    spread = [big * f for f in (0.9, 1.0, 1.1)]
    assert _verdict(spread) == verdicts.REPLICATED
    assert _verdict(spread[:2]) == verdicts.INDICATIVE  # n < 3
    small = [claim.min_effect * f for f in (0.4, 0.5, 0.6)]  # significant but below the minimum
    assert _verdict(small) == verdicts.INDICATIVE
    assert _verdict([-v for v in spread]) == verdicts.CONTRADICTED_AT_BUDGET
    # A control that learned nothing says nothing (the old design's failure).
    gate = next(g for g in claim.gates if g.metric == "control_train_accuracy")
    assert _verdict(spread, control_train=gate.at_least - 0.01) == verdicts.INCONCLUSIVE


def test_filters_layer1_pilot_seeds_are_not_judged():
    claim = registry.get("filters-layer1")
    from replication.claims import filters_layer1

    assert 100 in claim.pilot_seeds and "benchmarks/filters_control_pilot.py" in claim.pilot
    for profile in ("quick", "paper"):
        assert not set(filters_layer1.PROFILES[profile].seeds) & set(claim.pilot_seeds), profile


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
    check_reports_every_judged_metric(saved)
    summary = saved["summary"]
    assert summary["structure_vs_permuted_pixels"]["n"] == 1
    assert -1.0 <= summary["structure_vs_permuted_pixels"]["mean"] <= 1.0
    assert 0.0 <= summary["structure_A_vs_init"]["mean"] <= 1.0
    assert 0.0 <= summary["control_train_accuracy"]["mean"] <= 1.0
    (net,) = saved["measured"]["networks"]
    # The statistics are per network: the trained median less the control's median.
    assert summary["structure_vs_permuted_pixels"]["mean"] == pytest.approx(
        net["trained"]["structure_median"] - net["permuted_pixels"]["structure_median"])
    assert summary["colour_excess"]["mean"] == pytest.approx(net["trained"]["colour_excess"])
    # Same seed, same initial filters: the control's saved initial bank is the trained one's.
    banks = sorted((tmp_path / "smoke/cifar10/filters-layer1" / saved["runs_dir"]).rglob(
        "initial_conv1.npz"))
    assert len(banks) == 2 and any("permuted_pixels" in str(p) for p in banks)
    with np.load(banks[0]) as a, np.load(banks[1]) as b:
        assert np.array_equal(a["kernel"], b["kernel"])
    arrays = store.load_arrays("smoke", "cifar10", "filters-layer1")
    assert arrays["trained_kernels"].shape == arrays["initial_kernels"].shape == (7, 7, 3, 64)
    assert arrays["permuted_pixel_kernels"].shape == (7, 7, 3, 64)
    assert not np.allclose(arrays["trained_kernels"], arrays["permuted_pixel_kernels"])
    assert not np.allclose(arrays["trained_kernels"], arrays["initial_kernels"])  # one epoch moved them
    assert arrays["cifar10_aug_kernels"].shape == (3, 3, 3, 32)

    for name in ("filters_layer1", "filter_structure"):
        spec = importlib.util.spec_from_file_location(f"plot_{name}", plotting.figure_script(name))
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        assert script.main(["--results-dir", str(tmp_path), "--profile", "smoke",
                            "--out", str(tmp_path / "fig")]) == 0
        assert (tmp_path / "fig" / f"{name}.png").stat().st_size > 10_000
