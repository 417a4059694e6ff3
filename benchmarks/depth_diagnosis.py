"""Why accuracy fell with depth in the quick ``depth-width`` sweep, and training designs in which
depth can show its effect on a CPU budget (issue #16).

The quick sweep committed in f09d01a (5,400 training + 600 validation images, 4 epochs,
BatchNorm momentum 0.99) scored 30.6% with 2 conv layers and 11.9% (chance) with 11. This driver
trains the in-band configurations (about 145k parameters each) under named *designs* and
records, per run: training accuracy (the last epoch's running value, and the training images
scored with BatchNorm in inference mode), validation accuracy with BatchNorm in inference mode,
and validation accuracy after re-estimating BatchNorm's moving statistics on training batches;
seconds per epoch; and the matmul rate measured just before and after the run, to scale the wall
time to a 100 GFLOP/s machine. The test split is never read: validation is carved from the
training images.

Every run is appended to the results file (``--out``, default ``benchmarks/depth_diagnosis.json``)
atomically as soon as it ends, so a killed driver loses at most the run in progress; a rerun skips
(design, config, seed) triples already there. ``benchmarks/DEPTH_DIAGNOSIS.md`` holds the tables
made from that file. ``--smoke`` runs every command on a few hundred images for 1 epoch into a
temporary file (or ``--out``), never into the committed one.

    PYTHONPATH=. python benchmarks/depth_diagnosis.py probe              # ms per training step, every config
    PYTHONPATH=. python benchmarks/depth_diagnosis.py run today bn09 --seeds 0 1
    PYTHONPATH=. python benchmarks/depth_diagnosis.py table               # print the tables from the JSON
    PYTHONPATH=. python benchmarks/depth_diagnosis.py provenance          # which commit reproduces each run
    PYTHONPATH=. python benchmarks/depth_diagnosis.py --smoke             # every command, small, to a temp file

The data: ``--data-dir``, else ``$REPLICATION_DATA_DIR``, else TensorFlow Datasets.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "depth_diagnosis.json"
MARKDOWN = HERE / "DEPTH_DIAGNOSIS.md"
DRIVER = "benchmarks/depth_diagnosis.py"  # as git names it
sys.path.insert(0, str(ROOT))

from benchmarks import _pilot_log as pilot_log  # noqa: E402 (ROOT first on the path)

# The in-band members (about 145k parameters) with the flatten head, as in the sweep's CONFIGS:
# name: (family, depth, width, fc_width, fc_layers).
FLATTEN_CONFIGS = {
    "depth-d2-w56": ("depth", 2, 56, 128, 1),  # 146,402
    "shallow_conv-w48": ("shallow_conv", 3, 48, 128, 1),  # 143,210
    "depth-d5-w40": ("depth", 5, 40, 128, 1),  # 143,018
    "depth-d7-w36": ("depth", 7, 36, 128, 1),  # 147,362
    "depth-d9-w32": ("depth", 9, 32, 128, 1),  # 142,986
    "deep-w30": ("deep", 11, 30, 128, 1),  # 146,318
    "shallow_fc-fc176": ("shallow_fc", 3, 32, 176, 2),  # 142,986
}
# The same families with a global-average-pooling head, widths re-solved for about 145k
# parameters (the conv layers hold 89-96% of them; the flatten head's 2-layer net had 78% in
# its first Dense layer). Depth 3 of the series is the shallow-wide-conv member, as above.
GAP_CONFIGS = {
    "gap-d2-w117": ("depth", 2, 117, 128, 1),  # 143,924
    "gap-shallow_conv-w85": ("shallow_conv", 3, 85, 128, 1),  # 145,918
    "gap-d5-w61": ("depth", 5, 61, 128, 1),  # 146,354
    "gap-d7-w50": ("depth", 7, 50, 128, 1),  # 145,918
    "gap-d9-w43": ("depth", 9, 43, 128, 1),  # 143,146
    "gap-deep-w39": ("deep", 11, 39, 128, 1),  # 146,498
    "gap-shallow_fc-fc333": ("shallow_fc", 3, 32, 333, 2),  # 145,327
}


@dataclasses.dataclass(frozen=True)
class Design:
    """One way to train the in-band configurations; units in comments."""

    head: str = "flatten"  # "flatten" (the sweep's) or "gap" (global average pooling)
    bn_momentum: float = 0.99  # every BatchNorm layer's
    flip: bool = False  # random horizontal flip in training
    n_train: int = 6000  # training images drawn (Dataset.subset), validation carved from them
    n_val: int = 600  # validation images (validation_split(n_val, seed=0))
    epochs: int = 4
    batch_size: int = 128
    peak_learning_rate: float = 2e-3  # Adam, one-cycle (optimizers.one_cycle(..., optimizer="adam"))
    reestimate_batches: int = 40  # training batches averaged when re-estimating BN statistics
    n_train_scored: int = 5400  # training images scored in inference mode (a fixed subset)

    @property
    def configs(self) -> dict:
        return GAP_CONFIGS if self.head == "gap" else FLATTEN_CONFIGS


DESIGNS = {
    # The committed quick sweep's budget and model: the failure to diagnose.
    "today": Design(),
    # Only the BatchNorm momentum changed: moving statistics average over ~10 steps, not ~100.
    "bn09": Design(bn_momentum=0.9),
    # More data and steps (3.7x today's steps), validation 10% as in the sweep; flatten head.
    "bn09-20k": Design(bn_momentum=0.9, n_train=20_000, n_val=2_000),
    "bn09-flip-20k": Design(bn_momentum=0.9, flip=True, n_train=20_000, n_val=2_000),
    # Global-average-pooling head: parameters in the conv layers (GAP_CONFIGS).
    "gap-bn09": Design(head="gap", bn_momentum=0.9),
    "gap-bn09-20k": Design(head="gap", bn_momentum=0.9, n_train=20_000, n_val=2_000),
    "gap-bn09-flip-20k": Design(head="gap", bn_momentum=0.9, flip=True, n_train=20_000, n_val=2_000),
}

# The smoke mode: each kind of design (flatten head without flip, GAP head with flip) on 400
# training images (100 of them for validation), 1 epoch, one configuration each; it only shows
# that every command runs against today's package, and its numbers mean nothing.
_SMALL = {"n_train": 400, "n_val": 100, "epochs": 1, "reestimate_batches": 2, "n_train_scored": 200}
SMOKE_DESIGNS = {
    "smoke-today": dataclasses.replace(DESIGNS["today"], **_SMALL),
    "smoke-gap-bn09-flip": dataclasses.replace(DESIGNS["gap-bn09-flip-20k"], **_SMALL),
}
SMOKE_CONFIGS = {"smoke-today": ["depth-d2-w56"], "smoke-gap-bn09-flip": ["gap-d2-w117"]}
SMOKE_TEST_IMAGES = 100  # the sweep-overhead stand-in "test" split of the smoke


def design_of(name: str) -> Design | None:
    """A design by name: the committed ones, then the smoke's."""
    return DESIGNS.get(name) or SMOKE_DESIGNS.get(name)


QUICK_RUNS = 7 * 2  # the quick profile's budget: 7 in-band configurations x 2 seeds ...
QUICK_BUDGET_S = 45 * 60  # ... in 45 minutes on a machine of ...
REFERENCE_GFLOPS = 100.0  # ... this matmul rate (2048^2 float32 products, see machine_state)
QUICK_TEST_IMAGES = 2000  # the quick sweep scores this many test images per execution (timed here
# by scoring as many validation images: the cost is the same, the test split is never read)
MATMUL_N = 2048  # the calibration's matrix side, float32, as in every recorded run
MATMUL_SECONDS = 1.0  # how long each calibration multiplies (the smoke: 0.2)


# --------------------------------------------------------------------------------------------
# Bookkeeping


def load_results(path: Path = RESULTS) -> dict:
    if path.exists():
        return json.loads(path.read_text())
    return {"about": __doc__.splitlines()[0], "runs": [], "probes": []}


def append(kind: str, record: dict, path: Path = RESULTS) -> None:
    """Re-read, append, write to a temporary file and rename: a kill never leaves half a file."""
    from replication import results

    data = load_results(path)
    data.setdefault(kind, []).append(record)
    results.atomic_write_json(path, data)


def machine_state(seconds: float = MATMUL_SECONDS) -> dict:
    """The matmul rate now (GFLOP/s, 2048^2 float32) and the load average: other engineers' jobs
    share these cores, so every timing carries how contended the machine was.

    The runs recorded in ``depth_diagnosis.json`` timed five 2048^2 float32 products with the
    package's ``bench.matmul_gflops(repeats=5)`` of the time (removed in 519a981); today's
    calibration, :func:`replication.hardware.matmul_gflops`, times the same products for about
    ``seconds``. Only the scaling of wall times to 100 GFLOP/s reads it; no accuracy depends on it.
    """
    from replication import hardware

    return {"matmul_gflops": hardware.matmul_gflops(seconds=seconds, n=MATMUL_N, dtype="float32"),
            "matmul": f"hardware.matmul_gflops(seconds={seconds:g}, n={MATMUL_N}, dtype='float32')",
            "loadavg_1min": os.getloadavg()[0], "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def environment() -> dict:
    import keras
    import tensorflow as tf

    return {"keras": keras.__version__, "tensorflow": tf.__version__, "cpu_count": os.cpu_count(),
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),  # 0: all cores
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "commit": _git_commit()}


_git = pilot_log.git


def _git_commit() -> str:
    """HEAD, with ``+dirty`` where the package or this driver differ from it (the code that ran)."""
    return pilot_log.commit(DRIVER)


# --------------------------------------------------------------------------------------------
# One run


def build(design: Design, name: str, input_shape, num_classes: int):
    from replication import models

    _, depth, width, fc_width, fc_layers = design.configs[name]
    return models.depth_width_cnn(depth, width, fc_width, fc_layers, input_shape=input_shape,
                                  num_classes=num_classes, name=name, bn_momentum=design.bn_momentum,
                                  head=design.head, flip=design.flip)


def splits(design: Design, dataset):
    """The sweep's split: a fixed subset of the training images, validation carved from it."""
    return dataset.subset(design.n_train, None).validation_split(design.n_val, seed=0)


class TrainTimer:
    """Seconds of each epoch's training steps, without the validation pass that ends it."""

    def __init__(self):
        import keras

        timer = self

        class _Cb(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                timer._t0 = time.perf_counter()

            def on_test_begin(self, logs=None):
                if timer._t0 is not None:
                    timer.train_s.append(time.perf_counter() - timer._t0)
                    timer._t0 = None

        self.train_s: list[float] = []
        self._t0 = None
        self.callback = _Cb()


def reestimate_bn(model, x, y_batches: int, batch_size: int, seed: int) -> None:
    """Replace every BatchNorm's moving mean and variance by the average of its batch statistics
    over ``y_batches`` training batches (forward passes in training mode, no weight update).

    Keras 3's BatchNormalization reads ``self.momentum`` at every call and updates
    ``moving = moving * momentum + batch * (1 - momentum)``; calling it eagerly with momentum
    ``(k - 1) / k`` on the k-th batch makes the moving value the running mean of the batch values
    ("precise BN"; torch.optim.swa_utils.update_bn does the same with momentum None).
    """
    from keras import layers

    bns = [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]
    saved = [bn.momentum for bn in bns]
    rng = np.random.default_rng([seed, 1])
    order = rng.permutation(len(x))
    try:
        for k in range(1, y_batches + 1):
            idx = order[((k - 1) * batch_size) % len(x):][:batch_size]
            for bn in bns:
                bn.momentum = (k - 1) / k
            model(x[np.sort(idx)], training=True)
    finally:
        for bn, m in zip(bns, saved, strict=True):
            bn.momentum = m


def run_one(design_name: str, design: Design, name: str, seed: int, dataset, log=print,
            matmul_s: float = MATMUL_SECONDS) -> dict:
    import keras

    from replication import optimizers, training
    from replication.data import Preprocess
    from replication.epochs import EpochSeed, TFEpochBatches

    before = machine_state(matmul_s)
    train, val = splits(design, dataset)
    preprocess = Preprocess.standardize_from(train)
    eye = np.eye(dataset.num_classes, dtype="float32")
    x_val, y_val = preprocess(val.x), eye[val.y]
    scored = np.sort(np.random.default_rng(0).permutation(len(train))[:design.n_train_scored])
    x_tr, y_tr = preprocess(train.x[scored]), eye[train.y[scored]]

    training.set_seed(seed)
    t0, cpu0 = time.perf_counter(), time.process_time()
    model = build(design, name, dataset.image_shape, dataset.num_classes)
    steps = int(np.ceil(len(train) / design.batch_size))
    # Adam under a linear warm-up from 0.1 x peak over 20% of the steps, then a cosine to 0: the
    # package's one-cycle factory (training.adam_one_cycle of the recorded runs, the same schedule).
    optimizer = optimizers.one_cycle(design.peak_learning_rate, optimizer="adam")
    model.compile(optimizer=optimizer(steps, design.epochs),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    feeder = TFEpochBatches(train.x, train.y, design.batch_size, dataset.num_classes, preprocess, seed)
    timer = TrainTimer()
    hist = model.fit(feeder.dataset, epochs=design.epochs, verbose=0, validation_data=(x_val, y_val),
                     callbacks=[EpochSeed(seed, feeder), timer.callback]).history
    fit_s, fit_cpu_s = time.perf_counter() - t0, time.process_time() - cpu0

    t1 = time.perf_counter()
    val_inf = model.evaluate(x_val, y_val, batch_size=512, verbose=0, return_dict=True)
    eval_val_s = time.perf_counter() - t1
    train_inf = model.evaluate(x_tr, y_tr, batch_size=512, verbose=0, return_dict=True)
    bn_before = _bn_summary(model)
    reestimate_bn(model, preprocess(train.x), design.reestimate_batches, design.batch_size, seed)
    val_re = model.evaluate(x_val, y_val, batch_size=512, verbose=0, return_dict=True)
    train_re = model.evaluate(x_tr, y_tr, batch_size=512, verbose=0, return_dict=True)
    bn_after = _bn_summary(model)
    after = machine_state(matmul_s)

    gflops = float(np.mean([before["matmul_gflops"], after["matmul_gflops"]]))
    # One quick-sweep execution: the fit (training + per-epoch validation) and scoring 2,000
    # test images, timed as scoring validation images at the measured rate.
    execution_s = fit_s + eval_val_s * QUICK_TEST_IMAGES / len(val)
    record = {
        "design": design_name, "design_settings": dataclasses.asdict(design), "config": name,
        "family": design.configs[name][0], "depth": design.configs[name][1],
        "width": design.configs[name][2], "fc_width": design.configs[name][3],
        "fc_layers": design.configs[name][4], "seed": int(seed), "params": int(model.count_params()),
        "n_train": len(train), "n_val": len(val), "steps_per_epoch": steps,
        "train_accuracy_running_last_epoch": float(hist["accuracy"][-1]),
        "train_accuracy_bn_inference": float(train_inf["accuracy"]),
        "train_accuracy_bn_reestimated": float(train_re["accuracy"]),
        "val_accuracy_bn_inference": float(val_inf["accuracy"]),
        "val_accuracy_bn_reestimated": float(val_re["accuracy"]),
        "val_loss_bn_inference": float(val_inf["loss"]),
        "val_loss_bn_reestimated": float(val_re["loss"]),
        "val_accuracy_per_epoch": [float(v) for v in hist["val_accuracy"]],
        "train_accuracy_running_per_epoch": [float(v) for v in hist["accuracy"]],
        "train_s_per_epoch": timer.train_s,
        # CPU seconds of this process in the fit (all its threads): less sensitive than the wall
        # time to other jobs on the same cores.
        "fit_s": fit_s, "fit_cpu_s": fit_cpu_s, "eval_val_s": eval_val_s, "quick_execution_s": execution_s,
        "quick_execution_s_at_100_gflops": execution_s * gflops / REFERENCE_GFLOPS,
        "machine_before": before, "machine_after": after, "matmul_gflops_mean": gflops,
        "bn_moving_stats_before": bn_before, "bn_moving_stats_after": bn_after,
        "environment": environment(),
    }
    log(f"[{design_name}] {name} seed {seed}: params {record['params']:,}; train running "
        f"{record['train_accuracy_running_last_epoch']:.3f}, train inf {record['train_accuracy_bn_inference']:.3f}; "
        f"val inf {record['val_accuracy_bn_inference']:.3f}, val re-est {record['val_accuracy_bn_reestimated']:.3f}; "
        f"{np.mean(timer.train_s[1:] or timer.train_s):.1f} s/epoch, fit {fit_s:.0f} s; "
        f"matmul {before['matmul_gflops']:.0f}/{after['matmul_gflops']:.0f} GFLOP/s, "
        f"load {before['loadavg_1min']:.1f}")
    keras.backend.clear_session()
    return record


def _bn_summary(model) -> list[dict]:
    """Per BatchNorm layer: the mean |moving mean| and mean moving variance (how far the moving
    statistics are from their start, mean 0 and variance 1)."""
    from keras import layers

    out = []
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            mean = keras_numpy(layer.moving_mean)
            var = keras_numpy(layer.moving_variance)
            out.append({"abs_mean": float(np.mean(np.abs(mean))), "variance": float(np.mean(var))})
    return out


def keras_numpy(v):
    import keras

    return keras.ops.convert_to_numpy(v)


# --------------------------------------------------------------------------------------------
# The probe: ms per training step, to size designs before training them


def probe(design_names, steps: int = 12, log=print, out: Path = RESULTS, configs=None,
          matmul_s: float = MATMUL_SECONDS) -> None:
    import keras

    from replication import training

    rng = np.random.default_rng(0)
    for dn in design_names:
        design = design_of(dn)
        for name in design.configs:
            if configs is not None and name not in configs:
                continue
            state = machine_state(matmul_s)
            x = rng.normal(size=(design.batch_size * steps, 32, 32, 3)).astype("float32")
            y = np.eye(10, dtype="float32")[rng.integers(0, 10, len(x))]
            training.set_seed(0)
            model = build(design, name, (32, 32, 3), 10)
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            model.fit(x[:design.batch_size * 2], y[:design.batch_size * 2], batch_size=design.batch_size,
                      epochs=1, verbose=0)  # trace and warm up
            t0 = time.perf_counter()
            model.fit(x, y, batch_size=design.batch_size, epochs=1, verbose=0, shuffle=False)
            ms = (time.perf_counter() - t0) / steps * 1e3
            rec = {"design": dn, "config": name, "params": int(model.count_params()),
                   "ms_per_step": ms, "batch_size": design.batch_size,
                   "ms_per_step_at_100_gflops": ms * state["matmul_gflops"] / REFERENCE_GFLOPS,
                   "machine": state}
            append("probes", rec, out)
            log(f"[probe {dn}] {name}: {rec['params']:,} params, {ms:.0f} ms/step "
                f"({rec['ms_per_step_at_100_gflops']:.0f} at 100 GFLOP/s; matmul "
                f"{state['matmul_gflops']:.0f}, load {state['loadavg_1min']:.1f})")
            keras.backend.clear_session()


def sweep_config(design: Design, name: str, n_test: int):
    """The quick sweep's config for one network trained as ``design`` trains it, one seed.

    The recorded sweep-overhead runs took ``depth_width.PROFILES["quick"]`` of their day, which
    was the ``today`` design (6,000 images, BatchNorm momentum 0.99, no flip, 2,000 test images,
    seed 0). The quick profile has since become ``bn09-flip-20k`` (412ecba), so the design is
    spelled out here instead of read from the profile."""
    from replication.claims import depth_width

    if design.head != "flatten":
        raise ValueError("the sweep's networks (depth_width.CONFIGS) have the flatten head only")
    return depth_width.Config(
        seeds=(0,), grid=(name,), epochs=design.epochs, batch_size=design.batch_size,
        peak_learning_rate=design.peak_learning_rate, n_train=design.n_train,
        validation_fraction=design.n_val / design.n_train, n_test=n_test,
        bn_momentum=design.bn_momentum, flip=design.flip, head=design.head)


def sweep_overhead(names=("depth-d2-w56", "deep-w30"), log=print, out: Path = RESULTS,
                   design_name: str = "today", n_test: int = QUICK_TEST_IMAGES, data_dir=None,
                   matmul_s: float = MATMUL_SECONDS) -> None:
    """Time the quick sweep's own code path (``claims.depth_width.run``: Keras Tuner, per-epoch
    BackupAndRestore and CSVLogger, scoring ``n_test`` held-out images) against :func:`run_one` on
    the same configurations, back to back: the factor by which a sweep execution costs more than
    this driver's fit. The sweep's "test" split is replaced by ``n_test`` training images outside
    the design's training subset, so the test split is never read. (The sweep of 412ecba and later
    also scores up to 5,000 training images per execution for its training accuracy, which the
    sweep of the recorded measurements did not.)"""
    from replication import data as data_module
    from replication.claims import depth_width
    from replication.context import RunContext

    design = design_of(design_name)
    full = data_module.load("cifar10", data_dir)
    in_subset = set(np.random.default_rng(0).permutation(len(full.train))[:design.n_train].tolist())
    held_out = np.array([i for i in range(len(full.train)) if i not in in_subset])[:n_test]
    stand_in = dataclasses.replace(full, test=full.train.take(held_out))
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            state = machine_state(matmul_s)
            # <tmp>/quick/cifar10/depth-width: the claim folder; its seed runs in runs/x/ and its
            # Keras Tuner project in tuner/, as the runner lays them out.
            ctx = RunContext(claim_dir=Path(tmp) / "quick" / "cifar10" / "depth-width",
                             fingerprint="x", verbose=0, loader=lambda _name: stand_in)
            cfg = sweep_config(design, name, n_test)
            t0, cpu0 = time.perf_counter(), time.process_time()
            result = depth_width.run(cfg, ctx)
            sweep_s, sweep_cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
        mine = run_one(design_name, design, name, 0, full, log=log, matmul_s=matmul_s)
        rec = {"config": name, "sweep_execution_s": result["table"][0]["wall_time_s"],
               "sweep_search_s": sweep_s, "sweep_cpu_s": sweep_cpu_s,
               "driver_execution_s": mine["quick_execution_s"],
               "driver_fit_s": mine["fit_s"], "driver_fit_cpu_s": mine["fit_cpu_s"],
               "sweep_val_accuracy": result["table"][0]["val_accuracy"],
               "driver_val_accuracy": mine["val_accuracy_bn_inference"],
               "machine_before_sweep": state, "machine_after_driver": mine["machine_after"]}
        if design_name != "today" or n_test != QUICK_TEST_IMAGES:
            rec.update(design=design_name, n_test=n_test)
        append("sweep_overhead", rec, out)
        log(f"[sweep overhead] {name}: sweep execution {rec['sweep_execution_s']:.0f} s (search "
            f"{sweep_s:.0f} s, CPU {sweep_cpu_s:.0f} s) vs driver {rec['driver_execution_s']:.0f} s "
            f"(fit CPU {rec['driver_fit_cpu_s']:.0f} s); val {rec['sweep_val_accuracy']:.3f} vs "
            f"{rec['driver_val_accuracy']:.3f}")


# --------------------------------------------------------------------------------------------
# Tables


def summarize(data: dict, gate: float = 0.50) -> list[dict]:
    """Per design: per config, mean over seeds; the quick profile's wall time at 100 GFLOP/s
    (sum over its 7 configs of one execution's time, times 2 seeds) and the sanity gate (every
    in-band model reaches ``gate`` validation accuracy, BN in inference mode)."""
    rows = []
    runs = data.get("runs", [])
    for dn in dict.fromkeys(r["design"] for r in runs):
        rs = [r for r in runs if r["design"] == dn]
        per = {}
        for r in rs:
            per.setdefault(r["config"], []).append(r)
        cfgs = {}
        for name, group in per.items():
            cfgs[name] = {
                "depth": group[0]["depth"], "family": group[0]["family"], "params": group[0]["params"],
                "seeds": [g["seed"] for g in group],
                **{k: float(np.mean([g[k] for g in group])) for k in (
                    "train_accuracy_running_last_epoch", "train_accuracy_bn_inference",
                    "val_accuracy_bn_inference", "val_accuracy_bn_reestimated",
                    "quick_execution_s_at_100_gflops", "matmul_gflops_mean")},
                # Epochs after the first (which also traces the training step).
                "train_s_per_epoch": float(np.mean([np.mean(g["train_s_per_epoch"][1:] or g["train_s_per_epoch"])
                                                    for g in group])),
            }
        complete = len(cfgs) == len(design_of(dn).configs) if design_of(dn) else False
        quick_s = 2 * sum(c["quick_execution_s_at_100_gflops"] for c in cfgs.values())
        # The same from CPU seconds: the fit's CPU time over 2 cores at this machine's least
        # contended matmul rate (the highest measured), a bound less swayed by other jobs.
        peak = max(max(r["machine_before"]["matmul_gflops"], r["machine_after"]["matmul_gflops"])
                   for r in runs)
        cpu = [r for r in rs if "fit_cpu_s" in r]
        quick_cpu_s = (2 * 7 * float(np.mean([(r["fit_cpu_s"] / 2 + r["eval_val_s"] * QUICK_TEST_IMAGES
                                               / r["n_val"]) for r in cpu])) * peak / REFERENCE_GFLOPS
                       if cpu else float("nan"))
        rows.append({"design": dn, "configs": cfgs, "complete": complete,
                     "quick_s_at_100_gflops": quick_s, "fits_budget": quick_s <= QUICK_BUDGET_S,
                     "quick_s_at_100_gflops_from_cpu_time": quick_cpu_s, "peak_matmul_gflops": peak,
                     **depth_trend(cfgs),
                     "gate": gate,
                     "gate_bn_inference": all(c["val_accuracy_bn_inference"] >= gate for c in cfgs.values()),
                     "gate_bn_reestimated": all(c["val_accuracy_bn_reestimated"] >= gate for c in cfgs.values())})
    # A third estimate, anchored to a real quick sweep: the committed reference result's in-band
    # executions (today's design, seed 0, on a 2-core AMD EPYC like this one), times this design's
    # cost relative to today's as measured here (wall x matmul rate, both designs).
    today = next((r for r in rows if r["design"] == "today" and r["complete"]), None)
    anchor = reference_sweep_seconds()
    for row in rows:
        if today is not None and anchor is not None and row["complete"]:
            row["quick_s_anchored_to_reference_sweep"] = (
                2 * anchor * row["quick_s_at_100_gflops"] / today["quick_s_at_100_gflops"])
    return rows


# The committed quick sweep that method 3 is anchored to: the reference result of f09d01a (the
# ``today`` design, 6,000 images), the one in the checkout when these designs were costed. 527f489
# replaced it with the sweep of the design chosen here, so it is read from git, not the work tree.
REFERENCE_SWEEP_COMMIT = "f09d01ad5e62f71c41422500a847642e3d645c95"
REFERENCE_SWEEP = "reference/quick/cifar10/depth-width/result.json"


def reference_sweep_seconds() -> float | None:
    """Seconds of one seed of the 7 in-band executions in the quick sweep of f09d01a."""
    text = _git("show", f"{REFERENCE_SWEEP_COMMIT}:{REFERENCE_SWEEP}")
    if not text:
        return None
    table = json.loads(text)["measured"]["table"]
    times = [r["wall_time_s"] for r in table if r["config"] in FLATTEN_CONFIGS]
    return float(sum(times)) if len(times) == len(FLATTEN_CONFIGS) else None


def depth_trend(cfgs: dict) -> dict:
    """Information only (designs are not judged by it): Spearman rho of validation accuracy (BN in
    inference mode, and re-estimated) against depth over the single-Dense-layer series, and the
    deepest network's margin over the best shallow one of each family (the sweep's two numbers)."""
    from scipy import stats

    series = sorted((c for c in cfgs.values() if c["family"] != "shallow_fc"), key=lambda c: c["depth"])
    out = {}
    for key, label in (("val_accuracy_bn_inference", "inference"), ("val_accuracy_bn_reestimated", "reestimated")):
        if len({c["depth"] for c in series}) >= 3:
            out[f"rho_{label}"] = float(stats.spearmanr([c["depth"] for c in series],
                                                        [c[key] for c in series]).statistic)
        deep = max(series, key=lambda c: c["depth"]) if series else None
        rivals = [c for c in cfgs.values() if c["family"] in ("shallow_conv", "shallow_fc")]
        if deep is not None and deep["depth"] == 11 and rivals:
            out[f"deep_margin_{label}"] = deep[key] - max(c[key] for c in rivals)
    return out


BEGIN, END = "<!-- tables: generated by depth_diagnosis.py table --write -->", "<!-- end of tables -->"
PROV_BEGIN = "<!-- provenance: generated by depth_diagnosis.py table --write -->"
PROV_END = "<!-- end of provenance -->"


def _minutes(seconds: float) -> str:
    return "—" if seconds != seconds else f"{seconds / 60:.0f}"  # NaN: not measured (no CPU time)


def tables_markdown(data: dict) -> str:
    rows = summarize(data)
    lines = ["### Summary (each model's accuracy is its mean over the seeds listed in the design's table)", "",
             "| design | steps per model | lowest model's val acc (BN inference) | gate | quick at 100 GFLOP/s, "
             "min: method 1 / 2 / 3 | fits 45 min (method 1) | rho(val acc, depth), information only |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        d = design_of(row["design"])
        worst = min(row["configs"].items(), key=lambda kv: kv[1]["val_accuracy_bn_inference"])
        steps = d.epochs * int(np.ceil((d.n_train - d.n_val) / d.batch_size)) if d else float("nan")
        lines.append(
            f"| {row['design']} | {steps} | {worst[1]['val_accuracy_bn_inference']:.1%} ({worst[0]}) | "
            f"{'pass' if row['gate_bn_inference'] else 'fail'} | {_minutes(row['quick_s_at_100_gflops'])} / "
            f"{_minutes(row['quick_s_at_100_gflops_from_cpu_time'])} / "
            f"{_minutes(row.get('quick_s_anchored_to_reference_sweep', float('nan')))} | "
            f"{'yes' if row['fits_budget'] else 'no'} | {row.get('rho_inference', float('nan')):+.2f} |")
    lines.append("")
    for row in rows:
        d = design_of(row["design"])
        lines += [f"### {row['design']}", ""]
        if d is not None:
            lines += [f"{d.head} head, BN momentum {d.bn_momentum}, flip {'on' if d.flip else 'off'}, "
                      f"{d.n_train - d.n_val:,} training + {d.n_val:,} validation images, {d.epochs} "
                      f"epochs, batch {d.batch_size}, one-cycle Adam peak {d.peak_learning_rate:g}.", ""]
        lines += [
            f"Quick profile (7 configs x 2 seeds) at 100 GFLOP/s: **{row['quick_s_at_100_gflops'] / 60:.0f} min** "
            f"from wall time x measured matmul rate / 100, {row['quick_s_at_100_gflops_from_cpu_time'] / 60:.0f} min "
            f"from CPU time, {row.get('quick_s_anchored_to_reference_sweep', float('nan')) / 60:.0f} min "
            f"scaled from the committed quick sweep's in-band executions (budget 45 min)"
            f"{'' if row['complete'] else '; incomplete design'}. "
            f"Gate (every model >= {row['gate']:.0%} validation accuracy, BN inference): "
            f"**{'pass' if row['gate_bn_inference'] else 'fail'}** "
            f"(re-estimated BN: {'pass' if row['gate_bn_reestimated'] else 'fail'}). Depth trend, information "
            f"only: Spearman rho {row.get('rho_inference', float('nan')):+.2f} (inference), "
            f"{row.get('rho_reestimated', float('nan')):+.2f} (re-estimated); 11 layers minus best shallow "
            f"{row.get('deep_margin_inference', float('nan')):+.1%} (inference).", "",
            "| config | depth | params | seeds | train acc (last epoch, running) | train acc (BN inference) "
            "| val acc (BN inference) | val acc (BN re-estimated) | s/epoch here | matmul here (GFLOP/s) "
            "| one execution at 100 GFLOP/s (s) |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
        for name, c in row["configs"].items():
            lines.append(
                f"| {name} | {c['depth']} | {c['params']:,} | {','.join(map(str, c['seeds']))} | "
                f"{c['train_accuracy_running_last_epoch']:.1%} | {c['train_accuracy_bn_inference']:.1%} | "
                f"{c['val_accuracy_bn_inference']:.1%} | {c['val_accuracy_bn_reestimated']:.1%} | "
                f"{c['train_s_per_epoch']:.1f} | {c['matmul_gflops_mean']:.0f} | "
                f"{c['quick_execution_s_at_100_gflops']:.0f} |")
        lines.append("")
    over = data.get("sweep_overhead", [])
    if over:
        lines += ["### The sweep's code path vs this driver", "",
                  "| config | sweep execution (s) | driver execution (s) | ratio |", "|---|---|---|---|"]
        for r in over:
            lines.append(f"| {r['config']} | {r['sweep_execution_s']:.0f} | {r['driver_execution_s']:.0f} | "
                         f"{r['sweep_execution_s'] / r['driver_execution_s']:.2f} |")
        lines.append("")
    return "\n".join(lines)


def _replace_block(text: str, begin: str, end: str, body: str) -> str:
    """``text`` with what lies between the markers replaced by ``body`` (markers appended if absent)."""
    if begin not in text:
        text = text.rstrip("\n") + f"\n\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    return f"{head}{begin}\n\n{body}\n{end}{tail}"


def print_tables(data: dict, write: bool = False, markdown: Path = MARKDOWN) -> None:
    text = tables_markdown(data)
    prov = provenance_markdown(data)
    print(text)
    if prov:
        print(prov)
    if write:
        from replication import results

        md = markdown.read_text() if markdown.exists() else f"{BEGIN}\n{END}\n"
        md = _replace_block(md, BEGIN, END, text)
        if prov:
            md = _replace_block(md, PROV_BEGIN, PROV_END, prov)
        results.atomic_write_text(markdown, md)


# --------------------------------------------------------------------------------------------
# Provenance: which committed code reruns each recorded run


def _commit_exists(sha: str) -> bool:
    return _git("cat-file", "-e", f"{sha}^{{commit}}") is not None


def _built_params(design: Design, name: str) -> int:
    import keras

    model = build(design, name, (32, 32, 3), 10)
    try:
        return int(model.count_params())
    finally:
        keras.backend.clear_session()


def _settings_diff(recorded: dict, design: Design) -> dict:
    """Recorded design settings that differ from the driver's ``Design`` of that name."""
    now = dataclasses.asdict(design)
    return {k: {"recorded": recorded.get(k), "driver": now.get(k)}
            for k in sorted(set(now) | set(recorded)) if recorded.get(k) != now.get(k)}


def provenance_record(data: dict, commit: str | None = None, data_dir: str = "DIR",
                      out: str = "/tmp/depth_rerun.json") -> dict:
    """The ``reproduced_by`` block: every commit the runs name (and whether this repository has
    it), the committed driver that reruns them (``commit``; default: the last commit of this
    driver) and its command per design, and a field-by-field check of every record against the
    driver's designs and configurations (parameters counted on a freshly built network)."""
    commit = commit or _git("log", "-1", "--format=%H", "--", DRIVER)
    first = (_git("log", "--diff-filter=A", "--format=%H", "--", DRIVER) or "").splitlines()
    runs = data.get("runs", [])
    base = f"PYTHONPATH=. python {DRIVER} --data-dir {data_dir} --out {out}"

    recorded: dict[str, dict] = {}
    for r in runs:
        sha = r["environment"]["commit"].split("+")[0]
        entry = recorded.setdefault(sha, {"commit": sha, "runs": 0, "designs": [], "marked_dirty": False})
        entry["runs"] += 1
        entry["marked_dirty"] = entry["marked_dirty"] or r["environment"]["commit"].endswith("+dirty")
        if r["design"] not in entry["designs"]:
            entry["designs"].append(r["design"])
    for sha, entry in recorded.items():
        if not _commit_exists(sha):
            entry["in_this_repository"] = False
            entry["label"] = "no: a branch commit not in this repository (squashed on merge)"
        elif _git("cat-file", "-e", f"{sha}:{DRIVER}") is None:
            entry["in_this_repository"] = True
            entry["label"] = ("yes, but without this driver (first committed in "
                              f"{first[-1][:7] if first else '?'}): the runs used uncommitted "
                              "changes on top of it")
        else:
            entry["in_this_repository"] = True
            entry["label"] = ("yes, with this driver; the runs had uncommitted changes on top of it"
                              if entry["marked_dirty"] else "yes, with this driver")

    params: dict[tuple, int] = {}

    def check(r: dict, design: Design | None) -> dict:
        if design is None:
            return {"design": f"{r['design']} is not defined in the driver"}
        if r["config"] not in design.configs:
            return {"config": f"{r['config']} is not a config of {r['design']} in the driver"}
        family, depth, width, fc_width, fc_layers = design.configs[r["config"]]
        now = {"family": family, "depth": depth, "width": width, "fc_width": fc_width,
               "fc_layers": fc_layers}
        key = (design.head, r["config"])
        if key not in params:
            params[key] = _built_params(design, r["config"])
        now["params"] = params[key]
        diff = {k: {"recorded": r[k], "driver": v} for k, v in now.items() if k in r and r[k] != v}
        if "design_settings" in r:
            diff.update(_settings_diff(r["design_settings"], design))
        elif "batch_size" in r and r["batch_size"] != design.batch_size:
            diff["batch_size"] = {"recorded": r["batch_size"], "driver": design.batch_size}
        return diff

    designs = []
    for dn in dict.fromkeys(r["design"] for r in runs):
        rs = [r for r in runs if r["design"] == dn]
        design = design_of(dn)
        seeds = sorted({r["seed"] for r in rs})
        names = list(dict.fromkeys(r["config"] for r in rs))
        diffs = {f"{r['config']} seed {r['seed']}": d for r in rs if (d := check(r, design))}
        every = design is not None and set(names) == set(design.configs)
        designs.append({
            "design": dn, "seeds": seeds, "configs": names, "runs": len(rs),
            "recorded_commits": sorted({r["environment"]["commit"].split("+")[0][:7] for r in rs}),
            "matches_driver": not diffs, "differences": diffs,
            "command": (f"{base} run {dn} --seeds {' '.join(map(str, seeds))}"
                        + ("" if every else f" --configs {' '.join(names)}"))
                       if dn in DESIGNS else f"PYTHONPATH=. python {DRIVER} --smoke"})
    probes = data.get("probes", [])
    probe_diffs = {f"{p['design']} {p['config']}": d for p in probes
                   if (d := check(p, design_of(p["design"])))}
    over = data.get("sweep_overhead", [])
    return {
        "about": ("Which committed code reruns each record. Each run names as its commit the HEAD "
                  "of the checkout it ran in (probes and sweep-overhead pairs name none); every "
                  "such commit is listed with whether this repository has it. No number in the "
                  "records was changed."),
        "driver": DRIVER,
        "commit": commit,
        "driver_first_committed": first[-1] if first else None,
        "note": ("The driver as first committed called training.adam_one_cycle, "
                 "bench.matmul_gflops(repeats=5) and training.RunContext(work_dir=...), which "
                 "519a981 had removed before models.depth_width_cnn gained bn_momentum, head and "
                 "flip (3cc71d8), so it ran at no commit of this repository. The driver at "
                 "`commit` trains the same designs the same way through today's package: "
                 "optimizers.one_cycle(peak, optimizer='adam') is the same schedule, and "
                 "hardware.matmul_gflops(n=2048) the same calibration, timed for about a second "
                 "instead of five products. A rerun is not expected to be bit-identical "
                 "(threaded TensorFlow kernels; Preprocess.standardize_from now sums in chunks), "
                 "and the records were not rerun at full size after the port."),
        "recorded_commits": list(recorded.values()),
        "branch_commits_not_in_this_repository": sorted(
            sha for sha, e in recorded.items() if not e["in_this_repository"]),
        "runs": designs,
        "probes": {"records": len(probes),
                   "designs": list(dict.fromkeys(p["design"] for p in probes)),
                   "configs_per_design": len({(p["design"], p["config"]) for p in probes})
                   // max(1, len({p["design"] for p in probes})),
                   "matches_driver": not probe_diffs, "differences": probe_diffs,
                   "command": f"{base} probe "
                              + " ".join(dict.fromkeys(p["design"] for p in probes))},
        "sweep_overhead": {"records": len(over), "configs": [r["config"] for r in over],
                           "command": f"{base} sweep-overhead "
                                      + " ".join(r["config"] for r in over),
                           "note": ("Recorded with the quick profile of its day, the design "
                                    "today; the driver now passes that design to "
                                    "depth_width.Config itself (sweep_config), since the quick "
                                    "profile has become bn09-flip-20k (412ecba). Today's sweep also "
                                    "scores up to 5,000 training images per execution, so a "
                                    "rerun's sweep seconds are not comparable one for one.")},
    }


def provenance_markdown(data: dict) -> str:
    """The provenance section of DEPTH_DIAGNOSIS.md, from the JSON's ``reproduced_by``."""
    rep = data.get("reproduced_by")
    if not rep:
        return ""
    first = rep.get("driver_first_committed")
    lines = ["### Provenance: which committed code reruns each record", "",
             rep["about"], "",
             f"Rerun with `{rep['driver']}` at commit {rep['commit'][:7]}"
             + (f" (first committed in {first[:7]})" if first else "") + ". " + rep["note"], "",
             "| commit named by the runs | in this repository | runs | designs |",
             "|---|---|---|---|"]
    for c in rep["recorded_commits"]:
        lines.append(f"| {c['commit'][:7]} | {c['label']} | {c['runs']} | {', '.join(c['designs'])} |")
    lines += ["", "| records | seeds | configs | commits named | matches the driver | command |",
              "|---|---|---|---|---|---|"]

    def match(entry):
        if entry["matches_driver"]:
            return "yes, field by field"
        return "no: " + "; ".join(f"{k}: {v}" for k, v in entry["differences"].items())

    for d in rep["runs"]:
        design = design_of(d["design"])
        every = design is not None and set(d["configs"]) == set(design.configs)
        cfgs = f"all {len(d['configs'])}" if every else ", ".join(d["configs"])
        lines.append(f"| {d['design']}: {d['runs']} runs | {', '.join(map(str, d['seeds']))} | "
                     f"{cfgs} | {', '.join(d['recorded_commits'])} | {match(d)} | `{d['command']}` |")
    p, o = rep["probes"], rep["sweep_overhead"]
    if p["records"]:
        lines.append(f"| probes of {', '.join(p['designs'])}: {p['records']} | — | "
                     f"{p['configs_per_design']} per design | none | "
                     f"{match(p)} | `{p['command']}` |")
    if o["records"]:
        lines.append(f"| sweep-overhead pairs: {o['records']} | 0 | {', '.join(o['configs'])} | none | "
                     f"design today (below) | `{o['command']}` |")
    lines += ["", "Sweep overhead: " + o["note"], ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The smoke


def write_provenance(out: Path, commit: str | None = None) -> None:
    from replication import results

    data = load_results(out)
    data["reproduced_by"] = provenance_record(data, commit=commit)
    results.atomic_write_json(out, data)


def smoke(out: Path, data_dir=None, log=print) -> None:
    """Every command on a few hundred images, 1 epoch, into ``out`` (tables into ``out``'s .md):
    a probe of 2 steps, a run of each smoke design on one network, the sweep-overhead pair on one
    network, the provenance block and the tables."""
    from replication import data as data_module

    matmul_s = 0.2
    probe(["smoke-today"], steps=2, log=log, out=out, configs=SMOKE_CONFIGS["smoke-today"],
          matmul_s=matmul_s)
    dataset = data_module.load("cifar10", data_dir)
    for dn, names in SMOKE_CONFIGS.items():
        for name in names:
            append("runs", run_one(dn, SMOKE_DESIGNS[dn], name, 0, dataset, log=log,
                                   matmul_s=matmul_s), out)
    del dataset
    sweep_overhead(tuple(SMOKE_CONFIGS["smoke-today"]), log=log, out=out, design_name="smoke-today",
                   n_test=SMOKE_TEST_IMAGES, data_dir=data_dir, matmul_s=matmul_s)
    write_provenance(out)
    print_tables(load_results(out), write=True, markdown=out.with_suffix(".md"))


# --------------------------------------------------------------------------------------------
# Entry point


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="The data: --data-dir, else $REPLICATION_DATA_DIR, else TensorFlow Datasets.")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"the results JSON (default: {RESULTS.relative_to(ROOT)}; with --smoke "
                             "a new temporary file)")
    parser.add_argument("--data-dir", default=None, help="the folder holding cifar10/")
    parser.add_argument("--smoke", action="store_true",
                        help="every command on 400 images for 1 epoch, into --out or a temporary "
                             "file, never the committed JSON; its tables go to --out's .md")
    sub = parser.add_subparsers(dest="command")
    p_probe = sub.add_parser("probe", help="ms per training step of every config of the designs")
    p_probe.add_argument("designs", nargs="*", default=["today", "gap-bn09"], choices=sorted(DESIGNS))
    p_run = sub.add_parser("run", help="train designs x configs x seeds (skips runs already saved)")
    p_run.add_argument("designs", nargs="+", choices=sorted(DESIGNS))
    p_run.add_argument("--seeds", type=int, nargs="+", default=[0])
    p_run.add_argument("--configs", nargs="*", default=None, help="a subset of each design's configs")
    p_table = sub.add_parser("table", help="print the tables from the JSON")
    p_table.add_argument("--write", action="store_true",
                         help=f"also write them into {MARKDOWN.name} (into --out's .md for another --out)")
    p_over = sub.add_parser("sweep-overhead", help="the sweep's code path vs this driver, same configs")
    p_over.add_argument("configs", nargs="*", default=["depth-d2-w56", "deep-w30"])
    p_prov = sub.add_parser("provenance", help="write the JSON's reproduced_by block: the commits the "
                                               "records name and the committed code that reruns them")
    p_prov.add_argument("--commit", default=None,
                        help="the commit whose driver reruns them (default: the driver's last commit)")
    args = parser.parse_args(argv)
    from replication import quiet

    quiet.start_backend()  # without TensorFlow's known-harmless start-up lines, as run and bench
    log = lambda msg: print(time.strftime("%H:%M:%S"), msg, flush=True)  # noqa: E731

    if args.smoke:
        if args.command is not None:
            parser.error("--smoke runs every command itself; give no command")
        out = args.out or Path(tempfile.mkdtemp(prefix="depth_diagnosis_smoke_")) / "smoke.json"
        if out.resolve() == RESULTS.resolve():
            parser.error(f"--smoke never writes {RESULTS.relative_to(ROOT)}; give another --out")
        if out.exists():
            parser.error(f"--smoke: {out} exists; give a new file")
        smoke(out, args.data_dir, log=log)
        print(f"smoke: results in {out}, tables in {out.with_suffix('.md')}", flush=True)
        return 0
    if args.command is None:
        parser.error("a command (probe, run, table, sweep-overhead, provenance) or --smoke is required")
    out = args.out or RESULTS
    markdown = MARKDOWN if out.resolve() == RESULTS.resolve() else out.with_suffix(".md")
    if args.command == "table":
        print_tables(load_results(out), write=args.write, markdown=markdown)
        return 0
    if args.command == "provenance":
        write_provenance(out, commit=args.commit)
        print(json.dumps(load_results(out)["reproduced_by"], indent=1))
        return 0
    if args.command == "probe":
        probe(args.designs, log=log, out=out)
        return 0
    if args.command == "sweep-overhead":
        sweep_overhead(tuple(args.configs), log=log, out=out, data_dir=args.data_dir)
        return 0
    from replication import data as data_module

    dataset = data_module.load("cifar10", args.data_dir)
    for seed in args.seeds:
        for dn in args.designs:
            design = DESIGNS[dn]
            names = [n for n in design.configs if args.configs is None or n in args.configs]
            for name in names:
                done = {(r["design"], r["config"], r["seed"]) for r in load_results(out).get("runs", [])}
                if (dn, name, seed) in done:
                    log(f"[{dn}] {name} seed {seed}: already in {out.name}, skipped")
                    continue
                append("runs", run_one(dn, design, name, seed, dataset, log=log), out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
