"""`cifar10-noaug`: replication/claims/cifar10_noaug.py, registry entry CLAIMS["cifar10-noaug"].

The lecture's CIFAR-10 CNN (its 1,345,066 parameters, with each augmentation in front), the
overfitting measure, the verdicts, and the claim in smoke on synthetic data, compared with
cifar10-aug's run of the same seed and budget.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import check_cifar10_common, cifar10_saved, cifar10_verdict, smoke_run

from replication import models, verdicts

# The slide's model summary, layer by layer (Conv2D, BatchNorm, ..., Dense, BatchNorm, Dense).
SLIDE_PARAMS = [896, 128, 9248, 128, 18496, 256, 36928, 256, 73856, 512, 147584, 512, 1049088,
                2048, 5130]


def _weights(model, trainable: bool) -> int:
    weights = model.trainable_weights if trainable else model.non_trainable_weights
    return sum(int(np.prod(w.shape)) for w in weights)


@pytest.mark.parametrize("augmentation", [None, "lecture", "flip_translate"])
def test_cifar10_cnn_has_the_lectures_1345066_parameters(augmentation):
    model = models.cifar10_vgg((32, 32, 3), 10, augmentation=augmentation)
    assert model.count_params() == 1_345_066
    assert _weights(model, trainable=True) == 1_343_146
    assert _weights(model, trainable=False) == 1_920  # BatchNorm moving means and variances
    assert [layer.count_params() for layer in model.layers if layer.count_params()] == SLIDE_PARAMS
    names = [layer.name for layer in model.layers]
    assert ("augmentation" in names) == (augmentation is not None)
    if augmentation is not None:
        assert names[0] == "augmentation"  # before the first convolution


def test_overfitting_measure():
    from replication.claims import cifar10_noaug

    assert cifar10_noaug.test_loss_rise({"test_loss": [1.2, 0.8, 0.9, 1.1]}) == pytest.approx(0.3)
    assert cifar10_noaug.test_loss_rise({"test_loss": [1.2, 0.9, 0.8]}) == 0.0


def test_cifar10_noaug_verdicts_follow_the_registry():
    verdict = cifar10_verdict
    # The lecture's curves: the test loss rose 0.730 without augmentation and 0.027 with it.
    assert verdict("cifar10-noaug", [0.70, 0.72, 0.75]) == verdicts.REPLICATED
    assert verdict("cifar10-noaug", [0.70, 0.72]) == verdicts.INDICATIVE  # n < 3
    assert verdict("cifar10-noaug", [0.05, 0.06, 0.07]) == verdicts.NOT_REPLICATED  # below 0.1
    assert verdict("cifar10-noaug", [-0.3, -0.32, -0.29], profile="quick") == verdicts.CONTRADICTED_AT_BUDGET
    assert verdict("cifar10-noaug", [0.7, 0.7, 0.7], train=0.2) == verdicts.INCONCLUSIVE


def test_lecture_recipe_smoke_run_saves_what_the_figures_need(tmp_path):
    claim_id = "cifar10-noaug"
    smoke_run(tmp_path, claim_id)
    saved, arrays = cifar10_saved(tmp_path, claim_id)
    check_cifar10_common(saved, claim_id)
    assert saved["summary"]["test_loss_rise"]["mean"] >= 0.0
    # Compared with cifar10-aug's run of the same seed and budget.
    s = saved["summary"]
    assert s["loss_rise_vs_aug"]["values"][0] == pytest.approx(
        s["test_loss_rise"]["values"][0] - s["aug_test_loss_rise"]["values"][0])
    assert saved["measured"]["compared_with"]["budget"] == saved["config"]["budget"]
    assert saved["config"]["augmentation"] is None
    assert arrays["sample_images"].shape == (9, 32, 32, 3) and arrays["sample_images"].dtype == np.uint8
    assert arrays["test_predictions"].shape == (1, 128)
    assert arrays["grid_images"].shape == (100, 32, 32, 3) and arrays["grid_probs"].shape == (100, 10)
    np.testing.assert_allclose(arrays["grid_probs"].sum(axis=1), 1.0, atol=1e-4)
    assert "augmented_images" not in arrays
