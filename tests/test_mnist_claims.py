"""The MNIST claims of issue 3: mnist-cnn, mlp-vs-cnn, pooling-translation, dropout.

Models (parameter counts), the mnist-cnn verdict against the notebooks' own results, McNemar's test
and the shift on hand-made cases, and every claim through the runner in smoke on synthetic data.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from replication import data, models, optimizers, registry, results, runner, verdicts
from replication.claims import dropout, mlp_vs_cnn, mnist_cnn, mnist_mlp, pooling_translation


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
    model = models.mnist_cnn((28, 28, 1), 10, pooling=False)
    assert not any("Pooling" in layer.__class__.__name__ for layer in model.layers)
    flatten = next(layer for layer in model.layers if layer.__class__.__name__ == "Flatten")
    assert tuple(flatten.output.shape[1:]) == (20 * 20 * 64,)
    assert model.count_params() == 3_370_890


def test_notebook_results_count_as_replicated_but_a_clearly_worse_cnn_does_not():
    claim = registry.CLAIMS["mnist-cnn"]

    def verdict(values, profile="paper"):
        return verdicts.judge(claim, verdicts.summarize(values), profile=profile, dataset="mnist",
                              synthetic=False)["verdict"]

    assert claim.expected == 0.9959  # the slide's number, from the registry only
    # The two published notebooks' own 20-epoch results must replicate their own slide.
    assert verdict([0.9937]) == verdicts.REPLICATED
    assert verdict([0.9938, 0.9937]) == verdicts.REPLICATED
    assert verdict([0.9925, 0.9928]) == verdicts.NOT_REPLICATED
    assert verdict([0.9925], profile="quick") == verdicts.NOT_REACHED


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


def test_controls_train_under_the_same_budget_in_every_profile():
    for profile in registry.PROFILES:
        cnn, pool = mnist_cnn.PROFILES[profile], pooling_translation.PROFILES[profile]
        if pool.pooled_twin:
            # The control is paired with a pooled twin trained here under the control's own budget.
            b, c = pool.budget, cnn.budget
            assert (b.schedule, b.learning_rate, b.batch_size) == (c.schedule, c.learning_rate, c.batch_size)
        else:
            assert pool.budget is cnn.budget, profile  # the same object: the fingerprint shows it
        assert set(pool.seeds) <= set(cnn.seeds), profile
        mlp, drop = mnist_mlp.PROFILES[profile], dropout.PROFILES[profile]
        assert all(getattr(mlp, f) == getattr(drop, f) for f in dropout.BUDGET_FIELDS), profile
        assert set(drop.seeds) <= set(mlp.seeds), profile
    assert not pooling_translation.PROFILES["paper"].pooled_twin  # paper: mnist-cnn's own models
    paper = mnist_cnn.PROFILES["paper"]
    b = paper.budget
    assert (b.epochs, b.batch_size, b.learning_rate, b.schedule) == (20, 128, 1e-3, "constant")
    assert len(paper.seeds) >= 3


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
    p = pool["measured"]
    assert p["shifts"] == [-2, -1, 0, 1, 2]
    assert set(p["curves"]) == {"mlp", "cnn", "cnn_no_pooling"}
    assert all(len(c["horizontal"]) == 5 and len(c["vertical"]) == 5 for r in p["curves"].values() for c in r)
    assert p["params_no_pooling"] == 3_370_890
    gain = pool["summary"]["drop_reduction"]["values"][0]
    assert gain == pytest.approx(pool["summary"]["mean_drop_cnn_no_pooling"]["values"][0]
                                 - pool["summary"]["mean_drop_cnn"]["values"][0])

    drop = _run(tmp_path, "dropout")
    d = drop["summary"]
    assert d["gap_reduction"]["values"][0] == pytest.approx(
        d["gap_without_dropout"]["values"][0] - d["gap_with_dropout"]["values"][0])
    assert drop["measured"]["params_without_dropout"] == 932_362
    assert len(drop["measured"]["histories_without_dropout"][0]["test_loss"]) == 1

    # pooling-translation and dropout reused the prerequisites' seeds: nothing was trained again.
    assert trained() == done_files


def test_a_control_with_another_budget_than_its_claim_is_refused(tmp_path):
    from replication.context import Prerequisite, RunContext
    from replication.errors import ReplicationError

    _run(tmp_path, "mnist-mlp")
    prereq = {"mnist-mlp": Prerequisite("mnist-mlp", results.Store(tmp_path).load("smoke", "mnist", "mnist-mlp"),
                                        tmp_path / "smoke" / "mnist" / "mnist-mlp")}
    ctx = RunContext(claim_dir=tmp_path / "x", loader=lambda n: data.synthetic(n, 64, 32),
                     verbose=0, prerequisites=prereq)
    longer = dataclasses.replace(dropout.PROFILES["smoke"], epochs=2)
    with pytest.raises(ReplicationError, match="budget: epochs"):
        dropout.run(longer, ctx)


def test_pooled_twin_pairs_the_control_with_a_cnn_of_its_own_budget(tmp_path, monkeypatch):
    """quick's pooling-translation trains a pooled twin beside the control and pairs them."""
    import dataclasses

    smoke = pooling_translation.PROFILES["smoke"]
    monkeypatch.setitem(pooling_translation.PROFILES, "smoke",
                        dataclasses.replace(smoke, pooled_twin=True,
                                            budget=dataclasses.replace(smoke.budget, n_train=128)))
    pool = _run(tmp_path, "pooling-translation")
    p, s = pool["measured"], pool["summary"]
    assert p["paired_with"] == "cnn_pooled_twin"
    assert set(p["curves"]) == {"mlp", "cnn", "cnn_no_pooling", "cnn_pooled_twin"}
    assert s["drop_reduction"]["values"][0] == pytest.approx(
        s["mean_drop_cnn_no_pooling"]["values"][0] - s["mean_drop_cnn_pooled_twin"]["values"][0])
    twin = tmp_path / "smoke" / "mnist" / "pooling-translation" / pool["runs_dir"] / "pooled_twin" / "seed0"
    assert (twin / "done.json").exists()
