"""AlexNet's number of layers, as the slide "Architecture of Alex Krizhevsky et al." gives it.

Builds AlexNet in Keras (:func:`replication.models.alexnet`), once as a single tower and once with
the paper's two-GPU grouped convolutions, and counts its weight layers and parameters. Nothing is
trained: ImageNet is out of reach here, so the verdict can only be "structure only".
Tested by: registry entry ``alexnet`` (the number of weight layers, against the slide's count).
Figures: none. Tests: ``tests/claims/test_alexnet.py``.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "imagenet"  # what AlexNet was built for; nothing is loaded
    seeds: tuple[int, ...] = (0,)  # the structure does not depend on a seed
    input_size: int = 227
    num_classes: int = 1000


PROFILES = {"paper": Config(), "quick": Config(), "smoke": Config()}


def layer_table(model) -> list[dict]:
    """One row per layer that holds weights: name, kind, output shape and parameters."""
    rows = []
    for layer in model.layers:
        if layer.weights:
            rows.append({"layer": layer.name, "kind": type(layer).__name__,
                         "groups": int(getattr(layer, "groups", 1)),
                         "output_shape": [int(d) for d in layer.output.shape[1:]],
                         "params": int(layer.count_params())})
    return rows


def planned_work(config: Config, n_train: int | None = None, n_test: int | None = None) -> list:
    """What :func:`run` computes (:class:`replication.flops.Work`): both AlexNets are built and
    counted, never trained or run (0 images; their forward FLOPs per image are what the lecture's
    network would cost). ``n_train``/``n_test`` are unused (nothing is loaded)."""
    from .. import flops, models

    shape = (config.input_size, config.input_size, 3)
    return [flops.Work("alexnet", lambda: models.alexnet(shape, config.num_classes), 0, 0),
            flops.Work("alexnet_grouped", lambda: models.alexnet(shape, config.num_classes, grouped=True),
                       0, 0)]


def run(config: Config, ctx) -> dict:
    from .. import models

    shape = (config.input_size, config.input_size, 3)
    single = models.alexnet(shape, config.num_classes)
    grouped = models.alexnet(shape, config.num_classes, grouped=True)
    weight_layers = models.weight_layers(single)
    kinds = [type(single.get_layer(n)).__name__ for n in weight_layers]
    out = {
        "metrics": {"weight_layers": [len(weight_layers)]},
        "conv_layers": kinds.count("Conv2D"),
        "dense_layers": kinds.count("Dense"),
        "params_single_tower": int(single.count_params()),
        "params_grouped": int(grouped.count_params()),
        "params_paper": 60_000_000,
        "layers_single_tower": layer_table(single),
        "layers_grouped": layer_table(grouped),
        "input_shape": list(shape),
        "data": {"dataset": "imagenet", "loaded": False,
                 "note": "no data: the claim is about the network's structure"},
    }
    del single, grouped
    return out
