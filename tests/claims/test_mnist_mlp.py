"""`mnist-mlp`: replication/claims/mnist_mlp.py, registry entry CLAIMS["mnist-mlp"].

The model, a smoke run through the runner, and 2 epochs on real MNIST.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _helpers import check_reports_every_judged_metric, smoke_run
from conftest import real_data_dir

from replication import data, models, results, runner


def test_mlp_has_the_lectures_932362_parameters():
    model = models.mlp((28, 28, 1), 10)
    assert model.count_params() == 932_362
    dense = [layer.count_params() for layer in model.layers if layer.count_params()]
    assert dense == [401_920, 262_656, 262_656, 5_130]  # as printed on the slide


def _run(tmp_path, **kw):
    return runner.run_claim("mnist-mlp", runner.RunOptions(
        profile="smoke", store=results.Store(tmp_path), verbose=0,
        loader=lambda name: data.synthetic(name, 512, 128), log=lambda *a: None, **kw))


def test_smoke_run_saves_a_complete_result_and_skips_a_rerun(tmp_path):
    result = _run(tmp_path)
    path = tmp_path / "smoke" / "mnist" / "mnist-mlp" / "result.json"
    saved = json.loads(path.read_text())
    assert saved["verdict"] == "synthetic data: not a replication"
    assert saved["n"] == 1 and saved["seeds"] == [0]
    assert saved["config"]["epochs"] == 1 and saved["profile"] == "smoke"
    acc = saved["summary"]["test_accuracy"]
    assert 0.0 <= acc["mean"] <= 1.0 and acc["n"] == 1
    assert saved["measured"]["params"] == 932_362
    assert {"versions", "git", "hardware"} <= set(saved["provenance"])
    hist = saved["measured"]["histories"][0]
    assert len(hist["loss"]) == 1 and len(hist["test_accuracy"]) == 1
    arrays = results.Store(tmp_path).load_arrays("smoke", "mnist", "mnist-mlp")
    assert arrays["sample_images"].shape == (100, 28, 28)
    assert arrays["first_layer_weights"].shape == (100, 28, 28)
    # The same profile and config again: skipped, file untouched.
    before = path.read_bytes()
    again = _run(tmp_path)
    assert again["finished"] == result["finished"] and path.read_bytes() == before
    assert saved["reused_runs_wall_time_s"] == 0.0

    # Its result set aside, the claim is reassembled from the finished seed run, not trained again;
    # the result counts that run's time as reused, so its time is not just the reassembly's.
    path.rename(path.with_name("set-aside.json"))
    rebuilt = _run(tmp_path)
    seed_run = saved["measured"]["seed_runs"][0]
    assert rebuilt["summary"]["test_accuracy"] == saved["summary"]["test_accuracy"]
    assert rebuilt["reused_runs_wall_time_s"] == pytest.approx(seed_run["wall_time_s"])
    from replication import docs
    table = docs.runtime_table(tmp_path)
    assert "trained by an earlier invocation" in table


def test_synthetic_data_is_learnable_so_the_pipeline_is_not_inert(tmp_path):
    """Three epochs on the synthetic blocks must beat chance by far: a broken feed would not."""
    result = runner.run_claim("mnist-mlp", runner.RunOptions(
        profile="smoke", store=results.Store(tmp_path), verbose=0, seeds=(3,),
        loader=lambda name: data.synthetic(name, 1024, 256), log=lambda *a: None))
    assert result["summary"]["test_accuracy"]["mean"] > 0.5


@pytest.mark.slow  # real MNIST
@pytest.mark.skipif(real_data_dir() is None, reason="real MNIST not present")
def test_integration_two_epochs_on_real_mnist_reach_97_percent(tmp_path):
    import dataclasses

    from replication.claims import mnist_mlp
    from replication.context import RunContext

    config = dataclasses.replace(mnist_mlp.PROFILES["paper"], seeds=(0,), epochs=2)
    ctx = RunContext(claim_dir=tmp_path, data_dir=real_data_dir(), verbose=0)
    out = mnist_mlp.run(config, ctx)
    assert out["data"]["verified_checksums"] is True
    assert out["metrics"]["test_accuracy"][0] >= 0.97
    assert np.isfinite(out["metrics"]["test_loss"][0])


def test_precision_is_in_the_result_its_fingerprint_and_is_reset_after_the_claim(tmp_path):
    """A bfloat16 run is its own result (never standing in for float32), records its precision and
    matmul calibration, and leaves Keras's global dtype policy as it found it."""
    import keras

    from replication import hardware

    f32 = _run(tmp_path / "a", precision="float32")
    bf16 = _run(tmp_path / "b", precision="bfloat16")
    assert keras.config.dtype_policy().name == "float32"
    assert (f32["precision"], bf16["precision"]) == ("float32", "bfloat16")
    assert f32["fingerprint"] != bf16["fingerprint"]
    assert bf16["provenance"]["precision"] == "bfloat16"
    assert {"matmul_gflops_float32", "matmul_gflops_bfloat16"} <= set(bf16["provenance"]["calibration"])
    assert set(bf16["provenance"]["hardware"]["cpu_flags"]) <= set(hardware.CPU_FLAGS)
    # The bfloat16 model computed in bfloat16 (its softmax in float32), the other in float32.
    from replication import training

    run_dir = tmp_path / "b" / "smoke" / "mnist" / "mnist-mlp" / bf16["runs_dir"] / "seed0"
    model = training.load_model(run_dir, json.loads((run_dir / "done.json").read_text()))
    assert model.layers[1].dtype_policy.name == "mixed_bfloat16"
    assert model.layers[-1].dtype_policy.name == "float32"
    # --precision auto: bfloat16 only where the hardware has it natively.
    native, why = hardware.native_bfloat16()
    assert hardware.resolve_precision("auto")[0] == ("bfloat16" if native else "float32")
    with pytest.raises(ValueError):
        hardware.resolve_precision("float16")


@pytest.mark.slow  # a claim in smoke
def test_smoke_run_reports_every_judged_metric(tmp_path):
    check_reports_every_judged_metric(smoke_run(tmp_path, "mnist-mlp"))
