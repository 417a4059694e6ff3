"""`cifar10-fast`: replication/claims/cifar10_fast.py, registry entry CLAIMS["cifar10-fast"].

The recipe's pieces (replication/fast_recipe.py) on tiny random inputs, no layer or parameter added
to the model; its warm-up + cosine schedule, the history it reads back, the time to the target, the
verdicts, and the claim in smoke on synthetic data.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from _helpers import check_cifar10_common, cifar10_saved, cifar10_verdict, smoke_run

from replication import fast_recipe, models, optimizers, registry, training, verdicts


def test_kernel_l2_regularises_kernels_only():
    model = models.cifar10_vgg(augmentation="flip_translate")
    paths = fast_recipe.kernel_l2(model, 2.5e-4)
    assert len(paths) == 8 and all(p.endswith("/kernel") for p in paths)  # 6 convs + 2 dense
    kernels = [v for v in model.trainable_variables if v.path.endswith("/kernel")]
    expected = sum(2.5e-4 * float(np.sum(np.square(v.numpy()))) for v in kernels)
    assert np.isclose(float(sum(model.losses)), expected, rtol=1e-5)
    assert model.count_params() == 1_345_066


def test_cutout_zeroes_one_square_in_training_only():
    layer = fast_recipe.Cutout(8, seed=3)
    x = np.ones((16, 32, 32, 3), "float32")
    assert np.array_equal(keras.ops.convert_to_numpy(layer(x)), x)
    y = keras.ops.convert_to_numpy(layer(x, training=True))
    zeros = (y == 0).all(-1).reshape(16, -1).sum(1)
    assert zeros.max() == 64 and zeros.min() > 0  # 8 x 8, clipped at the border at most
    model = fast_recipe.insert_after_augmentation(models.cifar10_vgg(augmentation="flip_translate"), layer)
    assert [lay.name for lay in model.layers[:2]] == ["augmentation", layer.name]
    assert model.count_params() == 1_345_066


def test_shift_reflect_moves_and_reflects():
    x = np.arange(16).reshape(1, 4, 4, 1)
    down = fast_recipe.shift_reflect(x, 1, 0)[0, :, :, 0]
    assert np.array_equal(down[1:], x[0, :3, :, 0]) and np.array_equal(down[0], x[0, 1, :, 0])
    right = fast_recipe.shift_reflect(x, 0, -2)[0, :, :, 0]
    assert np.array_equal(right[:, :2], x[0, :, 2:, 0])


def test_recompute_batchnorm_averages_batch_moments():
    model = models.cifar10_vgg(augmentation="flip_translate")
    x = np.random.default_rng(0).normal(size=(64, 32, 32, 3)).astype("float32")
    assert fast_recipe.recompute_batchnorm(model, x, batch_size=32) == 2
    conv = next(lay for lay in model.layers if isinstance(lay, keras.layers.Conv2D))
    bn = next(lay for lay in model.layers if isinstance(lay, keras.layers.BatchNormalization))
    h = keras.ops.convert_to_numpy(conv(x))
    assert np.allclose(bn.moving_mean.numpy(), h.mean((0, 1, 2)), atol=1e-5)
    batch_var = np.mean([h[:32].var((0, 1, 2)), h[32:].var((0, 1, 2))], axis=0)
    assert np.allclose(bn.moving_variance.numpy(), batch_var, rtol=1e-3, atol=1e-6)  # float32 moments
    assert bn.momentum == 0.99  # restored


def test_tta_predict_is_the_mean_of_the_views():
    model = models.cifar10_vgg()
    x = np.random.default_rng(1).normal(size=(4, 32, 32, 3)).astype("float32")
    views = fast_recipe.predict_views(model, x, fast_recipe.tta_views(True, ((0, 0), (1, 1))))
    assert len(views) == 4
    mean = fast_recipe.tta_predict(model, x, flips=True, shifts=((0, 0), (1, 1)))
    assert np.allclose(mean, np.mean(list(views.values()), axis=0), atol=1e-6)
    assert np.allclose(views[(True, 0, 0)], model.predict(x[:, :, ::-1], verbose=0), atol=1e-5)


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


def test_time_to_target_measure():
    from replication.claims import cifar10_fast

    hist = {"test_accuracy_tta": [0.5, 0.89, 0.91, 0.92], "epoch_time_s": [10.0, 11.0, 12.0, 13.0]}
    assert cifar10_fast.time_to_target(hist, 0.90) == {"epoch": 3, "train_seconds": 33.0, "best": 0.92}
    assert cifar10_fast.time_to_target(hist, 0.95)["epoch"] is None


def test_cifar10_fast_verdicts_follow_the_registry():
    verdict = cifar10_verdict
    assert verdict("cifar10-fast", [0.9000, 0.901, 0.902]) == verdicts.REPLICATED
    assert verdict("cifar10-fast", [0.8999] * 3) == verdicts.NOT_REPLICATED


def test_fast_recipe_smoke_run_records_tta_timing_and_the_lecture_recipe(tmp_path):
    smoke_run(tmp_path, "cifar10-fast")
    saved, arrays = cifar10_saved(tmp_path, "cifar10-fast")
    check_cifar10_common(saved, "cifar10-fast")
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
