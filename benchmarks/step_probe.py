"""Where the lecture's CIFAR-10 CNN spends its training step, and what TensorFlow's settings change (issue #21, item 2).

The bench (``python -m replication bench``) times the package's step against a plain ``fit``;
this probe asks what a plain step could gain from the settings the issue lists, and where the
step's time goes, on this machine, in each precision it computes natively (float32, and
bfloat16 where ``hardware.native_bfloat16`` says so):

1. ``options``: ms per training step of ``models.cifar10_vgg`` (batch 128, Adam 1e-3, ``fit``
   on preprocessed CIFAR-10 training images) under each setting of :data:`OPTIONS`, each in its own
   subprocess (thread and oneDNN settings take effect only before TensorFlow starts): TensorFlow's
   defaults, oneDNN off, the intra-/inter-op thread pools, XLA (``jit_compile=True``),
   ``steps_per_execution=8``. Each: a warm-up, then the median of ``--repeats`` timed runs of
   ``--steps`` steps.
2. ``evaluation``: seconds to score CIFAR-10's 10,000 test images at batch 32 (what ``fit``'s
   ``validation_data`` uses when the training feed is a dataset and no ``validation_batch_size``
   is given), 128 and 512.
3. ``layers``: the forward and backward time of each layer, as differences of prefix models
   (the first k layers, forward, sum, gradient to their weights and input), and what the full
   ``fit`` step adds (loss, metric, Adam's update); each prefix timed as a median.
4. ``epoch``: what an epoch costs beyond its training steps, in the regime where that cost shows:
   the ``dropout`` claim's MLP on 3,000 training digits (24 steps of 128 per epoch) and its
   per-epoch test curve on the 10,000 test digits. One fit per variant of :data:`EPOCH_VARIANTS`
   (the package's feed alone, then each of ``fit_seed``'s callbacks, all of them, all of them
   with the test curve; and the per-epoch reseed as it was before stop 32), the variants
   alternating over ``--repeats`` rounds; seconds from one epoch's end to the next, median after
   the first two epochs (tracing).

Every record carries the commit, the machine's CPU and flags, the matmul rates and the precision.
The log is ``--out`` (default ``benchmarks/step_probe.json``); ``table --write`` makes the page
``benchmarks/STEP_PROBE.md`` from it. The timings use real CIFAR-10 images (``--data-dir``, else
``$REPLICATION_DATA_DIR``, else TensorFlow Datasets), though their values do not matter to speed.

    PYTHONPATH=. python benchmarks/step_probe.py run        # about 15 min at 100 GFLOP/s float32
    PYTHONPATH=. python benchmarks/step_probe.py table --write
    PYTHONPATH=. python benchmarks/step_probe.py run --parts epoch   # that part alone: about 3 min
    PYTHONPATH=. python benchmarks/step_probe.py --smoke    # 2 steps, 2 options, into a temporary log
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "step_probe.json"
MARKDOWN = HERE / "STEP_PROBE.md"
DRIVER = "benchmarks/step_probe.py"  # as git names it
sys.path.insert(0, str(ROOT))

from benchmarks import _pilot_log as pilot_log  # noqa: E402 (ROOT first on the path)

BATCH = 128
# name: (environment for the subprocess, threads (intra, inter) or None, compile options)
OPTIONS = {
    "default": ({}, None, {}),
    "onednn-off": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, None, {}),
    "intra2-inter1": ({}, (2, 1), {}),
    "intra1-inter2": ({}, (1, 2), {}),
    "intra1-inter1": ({}, (1, 1), {}),
    "xla": ({}, None, {"jit_compile": True}),
    "steps-per-execution-8": ({}, None, {"steps_per_execution": 8}),
}
EVAL_BATCHES = (32, 128, 512)
PARTS = ("options", "evaluation", "layers", "augmentation", "epoch")
# The epoch part: variant -> what the fit gets beyond the package's tf.data feed of the MLP.
EPOCH_VARIANTS = {
    "feed": "the package's feed, no callback, no test curve",
    "ctrl-c": "+ the Ctrl-C check after every batch (StopOnInterrupt)",
    "reseed": "+ the (seed, epoch) reseed (EpochSeed)",
    "reseed-tf": "+ the reseed with keras.utils.set_random_seed, as before stop 32",
    "checkpoint": "+ BackupAndRestore (double checkpoint)",
    "logs": "+ the epoch timer, epoch counter and CSV log",
    "callbacks": "fit_seed's callbacks, all of them",
    "callbacks+curve": "fit_seed's callbacks and its per-epoch test curve (batch 512): what a dropout epoch is",
}
EPOCH_TRAIN = 3_000  # the dropout claim's training digits


def _x_train(data_dir, n: int):
    from replication import data

    ds = data.load("cifar10", data_dir)
    x = ((ds.train.x[:n].astype("float32") / 255.0) - 0.4734) / 0.2516
    import numpy as np

    return x, np.eye(10, dtype="float32")[ds.train.y[:n]], ds


def _model(precision: str, **compile_kw):
    import keras

    from replication import models

    keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    model = models.cifar10_vgg()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"], **compile_kw)
    return model


def one_option(name: str, precision: str, steps: int, repeats: int, data_dir) -> dict:
    """Inside the subprocess: ms per step of ``fit`` under option ``name``."""
    import tensorflow as tf

    env, threads, compile_kw = OPTIONS[name]
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads[0])
        tf.config.threading.set_inter_op_parallelism_threads(threads[1])
    x, y, _ = _x_train(data_dir, BATCH * steps)
    feed = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH).repeat().prefetch(2)
    model = _model(precision, **compile_kw)
    t0 = time.perf_counter()
    model.fit(feed, epochs=1, steps_per_epoch=max(steps // 2, 1), verbose=0)  # tracing, kernels
    warmup = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.fit(feed, epochs=1, steps_per_epoch=steps, verbose=0)
        times.append(1000 * (time.perf_counter() - t0) / steps)
    return {"option": name, "precision": precision, "environment": env, "threads": threads,
            "compile": compile_kw, "steps": steps, "repeats": repeats, "warmup_s": warmup,
            "ms_per_step": times, "median_ms_per_step": statistics.median(times)}


def evaluation(precision: str, data_dir, repeats: int, n: int | None = None) -> list[dict]:
    """Seconds to evaluate the test images at each of :data:`EVAL_BATCHES` (medians)."""
    import numpy as np

    _, _, ds = _x_train(data_dir, 1)
    x = ((ds.test.x[:n].astype("float32") / 255.0) - 0.4734) / 0.2516
    y = np.eye(10, dtype="float32")[ds.test.y[:n]]
    model = _model(precision)
    rows = []
    for batch in EVAL_BATCHES:
        model.evaluate(x[:2 * batch], y[:2 * batch], batch_size=batch, verbose=0)  # tracing
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            model.evaluate(x, y, batch_size=batch, verbose=0)
            times.append(time.perf_counter() - t0)
        rows.append({"batch": batch, "images": len(x), "seconds": times, "median_s": statistics.median(times)})
    return rows


def augmentation(precision: str, steps: int, repeats: int) -> list[dict]:
    """ms per batch of 128 of each augmentation of ``models.AUGMENTATIONS`` alone, in training mode
    (it runs in front of the first convolution and needs no gradient), best of ``repeats`` runs
    of ``steps`` calls: what the augmentation itself adds to a step."""
    import tensorflow as tf

    from replication import models

    rows = []
    x = tf.random.uniform((BATCH, 32, 32, 3))
    for kind in models.AUGMENTATIONS:
        layer = models.cifar10_augmentation(kind)
        call = tf.function(lambda x, layer=layer: layer(x, training=True))
        call(x)  # tracing
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(steps):
                out = call(x)
            float(tf.reduce_sum(out))
            runs.append(1000 * (time.perf_counter() - t0) / steps)
        rows.append({"augmentation": kind, "precision": precision, "ms_per_batch": min(runs), "runs": runs})
    return rows


def layers(precision: str, data_dir, steps: int, repeats: int) -> dict:
    """Forward + backward ms of each layer alone (on an input of its shape; the gradient to its
    input and weights, as in the step), best of ``repeats`` runs of ``steps`` calls, and the full
    ``fit`` step beside their sum (the rest: loss, metric, Adam's update, the loop)."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # one tf.function per layer is retraced on purpose
    x, y, _ = _x_train(data_dir, BATCH)
    model = _model(precision)
    compute = "bfloat16" if precision == "bfloat16" else "float32"

    def best_of(fn, *args) -> float:
        fn(*args)  # tracing
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(steps):
                out = fn(*args)
            float(tf.reduce_sum(tf.cast(out[0], tf.float32)))  # wait for the last call
            runs.append(1000 * (time.perf_counter() - t0) / steps)
        return min(runs)

    rows = []
    for layer in model.layers:
        shape = (BATCH, *layer.input.shape[1:])
        xin = tf.random.normal(shape, dtype=tf.float32)
        xin = tf.cast(xin, compute) if layer.dtype_policy.compute_dtype == "bfloat16" else xin

        @tf.function
        def step(xin, layer=layer):
            with tf.GradientTape() as tape:
                tape.watch(xin)
                loss = tf.reduce_sum(tf.cast(layer(xin, training=True), tf.float32))
            return tape.gradient(loss, [xin, *layer.trainable_variables])

        rows.append({"layer": layer.name, "kind": type(layer).__name__, "input_shape": list(shape),
                     "layer_ms": best_of(step, xin)})
    feed = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH).repeat()
    model.fit(feed, epochs=1, steps_per_epoch=2, verbose=0)
    fit_runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.fit(feed, epochs=1, steps_per_epoch=steps, verbose=0)
        fit_runs.append(1000 * (time.perf_counter() - t0) / steps)
    total = sum(r["layer_ms"] for r in rows)
    return {"precision": precision, "steps": steps, "repeats": repeats, "layers": rows,
            "fit_ms_per_step_runs": fit_runs, "fit_ms_per_step": min(fit_runs),
            "layers_sum_ms": total, "fit_minus_layers_ms": min(fit_runs) - total}


def epoch_cost(precision: str, data_dir, epochs: int, repeats: int, n_train: int = EPOCH_TRAIN,
               n_test: int | None = None, variants=tuple(EPOCH_VARIANTS)) -> dict:
    """Seconds per epoch of each of :data:`EPOCH_VARIANTS` (see the module's docstring, part 4)."""
    import keras
    import numpy as np

    from replication import data, models, optimizers, training
    from replication.epochs import EpochSeed, epoch_batches, epoch_seed

    keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    ds = data.load("mnist", data_dir).subset(n_train, n_test)
    preprocess = data.Preprocess()
    x_test = preprocess(ds.test.x)
    y_test = np.eye(ds.num_classes, dtype="float32")[ds.test.y]

    class OldReseed(EpochSeed):
        def on_epoch_begin(self, epoch, logs=None):
            super().on_epoch_begin(epoch, logs)
            keras.utils.set_random_seed(epoch_seed(self.seed, epoch))  # EpochSeed before stop 32

    class EpochEnds(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds, self.last = [], time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            self.seconds.append(now - self.last)
            self.last = now

    steps = math.ceil(len(ds.train) / BATCH)

    def compiled():
        model = models.mlp(ds.image_shape, ds.num_classes, dropout=0.2)
        model.compile(optimizer=optimizers.adam()(steps, epochs), loss="categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    def one_fit(variant: str, folder: Path) -> list[float]:
        training.set_seed(0)
        model = compiled()
        batches, feed = epoch_batches(ds.train.x, ds.train.y, BATCH, ds.num_classes, preprocess, 0)
        every = training.seed_callbacks(folder, 0, batches)
        by_kind = {"ctrl-c": every[:1], "reseed": [every[1]], "reseed-tf": [OldReseed(0, batches)],
                   "checkpoint": [every[2]], "logs": every[3:], "feed": []}
        callbacks = every if variant.startswith("callbacks") else by_kind[variant]
        ends = EpochEnds()
        curve = variant == "callbacks+curve"
        model.fit(feed, epochs=epochs, shuffle=False, verbose=0, callbacks=[*callbacks, ends],
                  validation_data=(x_test, y_test) if curve else None,
                  validation_batch_size=training.EVAL_BATCH)
        keras.backend.clear_session()
        return ends.seconds[2:]

    rounds = {v: [] for v in variants}
    for _ in range(repeats):
        for variant in variants:
            with tempfile.TemporaryDirectory() as folder:
                rounds[variant].append(one_fit(variant, Path(folder)))
    rows = [{"variant": v, "what": EPOCH_VARIANTS[v], "epoch_s": rounds[v],
             "median_s": statistics.median(statistics.median(r) for r in rounds[v])} for v in variants]
    # The steps alone: one epoch's train_on_batch calls on a batch held in memory, best of 3.
    model = compiled()
    xb, yb = preprocess(ds.train.x[:BATCH]), np.eye(ds.num_classes, dtype="float32")[ds.train.y[:BATCH]]
    model.train_on_batch(xb, yb)
    windows = []
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(steps):
            model.train_on_batch(xb, yb)
        windows.append(time.perf_counter() - t0)
    keras.backend.clear_session()
    return {"precision": precision, "model": "mlp(dropout=0.2)", "n_train": len(ds.train),
            "n_test": len(ds.test), "batch": BATCH, "steps_per_epoch": steps,
            "eval_batch": training.EVAL_BATCH, "epochs": epochs, "repeats": repeats, "rows": rows,
            "train_on_batch_s": min(windows)}


def _subprocess(name: str, precision: str, steps: int, repeats: int, data_dir) -> dict:
    env_extra = OPTIONS[name][0]
    env = {**os.environ, **env_extra, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p), "TF_CPP_MIN_LOG_LEVEL": "3"}
    args = [sys.executable, str(Path(__file__).resolve()), "_one", "--option", name, "--precision", precision,
            "--steps", str(steps), "--repeats", str(repeats)] + (["--data-dir", str(data_dir)] if data_dir else [])
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"option": name, "precision": precision, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(out: Path, data_dir, *, options=tuple(OPTIONS), steps: int = 24, repeats: int = 3,
        layer_steps: int = 5, eval_repeats: int = 2, n_test: int | None = None, precisions=None,
        parts=PARTS, epochs: int = 8, n_train: int = EPOCH_TRAIN) -> dict:
    from replication import hardware, results

    native, _ = hardware.native_bfloat16()
    precisions = precisions or (["float32", "bfloat16"] if native else ["float32"])
    data = pilot_log.load_log(out, __doc__)
    rates = {p: hardware.matmul_gflops(3.0, 2048, dtype=p) for p in precisions}
    record = {"commit": pilot_log.commit(DRIVER), "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "hardware": hardware.info(), "versions": results.versions(), "matmul_gflops": rates,
              "parts": list(parts), "options": [], "evaluation": {}, "layers": {}}
    for precision in precisions:
        if "options" in parts:
            for name in options:
                row = _subprocess(name, precision, steps, repeats, data_dir)
                record["options"].append(row)
                print(f"[probe] {precision} {name}: {row.get('median_ms_per_step', row.get('error'))}", flush=True)
        if "evaluation" in parts:
            record["evaluation"][precision] = evaluation(precision, data_dir, eval_repeats, n_test)
        if "layers" in parts:
            record["layers"][precision] = layers(precision, data_dir, layer_steps, repeats)
        if "augmentation" in parts:
            record.setdefault("augmentation", {})[precision] = augmentation(precision, 4 * layer_steps, repeats)
        if "epoch" in parts:
            record.setdefault("epoch", {})[precision] = epoch_cost(precision, data_dir, epochs, repeats,
                                                                   n_train, n_test)
    data["runs"].append(record)
    data["reproduced_by"] = {"commit": record["commit"].split("+")[0], "branch_commits_not_in_this_repository": [],
                             "command": f"PYTHONPATH=. python {DRIVER} run"
                                        + ("" if tuple(parts) == PARTS else f" --parts {','.join(parts)}")}
    pilot_log.save_log(data, out)
    return data


def flops_per_image() -> int:
    from replication import bench, models

    return bench.forward_flops(models.cifar10_vgg())


def tables(data: dict) -> str:
    lines = []
    fwd = flops_per_image()
    for run in data["runs"]:
        hw = run["hardware"]
        rates = ", ".join(f"{g:.0f} GFLOP/s {p}" for p, g in run["matmul_gflops"].items())
        parts = run.get("parts", PARTS[:4])  # runs before the epoch part had the first four
        lines += [f"### {run['measured']}: {hw.get('cpu', '?')} ({hw.get('cpu_count', '?')} cores, "
                  f"{' '.join(hw.get('cpu_flags', []))}); matmul {rates}; commit {run['commit'][:8]}"
                  + ("" if set(parts) >= set(PARTS[:4]) else f"; only: {', '.join(parts)}")]
        if run["options"]:
            lines += ["", "| precision | option | ms/step (median) | each run | vs default | training GFLOP/s | "
                          "of matmul |", "|---|---|---|---|---|---|---|"]
        for r in run["options"]:
            if "error" in r:
                lines.append(f"| {r['precision']} | {r['option']} | failed: {' '.join(r['error'])} | | | | |")
                continue
            base = next(o for o in run["options"] if o["option"] == "default" and o["precision"] == r["precision"])
            gflops = 3 * fwd * BATCH / (r["median_ms_per_step"] / 1000) / 1e9
            lines.append(f"| {r['precision']} | {r['option']} | {r['median_ms_per_step']:.1f} | "
                         f"{' / '.join(f'{t:.0f}' for t in r['ms_per_step'])} | "
                         f"{r['median_ms_per_step'] / base['median_ms_per_step']:.2f}x | {gflops:.1f} | "
                         f"{gflops / run['matmul_gflops'][r['precision']]:.0%} |")
        if run["evaluation"]:
            lines += ["", "| precision | evaluation batch | seconds for the test images (median) | images/s |",
                      "|---|---|---|---|"]
        for precision, rows in run["evaluation"].items():
            for r in rows:
                lines.append(f"| {precision} | {r['batch']} | {r['median_s']:.2f} | {r['images'] / r['median_s']:.0f} |")
        for precision, lay in run["layers"].items():
            total = lay["fit_ms_per_step"]
            lines += ["", f"Where a {precision} step goes ({total:.1f} ms per `fit` step of {BATCH} images, best "
                          f"of {lay['repeats']} runs of {lay['steps']}; each layer's forward + backward alone, "
                          "on an input of its shape, best of as many):", "",
                      "| layer | kind | ms | share of the step |", "|---|---|---|---|"]
            for r in lay["layers"]:
                lines.append(f"| {r['layer']} | {r['kind']} | {r['layer_ms']:.1f} | {r['layer_ms'] / total:.0%} |")
            lines.append(f"| (the rest: loss, metric, Adam's update, fit's loop) | | {lay['fit_minus_layers_ms']:.1f} | "
                         f"{lay['fit_minus_layers_ms'] / total:.0%} |")
            kinds = {}
            for r in lay["layers"]:
                kinds[r["kind"]] = kinds.get(r["kind"], 0.0) + r["layer_ms"]
            lines += ["", "By kind: " + ", ".join(f"{k} {v:.1f} ms ({v / total:.0%})" for k, v in
                                                  sorted(kinds.items(), key=lambda kv: -kv[1])) + "."]
            aug = (run.get("augmentation") or {}).get(precision)
            if aug:  # runs before the augmentation was timed have none
                lines += ["", "The augmentation alone, in front of the first convolution (training mode, "
                              f"best of {lay['repeats']} runs): " + "; ".join(
                                  f"`{a['augmentation']}` {a['ms_per_batch']:.1f} ms per batch of {BATCH} "
                                  f"({a['ms_per_batch'] / total:.1%} of the step)" for a in aug) + "."]
        for precision, ep in (run.get("epoch") or {}).items():
            lines += epoch_table(precision, ep)
        lines.append("")
    rep = data.get("reproduced_by") or {}
    if rep:
        lines.append(f"Measured with the package at {rep['commit'][:8]}; rerun with: `{rep['command']}`.")
    return "\n".join(lines)


def epoch_table(precision: str, ep: dict) -> list[str]:
    """The epoch part's table: each variant's seconds per epoch, and its cost beyond the feed's."""
    base = next(r["median_s"] for r in ep["rows"] if r["variant"] == "feed")
    lines = ["", f"What a {precision} epoch costs beyond its steps: `{ep['model']}` on {ep['n_train']:,} "
                 f"MNIST training digits ({ep['steps_per_epoch']} steps of {ep['batch']}), test curve on "
                 f"{ep['n_test']:,} at batch {ep['eval_batch']}; {ep['epochs']} epochs per fit, the first two "
                 f"left out, median of {ep['repeats']} rounds. The {ep['steps_per_epoch']} steps alone "
                 f"(`train_on_batch` on one batch in memory, best of 3): {ep['train_on_batch_s']:.2f} s.", "",
             "| variant | what the fit gets | s per epoch (median) | each round | beyond the feed alone |",
             "|---|---|---|---|---|"]
    for r in ep["rows"]:
        each = " / ".join(f"{statistics.median(e):.2f}" for e in r["epoch_s"])
        extra = "—" if r["variant"] == "feed" else f"{r['median_s'] - base:+.2f} s"
        lines.append(f"| {r['variant']} | {r['what']} | {r['median_s']:.2f} | {each} | {extra} |")
    return lines


def write_page(data: dict, page: Path) -> None:
    pilot_log.write_tables(page, tables(data), "The CIFAR-10 CNN's training step: settings and where its time goes", DRIVER, marker="probe-tables")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=("run", "table", "_one"), default="run",
                        help="run (the default): measure into the log; table: print the page's tables "
                             "(--write: into STEP_PROBE.md); _one: one option, inside its subprocess")
    parser.add_argument("--out", type=Path, help=f"the log (default {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--data-dir", help="datasets folder (default: $REPLICATION_DATA_DIR, else "
                                           "TensorFlow Datasets)")
    parser.add_argument("--option", choices=sorted(OPTIONS), help="_one: which option")
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--steps", type=int, default=24, help="timed steps per repeat (default 24)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"run: which parts, comma-separated (default all: {','.join(PARTS)})")
    parser.add_argument("--epochs", type=int, default=8, help="epoch part: epochs per fit (default 8)")
    parser.add_argument("--write", action="store_true", help="table: write the page")
    parser.add_argument("--smoke", action="store_true",
                        help="2 steps, 2 options, 512 test images, float32, into a temporary log (or "
                             "--out); never the committed one")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or os.environ.get("REPLICATION_DATA_DIR")
    parts = tuple(p for p in args.parts.split(",") if p)
    if not parts or set(parts) - set(PARTS):
        parser.error(f"--parts: choose from {', '.join(PARTS)} (got {args.parts!r})")
    if args.command == "_one":  # its stderr goes to the parent, which keeps the last line of a failure
        print(json.dumps(one_option(args.option, args.precision, args.steps, args.repeats, data_dir)))
        return 0
    if args.smoke:
        out = args.out or Path(tempfile.mkdtemp()) / "step_probe_smoke.json"
        if out.resolve() == RESULTS.resolve():
            print(f"--smoke never writes the committed log {RESULTS}", file=sys.stderr)
            return 2
    from replication import quiet

    quiet.start_backend()  # without TensorFlow's known-harmless start-up lines, as run and bench
    if args.smoke:
        data = run(out, data_dir, options=("default", "steps-per-execution-8"), steps=8, repeats=1,
                   layer_steps=1, eval_repeats=1, n_test=512, precisions=["float32"], epochs=3, n_train=512)
        write_page(data, out.with_suffix(".md"))
        print(f"smoke: {out} and {out.with_suffix('.md')}")
        return 0
    out = args.out or RESULTS
    if args.command == "run":
        data = run(out, data_dir, steps=args.steps, repeats=args.repeats, parts=parts, epochs=args.epochs)
        write_page(data, MARKDOWN if out == RESULTS else out.with_suffix(".md"))
        print(tables(data))
        return 0
    data = pilot_log.load_log(out, __doc__)
    if args.write:
        write_page(data, MARKDOWN if out == RESULTS else out.with_suffix(".md"))
    print(tables(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
