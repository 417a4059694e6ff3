"""`cifar10-aug`: replication/claims/cifar10_aug.py, registry entry CLAIMS["cifar10-aug"].

The augmentation layers (the notebook's ImageDataGenerator rebuilt; the fast recipe's flips and
shifts beside it), the verdicts, and the claim in smoke on synthetic data.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import check_cifar10_common, cifar10_saved, cifar10_verdict, smoke_run

from replication import models, verdicts


def test_lecture_augmentation_matches_the_notebooks_image_data_generator():
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


@pytest.mark.parametrize("kind", ["lecture", "flip_translate"])
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
    assert changed.sum() >= (16 if kind == "lecture" else 12)
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
    assert saved["config"]["augmentation"] == "lecture"
    assert arrays["sample_images"].shape == (9, 32, 32, 3) and arrays["sample_images"].dtype == np.uint8
    assert arrays["test_predictions"].shape == (1, 128)
    assert arrays["grid_images"].shape == (100, 32, 32, 3) and arrays["grid_probs"].shape == (100, 10)
    np.testing.assert_allclose(arrays["grid_probs"].sum(axis=1), 1.0, atol=1e-4)
    aug, one = arrays["augmented_images"], arrays["one_image_augmentations"]
    assert aug.shape == (9, 32, 32, 3) and one.shape == (25, 32, 32, 3) and aug.dtype == np.uint8
    assert not np.array_equal(aug, arrays["sample_images"])  # the layer ran in training mode
    assert len({img.tobytes() for img in one}) > 20  # 25 different draws, not one repeated
