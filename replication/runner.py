"""Run claims: configs per profile, prerequisites, skip-if-done, verdicts, saving the result.

The one module that trains on behalf of others: ``all``, ``report`` and ``notebook`` come here
for results they lack (:func:`ensure_results`); reports, docs and figures only read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from . import claims, display, hardware, interrupts, locks, registry, results, tuning, verdicts
from .context import Prerequisite, RunContext
from .errors import ReplicationError, ResultError
from .registry import PROFILES


def make_config(claim_id: str, profile: str, dataset: str | None = None, seeds=None):
    """The claim's frozen config for ``profile``, with ``--dataset``/``--seeds`` applied."""
    claim = registry.get(claim_id)
    if profile not in PROFILES:
        raise ReplicationError(f"--profile: unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    config = claims.profiles(claim_id)[profile]
    changes = {}
    if dataset is not None and claim.needs_data:
        changes["dataset"] = dataset
    if seeds is not None:
        changes["seeds"] = tuple(int(s) for s in seeds)
    return dataclasses.replace(config, **changes)


def config_fingerprint(claim_id: str, config, deterministic: bool, precision: str) -> str:
    """What must match for a saved result (or seed run) to stand for a new one: the claim, its
    config, deterministic ops, and the precision (a bfloat16 result never stands in for float32)."""
    return results.fingerprint({"claim": claim_id, "config": dataclasses.asdict(config),
                                "deterministic": deterministic, "precision": precision})


def release_memory() -> None:
    """Drop the models, graphs and buffers a claim left behind, so that `all` holds one claim's at
    a time (what it returns, and what it saved, are plain data)."""
    import gc

    import keras

    keras.backend.clear_session()  # free_memory=True: also runs the garbage collector
    gc.collect()


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How claims run (everything but which claim): what ``run``/``all`` read off the command line.

    ``seeds``/``dataset``: override the profile's. ``wait``: when another run holds a claim's
    folder, wait for it instead of stopping with :class:`errors.LockHeld`. ``precision``:
    ``"float32"`` or ``"bfloat16"`` (Keras's ``mixed_bfloat16`` policy, set for one claim at a
    time; see hardware.resolve_precision). ``loader``: name -> Dataset, for tests' synthetic data.
    """

    profile: str
    store: results.Store
    dataset: str | None = None
    seeds: tuple[int, ...] | None = None
    data_dir: Path | None = None
    force: bool = False
    verbose: int = 1  # Keras: 0 silent, 1 progress bars, 2 one line per epoch
    deterministic: bool = False
    loader: Callable | None = None
    wait: bool = False
    precision: str = "float32"
    log: Callable = print


def run_claim(claim_id: str, options: RunOptions, distributed: tuning.Distributed | None = None) -> dict:
    """Run one claim (and any missing prerequisite), save its result, return the result dict.

    ``distributed``: this process's part in a Keras Tuner sweep, for a claim whose module sets
    ``DISTRIBUTED`` (depth-width) only."""
    interrupts.check()
    o, log = options, options.log
    profile, store, ds_override = o.profile, o.store, o.dataset
    claim = registry.get(claim_id)
    module = claims.module(claim_id)
    if distributed is not None and not getattr(module, "DISTRIBUTED", False):
        raise ReplicationError(f"--role: {claim_id} does not run distributed (only depth-width does)")
    worker = distributed is not None and distributed.worker
    config = make_config(claim_id, profile, ds_override, o.seeds)
    config_dict = dataclasses.asdict(config)
    fp = config_fingerprint(claim_id, config, o.deterministic, o.precision)
    ds = config.dataset

    try:
        existing = store.load(profile, ds, claim_id)
    except ResultError:
        if not o.force:
            raise
        existing = None
    if existing and existing.get("fingerprint") == fp and not o.force:
        log(f"[{claim_id}] result exists for profile={profile} dataset={ds} (same config): skipped; "
            f"--force reruns it")
        return existing

    prerequisites = {}
    for req in claim.requires:
        req_fp = config_fingerprint(req, make_config(req, profile, ds, o.seeds), o.deterministic,
                                    o.precision)
        have = store.load(profile, ds, req)
        if have is None or have.get("fingerprint") != req_fp:
            log(f"[{claim_id}] needs the trained models of {req}: training prerequisite {req} first")
        prerequisites[req] = Prerequisite(
            req, run_claim(req, dataclasses.replace(o, dataset=ds, force=False)),
            store.claim_dir(profile, ds, req))

    claim_dir = store.claim_dir(profile, ds, claim_id)
    # One run per claim folder at a time (locks.claim_lock); a distributed sweep's workers write
    # only under their own folder, so they take none.
    lock = (contextlib.nullcontext() if worker
            else locks.claim_lock(claim_dir, wait=o.wait, log=log))
    with lock:
        if not o.force and not worker:
            # Another run may have finished this claim while this one waited for the lock.
            existing = store.load(profile, ds, claim_id)
            if existing and existing.get("fingerprint") == fp:
                log(f"[{claim_id}] result written meanwhile by another run: skipped")
                return existing
        ctx = RunContext(claim_dir=claim_dir, fingerprint=fp, data_dir=o.data_dir, verbose=o.verbose,
                         deterministic=o.deterministic, loader=o.loader, prerequisites=prerequisites,
                         force=o.force)
        runs = ctx.work_dir
        if claim.needs_data:
            ctx.dataset(ds)  # bad data fails here, before anything saved is touched
        log(f"[{claim_id}] running profile={profile} dataset={ds} seeds={list(config.seeds)}")
        started, t0 = display.now(), time.perf_counter()
        # --force trains afresh, but the old runs are only deleted once the new ones have finished.
        old_runs = runs.with_name(f".{fp}.replaced") if o.force and runs.exists() else None
        if old_runs is not None:
            shutil.rmtree(old_runs, ignore_errors=True)
            runs.rename(old_runs)
        try:
            with hardware.precision_policy(o.precision):
                out = (module.run(config, ctx) if distributed is None
                       else module.run(config, ctx, distributed=distributed))
        except BaseException:
            if old_runs is not None and not runs.exists():
                old_runs.rename(runs)
            raise
        finally:
            release_memory()
        wall = time.perf_counter() - t0
        reused = ctx.reused_seconds
        if out.get("worker_only"):  # a distributed sweep's worker: the chief writes the result
            log(f"[{claim_id}] worker {distributed.tuner_id}: no trials left ({wall:.0f} s)")
            return out

        arrays = out.pop("arrays", {})
        metrics = out.pop("metrics")
        summary = {name: verdicts.summarize(values) for name, values in metrics.items()}
        data_info = out.get("data", {})
        verdict = verdicts.judge(claim, summary, profile=profile, dataset=ds,
                                 synthetic=bool(data_info.get("synthetic")),
                                 verified=bool(data_info.get("verified_checksums", False)),
                                 seeds=len(config.seeds))
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
            # The registry entry that judged this result (verdicts.entry_hash): a different hash
            # today means the entry changed since, and the result is listed as stale.
            "registry_entry": verdict["registry_entry"],
            "verdict_detail": verdict,
            "summary": summary,
            "seeds": list(config.seeds),
            "n": len(config.seeds),
            "config": config_dict,
            "deterministic": o.deterministic,
            "precision": o.precision,
            "measured": out,
            "deviations": list(claim.deviations),
            # A one-second matmul calibration (a tenth of one for smoke runs, which are tests).
            "provenance": results.provenance(precision=o.precision,
                                             calibrate=0.1 if profile == "smoke" else 1.0),
            "runs_dir": f"runs/{fp}",
            "started": started,
            "finished": display.now(),
            "wall_time_s": wall,
            # Finished seed runs taken over from an earlier invocation, not trained again: their own
            # wall time (the claim's compute is wall_time_s + this).
            "reused_runs_wall_time_s": reused,
        }
        path = store.save(result, arrays)
        if old_runs is not None:
            shutil.rmtree(old_runs, ignore_errors=True)
        log(f"[{claim_id}] {verdict['verdict']}: {display.format_summary(claim, summary[claim.metric])} "
            f"({wall:.0f} s) -> {path}")
        return result


def run_claims(claim_ids, options: RunOptions, *, distributed: tuning.Distributed | None = None,
               into: dict | None = None) -> dict[str, dict]:
    """:func:`run_claim` for each id in turn, saying which of how many and the time so far.
    ``into``: the dict to fill (so a caller still has the finished ones after an interruption)."""
    log = options.log
    done, t0 = (into if into is not None else {}), time.perf_counter()
    for i, claim_id in enumerate(claim_ids, 1):
        if len(claim_ids) > 1:
            log(f"== claim {i} of {len(claim_ids)}: {claim_id} "
                f"(elapsed {display.duration(time.perf_counter() - t0)})")
        done[claim_id] = run_claim(claim_id, options, distributed)
    if len(claim_ids) > 1:
        log(f"== {len(claim_ids)} claims in {display.duration(time.perf_counter() - t0)}")
    return done


def ensure_results(results_dir, profile: str | None = None, *, data_dir=None, log=print) -> str:
    """The profile to show; when it (or, with no ``profile``, every profile) has no results, run
    every claim in ``smoke`` and draw its figures, so that there is something to show."""
    from . import plotting

    chosen = results.pick_profile(results_dir, profile)
    if chosen is not None and chosen in results.profiles_with_results(results_dir):
        return chosen
    where = f"profile {profile}" if profile else "any profile"
    log(f"no results for {where} under {results_dir}: running every claim in smoke (seconds each)")
    store = results.Store(results.ensure_writable_dir(Path(results_dir)))
    options = RunOptions(profile="smoke", store=store, data_dir=data_dir, verbose=0, log=log)
    for claim_id in registry.CLAIMS:
        run_claim(claim_id, options)
    plotting.regenerate_all(Path(results_dir), profile="smoke", log=log)
    return "smoke"
