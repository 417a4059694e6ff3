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

from . import (
    claims,
    display,
    estimate,
    flops,
    hardware,
    interrupts,
    locks,
    registry,
    results,
    training,
    tuning,
    verdicts,
)
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
    # claim -> seconds estimated before the run (plan()): printed as it goes, kept in its result.
    estimates: dict = dataclasses.field(default_factory=dict, hash=False, compare=False)
    # claim -> seconds its interrupted runs had trained when plan() made those estimates (what is
    # left is the estimate; the result keeps the whole claim's, comparable with its compute).
    trained: dict = dataclasses.field(default_factory=dict, hash=False, compare=False)
    # claim -> this machine's step time for it, from plan()'s step calibration before the run: the
    # claim's overhead is its wall time over this.
    steps: dict = dataclasses.field(default_factory=dict, hash=False, compare=False)
    # Time the claim's steps in plan() (and after a run that plan() did not time): None, for
    # every profile but smoke (tests: a step calibration traces every model, seconds each, to
    # estimate seconds).
    measure_steps: bool | None = None

    @property
    def measures_steps(self) -> bool:
        return self.profile != "smoke" if self.measure_steps is None else self.measure_steps


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
        meter = results.CpuMeter()
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
        used = meter.stop()
        reused = ctx.reused_seconds
        if out.get("worker_only"):  # a distributed sweep's worker: the chief writes the result
            log(f"[{claim_id}] worker {distributed.tuner_id}: no trials left ({wall:.0f} s)")
            return out

        work = counted_work(claim_id, config, ctx if claim.needs_data else None, ds, wall + reused,
                            result_precision=o.precision, estimate_s=(
                                None if o.estimates.get(claim_id) is None
                                else o.estimates[claim_id] + o.trained.get(claim_id, 0.0)))
        steps, when = o.steps.get(claim_id), "before the run (the plan's step calibration)"
        if work is not None and steps is None and o.measures_steps:
            steps, when = measured_steps(claim_id, config, ctx if claim.needs_data else None, ds,
                                         o.precision, quick=profile == "smoke"), "after the run"
        if work is not None and steps:
            # This machine's time for the same steps and the overhead the run needed beyond them:
            # what the next plan multiplies its own step time by. The plan's calibration, taken
            # before the run as every plan's is, where there is one: one taken after a long run
            # reads the host as it is then (stop 31: 20-40% slower than before on this 2-core
            # host, whose hypervisor took 10% of the CPU under load), and an overhead below 1
            # came out of it twice.
            work.update(steps_s=steps, steps_measured=when, overhead=(wall + reused) / steps)
        arrays = out.pop("arrays", {})
        metrics = out.pop("metrics")
        summary = {name: verdicts.summarize(values) for name, values in metrics.items()}
        data_info = out.get("data", {})
        verdict = verdicts.judge(claim, summary, profile=profile, dataset=ds,
                                 synthetic=bool(data_info.get("synthetic")),
                                 verified=bool(data_info.get("verified_checksums", False)),
                                 seeds=len(config.seeds), seed_ids=config.seeds)
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
            # What an earlier, interrupted invocation trained and this one took over: finished seed
            # runs' wall time and the epochs of runs it resumed (the claim's compute is
            # wall_time_s + this).
            "reused_runs_wall_time_s": reused,
            # Whether the run had the host to itself (its CPU share, the load average).
            "cpu_use": used,
            # What it computed (FLOPs counted from its models' layers and the images they saw) and
            # how near the matmul rate it ran (issue #21); the estimate printed before it started.
            "work": work,
        }
        if work is not None:
            work.update(work_speed(work["flops"]["total"], wall + reused, result["provenance"], o.precision))
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
    charged: set[str] = set()  # prerequisites counted in an earlier claim's time
    for i, claim_id in enumerate(claim_ids, 1):
        if len(claim_ids) > 1 or options.estimates:
            left = with_prerequisites(claim_ids[i - 1:], options.estimates, charged)
            first, reqs = left[0] if left else (None, [])
            guess = (f"; this claim ~{display.duration(first)}" if first is not None else "")
            guess += (f" with its prerequisite{'s' * (len(reqs) > 1)} {', '.join(reqs)}"
                      if reqs and first is not None else "")
            guess += (f", remaining ~{display.duration(sum(x for x, _ in left))}"
                      if left and all(x is not None for x, _ in left) else "")
            log(f"== claim {i} of {len(claim_ids)}: {claim_id} "
                f"(elapsed {display.duration(time.perf_counter() - t0)}{guess})")
            charged.update(reqs)
        charged.add(claim_id)
        done[claim_id] = run_claim(claim_id, options, distributed)
    if len(claim_ids) > 1:
        log(f"== {len(claim_ids)} claims in {display.duration(time.perf_counter() - t0)}")
    return done


def with_prerequisites(claim_ids, estimates: dict, charged=frozenset()) -> list[tuple]:
    """(seconds, [prerequisites it trains first]) per claim of ``claim_ids``, in order: its own
    estimate plus those of the prerequisites that :func:`plan` put in ``estimates`` (its missing
    ones) and that no claim named or ``charged`` before it trains; seconds None where one is
    unknown. Without this, ``run filters-layer1`` said "~40 min" and trained cifar10-aug (3 h here)
    first."""
    out, charged = [], set(charged)
    for k, claim_id in enumerate(claim_ids):
        # A finished prerequisite is planned at 0 s; one named later in claim_ids is trained here.
        reqs = [r for r in registry.get(claim_id).requires
                if estimates.get(r, 0) != 0 and r not in charged and r not in claim_ids[:k]]
        parts = [estimates.get(r) for r in reqs] + [0.0 if claim_id in charged else estimates.get(claim_id)]
        out.append((None if any(x is None for x in parts) else sum(parts), reqs))
        charged.update(reqs)
    return out


def loaded_sizes(ctx, dataset: str) -> dict:
    """{"n_train", "n_test"} of the dataset the claim loaded (``ctx``; None: it loads none, {})."""
    if ctx is None:
        return {}
    data = ctx.dataset(dataset)
    return {"n_train": len(data.train), "n_test": len(data.test)}


def counted_work(claim_id: str, config, ctx, dataset: str, seconds: float, *,
                 result_precision: str, estimate_s: float | None = None) -> dict | None:
    """The claim's planned FLOPs on the data it loaded (``ctx``; None: it loads none), or None
    when its module plans no work."""
    counted = estimate.planned_flops(claim_id, config, **loaded_sizes(ctx, dataset))
    if counted is None:
        return None
    return {"flops": counted, "estimate_s": estimate_s, "precision": result_precision}


def measured_steps(claim_id: str, config, ctx, dataset: str, precision: str, *,
                   quick: bool = False) -> float | None:
    """This machine's seconds, measured afresh after a run, for the training steps and
    predictions the claim planned on the data it loaded (``estimate.step_seconds``). Not kept in
    the store's step cache: a reading taken after a long run can be 20-40% slow on a host that
    slows under load (stop 31), and plans read that cache before their runs. ``quick`` (smoke
    runs, which are tests): one timed call per model."""
    work = estimate.planned_work(claim_id, config, **loaded_sizes(ctx, dataset))
    if not work:
        return None
    seconds = estimate.step_seconds(work, precision, None, fresh=True,
                                    **({"min_steps": 1, "min_seconds": 0.0, "repeats": 1}
                                       if quick else {}))
    return seconds or None


def work_speed(total_flops: float, seconds: float, provenance: dict, precision: str) -> dict:
    """Efficiency = FLOPs / (seconds x the run's matmul rate in its precision), and the seconds the
    arithmetic would take at that rate (the limit)."""
    rate = (provenance.get("calibration") or {}).get(f"matmul_gflops_{precision}")
    return {"matmul_gflops": rate,
            "seconds_at_limit": total_flops / (rate * 1e9) if rate else None,
            "efficiency": flops.efficiency(total_flops, seconds, rate)}


def add_counted_work(results_dir: Path, log=print) -> list[str]:
    """Give every saved result that lacks one its counted work (``work``: the FLOPs its config
    plans on the real data, its efficiency from its own wall time and calibration), as a run of
    today's code records it; results made by another config than today's, or on synthetic data,
    are listed and left alone. Nothing is retrained and no number is changed. Returns the names
    of the results written."""
    store = results.Store(results_dir)
    written = []
    for path, result in store.all_results():
        name = f"{result['profile']}/{result['dataset']}/{result['claim']}"
        if result.get("work") or result["claim"] not in registry.CLAIMS:
            continue
        if (result.get("measured") or {}).get("data", {}).get("synthetic"):
            log(f"{name}: synthetic data, left alone")
            continue
        config = make_config(result["claim"], result["profile"], result["dataset"], result["seeds"])
        precision = result.get("precision", "float32")
        if config_fingerprint(result["claim"], config, bool(result.get("deterministic")),
                              precision) != result.get("fingerprint"):
            log(f"{name}: made by another config than today's, left alone")
            continue
        counted = estimate.planned_flops(result["claim"], config)
        if counted is None:
            continue
        work = {"flops": counted, "estimate_s": None, "precision": precision,
                "counted_after_the_run": True}
        work.update(work_speed(counted["total"], estimate.compute_seconds(result),
                               result["provenance"], precision))
        results.atomic_write_json(Path(path), {**result, "work": work})
        written.append(name)
        log(f"{name}: {counted['total'] / 1e12:,.1f} TFLOP, efficiency "
            f"{work['efficiency'] if work['efficiency'] is None else round(work['efficiency'], 3)}")
    return written


def last_overhead(claim_id: str, profile: str, stores, *,
                  earlier_config: bool = False) -> tuple[float | None, str]:
    """The overhead (wall time / its own step time) of the last known run of this claim and
    profile that recorded one: (value, where from). Each of ``stores`` ((label, Store), in order)
    is asked; a result made by another config than today's (a stale fingerprint) is passed over,
    unless ``earlier_config``: then only such a result counts (a claim's own pipeline under another
    problem size says more about its overhead than other claims' runs do)."""
    for label, store in stores:
        try:
            result = store.load(profile, registry.get(claim_id).dataset, claim_id)
        except ResultError:
            continue
        if result is None:
            continue
        config = make_config(claim_id, profile, result["dataset"], result["seeds"])
        current = config_fingerprint(claim_id, config, bool(result.get("deterministic")),
                                     result.get("precision", "float32")) == result.get("fingerprint")
        if current == earlier_config:
            continue
        overhead = (result.get("work") or {}).get("overhead")
        if overhead:
            where = f"{label}, {result.get('precision', 'float32')}"
            return overhead, f"{where}, an earlier config of this claim" if earlier_config else where
    return None, ""


def plan(claim_ids, options: RunOptions, device: str | None = None, *,
         measure: bool = True) -> tuple[list, str]:
    """([estimate.Estimate per claim, its missing prerequisites first], what the speed is): the
    work each claim plans and how long it should take here (this machine's step time for it, from
    a step calibration kept in the results folder, times the claim's overhead), or on ``device``
    (its data sheet's peak times an assumed efficiency). ``measure=False``: no step calibration,
    only what the results folder keeps (a claim with a model never timed here has no estimate)."""
    store = options.store
    ids = []
    for claim_id in claim_ids:
        for req in registry.get(claim_id).requires:
            if req not in ids and req not in claim_ids:
                ids.append(req)
        ids.append(claim_id)
    stores = [("your results", store), ("the reference run", results.Store(results.REFERENCE_DIR))]
    cache = None if device else estimate.StepCache(store.root)
    cached_before = 0 if cache is None else len(cache.models)
    meter = None if cache is None else results.CpuMeter()
    rows = []
    for claim_id in ids:
        config = make_config(claim_id, options.profile, options.dataset, options.seeds)
        fp = config_fingerprint(claim_id, config, options.deterministic, options.precision)
        try:
            existing = store.load(options.profile, config.dataset, claim_id)
        except ResultError:
            existing = None
        done = bool(existing and existing.get("fingerprint") == fp and not options.force)
        work = estimate.planned_work(claim_id, config)
        counted = flops.total(work) if work is not None else None
        total = counted["total"] if counted else None
        steps = overhead = None
        if not total:
            source = "trains nothing"
        elif device:
            source = "assumed: no GPU run known"
        else:
            overhead, source = last_overhead(claim_id, options.profile, stores)
            if not overhead:
                overhead, source = last_overhead(claim_id, options.profile, stores, earlier_config=True)
            if not done:
                steps = estimate.step_seconds(work, options.precision, cache,
                                              measure=measure and options.measures_steps)
        # What an interrupted run of this config already trained (the run resumes it).
        work_dir = store.claim_dir(options.profile, config.dataset, claim_id) / "runs" / fp
        trained = 0.0 if done or options.force or not work_dir.is_dir() else sum(
            training.trained_seconds(d) for d in work_dir.rglob("seed*") if d.is_dir())
        rows.append([claim_id, total, steps, overhead, source, done, trained])
    if not device and any(r[1] and not r[3] for r in rows):
        # The median over the claims of the profile with a current run that recorded its overhead,
        # not only this plan's: those of the same dataset where any has one (their input pipelines
        # are alike), else all of them.
        known = {c: last_overhead(c, options.profile, stores)[0] for c in registry.CLAIMS}
        for r in rows:
            if r[1] and not r[3]:
                dataset = registry.get(r[0]).dataset
                alike = [v for c, v in known.items() if registry.get(c).dataset == dataset]
                r[3], r[4] = (estimate.median_overhead(alike, f"{dataset} claims'") if any(alike)
                              else estimate.median_overhead(list(known.values()), "claims'"))
    out = []
    if device:
        peak, speed_text = estimate.rate_here(options.precision, device)
        for claim_id, total, _, _, source, done, _ in rows:
            eff = estimate.ACCELERATOR_EFFICIENCY if total else None
            seconds = 0.0 if done or not total else estimate.seconds_for(total, eff, peak)
            out.append(estimate.Estimate(claim_id, total, seconds, eff, source, done))
        return out, speed_text
    for claim_id, total, steps, overhead, source, done, trained in rows:
        # A resumed claim: its estimate less what its runs already trained here (never below 0).
        seconds = 0.0 if done or not total else (max(steps * overhead - trained, 0.0) if steps else None)
        out.append(estimate.Estimate(claim_id, total, seconds, None, source, done, steps, overhead,
                                     trained))
    measured = len(cache.models) - cached_before
    busy = meter.stop()["others_cpu_share"] if measured else None
    busy = busy if busy is not None and busy >= estimate.BUSY_HOST else None
    if measured and busy is None:
        cache.save()
    speed_text = (f"this machine's {options.precision} training steps and predictions "
                  f"({measured} models timed now, {len(cache.models) - measured} kept in "
                  f"{cache.path}) x each claim's overhead")
    if busy is not None:
        speed_text += (f"; other processes took {busy:.0%} of the host's CPU while they were timed: "
                       f"these step times read slow and are not kept (plan again on a quiet host)")
    return out, speed_text


def print_plan(estimates, rate_text: str, profile: str, log=print) -> None:
    """The plan as a table: claim, status, planned FLOPs, this machine's step time for it, the
    overhead it is planned with and where that came from (or an accelerator's assumed efficiency),
    estimate."""
    log(f"plan (profile {profile}; {rate_text}):")
    rows = [("claim", "status", "TFLOP planned", "steps here", "x overhead (from)", "estimate")]
    for e in estimates:
        tflop = "-" if e.flops is None else f"{e.flops / 1e12:,.1f}"
        steps = "-" if e.steps_s is None else display.duration(e.steps_s)
        if e.overhead is not None:
            speed = f"{e.overhead:.2f} ({e.source})"
        elif e.efficiency is not None:
            speed = f"efficiency {e.efficiency:g} of peak ({e.source})"
        else:
            speed = "-"
        when = ("-" if e.seconds is None else display.duration(e.seconds))
        status = ("done: skipped" if e.done else
                  f"resumes ({display.duration(e.trained_s)} trained)" if e.trained_s else "to run")
        rows.append((e.claim, status, tflop, steps, speed, when))
    total = sum(e.seconds for e in estimates if e.seconds)
    rows.append(("total", "", f"{sum(e.flops or 0 for e in estimates if not e.done) / 1e12:,.1f}",
                 display.duration(sum(e.steps_s or 0 for e in estimates)), "",
                 display.duration(total)))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        log("  ".join(f"{str(c):<{w}}" for c, w in zip(r, widths, strict=True)).rstrip())
        if k == 0 or k == len(rows) - 2:
            log("  ".join("-" * w for w in widths))


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
