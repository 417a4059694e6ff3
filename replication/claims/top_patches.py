"""The top 9 patches per filter, layer by layer: "each layer is finding more and more complicated
features".

Lecture: slides "Top 9 patches that activate each filter in layer 1" and "Each layer is finding
more and more complicated features" (Zeiler & Fergus 2014).
Test: the lecture's CIFAR-10 CNN as trained by ``cifar10-aug`` (the lecture's recipe; its first
seed; reused, never retrained) is run over the test images. For every filter of the first, a middle and the last conv
layer: the 9 images where that filter's strongest unit fires hardest, cropped to the unit's
receptive field (computed from the architecture, :func:`replication.filters.receptive_fields`).
"More complicated" is measured by the label purity of those 9 images: edges fire on every class,
a detector of a part of a horse fires on horses.
Tested by: registry entry ``top-patches`` (mean purity of the last conv layer's filters minus the
first's; a one-sided Mann-Whitney test over filters beside it).
Figure: ``figures/plot_top_patches.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "cifar10"
    seeds: tuple[int, ...] = (0,)  # which cifar10-aug seeds to probe (each must have been trained)
    top: int = 9
    show: int = 16  # filters per layer whose patches are kept for the figure
    n_test: int | None = None  # test images searched; None: all 10,000


MODEL_FROM = "cifar10-aug"  # the lecture's own CIFAR-10 model and recipe

PROFILES = {
    "paper": Config(seeds=(0, 1, 2)),
    "quick": Config(),
    "smoke": Config(show=4),
}


def probed_layers(model) -> list[str]:
    """The first, a middle and the last Conv2D layer's names."""
    from ..filters import conv_layers

    convs = [layer.name for layer in conv_layers(model)]
    picks = [0, (len(convs) - 1) // 2 + (1 if len(convs) > 2 else 0), len(convs) - 1]
    return list(dict.fromkeys(convs[i] for i in picks))


def run(config: Config, ctx) -> dict:
    from .. import training
    from ..data import Preprocess
    from ..errors import ReplicationError
    from ..filters import conv_layers, label_purity, mann_whitney_greater, top_patches

    source = ctx.prerequisite(MODEL_FROM)
    runs = source.runs_by_seed()
    missing = [s for s in config.seeds if s not in runs]
    if missing:
        raise ReplicationError(f"seeds {missing} were not trained by {MODEL_FROM} (seeds {sorted(runs)})")
    # The model's own input scaling: the mean and std of the training images it was trained on.
    full = ctx.dataset(config.dataset)
    trained_on = full.subset(source.config.get("n_train"), None)
    preprocess = Preprocess.standardize_from(trained_on.train)
    x, y = full.test.x[:config.n_test], full.test.y[:config.n_test]

    per_seed, arrays, layer_info = [], {}, []
    for k, seed in enumerate(config.seeds):
        model = training.load_model(*runs[seed])
        names = probed_layers(model)
        all_fields = receptive_fields_table(model)
        convs = [layer.name for layer in conv_layers(model)]
        purity = {}
        for li, name in enumerate(names):
            n_filters = int(model.get_layer(name).output.shape[-1])
            show = list(range(min(config.show, n_filters)))
            found = top_patches(model, name, x, preprocess, show, top=config.top)
            purity[name] = label_purity(found["image_index"], y)
            if k == 0:
                arrays[f"patches_{li}"] = found["patches"]
                arrays[f"activations_{li}"] = found["activations"]
                arrays[f"labels_{li}"] = y[found["image_index"][show]].astype("int64")
                rows, cols = all_fields[name]
                layer_info.append({"layer": name, "conv_index": convs.index(name) + 1,
                                   "filters": n_filters, "shown": show,
                                   "receptive_field": [rows.size, cols.size],
                                   "jump": [rows.jump, cols.jump]})
        first, last = names[0], names[-1]
        test = mann_whitney_greater(purity[last], purity[first])
        per_seed.append({"seed": seed, "layers": names,
                         "purity_mean": {n: float(np.mean(p)) for n, p in purity.items()},
                         "purity": {n: p.tolist() for n, p in purity.items()},
                         "last_vs_first": test})
    # A label-free reference: the purity of 9 random test images (what an edge detector shows).
    rng = np.random.default_rng(0)
    chance = label_purity(rng.integers(0, len(y), size=(2000, config.top)), y)
    return {
        "metrics": {
            "purity_gain": [s["purity_mean"][s["layers"][-1]] - s["purity_mean"][s["layers"][0]]
                            for s in per_seed],
            "purity_first": [s["purity_mean"][s["layers"][0]] for s in per_seed],
            "purity_last": [s["purity_mean"][s["layers"][-1]] for s in per_seed],
            "purity_p_value": [s["last_vs_first"]["p_value"] for s in per_seed],
        },
        "layers": layer_info,
        "receptive_fields": [{"layer": n, "size": f[0].size, "jump": f[0].jump}
                             for n, f in all_fields.items()],
        "per_seed": per_seed,
        "chance_purity": float(chance.mean()),
        "top": config.top,
        "n_test": int(len(y)),
        "model_from": {"claim": MODEL_FROM, "profile": source.result.get("profile"),
                       "seeds": list(config.seeds)},
        "class_names": list(full.class_names),
        "data": full.provenance(),
        "arrays": arrays,
    }


def receptive_fields_table(model) -> dict:
    """{conv/pool layer name: (rows Field, cols Field)} in order."""
    from ..filters import receptive_fields

    return {f[0].layer: f for f in receptive_fields(model)}
