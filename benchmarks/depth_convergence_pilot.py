"""depth-width's convergence design, piloted on validation images (issue #23, item 1).

The judged quick sweep compares networks of 2 to 11 conv layers at a matched parameter count. The
lecture's figures (Goodfellow et al. 2014) compare networks trained to convergence, so the design
needs a budget in which every in-band network has converged, and a gate that says so on the judged
runs themselves. The candidate design (``DESIGNS``) trains with a warm-up / stable / decay
schedule (``optimizers.warmup_stable_decay``): the learning rate is held at its peak until the
last fifth of the epochs, so a converged network's validation curve is flat there before the decay
settles its weights. The gate (``depth_width.plateau_windows``, ``tuning.plateau_gain``): the
validation accuracy's mean over the fifth of the epochs just before the decay minus its mean over
the fifth before that.

This driver runs the claim's own sweep (``claims.depth_width.make_tuner``: Keras Tuner, the same
models, batches, schedule, precision and per-execution records) on a stand-in for the test split:
5,000 images held out of CIFAR-10's training set (``validation_split(5000, seed=1)``); the sweep
draws its subset and carves its validation split from the other 45,000. The test split is never
read. The seeds are the claim's registered pilot seeds, disjoint from the judged ones.

Each design's log record is written (``--out``, default ``benchmarks/depth_convergence_pilot.json``)
when its sweep ends; a killed sweep resumes from its Keras Tuner project (``--work``).
``benchmarks/DEPTH_CONVERGENCE_PILOT.md`` holds the tables made from the log.

    PYTHONPATH=. python benchmarks/depth_convergence_pilot.py run wsd-20e-16k --seed 100   # ~25 min (bf16)
    PYTHONPATH=. python benchmarks/depth_convergence_pilot.py run wsd-32e-8k-b64 --seed 101  # 28 min idle (bf16, AMX)
    PYTHONPATH=. python benchmarks/depth_convergence_pilot.py probe    # ms/step by precision, batch, ...
    PYTHONPATH=. python benchmarks/depth_convergence_pilot.py probe --batches 32 64 128   # probe-batch
    PYTHONPATH=. python benchmarks/depth_convergence_pilot.py table --write
    PYTHONPATH=. python benchmarks/depth_convergence_pilot.py --smoke      # 2 networks, 1 epoch, tiny

The data: ``--data-dir``, else ``$REPLICATION_DATA_DIR``, else TensorFlow Datasets.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "depth_convergence_pilot.json"
MARKDOWN = HERE / "DEPTH_CONVERGENCE_PILOT.md"
DRIVER = "benchmarks/depth_convergence_pilot.py"  # as git names it
sys.path.insert(0, str(ROOT))

from benchmarks import _pilot_log as pilot_log  # noqa: E402 (ROOT first on the path)

HELD_OUT = 5000  # training images held out as the pilot's stand-in for the test split
GATE = 0.01  # the largest late rise of validation accuracy that counts as converged
VAL_GATE = 0.50  # the claim's other gate: every in-band network's validation accuracy
BUDGET_MIN = 60  # the judged sweep (3 seeds) must fit in this many minutes on the bf16 machine
JUDGED_SEEDS = 3


def _designs() -> dict:
    from replication.claims import depth_width

    base = depth_width.Config(grid=depth_width.IN_BAND_GRID, seeds=(100,), n_test=None,
                              schedule="wsd", epochs=20, n_train=20_000, validation_fraction=0.2)
    return {
        # The candidate: 16,000 training + 4,000 validation images, 20 epochs, peak held to 16.
        "wsd-20e-16k": base,
        # The second candidate (after wsd-20e-16k failed its rule at 7 and 11 layers): half the
        # images, more passes and twice the steps per pass: 8,000 training + 2,000 validation
        # images, 32 epochs at batch 64 (4,000 steps; the probe-batch rows: 15% more time per
        # image than batch 128), peak held to epoch 26; gate windows epochs 15-20 and 21-26.
        "wsd-32e-8k-b64": dataclasses.replace(base, epochs=32, n_train=10_000, batch_size=64),
        "smoke": dataclasses.replace(base, grid=("depth-d2-w56", "deep-w30"), epochs=5, n_train=400,
                                     validation_fraction=0.25, n_train_eval=100),
    }


_git = pilot_log.git
save_log = pilot_log.save_log


def commit() -> str:
    """HEAD, with ``+dirty`` when the package or this driver differ from it."""
    return pilot_log.commit(DRIVER)


def load_log(path: Path) -> dict:
    return pilot_log.load_log(path, __doc__, reproduced_by=False)


def pilot_data(data_dir, held_out: int = HELD_OUT):
    """CIFAR-10's training images only: ``held_out`` of them as the stand-in test split."""
    from replication import data as rdata

    cifar = rdata.load("cifar10", data_dir)
    rest, held = cifar.validation_split(held_out, seed=1)
    return dataclasses.replace(cifar, train=rest, test=held)


def run(name: str, config, data_dir, out: Path, work: Path, precision: str, held_out: int = HELD_OUT,
        log=print) -> dict:
    from replication import hardware, results
    from replication.claims import depth_width

    data = pilot_data(data_dir, held_out).subset(config.n_train, config.n_test)
    ctx = types.SimpleNamespace(tuner_dir=work / name, deterministic=False, verbose=False)
    fp = depth_width.sweep_fingerprint(config, data.provenance())
    from replication import tuning

    overwrite = tuning.prepare_project(ctx.tuner_dir, fp, force=False, name=name)
    before = hardware.matmul_gflops(seconds=3.0, n=2048, dtype="bfloat16" if precision == "bfloat16"
                                    else "float32")
    t0 = time.perf_counter()
    with hardware.precision_policy(precision):
        tuner, sizes = depth_width.make_tuner(config, ctx, data, overwrite=overwrite)
        tuner.search(verbose=0)
    wall = time.perf_counter() - t0
    after = hardware.matmul_gflops(seconds=3.0, n=2048, dtype="bfloat16" if precision == "bfloat16"
                                   else "float32")
    rows = depth_width.table_from_oracle(tuner.oracle, config)
    executions = {}
    for r in rows:
        for seed in config.seeds:
            rec = results.read_json(ctx.tuner_dir / "executions" / r["config"] / f"seed{seed}" / "done.json")
            executions[f"{r['config']}/seed{seed}"] = rec
    record = {
        "design": name, "settings": results.to_jsonable(dataclasses.asdict(config)),
        "plateau_windows": depth_width.plateau_windows(config), "sizes": sizes,
        "held_out_images": held_out, "precision": precision,
        "rows": [{k: r[k] for k in ("config", "family", "depth", "width", "params", "val_accuracy",
                                    "test_accuracy", "train_accuracy", "plateau_gain", "wall_time_s")}
                 for r in rows],
        "executions": executions, "sweep_wall_s": round(wall, 1),
        "matmul_gflops_before_after": [round(before, 1), round(after, 1)],
        "commit": commit(), "machine": results.provenance(precision=precision)["hardware"],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "note": "test_accuracy here is the held-out training images' accuracy, not the test split",
    }
    data_log = load_log(out)
    data_log["runs"] = [r for r in data_log["runs"] if r["design"] != name] + [record]
    data_log["reproduced_by"] = provenance()
    save_log(data_log, out)
    log(tables(data_log))
    return data_log


def probe(names, out: Path, steps: int = 40, repeats: int = 2, log=print, batches=(128, 256),
          precisions=("float32", "bfloat16"), spes=(1, 8), key: str = "probe") -> dict:
    """Milliseconds per training step of in-band networks (random images, the sweep's model,
    flip and optimizer) by precision, batch size and ``steps_per_execution``, alternating the
    variants ``repeats`` times and keeping the fastest (other jobs only ever slow a run down):
    what the judged sweep's budget can buy on this machine. Saved under ``key`` of the log
    (``probe``: the first probe; ``probe-batch``: the smaller batches of the second design)."""
    import numpy as np
    import tensorflow as tf

    from replication import flops, hardware, optimizers, results
    from replication.claims import depth_width

    rng = np.random.default_rng(0)
    variants = [(p, b, k) for p in precisions for b in batches for k in spes]
    timings: dict = {}
    for _ in range(repeats):
        for name in names:
            for precision, batch, spe in variants:
                n = batch * steps
                x = rng.random((n, 32, 32, 3), dtype=np.float32)
                y = np.eye(10, dtype="float32")[rng.integers(0, 10, n)]
                ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).cache()
                with hardware.precision_policy(precision):
                    model = depth_width.build_config(name, (32, 32, 3), 10, bn_momentum=0.9, flip=True)
                    model.compile(optimizer=optimizers.warmup_stable_decay(2e-3)(steps, 20),
                                  loss="categorical_crossentropy", metrics=["accuracy"],
                                  steps_per_execution=spe)
                    model.fit(ds.take(2 * spe), epochs=1, verbose=0)
                    t0 = time.perf_counter()
                    model.fit(ds, epochs=1, verbose=0)
                    ms = 1000 * (time.perf_counter() - t0) / steps
                variant = f"{name}/{precision}/b{batch}/spe{spe}"
                timings.setdefault(variant, {"config": name, "precision": precision, "batch": batch,
                                         "steps_per_execution": spe, "ms": [],
                                         "fwd_mflop": flops.forward_flops(model) / 1e6})["ms"].append(ms)
                log(f"{variant}: {ms:.1f} ms/step")
                import keras

                keras.backend.clear_session()
    rates = {p: hardware.matmul_gflops(seconds=3.0, n=2048, dtype=p) for p in precisions}
    rows = []
    for t in timings.values():
        best = min(t["ms"])
        gflops = 3 * t["fwd_mflop"] * 1e6 * t["batch"] / (best / 1000) / 1e9
        rows.append({**t, "best_ms": best, "ms_per_image": best / t["batch"], "train_gflops": gflops,
                     "of_matmul": gflops / rates[t["precision"]]})
    record = {"rows": rows, "matmul_gflops": rates, "steps": steps, "repeats": repeats,
              "commit": commit(), "machine": results.provenance()["hardware"],
              "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    data = load_log(out)
    data[key] = record
    save_log(data, out)
    return data


def probe_table(data: dict, key: str = "probe") -> str:
    p = data.get(key)
    if not p:
        return ""
    rates = " / ".join(f"{v:.0f} {k}" for k, v in p["matmul_gflops"].items())
    lines = [f"### Step probe ({key}): ms per training step (fastest of {p['repeats']}, {p['steps']} "
             f"steps each; matmul {rates} GFLOP/s; commit {p['commit'][:8]})", "",
             "| network | precision | batch | steps per execution | ms/step | ms/image | training GFLOP/s "
             "| of matmul |", "|---|---|---|---|---|---|---|---|"]
    for r in p["rows"]:
        lines.append(f"| {r['config']} | {r['precision']} | {r['batch']} | {r['steps_per_execution']} | "
                     f"{r['best_ms']:.1f} | {r['ms_per_image']:.2f} | {r['train_gflops']:.0f} | "
                     f"{r['of_matmul']:.1%} |")
    return "\n".join(lines + [""])


def provenance() -> dict:
    """Which committed code reruns the log: the package commit (the driver is committed beside the
    log) and the command."""
    head = _git("rev-parse", "HEAD") or "unknown"
    return {"commit": head, "driver": DRIVER, "branch_commits_not_in_this_repository": [],
            "command": "PYTHONPATH=. python benchmarks/depth_convergence_pilot.py --data-dir DIR "
                       "--out /tmp/depth_convergence_rerun.json run wsd-20e-16k --seed 100"}


def tables(data: dict) -> str:
    lines = [probe_table(data, key) for key in ("probe", "probe-batch") if data.get(key)]
    for run in data["runs"]:
        cfg = run["settings"]
        w = run["plateau_windows"]
        span = (f"epochs {w[0] + 1}-{w[1]} vs {w[1] + 1}-{w[2]}" if w else "no windows")
        seeds = ", ".join(str(s) for s in cfg["seeds"])
        lines += [f"### {run['design']}: seed {seeds}, {run['sizes']['n_train']:,} training + "
                  f"{run['sizes']['n_validation']:,} validation images, {cfg['epochs']} epochs, "
                  f"{cfg['schedule']} (decay over the last {cfg['decay_fraction']:.0%}), "
                  f"{run['precision']}",
                  "",
                  f"Plateau gain: mean validation accuracy, {span}.",
                  "",
                  "| network | depth | params | plateau gain | validation accuracy | held-out accuracy "
                  "| training accuracy (inference) | s |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in run["rows"]:
            lines.append(f"| {r['config']} | {r['depth']} | {r['params']:,} | {r['plateau_gain']:+.4f} | "
                         f"{r['val_accuracy']:.4f} | {r['test_accuracy']:.4f} | {r['train_accuracy']:.4f} "
                         f"| {r['wall_time_s']:.0f} |")
        gains = [r["plateau_gain"] for r in run["rows"]]
        vals = [r["val_accuracy"] for r in run["rows"]]
        per_seed_min = run["sweep_wall_s"] / 60 / max(1, len(cfg["seeds"]))
        judged_min = per_seed_min * JUDGED_SEEDS
        ok_gate = all(g == g and g <= GATE for g in gains)
        ok_val = min(vals) >= VAL_GATE
        ok_budget = judged_min <= BUDGET_MIN
        lines += ["",
                  f"Sweep wall {run['sweep_wall_s'] / 60:.1f} min for {len(cfg['seeds'])} seed(s); "
                  f"{JUDGED_SEEDS} seeds: about {judged_min:.0f} min (matmul before/after "
                  f"{run['matmul_gflops_before_after'][0]:.0f}/{run['matmul_gflops_before_after'][1]:.0f} "
                  f"GFLOP/s {run['precision']}). Commit {run['commit'][:8]}.",
                  "",
                  f"Rule: adopt the design if every in-band network's plateau gain is at most "
                  f"{GATE} (largest: {max(gains):+.4f}: {'yes' if ok_gate else 'no'}), its validation "
                  f"accuracy at least {VAL_GATE} (lowest {min(vals):.4f}: {'yes' if ok_val else 'no'}) "
                  f"and {JUDGED_SEEDS} seeds fit in {BUDGET_MIN} min here ({'yes' if ok_budget else 'no'}). "
                  f"**{'Adopted' if ok_gate and ok_val and ok_budget else 'Not adopted'}.**", ""]
    return "\n".join(lines)


def write_page(data: dict, page: Path) -> None:
    pilot_log.write_tables(page, tables(data), "depth-width: the convergence design's pilot", DRIVER)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=("run", "table", "probe"),
                        help="run: a design's sweep into the log; probe: ms per training step of "
                             "the shallowest and deepest in-band networks by precision, batch and "
                             "steps_per_execution; table: the page's tables (--write: the page)")
    parser.add_argument("design", nargs="?", default="wsd-20e-16k")
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--out", type=Path, help=f"the log (default {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "depth_convergence_pilot",
                        help="Keras Tuner projects (resumable)")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto")
    parser.add_argument("--data-dir", help="datasets folder (default: $REPLICATION_DATA_DIR, else "
                                           "TensorFlow Datasets)")
    parser.add_argument("--write", action="store_true", help="table: write the page")
    parser.add_argument("--batches", type=int, nargs="+",
                        help="probe: these batch sizes only, bfloat16, one step per execution "
                             "(logged as probe-batch)")
    parser.add_argument("--smoke", action="store_true",
                        help="2 networks, 5 epochs on 400 images, seed 0, into a temporary log (or "
                             "--out); never the committed one")
    args = parser.parse_args(argv)
    from replication import quiet

    quiet.start_backend()  # without TensorFlow's known-harmless start-up lines, as run and bench
    data_dir = args.data_dir or os.environ.get("REPLICATION_DATA_DIR")
    from replication import hardware

    precision = hardware.resolve_precision(args.precision)[0] if args.precision == "auto" else args.precision
    designs = _designs()
    if args.smoke:
        out = args.out or Path(tempfile.mkdtemp()) / "depth_convergence_pilot_smoke.json"
        if out.resolve() == RESULTS.resolve():
            print(f"--smoke never writes the committed log {RESULTS}", file=sys.stderr)
            return 2
        config = dataclasses.replace(designs["smoke"], seeds=(0,))
        run("smoke", config, data_dir, out, Path(tempfile.mkdtemp()), precision, held_out=200)
        data = probe(("depth-d2-w56",), out, steps=2, repeats=1)
        write_page(data, out.with_suffix(".md"))
        print(f"smoke: {out} and {out.with_suffix('.md')}")
        return 0
    out = args.out or RESULTS
    if args.command == "run":
        if args.design not in designs or args.design == "smoke":
            print(f"unknown design {args.design!r}; choose from "
                  f"{', '.join(d for d in designs if d != 'smoke')}", file=sys.stderr)
            return 2
        config = dataclasses.replace(designs[args.design], seeds=(args.seed,))
        run(args.design, config, data_dir, out, args.work, precision)
        return 0
    if args.command == "probe":
        if args.batches:
            data = probe(("depth-d2-w56", "deep-w30"), out, batches=tuple(args.batches),
                         precisions=("bfloat16",), spes=(1,), key="probe-batch")
            print(probe_table(data, "probe-batch"))
        else:
            print(probe_table(probe(("depth-d2-w56", "deep-w30"), out)))
        return 0
    if args.command == "table":
        data = load_log(out)
        if args.write:
            write_page(data, MARKDOWN if out == RESULTS else out.with_suffix(".md"))
        print(tables(data))
        return 0
    parser.print_help()
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
