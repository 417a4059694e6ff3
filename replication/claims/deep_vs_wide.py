"""At a matched parameter count, the deepest network beats shallow ones made wider (Fig. 6.7).

Reads the ``depth-width`` sweep's table (never trains): per seed, the 11-layer network in the
parameter band against the in-band shallow network (3 conv layers, wide convolutions or wide fully
connected layers) with the best mean validation accuracy; the test set selects nothing.
Tested by: registry entry ``deep-vs-wide`` (the per-seed margin, a one-sided paired t-test).
Figures: ``figures/depth_width/plot_params_accuracy.py`` (drawn from the depth-width result).
Tests: ``tests/claims/test_deep_vs_wide.py``.
"""

from __future__ import annotations

import dataclasses

from . import depth_width


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "cifar10"
    seeds: tuple[int, ...] = depth_width.Config().seeds  # the sweep's (its fingerprint needs them)


PROFILES = {name: Config(seeds=c.seeds) for name, c in depth_width.PROFILES.items()}


def planned_work(config: Config, n_train: int | None = None, n_test: int | None = None) -> list:
    """What :func:`run` computes (:class:`replication.flops.Work`): nothing; it reads the
    ``depth-width`` sweep's table (whose work is counted in that result). Arguments as the other
    claims'."""
    return []


def run(config: Config, ctx) -> dict:
    sweep = ctx.prerequisite("depth-width").result
    a = sweep["measured"]["analysis"]
    return {
        "metrics": {
            "deep_margin": a["deep_margin_per_seed"],  # per seed: deepest minus the rival
            "min_val_accuracy_in_band": [a["min_val_accuracy_in_band"]],
            # The convergence gate, as depth-width's (NaN, which fails it, for a sweep without it;
            # a stored sweep holds NaN as null).
            "minus_max_plateau_gain_in_band": [-(a.get("max_plateau_gain_in_band") or float("nan"))],
            **{f"margin_{fam}": m["margin_per_seed"] for fam, m in a["margins"].items()},
        },
        "margins": a["margins"],
        "rival": a["rival"],
        "deepest": a["deepest"],
        "band": a["band"],
        "in_band": [r for r in sweep["measured"]["table"] if a["band"][0] <= r["params"] <= a["band"][1]],
        "from_sweep": {"profile": sweep["profile"], "fingerprint": sweep["fingerprint"]},
        "data": sweep["measured"]["data"],
    }
