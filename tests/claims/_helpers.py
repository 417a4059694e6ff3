"""Helpers shared by several tests/claims/test_<module>.py files.

Imported as ``_helpers``: pytest puts tests/claims on sys.path for the test files in it (no
__init__.py), as it puts tests/ there for tests/conftest.py. Not a conftest.py, so that
``from conftest import ...`` keeps meaning tests/conftest.py.
"""

from __future__ import annotations

import json

from replication import data, registry, results, runner, verdicts

# The rest of the registered family of effect tests significant (p 0): Holm then adjusts a claim's
# own p by its own tests' ranks alone, so these tests see the claim's test, not the family's size
# (judged alone, a registered claim's p is multiplied by 11: tests/test_verdicts.py checks that).
REST_OF_FAMILY_SIGNIFICANT = {key: 0.0 for key in registry.EFFECT_FAMILY}


def smoke_run(tmp_path, claim_id, **kw):
    """One claim through the runner in smoke, on 256 training and 128 test synthetic images;
    its prerequisites, where missing from the store at tmp_path, are trained first the same way."""
    return runner.run_claim(claim_id, runner.RunOptions(
        profile="smoke", store=results.Store(tmp_path), verbose=0,
        loader=lambda name: data.synthetic(name, 256, 128), log=lambda *a: None, **kw))


def mnist_done_files(tmp_path) -> dict:
    """{done.json: mtime} of mnist-mlp's and mnist-cnn's seed runs in a smoke store: a seed run
    trained again gets a new mtime."""
    dirs = [tmp_path / "smoke" / "mnist" / claim_id for claim_id in ("mnist-mlp", "mnist-cnn")]
    return {p: p.stat().st_mtime_ns for d in dirs for p in sorted(d.rglob("done.json"))}


def check_reports_every_judged_metric(result):
    """A gate or test naming a metric the claim never reports would make every run inconclusive."""
    claim = registry.get(result["claim"])
    names = [claim.metric, *(g.metric for g in claim.gates), *(t.metric for t in claim.also_judged),
             *claim.reported, *(claim.p_metrics or ())]
    assert set(names) <= set(result["summary"]), claim.id


# -- the three CIFAR-10 claims of the lecture's CNN ----------------------------------------------


def cifar10_verdict(claim_id, values, profile="paper", train=0.99, **extra):
    claim = registry.get(claim_id)
    summary = {claim.metric: verdicts.summarize(values),
               **{g.metric: verdicts.summarize([train] * len(values)) for g in claim.gates},
               **{k: verdicts.summarize(v) for k, v in extra.items()}}
    return verdicts.judge(claim, summary, profile=profile, dataset="cifar10", synthetic=False)["verdict"]


def cifar10_saved(tmp_path, claim_id):
    path = tmp_path / "smoke" / "cifar10" / claim_id / "result.json"
    return json.loads(path.read_text()), results.Store(tmp_path).load_arrays("smoke", "cifar10", claim_id)


def check_cifar10_common(saved, claim_id):
    claim = registry.get(claim_id)
    assert saved["verdict"] == verdicts.SYNTHETIC
    epochs = saved["config"]["budget"]["epochs"] if "budget" in saved["config"] else saved["config"]["epochs"]
    assert saved["n"] == 1 and saved["seeds"] == [0] and epochs == 1
    names = [claim.metric, *(g.metric for g in claim.gates), *(t.metric for t in claim.also_judged),
             *claim.reported, *(claim.p_metrics or ())]
    assert set(names) <= set(saved["summary"]), claim_id  # every judged metric is reported
    assert claim.metric in saved["summary"] and saved["summary"][claim.metric]["n"] == 1
    assert saved["measured"]["params"] == 1_345_066
    for key in ("test_accuracy", "train_accuracy"):
        assert 0.0 <= saved["summary"][key]["mean"] <= 1.0
    hist = saved["measured"]["histories"][0]
    assert len(hist["loss"]) == 1 and len(hist["test_accuracy"]) == 1 and len(hist["test_loss"]) == 1
    assert saved["measured"]["data"]["synthetic"] is True


# -- filters-layer1 and top-patches ---------------------------------------------------------------


def filter_verdict(claim_id, v, p, p_rev=0.99, gate=0.9):
    claim = registry.get(claim_id)
    summary = {claim.metric: verdicts.summarize(v),
               claim.p_metrics[0]: verdicts.summarize(p), claim.p_metrics[1]: verdicts.summarize([p_rev] * len(p)),
               **{g.metric: verdicts.summarize([gate] * len(v)) for g in claim.gates}}
    return verdicts.judge(claim, summary, profile="quick", dataset="cifar10", synthetic=False,
                          family=REST_OF_FAMILY_SIGNIFICANT)["verdict"]
