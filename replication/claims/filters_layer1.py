"""First-layer filters "capture low-level features like oriented edges and blobs".

Lecture: slide "First layer filters" (AlexNet's 11x11x3 filters; Zeiler & Fergus 2014).
Test: a small CIFAR-10 CNN whose first layer has 64 filters of 7x7x3 with stride 2
(:func:`replication.models.filters_cnn`) is trained, and every first-layer filter is scored by its
spectral concentration (:func:`replication.filters.spectral_concentration`: 1 - the normalised
entropy of its 2-D power spectrum; noise spreads power over all frequencies, an edge or a blob puts
it in a few), trained against the same filters at initialisation (saved when the model is built).
The 3x3 first-layer filters of the trained ``cifar10-aug`` model are measured and shown beside
them (against a fresh initialisation with the same seed), but do not enter the verdict.
Tested by: registry entry ``filters-layer1`` (Vargha-Delaney A of trained vs initial spectral
concentration, per seed; the Mann-Whitney p-value beside it).
Figures: ``figures/plot_filters_layer1.py``, ``figures/plot_filter_structure.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "cifar10"
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 30
    batch_size: int = 128
    peak_learning_rate: float = 2e-3  # Adam, one-cycle (optimizers.one_cycle)
    filters: int = 64
    kernel: int = 7
    stride: int = 2
    augmentation: str = "flip_translate"
    n_train: int | None = None
    n_test: int | None = None


PROFILES = {
    "paper": Config(),
    # ~1/3 of the lecture CNN's work per image: about 80-100 s per epoch on all 50,000 images on 2
    # CPU cores, so 8 epochs take about 12-14 minutes.
    "quick": Config(seeds=(0,), epochs=8),
    "smoke": Config(seeds=(0,), epochs=1, n_train=512, n_test=256),
}

INITIAL = "initial_conv1.npz"


def _first_conv(model):
    from ..filters import conv_layers

    return np.asarray(conv_layers(model)[0].kernel)


def run(config: Config, ctx) -> dict:
    from .. import hardware, models, optimizers, results, training
    from ..data import Preprocess
    from ..filters import structure_stats

    data = ctx.dataset(config.dataset).subset(config.n_train, config.n_test)
    preprocess = Preprocess.standardize_from(data.train)
    records, stats = [], []
    for seed in config.seeds:
        run_dir = ctx.run_dir(f"seed{seed}")

        def build(run_dir=run_dir):
            model = models.filters_cnn(data.image_shape, data.num_classes, filters=config.filters,
                                       kernel=config.kernel, stride=config.stride,
                                       augmentation=config.augmentation)
            if not (run_dir / INITIAL).exists():  # the filters as built, before any step
                results.atomic_save_npz(run_dir / INITIAL, kernel=_first_conv(model))
            return model

        (d, record), = training.fit_seeds(
            ctx, build, data, preprocess, seeds=(seed,), epochs=config.epochs,
            batch_size=config.batch_size, keep_predictions=False,
            optimizer=optimizers.one_cycle(config.peak_learning_rate))
        with np.load(d / INITIAL) as f:
            initial = f["kernel"]
        trained = _first_conv(training.load_model(d, record))
        records.append((d, record, trained, initial))
        stats.append(structure_stats(trained, initial))

    # The lecture's CIFAR model (cifar10-aug): its 3x3 first layer, trained and freshly initialised.
    aug = []
    aug_source = ctx.prerequisite("cifar10-aug")
    for d, record in aug_source.runs():
        trained = _first_conv(training.load_model(d, record))
        training.set_seed(record["seed"])
        with hardware.distribution_scope():
            fresh = models.cifar10_vgg(data.image_shape, data.num_classes,
                                       augmentation=aug_source.config.get("augmentation"))
        initial = _first_conv(fresh)
        aug.append({"seed": record["seed"], "trained": trained, "initial": initial,
                    "stats": structure_stats(trained, initial)})

    def effect(s, name):
        return s[name]["A"]

    first = records[0]
    return {
        "metrics": {
            "structure_effect": [effect(s, "spectral_concentration") for s in stats],
            "structure_p_value": [s["spectral_concentration"]["p_value"] for s in stats],
            "orientation_effect": [effect(s, "orientation_selectivity") for s in stats],
            "colour_effect": [effect(s, "colour_share") for s in stats],
            "test_accuracy": [r["test_accuracy"] for _, r, _, _ in records],
            "cifar10_aug_structure_effect": [effect(a["stats"], "spectral_concentration") for a in aug],
        },
        "structure": [{"seed": r["seed"], **s} for (_, r, _, _), s in zip(records, stats, strict=True)],
        "cifar10_aug_structure": [{"seed": a["seed"], **a["stats"]} for a in aug],
        "cifar10_aug_profile": aug_source.result.get("profile"),
        **training.seed_block([(d, r) for d, r, _, _ in records]),
        "class_names": list(data.class_names),
        "data": data.provenance(),
        "arrays": {
            "trained_kernels": first[2].astype("float32"),
            "initial_kernels": first[3].astype("float32"),
            **({"cifar10_aug_kernels": aug[0]["trained"].astype("float32"),
                "cifar10_aug_initial_kernels": aug[0]["initial"].astype("float32")} if aug else {}),
        },
    }
