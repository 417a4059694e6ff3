"""`alexnet`: replication/claims/alexnet.py, registry entry CLAIMS["alexnet"].

AlexNet's layers and parameters (single tower and grouped), the structure-only verdict, and the
claim through the runner, which loads no data.
"""

from __future__ import annotations

import pytest

from replication import models, registry, results, runner, verdicts


def test_alexnet_shapes():
    alex = models.alexnet()
    assert models.weight_layers(alex) == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert alex.count_params() == 62_378_344
    assert models.alexnet(grouped=True).count_params() == 60_965_224


def test_structure_only_verdicts():
    claim = registry.get("alexnet")
    s = {"weight_layers": verdicts.summarize([8])}
    for profile in ("paper", "quick", "smoke"):
        assert verdicts.judge(claim, s, profile=profile, dataset="imagenet", synthetic=False,
                              verified=False)["verdict"] == verdicts.STRUCTURE_ONLY
    assert verdicts.judge(claim, {"weight_layers": verdicts.summarize([7])}, profile="quick",
                          dataset="imagenet", synthetic=False, verified=False)["verdict"] == verdicts.NOT_REPLICATED


def test_alexnet_claim_runs_without_data_and_ignores_dataset(tmp_path):
    result = runner.run_claim("alexnet", runner.RunOptions(
        profile="smoke", store=results.Store(tmp_path), dataset="mnist",
        loader=lambda name: pytest.fail("loaded data"), log=lambda *a: None))
    assert result["verdict"] == verdicts.STRUCTURE_ONLY and result["dataset"] == "imagenet"
    assert result["measured"]["params_single_tower"] == 62_378_344
    assert result["measured"]["params_grouped"] == 60_965_224
    assert (result["measured"]["conv_layers"], result["measured"]["dense_layers"]) == (5, 3)
