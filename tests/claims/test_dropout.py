"""`dropout`: replication/claims/dropout.py, registry entry CLAIMS["dropout"].

The lecture's MLP with and without its Dropout layers (the same parameters), and the claim in
smoke on synthetic data: both overfitting measures, without dropout minus with it.
"""

from __future__ import annotations

import pytest
from _helpers import check_reports_every_judged_metric, smoke_run

from replication import models


def test_mlp_has_932362_parameters_with_and_without_dropout():
    assert models.mlp((28, 28, 1), 10).count_params() == 932_362
    no_dropout = models.mlp((28, 28, 1), 10, dropout=0.0)
    assert no_dropout.count_params() == 932_362
    assert not any("Dropout" in layer.__class__.__name__ for layer in no_dropout.layers)


@pytest.mark.slow  # a claim in smoke
def test_smoke_run_measures_overfitting_with_and_without_dropout(tmp_path):
    drop = smoke_run(tmp_path, "dropout")
    d = drop["summary"]
    assert d["gap_reduction"]["values"][0] == pytest.approx(
        d["gap_without_dropout"]["values"][0] - d["gap_with_dropout"]["values"][0])
    assert d["loss_rise_reduction"]["values"][0] == pytest.approx(
        d["test_loss_rise_without_dropout"]["values"][0] - d["test_loss_rise_with_dropout"]["values"][0])
    assert drop["measured"]["params_without_dropout"] == 932_362
    assert len(drop["measured"]["histories_without_dropout"][0]["test_loss"]) == 2
    assert len(drop["measured"]["histories_with_dropout"][0]["test_loss"]) == 2

    check_reports_every_judged_metric(drop)
