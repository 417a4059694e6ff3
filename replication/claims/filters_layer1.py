"""First-layer filters "capture low-level features like oriented edges and blobs".

Lecture: slide "First layer filters" (AlexNet's 11x11x3 filters; Zeiler & Fergus 2014).
Test: a small CIFAR-10 CNN whose first layer has 64 filters of 7x7x3 with stride 2
(:func:`replication.models.filters_cnn`) is trained, and every first-layer filter is scored by its
spectral concentration (:func:`replication.filters.spectral_concentration`: 1 - the normalised
entropy of its 2-D power spectrum; noise spreads power over all frequencies, an edge or a blob puts
it in a few) and by its colour share (:func:`replication.filters.colour_share`).
The control is the same network trained on the same images, labels, budget, seed and augmentation,
with one fixed permutation of the pixel positions applied inside the model right after the
augmentation (:class:`replication.models.PixelPermutation`, drawn from the config's
``pixel_permutation_seed``): it keeps every pixel's colour and what the labels say, and it learns,
but its first layer never sees two neighbouring pixels side by side, so it cannot pick up the
spatial structure of natural images that the lecture credits for edges and blobs.
The unit of analysis is the network (one per seed), not the filter: each network's 64 filters are
summarised by :func:`replication.filters.network_summary`.
Tested by: registry entry ``filters-layer1``. The primary statistic, per seed, is the trained
network's median spectral concentration minus its permuted-pixel control's (paired by seed); the
colour half ("colour blobs") is the share of trained filters that are colour blobs
(:func:`replication.filters.colour_blobs`: a colour part that forms a pattern, as in random filters
only by chance, and carries a good part of the filter's energy) less the share of random filters
that are (:func:`replication.filters.random_colour_reference`; random filters already have a colour
share of about 2/3, so the colour share alone says little). Gates: the trained
network learned the task, and the control learned too (its training accuracy, evaluate mode).
The initial filters, the old per-filter Vargha-Delaney A values and the 3x3 first-layer filters of
the trained ``cifar10-aug`` model are reported beside, not judged. The design's pilot:
``benchmarks/filters_control_pilot.py``.
Figures: ``figures/filters_layer1/plot_filters_layer1.py``,
``figures/filters_layer1/plot_filter_structure.py``.
Tests: ``tests/claims/test_filters_layer1.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = "cifar10"
    seeds: tuple[int, ...] = (10, 11, 12)  # 0, 1 and 100 were design pilots (registry pilot_seeds)
    epochs: int = 30
    batch_size: int = 128
    peak_learning_rate: float = 2e-3  # Adam, one-cycle (optimizers.one_cycle)
    filters: int = 64
    kernel: int = 7
    stride: int = 2
    augmentation: str = "flip_translate"
    # The control's one permutation of the 32x32 pixel positions, the same for every seed.
    pixel_permutation_seed: int = 1729
    n_train: int | None = None
    n_test: int | None = None


PROFILES = {
    "paper": Config(),
    # ~1/3 of the lecture CNN's work per image: about 80-100 s per epoch on all 50,000 images on a
    # 100 GFLOP/s CPU, so 4 epochs for 3 seeds, each with its permuted-pixel control, take about
    # 75 minutes there (about 18 on a 450 GFLOP/s AVX-512 one).
    "quick": Config(epochs=4),
    "smoke": Config(seeds=(0,), epochs=1, n_train=512, n_test=256),
}

INITIAL = "initial_conv1.npz"
CONTROL = "permuted_pixels"  # the control's run folder and the suffix of its keys


def _first_conv(model):
    from ..filters import conv_layers

    return np.asarray(conv_layers(model)[0].kernel)


def build_model(config: Config, image_shape, num_classes: int, control: bool):
    """The trained network, or (``control``) its permuted-pixel control."""
    from .. import models

    return models.filters_cnn(image_shape, num_classes, filters=config.filters, kernel=config.kernel,
                              stride=config.stride, augmentation=config.augmentation,
                              permute_pixels=config.pixel_permutation_seed if control else None)


def planned_work(config: Config, n_train: int | None = None, n_test: int | None = None) -> list:
    """What :func:`run` trains and scores (:class:`replication.flops.Work`), from the config alone:
    per seed the trained network (its test curve and evaluate) and its permuted-pixel control (no
    test curve; evaluate on both splits). The ``cifar10-aug`` models it reads are only built and
    loaded here (their work is counted in that claim's result). ``n_train``/``n_test``: the loaded
    dataset's split sizes before the config's subsets (None: CIFAR-10's 50,000 / 10,000)."""
    from .. import flops
    from ..data import DATASETS

    spec = DATASETS[config.dataset]
    ntr, nte = flops.split_sizes(config.dataset, n_train, n_test, config.n_train, config.n_test)
    seeds = len(config.seeds)

    def build(control):
        return lambda: build_model(config, spec.image_shape, len(spec.class_names), control)

    trained = flops.fit_seed_eval_images(ntr, nte, config.epochs, keep_predictions=False)
    control = flops.fit_seed_eval_images(ntr, nte, config.epochs, evaluate_train=True,
                                         curve_on_test=False, keep_predictions=False)
    return [flops.Work("filters_cnn trained", build(False), seeds * config.epochs * ntr, seeds * trained),
            flops.Work(f"filters_cnn {CONTROL}", build(True), seeds * config.epochs * ntr,
                       seeds * control)]


def run(config: Config, ctx) -> dict:
    from .. import hardware, models, optimizers, results, training
    from ..data import Preprocess
    from ..filters import network_summary, random_colour_reference, structure_stats

    data = ctx.dataset(config.dataset).subset(config.n_train, config.n_test)
    preprocess = Preprocess.standardize_from(data.train)

    def train(seed, folder):
        run_dir = ctx.run_dir(folder, f"seed{seed}")
        control = folder == CONTROL

        def build():
            model = build_model(config, data.image_shape, data.num_classes, control)
            if not (run_dir / INITIAL).exists():  # the filters as built, before any step
                results.atomic_save_npz(run_dir / INITIAL, kernel=_first_conv(model))
            return model

        (d, record), = training.fit_seeds(
            ctx, build, data, preprocess, seeds=(seed,), epochs=config.epochs,
            batch_size=config.batch_size, keep_predictions=False, folder=folder,
            # The control: its training accuracy (its gate: it learned), no per-epoch test curve.
            evaluate_train=control, curve_on_test=not control,
            optimizer=optimizers.one_cycle(config.peak_learning_rate))
        with np.load(d / INITIAL) as f:
            initial = f["kernel"]
        # models is imported above: a saved control's PixelPermutation layer is registered.
        return d, record, _first_conv(training.load_model(d, record)), initial

    # What random filters of this shape show (colour blobs by chance), the same for every seed.
    reference = random_colour_reference((config.kernel, config.kernel, data.image_shape[-1]))
    records, controls, networks, stats, versus = [], [], [], [], []
    for seed in config.seeds:
        trained = train(seed, "")
        control = train(seed, CONTROL)
        records.append(trained)
        controls.append(control)
        networks.append({"seed": int(seed),
                         "trained": network_summary(trained[2], reference),
                         CONTROL: network_summary(control[2], reference),
                         "initial": network_summary(trained[3], reference)})
        # Per filter, reported only (the filters of one network are not independent samples).
        stats.append(structure_stats(trained[2], trained[3]))  # against the initial filters
        versus.append(structure_stats(trained[2], control[2]))  # against the control

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

    def per_network(arm, key):
        return [n[arm].get(key) for n in networks]

    def effect(per_seed, name):
        return [s[name]["A"] if name in s else None for s in per_seed]

    first = records[0]
    return {
        "metrics": {
            # Judged (registry): per seed, paired by seed.
            f"structure_vs_{CONTROL}": [n["trained"]["structure_median"] - n[CONTROL]["structure_median"]
                                        for n in networks],
            "colour_excess": per_network("trained", "colour_excess"),
            "test_accuracy": [r["test_accuracy"] for _, r, _, _ in records],
            "control_train_accuracy": [r["train_accuracy"] for _, r, _, _ in controls],
            # Reported: the three networks' summaries, and the trained one against its initial self.
            "structure_median": per_network("trained", "structure_median"),
            f"structure_median_{CONTROL}": per_network(CONTROL, "structure_median"),
            "structure_median_initial": per_network("initial", "structure_median"),
            "structure_vs_init": [n["trained"]["structure_median"] - n["initial"]["structure_median"]
                                  for n in networks],
            f"colour_excess_{CONTROL}": per_network(CONTROL, "colour_excess"),
            "colour_excess_initial": per_network("initial", "colour_excess"),
            # The colour share alone above random filters' (opponent colour), less chance.
            "colour_share_excess": per_network("trained", "colour_share_excess"),
            f"colour_share_excess_{CONTROL}": per_network(CONTROL, "colour_share_excess"),
            "control_test_accuracy": [r["test_accuracy"] for _, r, _, _ in controls],
            # Reported: the old design's per-filter Vargha-Delaney A values (0.5: no difference).
            f"structure_A_vs_{CONTROL}": effect(versus, "spectral_concentration"),
            f"colour_A_vs_{CONTROL}": effect(versus, "colour_share"),
            f"orientation_A_vs_{CONTROL}": effect(versus, "orientation_selectivity"),
            "structure_A_vs_init": effect(stats, "spectral_concentration"),
            "colour_A_vs_init": effect(stats, "colour_share"),
            "cifar10_aug_structure_effect": effect([a["stats"] for a in aug], "spectral_concentration"),
        },
        "colour_reference": reference,
        "networks": networks,
        "structure": [{"seed": r["seed"], **s} for (_, r, _, _), s in zip(records, stats, strict=True)],
        f"versus_{CONTROL}": [{"seed": r["seed"], **v}
                              for (_, r, _, _), v in zip(records, versus, strict=True)],
        "control": training.seed_block([(d, r) for d, r, _, _ in controls], suffix=f"_{CONTROL}"),
        "cifar10_aug_structure": [{"seed": a["seed"], **a["stats"]} for a in aug],
        "cifar10_aug_profile": aug_source.result.get("profile"),
        **training.seed_block([(d, r) for d, r, _, _ in records]),
        "class_names": list(data.class_names),
        "data": data.provenance(),
        "arrays": {
            "trained_kernels": first[2].astype("float32"),
            "initial_kernels": first[3].astype("float32"),
            "permuted_pixel_kernels": controls[0][2].astype("float32"),
            **({"cifar10_aug_kernels": aug[0]["trained"].astype("float32"),
                "cifar10_aug_initial_kernels": aug[0]["initial"].astype("float32")} if aug else {}),
        },
    }
