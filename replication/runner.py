"""Run claims: configs per profile, prerequisites, skip-if-done, verdicts, the summary table."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import shutil
import time

from . import interrupts, registry, results, verdicts
from .errors import ReplicationError, ResultError
from .registry import PROFILES
from .training import RunContext, take_reused_seconds


def claim_module(claim: registry.Claim):
    return importlib.import_module(f"replication.claims.{claim.module}")


def make_config(claim_id: str, profile: str, dataset: str | None = None, seeds=None):
    """The claim's frozen config for ``profile``, with ``--dataset``/``--seeds`` applied."""
    claim = registry.get(claim_id)
    if profile not in PROFILES:
        raise ReplicationError(f"--profile: unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    config = claim_module(claim).PROFILES[profile]
    changes = {}
    if dataset is not None and claim.needs_data:
        changes["dataset"] = dataset
    if seeds is not None:
        changes["seeds"] = tuple(int(s) for s in seeds)
    return dataclasses.replace(config, **changes)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def release_memory() -> None:
    """Drop the models, graphs and buffers a claim left behind, so that `all` holds one claim's at
    a time (what it returns, and what it saved, are plain data)."""
    import gc

    import keras

    keras.backend.clear_session()  # free_memory=True: also runs the garbage collector
    gc.collect()


def run_claim(claim_id: str, *, profile: str, store: results.Store, dataset: str | None = None,
              seeds=None, data_dir=None, force: bool = False, verbose: int = 1,
              deterministic: bool = False, loader=None, log=print, role: str | None = None,
              oracle: str | None = None, tuner_id: str | None = None) -> dict:
    """Run one claim (and any missing prerequisite), save its result, return the result dict."""
    interrupts.check()
    claim = registry.get(claim_id)
    config = make_config(claim_id, profile, dataset, seeds)
    config_dict = dataclasses.asdict(config)
    fp = results.fingerprint({"claim": claim_id, "config": config_dict, "deterministic": deterministic})
    ds = config.dataset

    try:
        existing = store.load(profile, ds, claim_id)
    except ResultError:
        if not force:
            raise
        existing = None
    if existing and existing.get("fingerprint") == fp and not force:
        log(f"[{claim_id}] result exists for profile={profile} dataset={ds} (same config): skipped; "
            f"--force reruns it")
        return existing

    prerequisites = {}
    for req in claim.requires:
        req_config = make_config(req, profile, ds, seeds)
        req_fp = results.fingerprint({"claim": req, "config": dataclasses.asdict(req_config),
                                      "deterministic": deterministic})
        have = store.load(profile, ds, req)
        if have is None or have.get("fingerprint") != req_fp:
            log(f"[{claim_id}] needs the trained models of {req}: training prerequisite {req} first")
        prerequisites[req] = run_claim(req, profile=profile, store=store, dataset=ds, seeds=seeds,
                                       data_dir=data_dir, force=False, verbose=verbose,
                                       deterministic=deterministic, loader=loader, log=log)
        prerequisites[req]["_dir"] = str(store.claim_dir(profile, ds, req))

    claim_dir = store.claim_dir(profile, ds, claim_id)
    runs = claim_dir / "runs" / fp
    ctx = RunContext(work_dir=runs, data_dir=data_dir, verbose=verbose, deterministic=deterministic,
                     loader=loader, prerequisites=prerequisites, force=force, role=role, oracle=oracle,
                     tuner_id=tuner_id)
    if claim.needs_data:
        ctx.dataset(ds)  # bad data fails here, before anything saved is touched
    log(f"[{claim_id}] running profile={profile} dataset={ds} seeds={list(config.seeds)}")
    started, t0 = _now(), time.perf_counter()
    take_reused_seconds()  # count only this claim's reused runs
    # --force trains afresh, but the old runs are only deleted once the new ones have finished.
    old_runs = runs.with_name(f".{fp}.replaced") if force and runs.exists() else None
    if old_runs is not None:
        shutil.rmtree(old_runs, ignore_errors=True)
        runs.rename(old_runs)
    try:
        out = claim_module(claim).run(config, ctx)
    except BaseException:
        if old_runs is not None and not runs.exists():
            old_runs.rename(runs)
        raise
    finally:
        release_memory()
    wall = time.perf_counter() - t0
    reused = take_reused_seconds()
    if out.get("worker_only"):  # a distributed sweep's worker: the chief writes the result
        log(f"[{claim_id}] worker {tuner_id}: no trials left ({wall:.0f} s)")
        return out

    arrays = out.pop("arrays", {})
    metrics = out.pop("metrics")
    summary = {name: verdicts.summarize(values) for name, values in metrics.items()}
    data_info = out.get("data", {})
    verdict = verdicts.judge(claim, summary[claim.metric], profile=profile, dataset=ds,
                             synthetic=bool(data_info.get("synthetic")),
                             verified=bool(data_info.get("verified_checksums", False)))
    result = {
        "claim": claim_id,
        "dataset": ds,
        "profile": profile,
        "fingerprint": fp,
        "statement": claim.statement,
        "source": claim.source,
        "lecture": {
            "dataset": claim.dataset,
            "expected": claim.expected,
            "is_lecture_value": claim.lecture_value,
            "criterion": claim.criterion,
            "tolerance": claim.tolerance,
            "tolerance_reason": claim.tolerance_reason,
            "context": list(claim.lecture_context),
        },
        "metric": claim.metric,
        "verdict": verdict["verdict"],
        "verdict_detail": verdict,
        "summary": summary,
        "seeds": list(config.seeds),
        "n": len(config.seeds),
        "config": config_dict,
        "deterministic": deterministic,
        "measured": out,
        "deviations": list(claim.deviations),
        "provenance": results.provenance(),
        "runs_dir": f"runs/{fp}",
        "started": started,
        "finished": _now(),
        "wall_time_s": wall,
        # Finished seed runs taken over from an earlier invocation, not trained again: their own
        # wall time (the claim's compute is wall_time_s + this).
        "reused_runs_wall_time_s": reused,
    }
    path = store.save(result, arrays)
    if old_runs is not None:
        shutil.rmtree(old_runs, ignore_errors=True)
    log(f"[{claim_id}] {verdict['verdict']}: {format_summary(claim, summary[claim.metric])} "
        f"({wall:.0f} s) -> {path}")
    return result


def format_value(claim: registry.Claim, value) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if claim.percent else f"{value:.4g}"


def format_summary(claim: registry.Claim, s: dict) -> str:
    if not s or s.get("mean") is None:
        return "-"
    if claim.percent:
        return f"{100 * s['mean']:.2f} ± {100 * s['std']:.2f}% (n={s['n']})"
    return f"{s['mean']:.4g} ± {s['std']:.2g} (n={s['n']})"


def summary_rows(found: dict[str, dict | None]) -> list[tuple[str, str, str, str]]:
    """(claim, lecture value, reproduced, verdict) for each claim id -> result or None."""
    rows = []
    for claim_id, result in found.items():
        claim = registry.get(claim_id)
        lecture = format_value(claim, claim.expected) if claim.lecture_value else "-"
        if result is None:
            rows.append((claim_id, lecture, "-", verdicts.NOT_RUN))
            continue
        rows.append((claim_id, lecture, format_summary(claim, result["summary"][claim.metric]),
                     result["verdict"]))
    return rows


def print_table(rows, log=print) -> None:
    header = ("claim", "lecture", "reproduced (mean ± std, n)", "verdict")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    log(line.format(*header))
    log(line.format(*("-" * w for w in widths)))
    for r in rows:
        log(line.format(*r))
