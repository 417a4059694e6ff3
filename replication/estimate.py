"""How long a claim will take here, before it runs (issue #21), and on a named accelerator (#24).

An estimate is this machine's time for the claim's training and scoring steps times the claim's
*overhead*. The steps are measured, not derived: a short step calibration (:func:`step_seconds`)
builds each model the claim plans (``planned_work(config)`` in its module), times a few training
steps at batch :data:`TRAIN_BATCH` and a few predictions at batch :data:`EVAL_BATCH` in the run's
precision, and multiplies by the images the claim trains and scores. The overhead is what a run
of the claim needed beyond those steps (wall time / the step time its plan measured on the same
machine just before it): input pipeline, augmentation on the CPU, callbacks, checkpoints, the
sweep's bookkeeping, and a host that slows under sustained load. It comes from the last run of
the claim that recorded one (the user's own results, else the committed reference run; a claim
not run under today's config takes its own earlier config's), else the median of the profile's
claims of the same dataset, else of all of them, and with none, :data:`ASSUMED_OVERHEAD`
(``runner.plan``).

Why not the matmul efficiency alone (the share of the matmul rate a run reached, which every
result still records): it does not carry from one kind of machine to another. The quick
reference's CIFAR-10 runs reached 0.11-0.14 of an AMX machine's bfloat16 matmul (844-1176
GFLOP/s); applied to an AVX2 machine's float32 rate (107) they planned cifar10-noaug at 7 h 09 min
where its steps take 2 h 19-2 h 29 min there, and the whole quick profile at 50 h (stop 31's note).
A convolution step reaches a larger share of a slow matmul unit than of a fast one, so the share
depends on the machine; the step time of the claim's own models is measured where it will run.

The step calibrations are kept in the results folder (:class:`StepCache`, ``step_calibration.json``)
for this machine, precision and versions, so that ``list`` and a second plan need not repeat them.
A run that no plan timed (``runner.run_claim`` called directly) times its steps after it ends.

On a named accelerator (``--device``) nothing has been measured: its peak rate from the vendor's
sheet times :data:`ACCELERATOR_EFFICIENCY`, an assumption stated wherever it is used.
"""

from __future__ import annotations

import dataclasses
import statistics

from . import claims, flops, hardware

TRAIN_BATCH = 128  # every claim's training batch (their configs' batch_size)
EVAL_BATCH = 512  # training.evaluate / predict's batch
# Wall time / step time where no run of any claim recorded its own. Measured on the 2-core AVX2
# machine of stop 31 (benchmarks/avx2/ESTIMATES.md): mnist-mlp 1.26 (1.67 while the per-epoch
# test curve was scored at batch 32), a claim of long epochs; dropout 2.46, 360 short epochs each
# paying about 0.9 s that no step calibration sees (2.37 and 0.8 s at stop 32, once the per-epoch
# reseed stopped clearing TensorFlow's kernel cache). A claim's own run replaces it.
ASSUMED_OVERHEAD = 1.35
# A step calibration: after one warm-up call (the graph is traced), REPEATS windows of at least
# MIN_STEPS calls and MIN_SECONDS each, per model and kind of step; the fastest window counts. The
# 2-core hosts this was built on jump between speed levels by up to 2x on their own (stop 30's step
# probe): one window read a claim's steps 7% slower than the whole run that followed it took
# (mnist-mlp, stop 31), while the fastest of several is what the machine does when nothing
# interferes, the same reading on every try; the overhead absorbs the rest.
MIN_STEPS = 2
MIN_SECONDS = 0.25
REPEATS = 3

# A step calibration during which other processes took at least this share of the host's CPU
# time (results.others_cpu_share; on 2 cores: another job busy half the time) reads slow: stop 33
# timed cifar10-noaug's steps at 3 h 28 min beside a training run, where the same model's had read
# 2 h 21 min on the quiet host. The plan says so and does not keep it.
BUSY_HOST = 0.25

# Dense matmul peak of named accelerators, GFLOP/s, by the vendor's data sheet (SXM parts, no
# sparsity). float32 is TF32 on the tensor cores: JAX's default matmul precision there.
ACCELERATORS = {
    "h100": {"label": "NVIDIA H100 SXM (80 GB)", "float32": 494_700.0, "bfloat16": 989_400.0},
    "h200": {"label": "NVIDIA H200 SXM (141 GB)", "float32": 494_700.0, "bfloat16": 989_400.0},
}
# The lecture's models are small (0.2-80 MFLOP per image) at batch 128: a step is a few hundred
# small kernels, bound by their launches, not by the tensor cores. Assumed, not measured (no GPU
# has been lent to this project yet): replace it with a measured one when a run exists.
ACCELERATOR_EFFICIENCY = 0.01


@dataclasses.dataclass(frozen=True)
class Estimate:
    claim: str
    flops: float | None  # the claim's planned FLOPs (training and evaluation)
    seconds: float | None  # None: no planned work (the claim trains nothing) or no rate
    efficiency: float | None  # a named accelerator's assumed share of its peak (else None)
    source: str  # where the overhead (or the accelerator's efficiency) came from, in words
    done: bool = False  # a result with the same config exists: the run will skip it
    steps_s: float | None = None  # this machine's time for the claim's steps (step calibration)
    overhead: float | None = None  # wall time / step time it is planned with
    # Wall seconds already trained of this config's seed runs (an interrupted run that resumes):
    # ``seconds`` is what is left of the whole claim's estimate.
    trained_s: float = 0.0


def planned_work(claim_id: str, config, n_train: int | None = None,
                 n_test: int | None = None) -> list | None:
    """The claim's :class:`replication.flops.Work` list, or None when its module plans no work."""
    plan = getattr(claims.module(claim_id), "planned_work", None)
    return None if plan is None else plan(config, n_train=n_train, n_test=n_test)


def planned_flops(claim_id: str, config, n_train: int | None = None,
                  n_test: int | None = None) -> dict | None:
    """{"train", "eval", "total"} FLOPs of what the claim's run trains and scores, or None when its
    module plans no work."""
    work = planned_work(claim_id, config, n_train, n_test)
    return None if work is None else flops.total(work)


def matmul_rate(result: dict) -> float | None:
    """The matmul rate (GFLOP/s) a result's run was calibrated at, in its own precision."""
    calibration = (result.get("provenance") or {}).get("calibration") or {}
    return calibration.get(f"matmul_gflops_{result.get('precision', 'float32')}")


def compute_seconds(result: dict) -> float:
    """The claim's compute: this invocation's wall time and what earlier invocations trained of its seed runs."""
    return float(result.get("wall_time_s") or 0.0) + float(result.get("reused_runs_wall_time_s") or 0.0)


def rate_here(precision: str, device: str) -> tuple[float, str]:
    """(GFLOP/s, what it is) of a named accelerator in ``precision``, by its data sheet."""
    spec = ACCELERATORS[device]
    return spec[precision], f"{spec['label']}, {precision} peak {spec[precision] / 1000:,.0f} TFLOP/s (data sheet)"


def seconds_for(total_flops: float | None, efficiency: float | None, rate: float | None) -> float | None:
    if not total_flops or not efficiency or not rate:
        return None
    return float(total_flops) / (float(efficiency) * float(rate) * 1e9)


def machine() -> dict:
    """What a step calibration holds for: this CPU (model, cores, instruction sets) and the
    versions that run the steps."""
    from . import results

    v = results.versions()
    return {**hardware.cpu(), **{k: v.get(k) for k in ("tensorflow", "keras", "keras_backend", "jax")}}


class StepCache:
    """This machine's step calibrations, by model and precision, in one JSON file (issue #21):
    ``{"machine": machine(), "models": {key: {"train_s_per_image", "predict_s_per_image",
    "measured"}}}``. Entries made on another machine or under other versions are dropped on load;
    a file that cannot be read is treated as empty (it only saves time) and rewritten."""

    NAME = "step_calibration.json"

    def __init__(self, folder):
        from pathlib import Path

        self.path = None if folder is None else Path(folder) / self.NAME
        self.here = machine()
        self.models: dict = {}
        if self.path is not None and self.path.is_file():
            import json

            try:
                saved = json.loads(self.path.read_text())
            except (OSError, ValueError):
                saved = {}
            if isinstance(saved, dict) and saved.get("machine") == self.here:
                self.models = dict(saved.get("models") or {})

    @staticmethod
    def key(name: str, forward_flops: int, precision: str) -> str:
        return f"{name} | {forward_flops} FLOP/image | {precision} | batch {TRAIN_BATCH}/{EVAL_BATCH}"

    def get(self, key: str) -> dict | None:
        return self.models.get(key)

    def put(self, key: str, speed: dict) -> None:
        self.models[key] = speed

    def save(self) -> None:
        """Write the file (its folder created); a folder that cannot be written is left alone."""
        if self.path is None:
            return
        from . import display, results

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            results.atomic_write_json(self.path, {"machine": self.here, "saved": display.now(),
                                                  "models": self.models})
        except OSError:
            pass


def time_model(model, *, train: bool, predict: bool, min_steps: int = MIN_STEPS,
               min_seconds: float = MIN_SECONDS, repeats: int = REPEATS) -> dict:
    """Seconds per image of ``model``'s training step (batch :data:`TRAIN_BATCH`, Adam, sparse
    cross-entropy on random labels) and of its prediction (batch :data:`EVAL_BATCH`), each the
    fastest of ``repeats`` windows after one warm-up call that traces the graph; random inputs in
    [0, 1)."""
    import time

    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    shape = tuple(model.input_shape[1:])
    out = {"train_s_per_image": None, "predict_s_per_image": None}

    def window(call):
        n, t0 = 0, time.perf_counter()
        while True:
            call()
            n += 1
            elapsed = time.perf_counter() - t0
            if n >= min_steps and elapsed >= min_seconds:
                return elapsed / n

    def timed(call, batch):
        call()  # warm-up: traces the graph
        return min(window(call) for _ in range(max(1, repeats))) / batch

    if train:
        x = rng.random((TRAIN_BATCH, *shape), dtype=np.float32)
        y = rng.integers(0, int(model.output_shape[-1]), TRAIN_BATCH)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        out["train_s_per_image"] = timed(lambda: model.train_on_batch(x, y), TRAIN_BATCH)
    if predict:
        x = rng.random((EVAL_BATCH, *shape), dtype=np.float32)
        out["predict_s_per_image"] = timed(lambda: model.predict_on_batch(x), EVAL_BATCH)
    return out


class _NotRetracing:
    """A logging filter: TensorFlow's "N out of the last M calls to ... triggered tf.function
    retracing" warning, which a calibration of many models in turn sets off (every model has its
    own step function, traced once, as it should), is dropped; every other record passes."""

    @staticmethod
    def filter(record) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def step_seconds(work: list, precision: str, cache: StepCache | None = None, *,
                 fresh: bool = False, measure: bool = True, min_steps: int = MIN_STEPS,
                 min_seconds: float = MIN_SECONDS, repeats: int = REPEATS) -> float | None:
    """This machine's seconds for the training steps and predictions of ``work`` (a claim's
    :class:`replication.flops.Work` list) in ``precision``: each model's measured time per image
    (:func:`time_model`; from ``cache`` where it holds one, unless ``fresh``) times the images it
    trains and scores. New measurements go into ``cache``; the caller saves it. ``measure=False``:
    only what ``cache`` holds (None where a model was never timed here)."""
    import logging

    import keras

    total, quiet = 0.0, _NotRetracing()
    logging.getLogger("tensorflow").addFilter(quiet)
    try:
        for item in work:
            if not item.train_images and not item.eval_images:
                continue
            with hardware.precision_policy(precision):
                model = item.build()
                key = StepCache.key(item.name, flops.forward_flops(model), precision)
                speed = None if fresh or cache is None else cache.get(key)
                if (speed is None or (item.train_images and speed.get("train_s_per_image") is None)
                        or (item.eval_images and speed.get("predict_s_per_image") is None)):
                    if not measure:
                        keras.backend.clear_session()
                        return None
                    from . import display

                    speed = {**time_model(model, train=bool(item.train_images),
                                          predict=bool(item.eval_images), min_steps=min_steps,
                                          min_seconds=min_seconds, repeats=repeats),
                             "measured": display.now()}
                    if cache is not None:
                        cache.put(key, speed)
            keras.backend.clear_session()
            total += item.train_images * (speed["train_s_per_image"] or 0.0)
            total += item.eval_images * (speed["predict_s_per_image"] or 0.0)
        return total
    finally:
        logging.getLogger("tensorflow").removeFilter(quiet)


def median_overhead(overheads: list, what: str) -> tuple[float, str]:
    """(median of the known overheads, where from), else (:data:`ASSUMED_OVERHEAD`, "assumed")."""
    known = [o for o in overheads if o]
    if known:
        return statistics.median(known), f"median of {len(known)} {what} last runs"
    return ASSUMED_OVERHEAD, "assumed: no run recorded its steps"
