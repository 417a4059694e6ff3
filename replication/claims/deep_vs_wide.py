"""At a matched parameter count, the deepest network beats both shallow families (Fig. 6.7).

Reads the ``depth-width`` sweep's table (never trains): the 11-layer network in the parameter band
against the best 3-layer convolutional and the best 3-layer fully connected network in the band.
Tested by: registry entry ``deep-vs-wide`` (the smaller of the two margins).
Figure: ``figures/plot_params_accuracy.py`` (drawn from the depth-width result).
"""

from __future__ import annotations

import dataclasses

from . import depth_width


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "cifar10"
    seeds: tuple[int, ...] = depth_width.Config().seeds  # the sweep's (its fingerprint needs them)


PROFILES = {name: Config(seeds=c.seeds) for name, c in depth_width.PROFILES.items()}


def run(config: Config, ctx) -> dict:
    sweep = ctx.prerequisite("depth-width").result
    a = sweep["measured"]["analysis"]
    return {
        "metrics": {"deep_margin": [a["deep_margin"]]},
        "margins": a["margins"],
        "deepest": a["deepest"],
        "band": a["band"],
        "in_band": [r for r in sweep["measured"]["table"] if a["band"][0] <= r["params"] <= a["band"][1]],
        "from_sweep": {"profile": sweep["profile"], "fingerprint": sweep["fingerprint"]},
        "data": sweep["measured"]["data"],
    }
