"""Verdicts from measured numbers and the registry only.

A verdict never looks at anything but the per-seed values a run measured, the claim's registry
entry, the profile and the data's provenance.
"""

from __future__ import annotations

import math

import numpy as np

from .registry import Claim

REPLICATED = "replicated"
NOT_REPLICATED = "not replicated"
NOT_REACHED = "not reached at this budget"
STRUCTURE_ONLY = "structure only"
NOT_RUN = "not run"
MEASURED_ONLY = "measured only (no lecture value for this dataset)"
SYNTHETIC = "synthetic data: not a replication"
UNVERIFIED = "unverified data: not a replication"
SMOKE = "smoke test: not a replication"

VERDICTS = (REPLICATED, NOT_REPLICATED, NOT_REACHED, STRUCTURE_ONLY, NOT_RUN, MEASURED_ONLY, SYNTHETIC,
            UNVERIFIED, SMOKE)


def summarize(values) -> dict:
    """mean, sample std (ddof=1; 0 for one value) and n of per-seed values."""
    arr = np.asarray(list(values), dtype="float64")
    if arr.size == 0:
        return {"values": [], "mean": None, "std": None, "n": 0}
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return {"values": [float(v) for v in arr], "mean": float(arr.mean()), "std": std, "n": int(arr.size)}


def passes(claim: Claim, mean: float) -> bool:
    if mean is None or not math.isfinite(mean):
        return False
    if claim.criterion == "at_least":
        return mean >= claim.expected - claim.tolerance - 1e-12
    if claim.criterion == "within":
        return abs(mean - claim.expected) <= claim.tolerance + 1e-12
    if claim.criterion == "greater_than":
        return mean > claim.expected
    raise ValueError(f"unknown criterion {claim.criterion!r} for claim {claim.id}")


def threshold_text(claim: Claim) -> str:
    fmt = (lambda v: f"{100 * v:.2f}%") if claim.percent else (lambda v: f"{v:.4g}")
    if claim.criterion == "at_least":
        return f">= {fmt(claim.expected - claim.tolerance)} ({fmt(claim.expected)} - {fmt(claim.tolerance)})"
    if claim.criterion == "within":
        return f"{fmt(claim.expected)} +/- {fmt(claim.tolerance)}"
    return f"> {fmt(claim.expected)}"


def judge(claim: Claim, summary: dict, *, profile: str, dataset: str, synthetic: bool,
          verified: bool = True) -> dict:
    """The verdict for one claim's measured summary (see :func:`summarize`).

    ``verified``: every data file matched its published checksum. Data that did not (loaded with
    checksums off) can say nothing about the lecture.
    """
    mean = summary.get("mean")
    ok = passes(claim, mean)
    base = {"criterion": threshold_text(claim), "passes_criterion": ok}
    if claim.structure_only:
        # A model's shape is the same on every profile and needs no data; matching it shows the
        # structure, never that the model would learn what the lecture says.
        return {**base, "verdict": STRUCTURE_ONLY if ok else NOT_REPLICATED}
    if synthetic:
        return {**base, "verdict": SYNTHETIC}
    if claim.lecture_value and dataset != claim.dataset:
        return {**base, "verdict": MEASURED_ONLY, "passes_criterion": None}
    if not verified:
        return {**base, "verdict": UNVERIFIED}
    if profile == "smoke":
        # One epoch on ~1,000 images exercises the code; it is no evidence either way.
        return {**base, "verdict": SMOKE}
    if ok:
        return {**base, "verdict": REPLICATED}
    # Only the lecture's own settings can refute the lecture; a smaller budget can only fall short.
    return {**base, "verdict": NOT_REPLICATED if profile == "paper" else NOT_REACHED}
