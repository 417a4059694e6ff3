"""`mnist-cnn`: replication/claims/mnist_cnn.py, registry entry CLAIMS["mnist-cnn"].

The CNN's parameter count, its verdict against the notebooks' own results, the one-cycle schedule
of its quick profile, and its smoke run through the runner on synthetic data.
"""

from __future__ import annotations

import pytest
from _helpers import check_reports_every_judged_metric, smoke_run

from replication import models, optimizers, registry, verdicts


def test_cnn_has_the_notebooks_225162_parameters():
    model = models.mnist_cnn((28, 28, 1), 10)
    assert model.count_params() == 225_162
    counts = [layer.count_params() for layer in model.layers if layer.count_params()]
    assert counts == [320, 18_496, 36_928, 36_928, 131_200, 1_290]  # 1,024 = 4x4x64 into Dense 128
    assert sum(1 for layer in model.layers if "MaxPooling" in layer.__class__.__name__) == 2


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


@pytest.mark.slow  # a claim in smoke
def test_smoke_run_measures_the_cnn_and_reports_every_judged_metric(tmp_path):
    cnn = smoke_run(tmp_path, "mnist-cnn")
    assert cnn["measured"]["params"] == 225_162
    assert cnn["verdict"] == verdicts.SYNTHETIC
    assert len(cnn["measured"]["histories"][0]["test_accuracy"]) == 1
    check_reports_every_judged_metric(cnn)
