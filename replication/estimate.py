"""How long a claim will take here, before it runs (issue #21), and on a named accelerator (#24).

An estimate is the claim's counted work (``planned_work(config)`` in its module, FLOPs from the
models' layers: :mod:`replication.flops`) divided by the speed it will reach: this machine's
matmul rate in the run's precision (a short calibration; the float32 rate where the efficiency
was measured in the other precision) times an *efficiency*, the share of that rate a run of the
claim reached before. The efficiency comes from the last result of the same claim and profile
that is known (the user's own results, else the committed reference run); a claim not run under
today's config takes its own earlier config's run, else the median efficiency of the profile's
claims of the same dataset, else of all its claims, and with none, :data:`ASSUMED`
(``runner.plan``). An efficiency above :data:`MAX_EFFICIENCY` (a calibration that read low) is
never used (:func:`plausible`).
On a named accelerator (``--device``) nothing has been measured: its peak rate from the vendor's
sheet times :data:`ACCELERATOR_EFFICIENCY`, an assumption stated wherever it is used.
"""

from __future__ import annotations

import dataclasses
import statistics

from . import claims, flops, hardware

MAX_EFFICIENCY = 1.0  # no run computes faster than the matmul it is measured against
ASSUMED = 0.25  # a CPU efficiency where no run of any claim is known (float32 CNNs reached 0.2-0.6)

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
    efficiency: float | None
    source: str  # where the efficiency came from, in words
    done: bool = False  # a result with the same config exists: the run will skip it


def planned_flops(claim_id: str, config, n_train: int | None = None,
                  n_test: int | None = None) -> dict | None:
    """{"train", "eval", "total"} FLOPs of what the claim's run trains and scores, or None when its
    module plans no work."""
    plan = getattr(claims.module(claim_id), "planned_work", None)
    if plan is None:
        return None
    return flops.total(plan(config, n_train=n_train, n_test=n_test))


def matmul_rate(result: dict) -> float | None:
    """The matmul rate (GFLOP/s) a result's run was calibrated at, in its own precision."""
    calibration = (result.get("provenance") or {}).get("calibration") or {}
    return calibration.get(f"matmul_gflops_{result.get('precision', 'float32')}")


def compute_seconds(result: dict) -> float:
    """The claim's compute: this invocation's wall time and its reused seed runs' own."""
    return float(result.get("wall_time_s") or 0.0) + float(result.get("reused_runs_wall_time_s") or 0.0)


def rate_here(precision: str, device: str | None = None, seconds: float = 0.5) -> tuple[float, str]:
    """(GFLOP/s, what it is) of this machine in ``precision`` (a short calibration) or of a named
    accelerator's data sheet."""
    if device:
        spec = ACCELERATORS[device]
        return spec[precision], f"{spec['label']}, {precision} peak {spec[precision] / 1000:,.0f} TFLOP/s (data sheet)"
    rate = hardware.matmul_gflops(seconds, dtype=precision)
    return rate, f"this machine, {precision} matmul {rate:,.0f} GFLOP/s (a {seconds:g}-s calibration)"


def seconds_for(total_flops: float | None, efficiency: float | None, rate: float | None) -> float | None:
    if not total_flops or not efficiency or not rate:
        return None
    return float(total_flops) / (float(efficiency) * float(rate) * 1e9)


def plausible(efficiency: float | None) -> bool:
    """An efficiency a run can have reached: above 0 and at most :data:`MAX_EFFICIENCY`. A larger
    one says the run's matmul calibration read low (a busy machine at the moment it was taken:
    the quick reference's pooling-translation recorded 1.29 from a 43 GFLOP/s reading on a 430
    GFLOP/s machine), and planning from it would promise a third of the time."""
    return bool(efficiency) and 0 < efficiency <= MAX_EFFICIENCY


def median_or_assumed(efficiencies: list[float], what: str = "claims'") -> tuple[float, str]:
    known = [e for e in efficiencies if plausible(e)]
    if known:
        return statistics.median(known), f"median of {len(known)} {what} last runs"
    return ASSUMED, f"assumed {ASSUMED:g} (no run known)"
