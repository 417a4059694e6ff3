"""The MNIST claims of issue 3: mnist-cnn, mlp-vs-cnn, pooling-translation, dropout.

Models (parameter counts), the mnist-cnn verdict against the notebooks' own results, McNemar's test
and the shift on hand-made cases, and every claim through the runner in smoke on synthetic data.
"""

from __future__ import annotations

import numpy as np
import pytest

from replication import data, models, optimizers, registry, results, runner, verdicts
from replication.claims import mlp_vs_cnn, mnist_cnn, pooling_translation


def test_cnn_has_the_notebooks_225162_parameters():
    model = models.mnist_cnn((28, 28, 1), 10)
    assert model.count_params() == 225_162
    counts = [layer.count_params() for layer in model.layers if layer.count_params()]
    assert counts == [320, 18_496, 36_928, 36_928, 131_200, 1_290]  # 1,024 = 4x4x64 into Dense 128
    assert sum(1 for layer in model.layers if "MaxPooling" in layer.__class__.__name__) == 2


def test_mlp_has_932362_parameters_with_and_without_dropout():
    assert models.mlp((28, 28, 1), 10).count_params() == 932_362
    no_dropout = models.mlp((28, 28, 1), 10, dropout=0.0)
    assert no_dropout.count_params() == 932_362
    assert not any("Dropout" in layer.__class__.__name__ for layer in no_dropout.layers)


def test_unpooled_control_is_the_same_conv_stack_at_full_resolution():
    model = models.mnist_cnn((28, 28, 1), 10, pooling="none")
    assert not any("Pooling" in layer.__class__.__name__ for layer in model.layers)
    flatten = next(layer for layer in model.layers if layer.__class__.__name__ == "Flatten")
    assert tuple(flatten.output.shape[1:]) == (20 * 20 * 64,)
    assert model.count_params() == 3_370_890


def test_notebook_results_count_as_replicated_but_a_clearly_worse_cnn_does_not():
    claim = registry.CLAIMS["mnist-cnn"]

    def verdict(values, profile="paper", train=0.999):
        summary = {"test_accuracy": verdicts.summarize(values),
                   "train_accuracy": verdicts.summarize([train] * len(values))}
        return verdicts.judge(claim, summary, profile=profile, dataset="mnist", synthetic=False)["verdict"]

    assert claim.expected == 0.9959  # the slide's number, from the registry only
    # The two published notebooks' own 20-epoch results must replicate their own slide.
    assert verdict([0.9938, 0.9937, 0.9937]) == verdicts.REPLICATED
    assert verdict([0.9938, 0.9937]) == verdicts.INDICATIVE  # two seeds are not a replication
    assert verdict([0.9925, 0.9928, 0.9927]) == verdicts.NOT_REPLICATED
    assert verdict([0.9925], profile="quick") == verdicts.NOT_REACHED
    assert verdict([0.9938, 0.9937, 0.9937], train=0.9) == verdicts.INCONCLUSIVE  # did not train


def test_mcnemar_on_a_hand_made_case():
    # 10 digits only the second model gets right (b), 2 only the first (c), 88 both right.
    a = np.array([False] * 10 + [True] * 2 + [True] * 88)
    b = np.array([True] * 10 + [False] * 2 + [True] * 88)
    out = mlp_vs_cnn.mcnemar(a, b)
    assert (out["b"], out["c"]) == (10, 2)
    # Exact: 2 * P(X <= 2), X ~ Binomial(12, 1/2) = 2 * (1 + 12 + 66) / 4096.
    assert out["p_exact"] == pytest.approx(2 * 79 / 4096)
    # Continuity-corrected chi-square: (|10 - 2| - 1)^2 / 12 = 49 / 12 on 1 dof.
    assert out["chi2"] == pytest.approx(49 / 12)
    assert out["p_chi2"] == pytest.approx(0.04331, abs=1e-4)
    # Swapping the models swaps b and c but not the p-value; equal outcomes give p = 1.
    assert mlp_vs_cnn.mcnemar(b, a)["p_exact"] == pytest.approx(out["p_exact"])
    assert mlp_vs_cnn.mcnemar(a, a)["p_exact"] == 1.0


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


def test_one_cycle_schedule_warms_up_then_decays_to_zero():
    import keras

    opt = optimizers.one_cycle(2e-3, warmup_fraction=0.2)(steps_per_epoch=10, epochs=5)
    schedule = opt._learning_rate  # Keras keeps the schedule itself here
    assert isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule)
    lr = [float(schedule(step)) for step in (0, 5, 10, 30, 50)]
    assert lr[0] == pytest.approx(2e-4)  # start at a tenth of the peak
    assert lr[0] < lr[1] < lr[2] == pytest.approx(2e-3)  # linear warm-up over 20% of 50 steps
    assert lr[2] > lr[3] > lr[4]
    assert lr[4] == pytest.approx(0.0, abs=1e-9)  # cosine down to 0 at the last step


def _run(tmp_path, claim_id):
    return runner.run_claim(claim_id, profile="smoke", store=results.Store(tmp_path), verbose=0,
                            loader=lambda name: data.synthetic(name, 256, 128), log=lambda *a: None)


@pytest.mark.slow  # five claims in smoke
def test_smoke_runs_of_all_four_claims_reuse_the_prerequisites(tmp_path):
    cnn = _run(tmp_path, "mnist-cnn")
    assert cnn["measured"]["params"] == 225_162
    assert cnn["verdict"] == verdicts.SYNTHETIC
    assert len(cnn["measured"]["histories"][0]["test_accuracy"]) == 1

    vs = _run(tmp_path, "mlp-vs-cnn")  # trains the missing mnist-mlp, reuses mnist-cnn
    mlp_dir = tmp_path / "smoke" / "mnist" / "mnist-mlp"
    cnn_dir = tmp_path / "smoke" / "mnist" / "mnist-cnn"

    def trained():
        return sorted(f.stat().st_mtime_ns for f in [*mlp_dir.rglob("done.json"), *cnn_dir.rglob("done.json")])

    done_files = trained()
    assert len(done_files) == 2
    m = vs["measured"]
    assert m["params"] == {"mlp": 932_362, "cnn": 225_162}
    assert m["params_ratio"] == pytest.approx(932_362 / 225_162)
    assert sum(n for _, _, n in m["params_per_layer"]["cnn"]) == 225_162
    pair = m["pairs"][0]
    arrays = results.Store(tmp_path).load_arrays("smoke", "mnist", "mlp-vs-cnn")
    labels = arrays["test_labels"]
    assert pair["mlp_errors"] == int(np.sum(arrays["mlp_predictions"][0] != labels))
    assert pair["cnn_errors"] == int(np.sum(arrays["cnn_predictions"][0] != labels))
    assert vs["summary"]["error_ratio"]["values"] == [pair["mlp_errors"] / max(pair["cnn_errors"], 1)]
    # The CNN's predictions here are the ones mnist-cnn saved, not a retrained model's.
    cnn_arrays = results.Store(tmp_path).load_arrays("smoke", "mnist", "mnist-cnn")
    assert (arrays["cnn_predictions"][0] == cnn_arrays["test_predictions"][0]).all()

    pool = _run(tmp_path, "pooling-translation")
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

    drop = _run(tmp_path, "dropout")
    d = drop["summary"]
    assert d["gap_reduction"]["values"][0] == pytest.approx(
        d["gap_without_dropout"]["values"][0] - d["gap_with_dropout"]["values"][0])
    assert d["loss_rise_reduction"]["values"][0] == pytest.approx(
        d["test_loss_rise_without_dropout"]["values"][0] - d["test_loss_rise_with_dropout"]["values"][0])
    assert drop["measured"]["params_without_dropout"] == 932_362
    assert len(drop["measured"]["histories_without_dropout"][0]["test_loss"]) == 2
    assert len(drop["measured"]["histories_with_dropout"][0]["test_loss"]) == 2

    # mlp-vs-cnn and pooling-translation reused mnist-mlp's and mnist-cnn's seeds: nothing of
    # theirs was trained again.
    assert trained() == done_files

    # A gate or test naming a metric the claim never reports would make every run inconclusive.
    for result in (cnn, vs, pool, drop, _run(tmp_path, "mnist-mlp")):
        claim = registry.get(result["claim"])
        names = [claim.metric, *(g.metric for g in claim.gates), *(t.metric for t in claim.also_judged),
                 *claim.reported, *(claim.p_metrics or ())]
        assert set(names) <= set(result["summary"]), claim.id
