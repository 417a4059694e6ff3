"""`top-patches`: replication/claims/top_patches.py, registry entry CLAIMS["top-patches"].

The receptive fields of replication/filters.py (by hand, AlexNet's published ones, finite
differences), the label purity, the top patches on a hand-made network, the verdicts, and the
claim in smoke on synthetic data with its figure.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from _helpers import REST_OF_FAMILY_SIGNIFICANT

from replication import data, filters, models, plotting, registry, results, runner, verdicts


def _sizes(model):
    return [(rows.layer, rows.size, rows.jump) for rows, cols in filters.receptive_fields(model)]


def test_receptive_fields_of_the_lecture_cifar_cnn_by_hand():
    # 3x3 convs add 2 x jump, 2x2 pools add 1 x jump and double it:
    # 3, 5 | pool 6 (j 2) | 10, 14 | pool 16 (j 4) | 24, 32 | pool 36 (j 8)
    sizes = [(s, j) for _, s, j in _sizes(models.cifar10_vgg())]
    assert sizes == [(3, 1), (5, 1), (6, 2), (10, 2), (14, 2), (16, 4), (24, 4), (32, 4), (36, 8)]
    # The augmentation layer in front changes nothing.
    assert [(s, j) for _, s, j in _sizes(models.cifar10_vgg(augmentation="lecture"))] == sizes
    assert [(s, j) for _, s, j in _sizes(models.cifar10_vgg(augmentation="lecture_affine"))] == sizes


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


def _verdict(values, gate=0.9, n_family_significant=True):
    """top-patches judged from per-network values (a paired t-test over seeds), the rest of its
    family significant so that Holm leaves this test's p as it is."""
    claim = registry.get("top-patches")
    summary = {claim.metric: verdicts.summarize(values),
               **{g.metric: verdicts.summarize([gate] * len(values)) for g in claim.gates}}
    return verdicts.judge(claim, summary, profile="quick", dataset="cifar10", synthetic=False,
                          family=REST_OF_FAMILY_SIGNIFICANT if n_family_significant else None)["verdict"]


def test_top_patches_verdicts_follow_the_registry():
    """The network is the unit: one value per seed, a t-test over seeds; the gate reads the probed
    model's test accuracy."""
    claim = registry.get("top-patches")
    assert claim.test.method == "t" and claim.requires == ("cifar10-fast",)
    assert _verdict([0.10, 0.12, 0.09]) == verdicts.REPLICATED
    assert _verdict([0.02, 0.03, 0.025]) == verdicts.INDICATIVE  # significant, below the minimum
    assert _verdict([0.10, 0.12]) == verdicts.INDICATIVE  # n < 3
    assert _verdict([-0.01, 0.0, 0.005]) in (verdicts.NO_EFFECT, verdicts.INDICATIVE)
    assert _verdict([-0.10, -0.12, -0.09]) == verdicts.CONTRADICTED_AT_BUDGET
    gate = claim.gates[0].at_least
    assert _verdict([0.10, 0.12, 0.09], gate=gate - 0.01) == verdicts.INCONCLUSIVE


@pytest.mark.slow  # a claim and its prerequisite in smoke
def test_top_patches_smoke(tmp_path):
    """top-patches in smoke (it trains its prerequisite's smoke run first), then its figure from
    the saved results only."""
    store = results.Store(tmp_path)
    runner.run_claim("top-patches", runner.RunOptions(
        profile="smoke", store=store, loader=lambda name: data.synthetic(name, 256, 128), verbose=0,
        log=lambda *a: None))
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
    assert {claim.metric, *claim.reported, *(g.metric for g in claim.gates)} <= set(s)

    for name in ("top_patches",):
        spec = importlib.util.spec_from_file_location(f"plot_{name}", plotting.figure_script(name))
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        assert script.main(["--results-dir", str(tmp_path), "--profile", "smoke",
                            "--out", str(tmp_path / "fig")]) == 0
        assert (tmp_path / "fig" / f"{name}.png").stat().st_size > 10_000
