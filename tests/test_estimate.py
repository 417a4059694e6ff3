"""Estimates before a run (issue #21) and for a named accelerator (#24): this machine's step time
(a step calibration, kept per machine in the results folder) times the claim's overhead (where it
comes from, in order), the dry run that trains nothing, and the counted work, step time and
overhead every trained result records."""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import run_cli, tree_snapshot

from replication import data, estimate, flops, registry, results, runner
from replication.results import REFERENCE_DIR, Store


def test_seconds_are_flops_over_efficiency_times_rate_and_overheads_fall_back_to_their_median():
    assert estimate.seconds_for(2e12, 0.5, 100.0) == pytest.approx(40.0)
    assert estimate.seconds_for(None, 0.5, 100.0) is None
    assert estimate.seconds_for(2e12, None, 100.0) is None
    assert flops.efficiency(2e12, 40.0, 100.0) == pytest.approx(0.5)
    assert estimate.median_overhead([None, 1.2, 1.6, 1.4], "x")[0] == pytest.approx(1.4)
    assert estimate.median_overhead([None], "x") == (estimate.ASSUMED_OVERHEAD,
                                                     "assumed: no run recorded its steps")


class OneResult:
    """A store that holds one result for every claim."""

    def __init__(self, result):
        self.result = result

    def load(self, *a):
        return self.result


class Nothing:
    def load(self, *a):
        return None


def with_overhead(result, overhead, fingerprint=None):
    return dict(result, fingerprint=fingerprint or result["fingerprint"],
                work={**(result.get("work") or {}), "overhead": overhead})


def test_the_overhead_comes_from_the_last_current_run_that_recorded_it_else_an_earlier_config():
    claim = "mnist-mlp"
    ref = Store(REFERENCE_DIR).load("quick", "mnist", claim)
    current, stale = with_overhead(ref, 1.23), with_overhead(ref, 1.7, "0" * 12)
    assert runner.last_overhead(claim, "quick", [("mine", OneResult(current))]) == (
        1.23, f"mine, {ref['precision']}")
    # A run that recorded none (the committed runs before stop 31) is passed over for the next store.
    assert runner.last_overhead(claim, "quick", [("ref", OneResult(ref)), ("mine", OneResult(current))]
                                )[0] == 1.23
    # Another config's run only where asked for, and named as such.
    assert runner.last_overhead(claim, "quick", [("old", OneResult(stale))]) == (None, "")
    value, where = runner.last_overhead(claim, "quick", [("old", OneResult(stale))], earlier_config=True)
    assert value == 1.7 and "earlier config" in where
    assert runner.last_overhead(claim, "quick", [("mine", OneResult(current))], earlier_config=True)[0] is None


class _Host:
    """results.CpuMeter with a fixed share of the host's CPU taken by other processes."""

    others = 0.0
    meter = results.CpuMeter

    def __init__(self):
        self.real = type(self).meter()

    def stop(self):
        return {**self.real.stop(), "others_cpu_share": type(self).others}


@pytest.fixture(autouse=True)
def quiet_host(monkeypatch):
    """Plans here see a quiet host, whatever else runs beside the tests (an xdist worker on the
    other core), unless a test says otherwise."""
    monkeypatch.setattr(_Host, "others", 0.0)
    monkeypatch.setattr(results, "CpuMeter", _Host)
    return _Host


@pytest.fixture
def fake_steps(monkeypatch):
    """time_model without TensorFlow work: every model trains at 1 ms and predicts at 0.25 ms per
    image; records the precision it was asked for."""
    asked = []

    def time_model(model, *, train, predict, **kw):
        import keras

        asked.append(keras.config.dtype_policy().name)
        return {"train_s_per_image": 1e-3 if train else None, "predict_s_per_image": 2.5e-4 if predict else None}

    monkeypatch.setattr(estimate, "time_model", time_model)
    return asked


def test_a_plan_is_the_claims_step_time_here_times_its_overhead_and_keeps_the_calibration(
        tmp_path, fake_steps):
    """The step time is the images planned times the time per image measured in the plan's
    precision; the calibration is kept in the results folder, so a second plan (and ``list``)
    times nothing; ``measure=False`` estimates only what was timed."""
    store = results.Store(tmp_path)
    for precision, policy in (("float32", "float32"), ("bfloat16", "mixed_bfloat16")):
        fake_steps.clear()
        options = runner.RunOptions(profile="quick", store=store, precision=precision, log=lambda *a: None)
        (e,), text = runner.plan(["mnist-mlp"], options)
        work = estimate.planned_work("mnist-mlp", runner.make_config("mnist-mlp", "quick"))
        steps = sum(w.train_images * 1e-3 + w.eval_images * 2.5e-4 for w in work)
        assert e.steps_s == pytest.approx(steps) and fake_steps == [policy] * len(work)
        assert e.seconds == pytest.approx(steps * e.overhead)
        assert f"{len(work)} models timed now" in text
    fake_steps.clear()
    (again,), text = runner.plan(["mnist-mlp"], options)
    assert fake_steps == [] and again.seconds == pytest.approx(e.seconds) and "0 models timed now" in text
    assert (tmp_path / estimate.StepCache.NAME).is_file()
    (unknown,), _ = runner.plan(["mnist-cnn"], options, measure=False)
    assert unknown.seconds is None and unknown.steps_s is None and fake_steps == []
    # The smoke profile (tests) times nothing in a plan either.
    smoke = runner.RunOptions(profile="smoke", store=store, precision="float32", log=lambda *a: None)
    (e,), _ = runner.plan(["mnist-cnn"], smoke)
    assert e.seconds is None and fake_steps == []


def test_steps_timed_while_other_processes_took_the_cpu_are_used_once_said_so_and_not_kept(
        tmp_path, fake_steps, quiet_host):
    """Stop 33 timed a model's steps 1.5x slower beside a training run than on the quiet host: a
    plan whose calibration shared the host says so and keeps none of it, so the next plan times
    again."""
    options = runner.RunOptions(profile="quick", store=results.Store(tmp_path), precision="float32",
                                log=lambda *a: None)
    quiet_host.others = estimate.BUSY_HOST + 0.2
    (e,), text = runner.plan(["mnist-mlp"], options)
    assert e.steps_s and "other processes took 45% of the host's CPU" in text and "not kept" in text
    assert not (tmp_path / estimate.StepCache.NAME).exists()
    quiet_host.others = 0.0
    fake_steps.clear()
    (again,), text = runner.plan(["mnist-mlp"], options)
    assert fake_steps and "not kept" not in text and (tmp_path / estimate.StepCache.NAME).is_file()


def test_a_plan_counts_what_an_interrupted_run_of_the_same_config_already_trained(tmp_path, fake_steps):
    """A claim whose run was interrupted resumes its seed runs: its plan is the whole claim's
    estimate less their wall time so far (a finished seed's, an unfinished one's epochs); another
    config's runs and ``--force`` count nothing."""
    store = results.Store(tmp_path)
    options = runner.RunOptions(profile="quick", store=store, precision="float32", log=lambda *a: None)
    (fresh,), _ = runner.plan(["mnist-mlp"], options)
    assert fresh.trained_s == 0.0
    config = runner.make_config("mnist-mlp", "quick")
    runs = store.claim_dir("quick", "mnist", "mnist-mlp") / "runs"
    work_dir = runs / runner.config_fingerprint("mnist-mlp", config, False, "float32")
    (work_dir / "seed1").mkdir(parents=True)
    results.atomic_write_json(work_dir / "seed1" / "done.json", {"seed": 1, "wall_time_s": 100.0})
    (work_dir / "sub" / "seed2").mkdir(parents=True)
    (work_dir / "sub" / "seed2" / "history.csv").write_text(
        "epoch,accuracy,epoch_time_s,loss\n0,0.5,10.0,1.0\n1,0.6,20.0,0.9\n")
    (runs / "another-config" / "seed3").mkdir(parents=True)
    results.atomic_write_json(runs / "another-config" / "seed3" / "done.json", {"wall_time_s": 1e4})
    (e,), _ = runner.plan(["mnist-mlp"], options)
    assert e.trained_s == pytest.approx(130.0)
    assert e.seconds == pytest.approx(max(fresh.seconds - 130.0, 0.0))
    lines = []
    runner.print_plan([e], "", "quick", log=lines.append)
    assert any("resumes (2.2 min trained)" in line for line in lines)
    (forced,), _ = runner.plan(["mnist-mlp"], dataclasses.replace(options, force=True))
    assert forced.trained_s == 0.0 and forced.seconds == pytest.approx(fresh.seconds)


def test_list_says_what_is_left_of_a_claim_that_resumes(tmp_path, monkeypatch):
    import argparse

    from replication.__main__ import cmd_list

    def plan(claim_ids, options, device=None, *, measure=True):
        return [estimate.Estimate(c, 1e12, 600.0, None, "mine", False, 500.0, 1.2,
                                  trained_s=120.0 if c == "filters-layer1" else 0.0)
                for c in claim_ids], "fake"

    monkeypatch.setattr(runner, "plan", plan)
    lines = []
    assert cmd_list(argparse.Namespace(profile="quick", results_dir=str(tmp_path)), lines.append) == 0
    row = {line.split()[0]: line for line in lines if line.split()}
    assert row["filters-layer1"].endswith("10.0 min left (2.0 min trained)")
    assert row["mnist-cnn"].endswith("10.0 min")


def test_a_plan_of_one_unrun_claim_falls_back_to_the_median_of_its_datasets_claims(
        tmp_path, fake_steps, monkeypatch):
    """``run X`` alone, X with no run of any config that recorded an overhead: the median over the
    profile's claims of X's dataset that recorded one, not the assumed value; with none at all, the
    assumed value, said so."""
    recorded = {"mnist-mlp": 1.2, "dropout": 1.6, "mnist-cnn": None, "cifar10-noaug": 3.0}

    def lookup(claim_id, profile, stores, *, earlier_config=False):
        value = None if earlier_config else recorded.get(claim_id)
        return value, ("mine" if value else "")

    monkeypatch.setattr(runner, "last_overhead", lookup)
    options = runner.RunOptions(profile="quick", store=results.Store(tmp_path), log=lambda *a: None)
    (e,), _ = runner.plan(["mnist-cnn"], options)
    assert e.overhead == pytest.approx(1.4) and "median of 2 mnist claims'" in e.source
    recorded.update({"mnist-mlp": None, "dropout": None})
    (e,), _ = runner.plan(["mnist-cnn"], options)  # no MNIST claim has one: every claim's median
    assert e.overhead == pytest.approx(3.0) and "median of 1 claims'" in e.source
    recorded.clear()
    (e,), _ = runner.plan(["mnist-cnn"], options)
    assert e.overhead == estimate.ASSUMED_OVERHEAD and "assumed" in e.source


def test_a_claims_progress_line_counts_the_prerequisites_it_trains_first(tmp_path, monkeypatch):
    """``run filters-layer1`` with cifar10-aug not run: the plan puts cifar10-aug first, and the
    claim's line says the two together (it said filters-layer1's 40 min, then trained cifar10-aug
    for 3 h); a prerequisite counted once, or done (0 s), or named itself, is not counted again."""
    lines, ran = [], []
    monkeypatch.setattr(runner, "run_claim", lambda claim_id, options, distributed=None: ran.append(claim_id))
    options = runner.RunOptions(profile="quick", store=results.Store(tmp_path), log=lines.append,
                                estimates={"cifar10-aug": 3 * 3600.0, "filters-layer1": 40 * 60.0,
                                           "top-patches": 60.0, "cifar10-fast": 0.0})
    runner.run_claims(["filters-layer1"], options)
    assert "this claim ~3 h 40 min with its prerequisite cifar10-aug, remaining ~3 h 40 min" in lines[0]
    lines.clear()
    runner.run_claims(["filters-layer1", "cifar10-noaug", "top-patches"],
                      dataclasses.replace(options, estimates={**options.estimates, "cifar10-noaug": 1800.0}))
    # cifar10-noaug's prerequisite is charged to filters-layer1; top-patches' (cifar10-fast) is done.
    assert "this claim ~3 h 40 min with its prerequisite cifar10-aug, remaining ~4 h 11 min" in lines[0]
    assert "cifar10-noaug (elapsed" in lines[1] and "this claim ~30.0 min, remaining ~31.0 min" in lines[1]
    assert "prerequisite" not in lines[2] and "this claim ~60 s, remaining ~60 s)" in lines[2]
    # Named in order before the claim that needs it: its own line, not the dependant's.
    assert [s for s, _ in runner.with_prerequisites(["cifar10-aug", "filters-layer1"], options.estimates)] \
        == [3 * 3600.0, 40 * 60.0]
    # Named after it: trained with the first, nothing left for its own turn.
    assert runner.with_prerequisites(["filters-layer1", "cifar10-aug"], options.estimates) \
        == [(3 * 3600.0 + 2400.0, ["cifar10-aug"]), (0.0, [])]
    assert runner.with_prerequisites(["filters-layer1"], {"filters-layer1": 60.0, "cifar10-aug": None}) \
        == [(None, ["cifar10-aug"])]
    assert ran == ["filters-layer1"] * 2 + ["cifar10-noaug", "top-patches"]


def test_the_step_cache_holds_for_this_machine_only_and_survives_a_damaged_file(tmp_path):
    cache = estimate.StepCache(tmp_path)
    key = estimate.StepCache.key("m", 1000, "float32")
    cache.put(key, {"train_s_per_image": 1e-3, "predict_s_per_image": None, "measured": "now"})
    cache.save()
    assert estimate.StepCache(tmp_path).get(key)["train_s_per_image"] == 1e-3
    saved = json.loads((tmp_path / estimate.StepCache.NAME).read_text())
    saved["machine"] = dict(saved["machine"], cpu="another CPU")
    (tmp_path / estimate.StepCache.NAME).write_text(json.dumps(saved))
    assert estimate.StepCache(tmp_path).get(key) is None  # measured elsewhere: not this machine's
    (tmp_path / estimate.StepCache.NAME).write_text("{ not json")
    assert estimate.StepCache(tmp_path).models == {}
    assert estimate.StepCache(None).get(key) is None  # no folder: nothing kept
    estimate.StepCache(None).save()


def test_a_step_calibration_times_a_real_model():
    """One small Keras model, timed for real: positive seconds per image for each kind of step
    asked for, none for the other."""
    import keras

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    speed = estimate.time_model(model, train=True, predict=False, min_steps=1, min_seconds=0.0, repeats=2)
    assert speed["train_s_per_image"] > 0 and speed["predict_s_per_image"] is None
    speed = estimate.time_model(model, train=False, predict=True, min_steps=1, min_seconds=0.0)
    assert speed["predict_s_per_image"] > 0 and speed["train_s_per_image"] is None
    keras.backend.clear_session()


def test_a_dry_run_for_a_named_accelerator_prints_the_paper_plan_and_trains_nothing(tmp_path):
    before = tree_snapshot(tmp_path)
    proc = run_cli("all", "--dry-run", "--device", "h200", "--results-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "profile paper" in out and "NVIDIA H200" in out and "precision: bfloat16" in out
    for claim_id in registry.CLAIMS:
        assert claim_id in out
    assert "assumed" in out and out.strip().splitlines()[-1].startswith("total")
    assert tree_snapshot(tmp_path) == before


def test_device_without_dry_run_is_refused_in_one_line(tmp_path):
    proc = run_cli("run", "mnist-mlp", "--device", "h100", "--results-dir", str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: --device: only with --dry-run (a run uses this machine's devices)"]


@pytest.mark.slow  # trains mnist-mlp in smoke
def test_a_trained_result_records_its_counted_work_and_the_estimate_made_before(tmp_path):
    options = runner.RunOptions(profile="smoke", store=results.Store(tmp_path), verbose=0,
                                loader=lambda name: data.synthetic(name, 512, 128),
                                log=lambda *a: None, precision="float32",
                                estimates={"mnist-mlp": 12.5}, measure_steps=True)
    result = runner.run_claim("mnist-mlp", options)
    work = result["work"]
    # No plan timed its steps: its own step time, measured at its end, and the overhead beyond
    # it; not kept for plans (a reading after a long run can be slow).
    assert work["steps_s"] > 0 and work["steps_measured"] == "after the run"
    assert work["overhead"] == pytest.approx(result["wall_time_s"] / work["steps_s"])
    assert not (tmp_path / estimate.StepCache.NAME).exists()
    # With the plan's step time (taken before the run, as the next plan's will be), that one.
    # A plan made while an interrupted run had trained 10 s of it left 2.5 s: the result keeps the
    # whole claim's estimate, which its compute (wall time and what was trained before) matches.
    planned = runner.run_claim("mnist-mlp", dataclasses.replace(
        options, force=True, steps={"mnist-mlp": 0.5}, estimates={"mnist-mlp": 2.5},
        trained={"mnist-mlp": 10.0}))["work"]
    assert planned["steps_s"] == 0.5 and planned["steps_measured"].startswith("before the run")
    assert planned["estimate_s"] == 12.5
    config = runner.make_config("mnist-mlp", "smoke")
    assert work["flops"] == estimate.planned_flops("mnist-mlp", config, n_train=512, n_test=128)
    assert work["flops"]["total"] > 0 and work["estimate_s"] == 12.5
    rate = result["provenance"]["calibration"]["matmul_gflops_float32"]
    assert work["matmul_gflops"] == rate
    assert work["seconds_at_limit"] == pytest.approx(work["flops"]["total"] / (rate * 1e9))
    assert work["efficiency"] == pytest.approx(
        work["flops"]["total"] / (result["wall_time_s"] * rate * 1e9))
    # Whether it had the host to itself: its CPU seconds over wall x cores, the load around it.
    used = result["cpu_use"]
    assert used["process_cpu_s"] > 0 and used["cores"] >= 1 and used["load_average_end"] >= 0
    assert used["cpu_share"] == pytest.approx(used["process_cpu_s"] / (result["wall_time_s"] * used["cores"]),
                                              rel=0.02)


def test_every_committed_result_carries_the_work_todays_plan_counts():
    """The committed results' counted work is what today's planned_work gives for their config
    (regenerate with `python -m replication count-work --results-dir reference` when it changes),
    and its efficiency is FLOPs over the run's compute time and own matmul rate. A result made by
    an earlier config (test_reference.py lists each by name, with its rerun) is checked against
    nothing but its own efficiency: today's plan counts another problem."""
    checked = 0
    for _, result in Store(REFERENCE_DIR).all_results():
        work = result["work"]
        config = runner.make_config(result["claim"], result["profile"], result["dataset"],
                                    result["seeds"])
        current = runner.config_fingerprint(result["claim"], config, bool(result.get("deterministic")),
                                            result.get("precision", "float32")) == result["fingerprint"]
        if current:
            checked += 1
            assert work["flops"] == estimate.planned_flops(result["claim"], config), result["claim"]
        if work["flops"]["total"]:
            assert work["efficiency"] == pytest.approx(flops.efficiency(
                work["flops"]["total"], estimate.compute_seconds(result),
                estimate.matmul_rate(result))), result["claim"]
    assert checked >= 10


def test_the_report_shows_the_estimate_and_the_step_time_beside_the_wall_time():
    from replication import report

    claim = registry.get("mnist-mlp")
    ref = Store(REFERENCE_DIR).load("quick", "mnist", "mnist-mlp")
    result = dict(ref, wall_time_s=600.0, reused_runs_wall_time_s=0.0,
                  work={**ref["work"], "estimate_s": 540.0, "steps_s": 450.0, "overhead": 600.0 / 450.0})
    text = report.Entry(claim, "mnist", result, (), ()).wall_time
    assert text == ("10.0 min; estimated 9.0 min before it started; its training steps and "
                    "predictions alone 7.5 min (overhead 1.33)")
    bare = dict(result, work={"flops": ref["work"]["flops"]})  # a run from before issue #21's records
    assert report.Entry(claim, "mnist", bare, (), ()).wall_time == "10.0 min"
