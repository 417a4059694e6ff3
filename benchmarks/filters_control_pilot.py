"""The filters-layer1 claim's control pilot: does a permuted-pixel control learn (issue #22, item 2)?

The ``filters-layer1`` claim compares a trained network's first-layer filters with those of a
control. The old control (the same network trained on shuffled labels) reached 11.4% training
accuracy: it learned nothing, so "trained vs control" was "trained vs initial". The new control is
the same network, images, labels, budget, seed and augmentation with one fixed permutation of the
32x32 pixel positions applied inside the model after the augmentation
(``models.filters_cnn(permute_pixels=...)``): it keeps each pixel's colour and the labels' signal
and loses the images' spatial neighbourhoods. This pilot trains one seed of both networks on the
claim's quick budget (``replication.claims.filters_layer1.PROFILES["quick"]``: its epochs, batch,
optimiser, augmentation and permutation seed) and measures, after every epoch, each network's
accuracy (running training accuracy; evaluate-mode accuracy on a fixed 5,000 of its training
images; validation accuracy) and its first layer's per-network summary
(``filters.network_summary``: median spectral concentration; colour blobs beyond random filters';
the colour share alone above random filters').
It chooses the control's gate, the minimum effects and the colour statistic
(``registry.CLAIMS["filters-layer1"]``); its seed is one of the claim's pilot seeds, so judged runs
use others.

Data: CIFAR-10's 50,000 training images, of which 5,000 (``Dataset.validation_split(5000,
seed=0)``) are the validation images and the other 45,000 train both networks; the test split is
never read. Every arm is appended to the log (``--out``, default
``benchmarks/filters_control_pilot.json``) as soon as it ends; a rerun skips (arm, seed) pairs
already there. ``benchmarks/FILTERS_CONTROL_PILOT.md`` holds the tables made from that file.

    python benchmarks/filters_control_pilot.py run            # seed 100, 2 arms x 4 epochs
    python benchmarks/filters_control_pilot.py table --write  # the page from the log
    python benchmarks/filters_control_pilot.py --smoke        # 1 epoch on 300 images

The data: ``--data-dir``, else ``$REPLICATION_DATA_DIR``, else TensorFlow Datasets.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "filters_control_pilot.json"
MARKDOWN = HERE / "FILTERS_CONTROL_PILOT.md"
DRIVER = "benchmarks/filters_control_pilot.py"  # as git names it
sys.path.insert(0, str(ROOT))

from benchmarks import _pilot_log as pilot_log  # noqa: E402 (ROOT first on the path)

ARMS = ("trained", "permuted_pixels")  # the claim's network, and its control
SEEDS = (100,)  # disjoint from the claim's judged seeds
N_VAL = 5_000  # validation images carved from the training split
N_PROBE = 5_000  # training images scored in evaluate mode after every epoch
SMOKE = {"n_train": 300, "n_val": 100, "n_probe": 100, "epochs": 1}


_git = pilot_log.git
save_log = pilot_log.save_log


def commit() -> str:
    """HEAD, with ``+dirty`` when the package or this driver differ from it."""
    return pilot_log.commit(DRIVER)


def load_log(path: Path) -> dict:
    return pilot_log.load_log(path, __doc__, reproduced_by=True)


def quick_config(epochs: int | None = None):
    """The claim's quick profile (``epochs``: the smoke's 1 instead)."""
    from replication.claims import filters_layer1

    config = filters_layer1.PROFILES["quick"]
    return config if epochs is None else dataclasses.replace(config, epochs=epochs)


def probe_callback(x_probe, y_probe, reference: dict, rows: list):
    """A Keras callback that appends, before training and after every epoch, the first layer's
    per-network summary and (after epochs) the evaluate-mode accuracy on ``x_probe`` and the
    epoch's seconds (training and its validation pass, not this probe) to ``rows``."""
    import keras

    from replication import evaluation, filters

    class Probe(keras.callbacks.Callback):
        def _kernels(self):
            return np.asarray(filters.conv_layers(self.model)[0].kernel)

        def on_train_begin(self, logs=None):
            rows.append({"epoch": 0, **filters.network_summary(self._kernels(), reference)})
            self.initial = per_filter(self._kernels())

        def on_train_end(self, logs=None):
            self.final = per_filter(self._kernels())

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self._t0
            probs = evaluation.predict(self.model, x_probe)
            rows.append({"epoch": epoch + 1, "seconds": round(seconds, 1),
                         "probe_train_accuracy": float((probs.argmax(1) == y_probe).mean()),
                         **filters.network_summary(self._kernels(), reference)})

    return Probe()


def per_filter(kernels) -> dict:
    """Every filter's measures (rounded), so that other per-network statistics can be computed
    from the log without training again."""
    from replication import filters

    return {name: [round(float(v), 5) for v in fn(kernels)]
            for name, fn in (("spectral_concentration", filters.spectral_concentration),
                             ("colour_share", filters.colour_share),
                             ("chromatic_concentration", filters.chromatic_concentration),
                             ("orientation_selectivity", filters.orientation_selectivity))}


def run(seeds, out: Path, data_dir, *, n_train: int | None = None, n_val: int = N_VAL,
        n_probe: int = N_PROBE, epochs: int | None = None, kernels: Path | None = None,
        log=print) -> dict:
    from replication import data as rdata
    from replication import filters, hardware, optimizers, training
    from replication.claims import filters_layer1
    from replication.data import Preprocess

    config = quick_config(epochs)
    cifar = rdata.load("cifar10", data_dir)
    rest, val = cifar.validation_split(n_val, seed=0)
    pool = dataclasses.replace(cifar, train=rest, test=val)  # "test" = validation images only
    if n_train is not None:
        pool = pool.subset(n_train, None, seed=0)
    preprocess = Preprocess.standardize_from(pool.train)
    probe_idx = np.sort(np.random.default_rng(1).permutation(len(pool.train))[:n_probe])
    x_probe, y_probe = preprocess(pool.train.x[probe_idx]), pool.train.y[probe_idx]
    reference = filters.random_colour_reference((config.kernel, config.kernel, pool.image_shape[-1]))
    record_log = load_log(out)
    done = {(r["arm"], r["seed"]) for r in record_log["runs"]}
    banks = {}
    for seed in seeds:
        for arm in ARMS:
            if (arm, seed) in done:
                log(f"{arm} seed {seed}: in the log, skipped")
                continue
            rows: list = []
            probe = probe_callback(x_probe, y_probe, reference, rows)
            with tempfile.TemporaryDirectory() as work:
                t0 = time.perf_counter()
                rec = training.fit_seed(
                    lambda arm=arm: filters_layer1.build_model(config, pool.image_shape,
                                                               pool.num_classes, arm != "trained"),
                    pool, preprocess, seed=seed, epochs=config.epochs,
                    batch_size=config.batch_size, run_dir=Path(work),
                    optimizer=optimizers.one_cycle(config.peak_learning_rate), verbose=0,
                    evaluate_train=True, keep_predictions=False,
                    extra_callbacks=[probe])
                seconds = time.perf_counter() - t0
                if kernels is not None:
                    model = training.load_model(Path(work), rec)
                    banks[f"{arm}_seed{seed}"] = np.asarray(filters.conv_layers(model)[0].kernel)
            hist = rec["history"]
            row = {"arm": arm, "seed": int(seed), "settings": dataclasses.asdict(config),
                   "n_train": len(pool.train), "n_val": len(pool.test), "n_probe": int(n_probe),
                   "colour_reference": reference,
                   "running_train_accuracy_per_epoch": [float(v) for v in hist["accuracy"]],
                   "val_accuracy_per_epoch": [float(v) for v in hist["test_accuracy"]],
                   "per_epoch": rows,
                   "train_accuracy": rec["train_accuracy"], "val_accuracy": rec["test_accuracy"],
                   "initial": rows[0], "final": rows[-1],
                   "per_filter": {"initial": probe.initial, "final": probe.final},
                   "params": rec["params"],
                   "seconds": round(seconds, 1), "commit": commit(), "machine": hardware.info(),
                   "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            record_log["runs"].append(row)
            record_log["comparison"] = compare(record_log["runs"])
            record_log["reproduced_by"] = provenance()
            save_log(record_log, out)
            f = row["final"]
            log(f"{arm} seed {seed}: train accuracy {row['train_accuracy']:.4f}, validation "
                f"{row['val_accuracy']:.4f}; median concentration {f['structure_median']:.3f}, colour "
                f"excess {f['colour_excess']:+.3f}; {seconds:.0f} s")
    if kernels is not None and banks:
        np.savez(kernels, **banks)
        log(f"first-layer kernels: {kernels}")
    return record_log


def compare(runs: list) -> list:
    """Per seed with both arms: the claim's per-network statistics (trained minus control)."""
    by = {(r["arm"], r["seed"]): r for r in runs}
    out = []
    for seed in sorted({r["seed"] for r in runs}):
        if not all((arm, seed) in by for arm in ARMS):
            continue
        t, c = by["trained", seed], by["permuted_pixels", seed]
        out.append({
            "seed": seed,
            "structure_vs_permuted_pixels": t["final"]["structure_median"] - c["final"]["structure_median"],
            "structure_vs_init": t["final"]["structure_median"] - t["initial"]["structure_median"],
            "colour_excess": t["final"]["colour_excess"],
            "colour_excess_permuted_pixels": c["final"]["colour_excess"],
            "colour_excess_initial": t["initial"]["colour_excess"],
            "colour_share_excess": t["final"]["colour_share_excess"],
            "colour_share_excess_permuted_pixels": c["final"]["colour_share_excess"],
            "same_initial_filters": t["initial"] == c["initial"],
        })
    return out


def provenance() -> dict:
    """Which committed code reruns the log: the package commit the runs trained with (the driver
    is committed beside the log) and the command."""
    head = _git("rev-parse", "HEAD") or "unknown"
    return {"commit": head, "driver": DRIVER, "branch_commits_not_in_this_repository": [],
            "command": "PYTHONPATH=. python benchmarks/filters_control_pilot.py --data-dir DIR --out "
                       "/tmp/filters_control_pilot_rerun.json run --seeds 100"}


def tables(data: dict) -> str:
    """The page's generated part: every arm's epochs, and the per-network statistics."""
    lines = ["| arm | seed | epoch | running train accuracy | train accuracy (evaluate, probe) | "
             "validation accuracy | median concentration | colour share median | colour blobs | "
             "colour excess | colour share excess | s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in data["runs"]:
        for e in r["per_epoch"]:
            i = e["epoch"] - 1  # epoch 0: the filters as built, before any step
            running = f"{r['running_train_accuracy_per_epoch'][i]:.4f}" if i >= 0 else "—"
            val = f"{r['val_accuracy_per_epoch'][i]:.4f}" if i >= 0 else "—"
            probe = f"{e['probe_train_accuracy']:.4f}" if "probe_train_accuracy" in e else "—"
            lines.append(f"| {r['arm']} | {r['seed']} | {e['epoch']} | {running} | {probe} | "
                         f"{val} | {e['structure_median']:.4f} | "
                         f"{e['colour_share_median']:.4f} | {e['colour_fraction']:.4f} | "
                         f"{e['colour_excess']:+.4f} | {e['colour_share_excess']:+.4f} | "
                         f"{e.get('seconds', '—')} |")
    lines += ["", "| arm | seed | training images | train accuracy (evaluate, all) | validation "
              "accuracy | wall s | commit |", "|---|---|---|---|---|---|---|"]
    for r in data["runs"]:
        lines.append(f"| {r['arm']} | {r['seed']} | {r['n_train']:,} | {r['train_accuracy']:.4f} | "
                     f"{r['val_accuracy']:.4f} | {r['seconds']:.0f} | {r['commit'][:8]} |")
    comp = data.get("comparison") or []
    if comp:
        lines += ["", "| seed | median concentration, trained minus control | trained minus its "
                  "initial filters | colour excess: trained | control | initial | colour share "
                  "excess: trained | control | same initial filters |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for c in comp:
            lines.append(f"| {c['seed']} | {c['structure_vs_permuted_pixels']:+.4f} | "
                         f"{c['structure_vs_init']:+.4f} | {c['colour_excess']:+.4f} | "
                         f"{c['colour_excess_permuted_pixels']:+.4f} | "
                         f"{c['colour_excess_initial']:+.4f} | {c['colour_share_excess']:+.4f} | "
                         f"{c['colour_share_excess_permuted_pixels']:+.4f} | "
                         f"{c['same_initial_filters']} |")
    rep = data.get("reproduced_by") or {}
    if rep:
        lines += ["", f"Trained with the package at {rep['commit'][:8]}; rerun with: `{rep['command']}`."]
    return "\n".join(lines)


def write_page(data: dict, page: Path) -> None:
    pilot_log.write_tables(page, tables(data), "filters-layer1: the permuted-pixel control's pilot", DRIVER)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=("run", "table"), default="run",
                        help="run (the default): train both arms of each seed into the log; table: "
                             "print the page's tables (--write: into FILTERS_CONTROL_PILOT.md)")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--out", type=Path, help=f"the log (default {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--data-dir", help="datasets folder (default: $REPLICATION_DATA_DIR, else "
                                           "TensorFlow Datasets)")
    parser.add_argument("--kernels", type=Path,
                        help="run: also save the trained first-layer kernels to this .npz")
    parser.add_argument("--write", action="store_true", help="table: write the page")
    parser.add_argument("--smoke", action="store_true",
                        help="run and table on 300 training images for 1 epoch, seed 0, into a "
                             "temporary log (or --out); never the committed one")
    args = parser.parse_args(argv)
    from replication import quiet

    quiet.start_backend()  # without TensorFlow's known-harmless start-up lines, as run and bench
    data_dir = args.data_dir or os.environ.get("REPLICATION_DATA_DIR")
    if args.smoke:
        out = args.out or Path(tempfile.mkdtemp()) / "filters_control_pilot_smoke.json"
        if out.resolve() == RESULTS.resolve():
            print(f"--smoke never writes the committed log {RESULTS}", file=sys.stderr)
            return 2
        data = run([0], out, data_dir, kernels=args.kernels, **SMOKE)
        write_page(data, out.with_suffix(".md"))
        print(f"smoke: {out} and {out.with_suffix('.md')}")
        return 0
    out = args.out or RESULTS
    if args.command == "run":
        data = run(args.seeds, out, data_dir, kernels=args.kernels)
        if out == RESULTS:
            write_page(data, MARKDOWN)
        print(tables(data))
        return 0
    if args.command == "table":
        data = load_log(out)
        if args.write:
            write_page(data, MARKDOWN if out == RESULTS else out.with_suffix(".md"))
        print(tables(data))
        return 0
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
