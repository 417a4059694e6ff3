"""`pooling-translation`: replication/claims/pooling_translation.py, registry entry CLAIMS["pooling-translation"].

The three CNNs (max-pooled, subsampled, unpooled), the shift and the mean drop on hand-made cases,
the shared training budget, and the claim in smoke on synthetic data, reusing mnist-mlp's seeds.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import check_reports_every_judged_metric, mnist_done_files, smoke_run

from replication import models, registry
from replication.claims import mnist_cnn, pooling_translation


def test_unpooled_control_is_the_same_conv_stack_at_full_resolution():
    model = models.mnist_cnn((28, 28, 1), 10, pooling="none")
    assert not any("Pooling" in layer.__class__.__name__ for layer in model.layers)
    flatten = next(layer for layer in model.layers if layer.__class__.__name__ == "Flatten")
    assert tuple(flatten.output.shape[1:]) == (20 * 20 * 64,)
    assert model.count_params() == 3_370_890


def test_shift_on_a_hand_made_case():
    x = np.arange(1, 10, dtype="uint8").reshape(1, 3, 3, 1)  # [[1 2 3] [4 5 6] [7 8 9]]
    right = pooling_translation.shift_images(x, dx=1)[0, ..., 0]
    assert right.tolist() == [[0, 1, 2], [0, 4, 5], [0, 7, 8]]
    up_left = pooling_translation.shift_images(x, dx=-1, dy=-2)[0, ..., 0]
    assert up_left.tolist() == [[8, 9, 0], [0, 0, 0], [0, 0, 0]]
    assert not pooling_translation.shift_images(x, dy=3).any()
    assert (pooling_translation.shift_images(x) == x).all()


def test_mean_drop_averages_every_nonzero_shift_in_both_directions():
    shifts = [-1, 0, 1]
    curves = {"horizontal": [0.8, 1.0, 0.6], "vertical": [0.9, 1.0, 0.9]}
    assert pooling_translation.mean_drop(curves, shifts) == pytest.approx((0.2 + 0.4 + 0.1 + 0.1) / 4)


def test_the_pooling_controls_train_under_one_budget_mnist_cnn_s_in_paper():
    for profile in registry.PROFILES:
        pool = pooling_translation.PROFILES[profile]
        if profile != "quick":
            assert pool.budget is mnist_cnn.PROFILES[profile].budget, profile  # the same object
    paper = mnist_cnn.PROFILES["paper"]
    b = paper.budget
    assert (b.epochs, b.batch_size, b.learning_rate, b.schedule) == (20, 128, 1e-3, "constant")
    assert len(paper.seeds) >= 3
    assert len(pooling_translation.PROFILES["quick"].seeds) >= 3


def test_subsampling_keeps_the_shapes_and_parameters_of_max_pooling():
    import keras

    pooled, sub = models.mnist_cnn(pooling="max"), models.mnist_cnn(pooling="subsample")
    assert sub.count_params() == pooled.count_params() == 225_162
    assert [tuple(x.output.shape) for x in sub.layers] == [tuple(x.output.shape) for x in pooled.layers]
    x = np.arange(2 * 24 * 24, dtype="float32").reshape(2, 24, 24, 1)
    out = keras.ops.convert_to_numpy(sub.layers[2](x))
    np.testing.assert_array_equal(out, x[:, ::2, ::2])  # every second pixel, no max


@pytest.mark.slow  # two claims in smoke, then this one
def test_smoke_run_measures_every_variant_and_retrains_no_prerequisite(tmp_path):
    for prerequisite in ("mnist-mlp", "mnist-cnn"):  # seed runs it must leave alone
        smoke_run(tmp_path, prerequisite)
    done_files = mnist_done_files(tmp_path)
    assert len(done_files) == 2

    pool = smoke_run(tmp_path, "pooling-translation")
    p, ps = pool["measured"], pool["summary"]
    assert p["shifts"] == [-2, -1, 0, 1, 2]
    assert set(p["curves"]) == {"mlp", "max_pool", "subsample", "no_pooling"}
    assert all(len(c["horizontal"]) == 5 and len(c["vertical"]) == 5 for r in p["curves"].values() for c in r)
    assert p["params"] == {"max_pool": 225_162, "subsample": 225_162, "no_pooling": 3_370_890}
    # The verdict's control is the subsampled CNN, paired by seed with the max-pooled one.
    assert ps["drop_reduction"]["values"][0] == pytest.approx(
        ps["mean_drop_subsample"]["values"][0] - ps["mean_drop_max_pool"]["values"][0])
    assert ps["drop_reduction_no_pooling"]["values"][0] == pytest.approx(
        ps["mean_drop_no_pooling"]["values"][0] - ps["mean_drop_max_pool"]["values"][0])

    # pooling-translation reused mnist-mlp's seeds (and left mnist-cnn's alone): nothing of
    # theirs was trained again.
    assert mnist_done_files(tmp_path) == done_files

    check_reports_every_judged_metric(pool)
