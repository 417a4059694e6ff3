"""cifar10-noaug, cifar10-aug, cifar10-fast: the model, its augmentation layers, smoke runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from replication import data, models, optimizers, registry, results, runner, training, verdicts

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


def test_warmup_cosine_schedule_starts_low_peaks_and_ends_at_zero():
    opt = optimizers.one_cycle(0.1, optimizer="sgd", warmup_fraction=0.2, start_fraction=0.1)(10, 5)  # 50 steps
    lr = opt._learning_rate
    assert float(lr(0)) == pytest.approx(0.01)
    assert float(lr(10)) == pytest.approx(0.1)  # the peak after 20% of the steps
    assert float(lr(30)) < float(lr(20)) < 0.1
    assert float(lr(50)) == pytest.approx(0.0, abs=1e-9)
    assert opt.nesterov and opt.momentum == 0.9


def test_read_history_renames_val_columns_and_skips_csvloggers_na(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,accuracy,loss,val_accuracy,val_accuracy_tta,val_loss,val_epoch_time_s\n"
                    "0,0.5,1.5,0.4,0.45,1.7,NA\n"
                    "1,0.6,1.2,0.5,0.55,1.4,NA\n")
    hist = training.read_history(path)
    assert hist["test_accuracy"] == [0.4, 0.5] and hist["test_accuracy_tta"] == [0.45, 0.55]
    assert hist["test_loss"] == [1.7, 1.4] and hist["epoch"] == [1, 2]
    assert "test_epoch_time_s" not in hist and "val_accuracy" not in hist


def test_overfitting_and_time_to_target_measures():
    from replication.claims import cifar10_fast, cifar10_noaug

    assert cifar10_noaug.test_loss_rise({"test_loss": [1.2, 0.8, 0.9, 1.1]}) == pytest.approx(0.3)
    assert cifar10_noaug.test_loss_rise({"test_loss": [1.2, 0.9, 0.8]}) == 0.0
    hist = {"test_accuracy_tta": [0.5, 0.89, 0.91, 0.92], "epoch_time_s": [10.0, 11.0, 12.0, 13.0]}
    assert cifar10_fast.time_to_target(hist, 0.90) == {"epoch": 3, "train_seconds": 33.0, "best": 0.92}
    assert cifar10_fast.time_to_target(hist, 0.95)["epoch"] is None


def test_cifar10_verdicts_follow_the_registry():
    def verdict(claim_id, values, profile="paper", train=0.99, **extra):
        claim = registry.get(claim_id)
        summary = {claim.metric: verdicts.summarize(values),
                   **{g.metric: verdicts.summarize([train] * len(values)) for g in claim.gates},
                   **{k: verdicts.summarize(v) for k, v in extra.items()}}
        return verdicts.judge(claim, summary, profile=profile, dataset="cifar10", synthetic=False)["verdict"]

    # The lecture's curves: the test loss rose 0.730 without augmentation and 0.027 with it.
    assert verdict("cifar10-noaug", [0.70, 0.72, 0.75]) == verdicts.REPLICATED
    assert verdict("cifar10-noaug", [0.70, 0.72]) == verdicts.INDICATIVE  # n < 3
    assert verdict("cifar10-noaug", [0.05, 0.06, 0.07]) == verdicts.NOT_REPLICATED  # below 0.1
    assert verdict("cifar10-noaug", [-0.3, -0.32, -0.29], profile="quick") == verdicts.CONTRADICTED_AT_BUDGET
    assert verdict("cifar10-noaug", [0.7, 0.7, 0.7], train=0.2) == verdicts.INCONCLUSIVE
    assert verdict("cifar10-aug", [0.8986] * 3) == verdicts.REPLICATED
    assert verdict("cifar10-aug", [0.8890, 0.8891, 0.8889]) == verdicts.REPLICATED  # within 1 point
    assert verdict("cifar10-aug", [0.8880] * 3) == verdicts.NOT_REPLICATED
    assert verdict("cifar10-aug", [0.54, 0.55], profile="quick") == verdicts.NOT_REACHED
    assert verdict("cifar10-fast", [0.9000, 0.901, 0.902]) == verdicts.REPLICATED
    assert verdict("cifar10-fast", [0.8999] * 3) == verdicts.NOT_REPLICATED


def _smoke(claim_id, tmp_path):
    return runner.run_claim(claim_id, profile="smoke", store=results.Store(tmp_path),
                            loader=lambda name: data.synthetic(name, 256, 128), verbose=0,
                            log=lambda *a: None)


def _saved(tmp_path, claim_id):
    path = tmp_path / "smoke" / "cifar10" / claim_id / "result.json"
    return json.loads(path.read_text()), results.Store(tmp_path).load_arrays("smoke", "cifar10", claim_id)


def _check_common(saved, claim_id):
    claim = registry.get(claim_id)
    assert saved["verdict"] == verdicts.SYNTHETIC
    epochs = saved["config"]["budget"]["epochs"] if "budget" in saved["config"] else saved["config"]["epochs"]
    assert saved["n"] == 1 and saved["seeds"] == [0] and epochs == 1
    names = [claim.metric, *(g.metric for g in claim.gates), *(t.metric for t in claim.also_judged),
             *claim.reported, *(claim.p_metrics or ())]
    assert set(names) <= set(saved["summary"]), claim_id  # every judged metric is reported
    assert claim.metric in saved["summary"] and saved["summary"][claim.metric]["n"] == 1
    assert saved["measured"]["params"] == 1_345_066
    for key in ("test_accuracy", "train_accuracy"):
        assert 0.0 <= saved["summary"][key]["mean"] <= 1.0
    hist = saved["measured"]["histories"][0]
    assert len(hist["loss"]) == 1 and len(hist["test_accuracy"]) == 1 and len(hist["test_loss"]) == 1
    assert saved["measured"]["data"]["synthetic"] is True


@pytest.mark.parametrize("claim_id", ["cifar10-noaug", "cifar10-aug"])
def test_lecture_recipe_smoke_runs_save_what_the_figures_need(tmp_path, claim_id):
    _smoke(claim_id, tmp_path)
    saved, arrays = _saved(tmp_path, claim_id)
    _check_common(saved, claim_id)
    assert saved["summary"]["test_loss_rise"]["mean"] >= 0.0
    if claim_id == "cifar10-noaug":  # compared with cifar10-aug's run of the same seed and budget
        s = saved["summary"]
        assert s["loss_rise_vs_aug"]["values"][0] == pytest.approx(
            s["test_loss_rise"]["values"][0] - s["aug_test_loss_rise"]["values"][0])
        assert saved["measured"]["compared_with"]["budget"] == saved["config"]["budget"]
    assert saved["config"]["augmentation"] == (None if claim_id == "cifar10-noaug" else "lecture")
    assert arrays["sample_images"].shape == (9, 32, 32, 3) and arrays["sample_images"].dtype == np.uint8
    assert arrays["test_predictions"].shape == (1, 128)
    assert arrays["grid_images"].shape == (100, 32, 32, 3) and arrays["grid_probs"].shape == (100, 10)
    np.testing.assert_allclose(arrays["grid_probs"].sum(axis=1), 1.0, atol=1e-4)
    if claim_id == "cifar10-aug":
        aug, one = arrays["augmented_images"], arrays["one_image_augmentations"]
        assert aug.shape == (9, 32, 32, 3) and one.shape == (25, 32, 32, 3) and aug.dtype == np.uint8
        assert not np.array_equal(aug, arrays["sample_images"])  # the layer ran in training mode
        assert len({img.tobytes() for img in one}) > 20  # 25 different draws, not one repeated
    else:
        assert "augmented_images" not in arrays


def test_fast_recipe_smoke_run_records_tta_timing_and_the_lecture_recipe(tmp_path):
    _smoke("cifar10-fast", tmp_path)
    saved, arrays = _saved(tmp_path, "cifar10-fast")
    _check_common(saved, "cifar10-fast")
    m = saved["measured"]
    hist = m["histories"][0]
    assert len(hist["test_accuracy_tta"]) == 1 and hist["epoch_time_s"][0] > 0
    assert saved["summary"]["test_accuracy_tta"]["mean"] == pytest.approx(m["seed_runs"][0]["test_accuracy_tta"])
    # The headline test loss is plain cross-entropy of the final (averaged) weights, not the
    # label-smoothed loss evaluate reports.
    assert saved["summary"]["test_loss"]["mean"] != pytest.approx(m["seed_runs"][0]["test_loss"], rel=1e-3)
    assert saved["config"]["ema_momentum"] is not None and saved["config"]["kernel_l2"] > 0
    assert m["target_accuracy"] == registry.get("cifar10-fast").expected
    assert set(m["time_to_target"][0]) == {"epoch", "train_seconds", "best"}
    base = m["lecture_recipe"]
    assert base["epochs"] == 1 and len(base["history"]["test_accuracy"]) == 1
    assert base["seconds_per_epoch"] > 0
    assert saved["config"]["augmentation"] == "flip_translate" and saved["config"]["label_smoothing"] > 0
    assert len(saved["config"]["tta_shifts"]) > 1  # flips and shifts at test time
    assert arrays["test_predictions"].shape == (1, 128)
