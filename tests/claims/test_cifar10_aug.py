"""`cifar10-aug`: replication/claims/cifar10_aug.py, registry entry CLAIMS["cifar10-aug"].

The augmentation layers (the notebook's ImageDataGenerator rebuilt; the fast recipe's flips and
shifts beside it), the verdicts, and the claim in smoke on synthetic data.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import check_cifar10_common, cifar10_saved, cifar10_verdict, smoke_run

from replication import models, verdicts


def test_lecture_augmentation_is_one_random_affine_layer_with_the_notebooks_ranges():
    (layer,) = models.cifar10_augmentation("lecture_affine").layers
    from replication.claims import cifar10_aug, cifar10_fast

    assert models.LECTURE_AUGMENTATION == "lecture_affine"
    assert {c.augmentation for c in cifar10_aug.PROFILES.values()} == {models.LECTURE_AUGMENTATION}
    assert cifar10_fast.Config().baseline_augmentation == models.LECTURE_AUGMENTATION
    assert isinstance(layer, models.RandomAffine)
    c = layer.get_config()
    assert (c["rotation_deg"], c["shift"], c["zoom"], c["horizontal_flip"]) == (30, 0.2, 0.25, True)
    assert (c["fill_mode"], c["interpolation"]) == ("nearest", "bilinear")  # the generator's defaults


def test_random_affine_resamples_as_keras_image_data_generator_does():
    """The same transform parameters give the same images as Keras's own (legacy)
    ImageDataGenerator.apply_transform, scipy's order-1 resampling with nearest fill: one composed
    transform, flipped after, border included."""
    import keras

    legacy = pytest.importorskip("keras.src.legacy.preprocessing.image")
    rng = np.random.default_rng(0)
    n = 12
    x = rng.random((n, 32, 32, 3)).astype("float32")
    p = {"theta_deg": rng.uniform(-30, 30, n), "tx": rng.uniform(-6.4, 6.4, n),
         "ty": rng.uniform(-6.4, 6.4, n), "zx": rng.uniform(0.75, 1.25, n),
         "zy": rng.uniform(0.75, 1.25, n), "flip": (np.arange(n) % 2).astype("float32")}
    m = models.affine_matrices(*p.values(), height=32, width=32)
    ours = keras.ops.convert_to_numpy(keras.ops.image.affine_transform(
        x, m, interpolation="bilinear", fill_mode="nearest"))
    gen = legacy.ImageDataGenerator(fill_mode="nearest")
    for i in range(n):
        ref = gen.apply_transform(x[i], {"theta": p["theta_deg"][i], "tx": p["tx"][i], "ty": p["ty"][i],
                                         "zx": p["zx"][i], "zy": p["zy"][i],
                                         "flip_horizontal": bool(p["flip"][i])})
        np.testing.assert_allclose(ours[i], ref, atol=1e-4, err_msg=f"image {i}")
    # A wrong sign anywhere would show: the identity and a pure flip are exact.
    eye = models.affine_matrices([0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0],
                                 [0.0, 1.0], height=32, width=32)
    same = keras.ops.convert_to_numpy(keras.ops.image.affine_transform(x[:2], eye, fill_mode="nearest"))
    np.testing.assert_allclose(same[0], x[0], atol=1e-6)
    np.testing.assert_allclose(same[1], x[1, :, ::-1], atol=1e-6)


def test_random_affine_draws_the_generators_distribution():
    """ImageDataGenerator.get_random_transform: every parameter uniform over its range, the two
    zooms independent, a flip half the time (20,000 draws; bounds far outside sampling noise)."""
    layer = models.RandomAffine(30, 0.2, 0.25, True, seed=5)
    import keras

    p = {k: keras.ops.convert_to_numpy(v) for k, v in layer.draw(20_000).items()}
    for key, lo, hi in (("theta_deg", -30, 30), ("tx", -0.2, 0.2), ("ty", -0.2, 0.2),
                        ("zx", 0.75, 1.25), ("zy", 0.75, 1.25)):
        v = (p[key] - lo) / (hi - lo)  # uniform on [0, 1) if right
        assert v.min() >= 0 and v.max() < 1, key
        assert abs(v.mean() - 0.5) < 0.01 and abs(v.var() - 1 / 12) < 0.003, key
        assert np.histogram(v, bins=10, range=(0, 1))[0].min() > 1800, key
    assert abs(np.corrcoef(p["zx"], p["zy"])[0, 1]) < 0.03
    assert abs(np.corrcoef(p["theta_deg"], p["tx"])[0, 1]) < 0.03
    assert set(np.unique(p["flip"])) == {0.0, 1.0} and abs(p["flip"].mean() - 0.5) < 0.015
    assert not models.RandomAffine(30, 0.2, 0.25, False).draw(100)["flip"].numpy().any()


def test_random_affine_is_saved_reloaded_and_reseeded_per_epoch(tmp_path):
    """A saved model keeps the layer (registered); EpochSeed resets its random state, so the same
    (seed, epoch) gives the same images and another epoch other ones."""
    import keras

    from replication import epochs

    model = models.cifar10_vgg(augmentation="lecture_affine")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    assert isinstance(loaded.get_layer("augmentation").layers[0], models.RandomAffine)
    x = np.random.default_rng(1).normal(size=(4, 32, 32, 3)).astype("float32")
    seeder = epochs.EpochSeed(7)
    seeder.set_model(model)

    def images(epoch):
        seeder.on_epoch_begin(epoch)
        return keras.ops.convert_to_numpy(model.get_layer("augmentation")(x, training=True))

    np.testing.assert_array_equal(images(2), images(2))
    assert np.abs(images(2) - images(3)).max() > 1e-3


def test_lecture_augmentation_is_the_earlier_chain_of_four_layers():
    layers = {layer.__class__.__name__: layer.get_config()
              for layer in models.cifar10_augmentation("lecture").layers}
    assert set(layers) == {"RandomRotation", "RandomFlip", "RandomTranslation", "RandomZoom"}
    assert layers["RandomRotation"]["factor"] in ((-30 / 360, 30 / 360), 30 / 360)  # +/-30 degrees
    assert layers["RandomFlip"]["mode"] == "horizontal"
    assert layers["RandomTranslation"]["height_factor"] == layers["RandomTranslation"]["width_factor"] == 0.2
    assert tuple(layers["RandomZoom"]["height_factor"]) == (-0.25, 0.25)
    assert tuple(layers["RandomZoom"]["width_factor"]) == (-0.25, 0.25)
    for name in ("RandomRotation", "RandomTranslation", "RandomZoom"):
        assert layers[name]["fill_mode"] == "nearest", name  # ImageDataGenerator's default


@pytest.mark.parametrize("kind", ["lecture_affine", "lecture", "flip_translate"])
def test_augmentation_changes_images_in_training_and_is_the_identity_at_inference(kind):
    import keras

    model = models.cifar10_vgg((32, 32, 3), 10, augmentation=kind)
    augmentation = model.get_layer("augmentation")
    x = np.random.default_rng(0).normal(size=(16, 32, 32, 3)).astype("float32")
    trained = keras.ops.convert_to_numpy(augmentation(x, training=True))
    inferred = keras.ops.convert_to_numpy(augmentation(x, training=False))
    assert trained.shape == x.shape
    changed = np.abs(trained - x).reshape(len(x), -1).max(axis=1) > 1e-3
    # A flip_translate image stays put with probability 1/2 x (1/8)^2; the lecture's never does.
    assert changed.sum() >= (12 if kind == "flip_translate" else 16)
    np.testing.assert_array_equal(inferred, x)
    # The whole model at inference: no augmentation and no dropout, so the same output twice.
    out1 = keras.ops.convert_to_numpy(model(x, training=False))
    out2 = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(out1, out2, rtol=0, atol=0)


def test_cifar10_aug_verdicts_follow_the_registry():
    """Judged against the notebook's curve at the run's own last epoch: at most 3 points below."""
    verdict = cifar10_verdict
    band = {"curve_vs_notebook": [0.0] * 3}
    assert verdict("cifar10-aug", [0.0] * 3, **band) == verdicts.REPLICATED
    assert verdict("cifar10-aug", [-0.029, -0.028, -0.03], **band) == verdicts.REPLICATED
    assert verdict("cifar10-aug", [-0.035] * 3, **band) == verdicts.NOT_REPLICATED
    assert verdict("cifar10-aug", [-0.07, -0.1, -0.05], profile="quick", **band) == verdicts.NOT_REACHED
    assert verdict("cifar10-aug", [0.01, 0.02], profile="quick", **band) == verdicts.INDICATIVE
    assert verdict("cifar10-aug", [0.0] * 3, train=0.5) == verdicts.INCONCLUSIVE


def test_versus_notebook_reads_the_notebook_s_curve_at_the_run_s_epochs():
    from replication import lecture
    from replication.claims import cifar10_aug
    from replication.errors import ReplicationError

    notebook = lecture.curve(*cifar10_aug.NOTEBOOK[:1], variant=cifar10_aug.NOTEBOOK[1])
    acc = notebook["val_accuracy"].to_numpy()
    last, mean = cifar10_aug.versus_notebook({"test_accuracy": list(acc[:10] + 0.01)})
    assert last == pytest.approx(0.01) and mean == pytest.approx(0.01)
    last, mean = cifar10_aug.versus_notebook({"test_accuracy": [acc[0] - 0.2, acc[1]]})
    assert last == pytest.approx(0.0) and mean == pytest.approx(-0.1)
    with pytest.raises(ReplicationError):
        cifar10_aug.versus_notebook({"test_accuracy": [0.5] * (len(acc) + 1)})


def test_lecture_recipe_smoke_run_saves_what_the_figures_need(tmp_path):
    claim_id = "cifar10-aug"
    smoke_run(tmp_path, claim_id)
    saved, arrays = cifar10_saved(tmp_path, claim_id)
    check_cifar10_common(saved, claim_id)
    assert saved["summary"]["test_loss_rise"]["mean"] >= 0.0
    assert saved["config"]["augmentation"] == "lecture_affine"
    assert arrays["sample_images"].shape == (9, 32, 32, 3) and arrays["sample_images"].dtype == np.uint8
    assert arrays["test_predictions"].shape == (1, 128)
    assert arrays["grid_images"].shape == (100, 32, 32, 3) and arrays["grid_probs"].shape == (100, 10)
    np.testing.assert_allclose(arrays["grid_probs"].sum(axis=1), 1.0, atol=1e-4)
    aug, one = arrays["augmented_images"], arrays["one_image_augmentations"]
    assert aug.shape == (9, 32, 32, 3) and one.shape == (25, 32, 32, 3) and aug.dtype == np.uint8
    assert not np.array_equal(aug, arrays["sample_images"])  # the layer ran in training mode
    assert len({img.tobytes() for img in one}) > 20  # 25 different draws, not one repeated
