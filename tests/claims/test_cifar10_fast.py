"""The cifar10-fast recipe pieces on tiny random inputs: no layer or parameter added to the model."""

from __future__ import annotations

import keras
import numpy as np

from replication import fast_recipe, models


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
