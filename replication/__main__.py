"""The command line: ``python -m replication {list,run,all,figures,readme,publish,report,notebook,bench}``.

Exit codes: 0 success, 1 a clear error about a file or an argument (one line, no traceback),
2 a usage error, 130 interrupted (what finished is saved; the same command resumes).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

# TensorFlow's C++ start-up chatter hides the messages that matter; warnings and errors stay.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from . import __version__, interrupts, registry  # noqa: E402
from .errors import ReplicationError  # noqa: E402
from .estimate import ACCELERATORS  # noqa: E402


def _seeds(text: str):
    """``3`` means seeds 0, 1, 2; ``0,5,7`` means those seeds."""
    try:
        if "," in text:
            seeds = [int(s) for s in text.split(",") if s.strip() != ""]
        else:
            n = int(text)
            if n < 1:
                raise argparse.ArgumentTypeError(f"need at least one seed, got {text!r}")
            seeds = list(range(n))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a count (e.g. 3) or a comma-separated list (e.g. 0,1,2)"
        ) from None
    if not seeds or any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be non-negative integers, got {text!r}")
    return seeds


def _dataset(text: str) -> str:
    from .data import DATASETS

    if text not in DATASETS:
        raise argparse.ArgumentTypeError(
            f"unknown dataset {text!r}; known: {', '.join(sorted(DATASETS))}")
    return text


def _oracle(text: str) -> str:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (e.g. 10.0.0.1:8000)")
    return text


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return int(text)


def _claim(text: str) -> str:
    if text not in registry.CLAIMS:
        raise argparse.ArgumentTypeError(
            f"unknown claim {text!r}; known: {', '.join(registry.CLAIMS)}")
    return text


def build_parser() -> argparse.ArgumentParser:
    from .registry import PROFILES

    parser = argparse.ArgumentParser(
        prog="python -m replication",
        description="Re-run the claims of Lecture 6 (Convolutional Deep Neural Networks) and judge "
                    "each against the lecture's own numbers.",
    )
    parser.add_argument("--version", action="version", version=f"replication {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p, running=True):
        p.add_argument("--profile", choices=PROFILES,
                       help="paper: the lecture's settings (>= 3 seeds); quick: fits a 2-core CPU "
                            "budget; smoke: seconds, for tests. Default: paper on a GPU, quick on a CPU.")
        p.add_argument("--results-dir", type=Path,
                       help="where results live (default: $REPLICATION_RESULTS_DIR or ./results)")
        if running:
            p.add_argument("--dataset", type=_dataset,
                           help="run on another dataset (default: each claim's lecture dataset)")
            p.add_argument("--data-dir", type=Path,
                           help="folder with local dataset files (default: $REPLICATION_DATA_DIR; "
                                "without either, TensorFlow Datasets downloads them)")
            p.add_argument("--seeds", type=_seeds,
                           help="a count (3 -> seeds 0,1,2) or a list (0,1,2); default: the profile's")
            p.add_argument("--force", action="store_true",
                           help="rerun even if a result with the same profile and config exists")
            p.add_argument("--wait", action="store_true",
                           help="when another run is working on a claim, wait for it to finish "
                                "instead of stopping")
            p.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto",
                           help="compute precision (Keras dtype policy): auto picks bfloat16 where "
                                "the hardware runs it natively (a CPU with avx512_bf16 or AMX, a GPU "
                                "of compute capability >= 8.0), else float32; part of every result's "
                                "fingerprint and provenance")
            p.add_argument("--deterministic", action="store_true",
                           help="deterministic ops (TensorFlow) so the same seed gives identical metrics")
            p.add_argument("--dry-run", action="store_true",
                           help="print the plan (each claim's counted FLOPs and estimated time) "
                                "and train nothing")
            p.add_argument("--device", choices=sorted(ACCELERATORS),
                           help="with --dry-run: estimate for this accelerator instead of this "
                                "machine (its data-sheet peak x an assumed efficiency; default "
                                "profile then paper, precision auto then bfloat16)")
            p.add_argument("--quiet", action="store_true",
                           help="no per-epoch output (default: Keras progress bars on a terminal, "
                                "one plain line per epoch when the output is a file or a pipe)")

    p = sub.add_parser("list", help="the claims and their status")
    common(p, running=False)
    p = sub.add_parser("run", help="run the named claims")
    p.add_argument("claims", nargs="+", type=_claim, metavar="CLAIM")
    common(p)
    dist = p.add_argument_group(
        "distributed sweep (depth-width only)",
        "Keras Tuner's own distributed mode: one chief serves the oracle and writes the result, "
        "workers on any machine that reaches HOST:PORT run the trials.")
    dist.add_argument("--role", choices=("chief", "worker"), help="this process's part in the sweep")
    dist.add_argument("--oracle", type=_oracle, metavar="HOST:PORT",
                      help="where the chief serves the oracle (KERASTUNER_ORACLE_IP/_PORT)")
    dist.add_argument("--tuner-id", metavar="NAME", help="a worker's unique name (KERASTUNER_TUNER_ID)")
    p = sub.add_parser("all", help="run every claim (finished ones are skipped), then draw every "
                                   "figure and write the report")
    common(p)
    p.add_argument("--no-figures", action="store_true",
                   help="stop after the claims: draw no figures and write no report")
    p.add_argument("--report-dir", type=Path, default=Path("report"),
                   help="where the report goes (default: report)")
    p = sub.add_parser("figures", help="regenerate every figure from saved results (no training)")
    common(p, running=False)
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="draw into DIR/<profile>/<dataset>/ (default: <results>/<profile>/<dataset>/figures/)")
    p = sub.add_parser("readme", help="regenerate the README's claims table from the registry")
    p.add_argument("--check", action="store_true", help="exit 1 if the README is out of date")
    p.add_argument("--results-dir", type=Path, help="results to quote (default: reference/)")
    p = sub.add_parser("rejudge", help="judge saved results again from their per-seed numbers with "
                                       "today's registry, each profile's effect tests as one family "
                                       "(Holm); no training")
    p.add_argument("results_dir", nargs="?", type=Path, metavar="RESULTS_DIR",
                   help="results to re-judge (default: reference/, the committed ones)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if a verdict would change")
    p = sub.add_parser("publish", help="copy a profile's results (no weights) into reference/ and "
                                       "regenerate the README tables")
    p.add_argument("--profile", choices=PROFILES, default="quick")
    p.add_argument("--results-dir", type=Path, help="results to publish (default: ./results)")
    p = sub.add_parser("count-work", help="give saved results made before work was counted their "
                                          "counted FLOPs and efficiency (no training)")
    p.add_argument("--results-dir", type=Path,
                   help="default: $REPLICATION_RESULTS_DIR or ./results ('reference' for the committed run)")
    p = sub.add_parser("bench", help="benchmarks: throughput, memory, time to the notebooks' "
                                     "accuracy (writes benchmarks/bench.json and BENCH.md)")
    p.add_argument("--data-dir", type=Path, help="as for run")
    p.add_argument("--out", type=Path, default=Path("benchmarks"), help="output folder (default: benchmarks)")
    p.add_argument("--parts", default="throughput,mnist,cifar10",
                   help="comma-separated: throughput, mnist, cifar10 (default: all)")
    p.add_argument("--max-minutes", type=_positive_float, default=60.0,
                   help="cap of the time-to-accuracy runs, together (default: 60)")
    p.add_argument("--results-dir", type=Path, help="where to find a cifar10-fast result (default: ./results)")
    p.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto",
                   help="precision of the MNIST time-to-accuracy runs, as for run (default: auto); the "
                        "step comparison measures float32 and, where the hardware has it, bfloat16")
    p.add_argument("--full-epochs", action="store_true",
                   help="time the package-vs-plain step comparison over whole epochs (469 / 391 steps) "
                        "instead of 30-60 steps per CNN epoch: as a claim runs, about 3x longer")
    p.add_argument("--step-repeats", type=_positive_int, default=5,
                   help="paired epochs per model and precision in the step comparison (default: 5)")
    p = sub.add_parser("precision-check", help="compare a float32 and a bfloat16 run of the same claims "
                                               "against the registered margins (no training)")
    p.add_argument("float32_results", type=Path, metavar="FLOAT32_RESULTS")
    p.add_argument("bfloat16_results", type=Path, metavar="BFLOAT16_RESULTS")
    p.add_argument("--profile", choices=PROFILES, default="quick")
    p.add_argument("--out", type=Path, default=Path("benchmarks"),
                   help="where precision_check.json and PRECISION_CHECK.md go (default: benchmarks)")
    p = sub.add_parser("report", help="write report/REPORT.md and a self-contained report/index.html")
    p.add_argument("--profile", choices=PROFILES,
                   help="default: the most faithful profile with results (paper > quick > smoke)")
    p.add_argument("--results-dir", type=Path,
                   help="results to report (default: $REPLICATION_RESULTS_DIR or ./results; "
                        "'reference' for the committed run)")
    p.add_argument("--out", type=Path, default=Path("report"), help="output folder (default: report)")
    p.add_argument("--no-figures", action="store_true",
                   help="do not redraw missing or outdated figures (they are then reported missing)")
    p = sub.add_parser("notebook", help="execute notebooks/tour.ipynb with papermill into "
                                        "report/tour.executed.ipynb")
    p.add_argument("--profile", choices=PROFILES,
                   help="default: the most faithful profile with results; with none, smoke is run")
    p.add_argument("--results-dir", type=Path,
                   help="results to show (default: $REPLICATION_RESULTS_DIR or ./results)")
    p.add_argument("--out", type=Path, default=Path("report"), help="output folder (default: report)")
    p.add_argument("--write", action="store_true",
                   help="only regenerate notebooks/tour.ipynb from the registry")
    p.add_argument("--check", action="store_true",
                   help="only check that notebooks/tour.ipynb is current (exit 1 if not)")
    return parser


def _results_dir(args) -> Path:
    return Path(args.results_dir or os.environ.get("REPLICATION_RESULTS_DIR") or "results")


def _profile(args, log) -> str:
    if args.profile:
        return args.profile
    from .hardware import default_profile

    profile = default_profile()
    log(f"no --profile given: using '{profile}' ({'a GPU is' if profile == 'paper' else 'no GPU'} visible)")
    return profile


def _verbosity(args) -> int:
    """Keras's verbose: 0 with --quiet; progress bars (1) on a terminal; else one plain line per
    epoch (2), so a log file or a pipe gets no terminal escape codes."""
    if args.quiet:
        return 0
    return 1 if sys.stdout.isatty() else 2


def cmd_list(args, log) -> int:
    """Every claim: the lecture's value, the user's own result and verdict, the committed reference
    run's verdict, and the estimated time of a run on this machine (issue #21)."""
    from . import runner
    from .display import duration, summary_rows
    from .hardware import resolve_precision
    from .results import REFERENCE_DIR, Store

    store, reference = Store(_results_dir(args)), Store(REFERENCE_DIR)
    profile = args.profile or "quick"
    found = {c: store.load(profile, claim.dataset, c) for c, claim in registry.CLAIMS.items()}
    committed = {c: reference.load(profile, claim.dataset, c) for c, claim in registry.CLAIMS.items()}
    precision, _ = resolve_precision("auto")
    # No step calibration here (about 4 minutes for all claims on a 2-core CPU): what
    # `all --dry-run` or a plan before a run measured and kept in the results folder.
    estimates, rate_text = runner.plan(list(registry.CLAIMS), runner.RunOptions(
        profile=profile, store=store, precision=precision), measure=False)
    seconds = {e.claim: e for e in estimates}
    header = ("claim", "lecture", "yours (mean ± std, n)", "your verdict", "reference verdict",
              "estimate here")
    rows = [header]
    for (claim_id, lecture, mine, verdict), ref in zip(summary_rows(found), committed.values(),
                                                       strict=True):
        e = seconds[claim_id]
        when = ("done" if e.done else "-" if not e.flops
                else "not timed here" if e.seconds is None else duration(e.seconds)
                + (f" left ({duration(e.trained_s)} trained)" if e.trained_s else ""))
        rows.append((claim_id, lecture, mine, verdict, ref["verdict"] if ref else "not run", when))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    log(f"claims (your results: {store.root}/{profile}; reference: {REFERENCE_DIR}/{profile}; "
        f"estimates: {precision}, {rate_text}):")
    for k, r in enumerate(rows):
        log("  ".join(f"{str(c):<{w}}" for c, w in zip(r, widths, strict=True)).rstrip())
        if k == 0:
            log("  ".join("-" * w for w in widths))
    if any(r[-1] == "not timed here" for r in rows):
        log(f"not timed here: `python -m replication all --dry-run --profile {profile}` times those "
            f"claims' models on this machine (a few seconds each) and keeps them for `list`")
    return 0


def cmd_run(args, log, claim_ids) -> int:
    from . import results
    from .display import print_table, summary_rows
    from .runner import RunOptions, run_claims

    results_dir = results.ensure_writable_dir(_results_dir(args))
    store = results.Store(results_dir)
    if args.data_dir is not None:
        from .data import resolve_data_dir

        resolve_data_dir(args.data_dir)  # a bad --data-dir fails before any training
    if args.device and not args.dry_run:
        raise ReplicationError("--device: only with --dry-run (a run uses this machine's devices)")
    if args.device and not args.profile:
        args.profile = "paper"
        log("no --profile given: using 'paper' for the accelerator named by --device")
    profile = _profile(args, log)
    distributed = None
    role = getattr(args, "role", None)
    if role is not None:
        if claim_ids != ["depth-width"]:
            raise ReplicationError("--role: only the depth-width sweep runs distributed; run it alone "
                                   "(run depth-width --role ...)")
        if not args.oracle:
            raise ReplicationError("--role needs --oracle HOST:PORT (where the chief serves the oracle)")
        if role == "worker" and not args.tuner_id:
            raise ReplicationError("--role worker needs --tuner-id NAME (unique per worker)")
        from .tuning import Distributed

        distributed = Distributed(role=role, oracle=args.oracle, tuner_id=args.tuner_id)
    from .hardware import resolve_precision

    if args.device and args.precision == "auto":
        precision, why = "bfloat16", f"auto: {args.device} runs bfloat16 natively"
    else:
        precision, why = resolve_precision(args.precision)
    log(f"precision: {precision} ({why})")
    options = RunOptions(profile=profile, store=store, dataset=args.dataset, seeds=args.seeds,
                         data_dir=args.data_dir, force=args.force, verbose=_verbosity(args),
                         deterministic=args.deterministic, wait=args.wait, precision=precision,
                         log=log)
    from .runner import plan, print_plan

    estimates, rate_text = plan(claim_ids, options, device=args.device)
    print_plan(estimates, rate_text, profile, log)
    if args.dry_run:
        return 0
    options = dataclasses.replace(options, estimates={e.claim: e.seconds for e in estimates},
                                  trained={e.claim: e.trained_s for e in estimates if e.trained_s},
                                  steps={e.claim: e.steps_s for e in estimates if e.steps_s})
    done = {}
    try:
        done = run_claims(claim_ids, options, distributed=distributed, into=done)
    finally:
        shown = {k: v for k, v in done.items() if not v.get("worker_only")}
        if shown:
            log("")
            print_table(summary_rows(shown), log)
    if args.command == "all" and not args.no_figures:
        from . import plotting, report

        log("")
        log("drawing every figure from the saved results (no training)")
        plotting.regenerate_all(results_dir, profile=profile, log=log)
        md, page = report.write(report.build(results_dir, profile, draw_figures=False, log=log),
                                args.report_dir, log=log)
        log(f"figures: {results_dir / profile}/<dataset>/figures/")
        log(f"report: {page} (and {md})")
    return 0


def cmd_bench(args, log) -> int:
    from . import bench, results

    parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
    unknown = sorted(set(parts) - {"throughput", "mnist", "cifar10"})
    if unknown or not parts:
        raise ReplicationError(f"--parts: unknown part(s) {unknown or args.parts!r}; "
                               "choose from throughput, mnist, cifar10")
    results.ensure_writable_dir(args.out, "--out")
    if args.data_dir is not None:
        from .data import resolve_data_dir

        resolve_data_dir(args.data_dir)
    step_config = bench.StepConfig(full_epochs=args.full_epochs, repeats=args.step_repeats)
    bench.run(args.data_dir, args.out, parts, results_dir=args.results_dir or _results_dir(args),
              max_minutes=args.max_minutes, precision=args.precision, step_config=step_config, log=log)
    log(f"wrote {args.out / 'bench.json'} and {args.out / 'BENCH.md'}")
    return 0


def cmd_figures(args, log) -> int:
    from .plotting import regenerate_all

    return regenerate_all(_results_dir(args), profile=args.profile, log=log, out=args.out)


def cmd_readme(args, log) -> int:
    from .docs import update_readme

    ok = update_readme(check=args.check, results_dir=args.results_dir)
    if args.check and not ok:
        log("README.md's claims table is out of date: run `python -m replication readme`")
        return 1
    return 0


def cmd_rejudge(args, log) -> int:
    from .docs import rejudge

    out = rejudge(args.results_dir, write=not args.check, log=log)
    log(f"{len(out['changed'])} changed, {len(out['unchanged'])} unchanged, {len(out['stale'])} stale "
        f"(not re-judged), {len(out['invalid'])} not results")
    return 1 if args.check and out["changed"] else 0


def cmd_publish(args, log) -> int:
    from .docs import publish_reference, update_readme

    publish_reference(_results_dir(args), args.profile, log=log)
    update_readme()
    log("README.md tables regenerated from reference/")
    return 0


def cmd_report(args, log) -> int:
    from . import report

    built = report.build(_results_dir(args), args.profile, draw_figures=not args.no_figures, log=log)
    report.write(built, args.out, log=log)
    return 0


def cmd_notebook(args, log) -> int:
    from . import notebook, runner

    if args.check:
        if not notebook.is_current():
            log(f"{notebook.SOURCE} is out of date: run `python -m replication notebook --write`")
            return 1
        return 0
    if args.write:
        log(f"wrote {notebook.write_source()}")
        return 0
    profile = runner.ensure_results(_results_dir(args), args.profile, log=log)
    notebook.execute(_results_dir(args), profile, args.out, log=log)
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    def log(msg=""):
        print(msg, flush=True)

    # Ctrl-C can land where Python swallows it (a finaliser) or TensorFlow turns it into another
    # exception type: interrupts.install() remembers it, and any exception after it ends cleanly.
    interrupts.install()
    try:
        if args.command in ("run", "all", "bench", "list"):  # list calibrates for its estimates
            from .quiet import start_backend

            start_backend()  # without TensorFlow's known-harmless start-up lines (issue #21)
        if args.command == "list":
            return cmd_list(args, log)
        if args.command == "run":
            return cmd_run(args, log, args.claims)
        if args.command == "all":
            return cmd_run(args, log, list(registry.CLAIMS))
        if args.command == "figures":
            return cmd_figures(args, log)
        if args.command == "count-work":
            from .runner import add_counted_work

            add_counted_work(_results_dir(args), log=log)
            return 0
        if args.command == "readme":
            return cmd_readme(args, log)
        if args.command == "rejudge":
            return cmd_rejudge(args, log)
        if args.command == "publish":
            return cmd_publish(args, log)
        if args.command == "report":
            return cmd_report(args, log)
        if args.command == "precision-check":
            from . import precision_check

            rows = precision_check.run(args.float32_results, args.bfloat16_results, args.out,
                                       profile=args.profile, log=log)
            return 0 if all(r["status"] == "agree" for r in rows) else 1
        if args.command == "bench":
            return cmd_bench(args, log)
        if args.command == "notebook":
            return cmd_notebook(args, log)
    except ReplicationError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    except Exception:
        if not interrupts.requested():
            raise
        print("\ninterrupted: finished claims and epochs are saved; run the same command again "
              "to resume", file=sys.stderr, flush=True)
        return 130
    except KeyboardInterrupt:
        print("\ninterrupted: finished claims and epochs are saved; run the same command again "
              "to resume", file=sys.stderr, flush=True)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
