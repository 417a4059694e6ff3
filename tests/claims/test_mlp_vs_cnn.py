"""`mlp-vs-cnn`: replication/claims/mlp_vs_cnn.py, registry entry CLAIMS["mlp-vs-cnn"].

McNemar's test on a hand-made case, and the claim in smoke on synthetic data: it trains the
missing mnist-mlp, reuses mnist-cnn's seed run and saved predictions, and retrains nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import check_reports_every_judged_metric, mnist_done_files, smoke_run

from replication import results
from replication.claims import mlp_vs_cnn


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


@pytest.mark.slow  # two claims in smoke, then this one
def test_smoke_run_compares_the_prerequisites_saved_predictions_and_retrains_nothing(tmp_path):
    smoke_run(tmp_path, "mnist-cnn")  # the prerequisite to reuse, trained first
    cnn_done = mnist_done_files(tmp_path)

    vs = smoke_run(tmp_path, "mlp-vs-cnn")  # trains the missing mnist-mlp, reuses mnist-cnn
    done_files = mnist_done_files(tmp_path)
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

    # mlp-vs-cnn reused mnist-cnn's seeds: nothing of it was trained again.
    assert {p: done_files[p] for p in cnn_done} == cnn_done

    check_reports_every_judged_metric(vs)
