"""filters-layer1, top-patches, alexnet: receptive fields, structure measures, smoke runs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from replication import data, filters, models, registry, results, runner, verdicts

REPO = Path(__file__).resolve().parents[1]


def _sizes(model):
    return [(rows.layer, rows.size, rows.jump) for rows, cols in filters.receptive_fields(model)]


def test_receptive_fields_of_the_lecture_cifar_cnn_by_hand():
    # 3x3 convs add 2 x jump, 2x2 pools add 1 x jump and double it:
    # 3, 5 | pool 6 (j 2) | 10, 14 | pool 16 (j 4) | 24, 32 | pool 36 (j 8)
    sizes = [(s, j) for _, s, j in _sizes(models.cifar10_vgg())]
    assert sizes == [(3, 1), (5, 1), (6, 2), (10, 2), (14, 2), (16, 4), (24, 4), (32, 4), (36, 8)]
    # The augmentation layer in front changes nothing.
    assert [(s, j) for _, s, j in _sizes(models.cifar10_vgg(augmentation="lecture"))] == sizes


def test_receptive_fields_of_alexnet_are_the_published_ones():
    # conv1 11 (stride 4); pool1 11 + 2*4 = 19; conv2 19 + 4*8 = 51; pool2 67; conv3-5 99, 131, 163;
    # pool5 195 (jump 32), as tabulated by Araujo et al. (Distill 2019) for AlexNet.
    got = {name: (s, j) for name, s, j in _sizes(models.alexnet())}
    assert got == {"conv1": (11, 4), "pool1": (19, 8), "conv2": (51, 8), "pool2": (67, 16),
                   "conv3": (99, 16), "conv4": (131, 16), "conv5": (163, 16), "pool5": (195, 32)}


def test_receptive_field_windows_match_what_each_unit_actually_sees():
    """Finite differences on a linear network (strided 'same' conv, valid conv, average pool):
    the input pixels that move one output unit are exactly its computed window, also at the
    border, where 'same' padding cuts the window off."""
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((19, 19, 1)),
        layers.Conv2D(2, 5, strides=2, padding="same", name="a"),
        layers.AveragePooling2D(2, name="p"),
        layers.Conv2D(1, 3, padding="valid", name="b"),
    ])
    rng = np.random.default_rng(0)
    for w in model.weights:
        w.assign(rng.uniform(0.5, 1.5, size=w.shape).astype("float32"))  # no cancellations
    rows, cols = filters.receptive_fields(model)[-1]
    assert (rows.size, rows.jump) == (5 + 1 * 2 + 2 * 4, 4)  # conv a 5 (j 2); pool +1*2 (j 4); b +2*4
    base = np.zeros((1, 19, 19, 1), "float32")
    pokes = np.zeros((19 * 19, 19, 19, 1), "float32")
    pokes[np.arange(19 * 19), np.arange(19 * 19) // 19, np.arange(19 * 19) % 19, 0] = 1.0
    out0 = model.predict(base, verbose=0)
    delta = np.abs(model.predict(pokes, verbose=0) - out0).reshape(19, 19, *out0.shape[1:3])
    for unit in [(0, 0), (1, 1), (rows.output - 1, cols.output - 1)]:
        seen = delta[:, :, unit[0], unit[1]] > 1e-6
        (r0, r1), (c0, c1) = rows.window(unit[0]), cols.window(unit[1])
        expected = np.zeros((19, 19), bool)
        expected[max(r0, 0):min(r1, 19), max(c0, 0):min(c1, 19)] = True
        assert (seen == expected).all(), unit


def test_receptive_field_refuses_layers_it_has_no_rule_for():
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2DTranspose(1, 3, name="up")])
    with pytest.raises(ValueError, match="'up'"):
        filters.receptive_fields(model)


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


def test_label_purity():
    labels = np.array([0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    index = np.array([[0, 1, 2], [0, 3, 5]])
    assert filters.label_purity(index, labels).tolist() == [1.0, pytest.approx(1 / 3)]


def test_top_patches_are_the_brightest_places_cropped_to_the_field():
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((12, 12, 1)),
                              layers.Conv2D(1, 3, padding="same", use_bias=False, name="c1"),
                              layers.Conv2D(1, 3, padding="same", use_bias=False, name="c2")])
    for w in model.weights:
        w.assign(np.ones(w.shape, "float32"))
    images = np.zeros((20, 12, 12, 1), "uint8")
    for i in range(20):  # image i has one bright pixel of value 10 + i at (i % 12, (3 * i) % 12)
        images[i, i % 12, (3 * i) % 12, 0] = 10 + i
    found = filters.top_patches(model, "c2", images, lambda x: x.astype("float32"), [0], top=3)
    assert found["image_index"][0].tolist() == [19, 18, 17]
    assert found["field"]["size"] == [5, 5]
    patches = found["patches"][0]
    assert patches.shape == (3, 5, 5, 1)
    for t, img in enumerate([19, 18, 17]):
        # The brightest unit sits on the bright pixel (or next to it at a border): the patch holds it.
        assert patches[t].max() == 10 + img


def test_filters_cnn_and_alexnet_shapes():
    model = models.filters_cnn()
    assert model.count_params() == 382_858
    assert model.get_layer("conv1").kernel.shape == (7, 7, 3, 64)
    alex = models.alexnet()
    assert models.weight_layers(alex) == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert alex.count_params() == 62_378_344
    assert models.alexnet(grouped=True).count_params() == 60_965_224


def test_structure_only_verdicts():
    claim = registry.get("alexnet")
    s = {"weight_layers": verdicts.summarize([8])}
    for profile in ("paper", "quick", "smoke"):
        assert verdicts.judge(claim, s, profile=profile, dataset="imagenet", synthetic=False,
                              verified=False)["verdict"] == verdicts.STRUCTURE_ONLY
    assert verdicts.judge(claim, {"weight_layers": verdicts.summarize([7])}, profile="quick",
                          dataset="imagenet", synthetic=False, verified=False)["verdict"] == verdicts.NOT_REPLICATED


def test_filter_verdicts_follow_the_registry():
    def verdict(claim_id, v, p, p_rev=0.99, gate=0.9):
        claim = registry.get(claim_id)
        summary = {claim.metric: verdicts.summarize(v),
                   claim.p_metrics[0]: verdicts.summarize(p), claim.p_metrics[1]: verdicts.summarize([p_rev] * len(p)),
                   **{g.metric: verdicts.summarize([gate] * len(v)) for g in claim.gates}}
        return verdicts.judge(claim, summary, profile="quick", dataset="cifar10", synthetic=False)["verdict"]

    # A large effect (A >= 0.71), significant in every seed, over 3 seeds.
    assert verdict("filters-layer1", [0.8, 0.85, 0.9], [1e-4, 1e-3, 0.01]) == verdicts.REPLICATED
    assert verdict("filters-layer1", [0.8, 0.85], [1e-4, 1e-3]) == verdicts.INDICATIVE
    assert verdict("filters-layer1", [0.65, 0.66, 0.67], [1e-4] * 3) == verdicts.INDICATIVE  # not large
    assert verdict("filters-layer1", [0.8, 0.85, 0.9], [1e-4, 0.2, 0.01]) == verdicts.INDICATIVE  # one seed not
    assert verdict("filters-layer1", [0.2, 0.3, 0.25], [0.99] * 3, p_rev=1e-3) == verdicts.CONTRADICTED_AT_BUDGET
    assert verdict("filters-layer1", [0.8, 0.85, 0.9], [1e-4] * 3, gate=0.3) == verdicts.INCONCLUSIVE
    assert verdict("top-patches", [0.1, 0.12, 0.09], [1e-3] * 3) == verdicts.REPLICATED
    assert verdict("top-patches", [0.02, 0.03, 0.02], [1e-3] * 3) == verdicts.INDICATIVE  # below 0.05
    assert verdict("top-patches", [-0.01, 0.0, -0.02], [0.7] * 3, p_rev=0.3) == verdicts.NO_EFFECT


@pytest.mark.slow  # two claims and a prerequisite in smoke
def test_filter_claims_smoke(tmp_path):
    """filters-layer1 and top-patches in smoke (each trains its prerequisite's smoke run first),
    then their figures from the saved results only."""
    store = results.Store(tmp_path)
    for claim_id in ("filters-layer1", "top-patches"):
        runner.run_claim(claim_id, profile="smoke", store=store,
                         loader=lambda name: data.synthetic(name, 256, 128), verbose=0,
                         log=lambda *a: None)
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

    saved = json.loads((tmp_path / "smoke/cifar10/top-patches/result.json").read_text())
    assert [info["receptive_field"][0] for info in saved["measured"]["layers"]] == [3, 14, 32]
    arrays = store.load_arrays("smoke", "cifar10", "top-patches")
    assert arrays["patches_0"].shape == (4, 9, 3, 3, 3)
    assert arrays["patches_2"].shape == (4, 9, 32, 32, 3)
    assert 0.0 <= saved["summary"]["purity_last_trained"]["mean"] <= 1.0
    assert 0.0 <= saved["summary"]["purity_last_untrained"]["mean"] <= 1.0
    s = saved["summary"]
    assert s["purity_vs_untrained"]["values"][0] == pytest.approx(
        s["purity_last_trained"]["values"][0] - s["purity_last_untrained"]["values"][0])
    claim = registry.get("top-patches")
    assert {claim.metric, *claim.p_metrics, *claim.reported, *(g.metric for g in claim.gates)} <= set(s)

    for name in ("filters_layer1", "filter_structure", "top_patches"):
        spec = importlib.util.spec_from_file_location(f"plot_{name}", REPO / "figures" / f"plot_{name}.py")
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        assert script.main(["--results-dir", str(tmp_path), "--profile", "smoke",
                            "--out", str(tmp_path / "fig")]) == 0
        assert (tmp_path / "fig" / f"{name}.png").stat().st_size > 10_000


def test_alexnet_claim_runs_without_data_and_ignores_dataset(tmp_path):
    result = runner.run_claim("alexnet", profile="smoke", store=results.Store(tmp_path),
                              dataset="mnist", loader=lambda name: pytest.fail("loaded data"),
                              log=lambda *a: None)
    assert result["verdict"] == verdicts.STRUCTURE_ONLY and result["dataset"] == "imagenet"
    assert result["measured"]["params_single_tower"] == 62_378_344
    assert result["measured"]["params_grouped"] == 60_965_224
    assert (result["measured"]["conv_layers"], result["measured"]["dense_layers"]) == (5, 3)
