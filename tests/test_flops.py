"""Counting the work (issue #21): FLOPs per image from a model's layers, and every claim's planned
work (``planned_work(config)``: the models it trains and scores, with their image counts).

Fast: the lecture's models against hand-computed FLOPs; every claim's plan in every profile
(models built, never run). Slow: the smoke profile of the claims that train through
``training.fit_seed`` (and the two that only read or probe their prerequisites) run on synthetic
data, with every inference call counted as it happens, against what they planned.
"""

from __future__ import annotations

import pytest

from replication import claims, flops, models, registry

# Hand-computed forward FLOPs per image (2 x multiply-adds of the convolutions and dense layers).
# MLP: 784x512 + 512x512 x 2 + 512x10 = 930,816 MACs.
MLP = 2 * (784 * 512 + 2 * 512 * 512 + 512 * 10)
# MNIST CNN (valid 3x3): 26^2x32x9 + 24^2x64x288 + 10^2x64x576 + 8^2x64x576 + 1024x128 + 128x10.
MNIST_CNN = 2 * (26 * 26 * 32 * 9 + 24 * 24 * 64 * 288 + 10 * 10 * 64 * 576 + 8 * 8 * 64 * 576
                 + 1024 * 128 + 128 * 10)
# CIFAR-10 VGG (same 3x3): two convs at 32^2, 16^2 and 8^2, then 2048 -> 512 -> 10.
CIFAR_VGG = 2 * (32 * 32 * 32 * (27 + 288) + 16 * 16 * 64 * (288 + 576) + 8 * 8 * 128 * (576 + 1152)
                 + 2048 * 512 + 512 * 10)

# Claims that train nothing themselves (they read or probe a prerequisite's models, or only build).
TRAIN_NOTHING = {"mlp-vs-cnn", "deep-vs-wide", "top-patches", "alexnet"}


def test_hand_computed_values():
    assert CIFAR_VGG == 79_374_336  # the lecture's "about 79 MFLOP"
    assert MNIST_CNN == 33_979_136 and MLP == 1_861_632


def test_forward_flops_of_the_lectures_models():
    assert flops.forward_flops(models.cifar10_vgg()) == CIFAR_VGG
    assert flops.forward_flops(models.mnist_cnn()) == MNIST_CNN
    assert flops.forward_flops(models.mlp()) == MLP


def test_augmentation_dropout_batchnorm_and_pooling_add_nothing():
    import keras
    from keras import layers

    # The augmentation layers, with or without: the same convolutions.
    for kind in ("lecture", "flip_translate"):
        assert flops.forward_flops(models.cifar10_vgg(augmentation=kind)) == CIFAR_VGG
    # Without dropout (the dropout claim's control) the MLP has the same dense layers.
    assert flops.forward_flops(models.mlp(dropout=0.0)) == MLP
    # Subsampling instead of max-pooling: the same shapes, the same work.
    assert flops.forward_flops(models.mnist_cnn(pooling="subsample")) == MNIST_CNN

    def net(*extra):
        model = keras.Sequential([keras.Input((8, 8, 3)), *extra, layers.Conv2D(4, 3),
                                  layers.Flatten(), layers.Dense(5)])
        return flops.forward_flops(model)

    bare = net()
    assert bare == 2 * (6 * 6 * 4 * 27 + 144 * 5)
    assert net(layers.BatchNormalization(), layers.Dropout(0.5), layers.RandomFlip("horizontal"),
               layers.RandomTranslation(0.1, 0.1), layers.Activation("relu")) == bare
    for layer in (layers.BatchNormalization(), layers.Dropout(0.5), layers.MaxPooling2D(2),
                  models.cifar10_augmentation("lecture")):
        keras.Sequential([keras.Input((8, 8, 3)), layer])
        assert flops.layer_flops(layer) == 0


def test_grouped_and_strided_convolutions():
    import keras
    from keras import layers

    # conv1 of AlexNet: 55x55 positions x 11x11x3 x 96; a grouped conv sees in/groups channels.
    model = keras.Sequential([keras.Input((227, 227, 3)), layers.Conv2D(96, 11, strides=4),
                              layers.Conv2D(64, 3, padding="same", groups=2)])
    assert flops.forward_flops(model) == 2 * (55 * 55 * 96 * 363 + 55 * 55 * 64 * 9 * 48)


def test_split_sizes_and_fit_seed_images():
    assert flops.split_sizes("mnist") == (60_000, 10_000)
    assert flops.split_sizes("cifar10", subset_train=10_000) == (10_000, 10_000)
    assert flops.split_sizes("cifar10", 256, 128, 512, 256) == (256, 128)  # a subset larger: all
    # fit_seed's defaults: the test curve, evaluate, the saved predictions.
    assert flops.fit_seed_eval_images(50, 10, 3) == 3 * 10 + 10 + 10
    # Flip TTA: two passes per epoch, and the flip mean (two) instead of the saved predictions.
    assert flops.fit_seed_eval_images(50, 10, 3, test_time_flip=True, keep_predictions=False) == 60 + 10 + 20
    # A TTA function of 6 views: the plain prediction and the 6 views.
    assert flops.fit_seed_eval_images(50, 10, 3, evaluate_train=True, test_time_flip=True,
                                      tta_views=6, finalize_images=40) == 60 + 40 + 10 + 50 + 70
    assert flops.fit_seed_eval_images(50, 10, 3, curve_on_test=False, evaluate_train=True,
                                      keep_predictions=False) == 10 + 50


def totals(claim_id: str, work, cache: dict) -> dict:
    """{"train", "eval", "total"} FLOPs, each model's forward FLOPs built once per (claim, name)."""
    import keras

    out = {"train": 0, "eval": 0}
    for item in work:
        key = (claim_id, item.name)
        if key not in cache:
            cache[key] = flops.forward_flops(item.build())
            keras.backend.clear_session()
        counted = item.flops(cache[key])
        out["train"] += counted["train"]
        out["eval"] += counted["eval"]
    return {**out, "total": out["train"] + out["eval"]}


def counts(work) -> list:
    return [(w.name, w.train_images, w.eval_images) for w in work]


def test_every_claim_plans_its_work_in_every_profile():
    cache: dict = {}
    for claim_id in registry.CLAIMS:
        module = claims.module(claim_id)
        for profile in registry.PROFILES:
            config = module.PROFILES[profile]
            work = module.planned_work(config)
            assert isinstance(work, list) and all(isinstance(w, flops.Work) for w in work), claim_id
            names = [w.name for w in work]
            assert len(set(names)) == len(names), (claim_id, names)
            for w in work:
                assert isinstance(w.train_images, int) and w.train_images >= 0, (claim_id, w.name)
                assert isinstance(w.eval_images, int) and w.eval_images >= 0, (claim_id, w.name)
            counted = totals(claim_id, work, cache)
            assert all(v >= 0 for v in counted.values()), (claim_id, profile)
            if claim_id in TRAIN_NOTHING:
                assert counted["train"] == 0, (claim_id, profile)
            else:
                assert counted["train"] > 0 and counted["eval"] > 0, (claim_id, profile)
            # The default sizes are the lecture dataset's, as if the loader had said so.
            if getattr(config, "dataset", None) in flops.SPLIT_SIZES:
                told = module.planned_work(config, *flops.SPLIT_SIZES[config.dataset])
                assert counts(told) == counts(work), (claim_id, profile)
    assert all(f > 0 for f in cache.values())


def plan(claim_id, profile="paper", **sizes):
    module = claims.module(claim_id)
    return {w.name: (w.train_images, w.eval_images)
            for w in module.planned_work(module.PROFILES[profile], **sizes)}


def test_plans_by_hand():
    # mnist-mlp paper: 3 seeds x 20 epochs x 60,000; per seed 20 test curves of 10,000, evaluate on
    # test and train, the saved predictions.
    assert plan("mnist-mlp") == {"mlp": (3_600_000, 3 * (20 * 10_000 + 10_000 + 60_000 + 10_000))}
    # cifar10-fast paper: per seed 15 x 2 curve passes, BatchNorm on 10,000, evaluate test + train,
    # the plain prediction and 6 TTA views; the lecture recipe (one seed): curve x 2, evaluate, flip.
    fast = plan("cifar10-fast")
    assert list(fast.values()) == [
        (3 * 15 * 50_000, 3 * (15 * 2 * 10_000 + 10_000 + 10_000 + 50_000 + 7 * 10_000)),
        (15 * 50_000, 15 * 2 * 10_000 + 10_000 + 2 * 10_000)]
    # quick: baseline for one epoch only.
    assert list(plan("cifar10-fast", "quick").values())[1] == (50_000, 2 * 10_000 + 10_000 + 2 * 10_000)
    # depth-width quick: 10,000 images less 2,000 for validation, 3 seeds x 32 epochs; per seed 32
    # validation passes, all 10,000 test images, 5,000 training images scored.
    dw = plan("depth-width", "quick")
    assert len(dw) == 7 and set(dw.values()) == {(3 * 32 * 8_000, 3 * (32 * 2_000 + 10_000 + 5_000))}
    # filters-layer1 quick, 3 seeds: the control has no test curve, but evaluate on the training set.
    assert plan("filters-layer1", "quick") == {
        "filters_cnn trained": (3 * 4 * 50_000, 3 * (4 * 10_000 + 10_000)),
        "filters_cnn permuted_pixels": (3 * 4 * 50_000, 3 * (10_000 + 50_000))}
    # pooling-translation quick: 20,000 training digits, 2 epochs; shift curves on 2,000 test
    # digits, 2 directions x 9 shifts, for each CNN and the MLP.
    pt = plan("pooling-translation", "quick")
    probe = 2 * 9 * 2_000
    assert pt["mnist_cnn(pooling=none) no_pooling"] == (3 * 2 * 20_000, 3 * (2 * 10_000 + 2 * 10_000 + probe))
    assert pt["mlp (mnist-mlp's) shift probes"] == (0, 3 * probe)
    # top-patches smoke: all test images, trained and untrained, 3 probed layers.
    assert set(plan("top-patches", "smoke", n_test=128).values()) == {(0, 2 * 128)}
    assert plan("mlp-vs-cnn") == {} and plan("deep-vs-wide") == {}
    assert set(plan("alexnet").values()) == {(0, 0)}


# --------------------------------------------------------------------------------------------
# What smoke runs do, counted as they do it

SYNTHETIC = (256, 128)  # training and test images of the synthetic datasets

# Run order: every prerequisite is in the store before the claim that needs it, so each claim's
# counted calls are its own. Per claim: {planned Work name: its seed runs under runs/<fp>/}.
SMOKE_RUNS = {
    "mnist-mlp": {"mlp": "seed*"},
    "mnist-cnn": {"mnist_cnn(pooling=max)": "seed*"},
    "mlp-vs-cnn": {},
    "pooling-translation": {f"mnist_cnn(pooling={p}) {v}": f"{v}/seed*"
                            for v, p in (("max_pool", "max"), ("subsample", "subsample"),
                                         ("no_pooling", "none"))},
    "dropout": {"without_dropout": "without_dropout/seed*", "with_dropout": "with_dropout/seed*"},
    "cifar10-aug": {"cifar10_vgg(augmentation=lecture_affine)": "seed*"},
    "cifar10-noaug": {"cifar10_vgg(augmentation=None)": "seed*"},
    "cifar10-fast": {"cifar10_vgg(augmentation=flip_translate) fast recipe": "seed*",
                     "cifar10_vgg(augmentation=lecture_affine) lecture recipe": "lecture_recipe/seed*"},
    "filters-layer1": {"filters_cnn trained": "seed*", "filters_cnn permuted_pixels": "permuted_pixels/seed*"},
    "top-patches": {},
}


def _images(x) -> int:
    if hasattr(x, "shape"):
        return int(x.shape[0])
    return sum(int(batch[0].shape[0]) for batch in x)  # a tf.data dataset of (x, y) batches


@pytest.mark.slow
def test_smoke_runs_do_what_they_planned(tmp_path, monkeypatch):
    """Every claim of :data:`SMOKE_RUNS` in smoke on synthetic data, with every ``predict`` and
    ``evaluate`` (Keras's per-epoch validation included) and the BatchNorm recomputation counted as
    they run: the images and FLOPs scored equal the plan's, and the training images its seed runs
    recorded (epochs x the training images after the claim's subsetting) equal the plan's."""
    import keras

    from replication import data, fast_recipe, results, runner

    current, scored, messages = [None], [], []

    def counting(original):
        def wrapper(self, *args, **kwargs):
            x = kwargs["x"] if "x" in kwargs else args[0]
            scored.append((current[0], flops.forward_flops(self), _images(x)))
            return original(self, *args, **kwargs)
        return wrapper

    for name in ("predict", "evaluate"):
        monkeypatch.setattr(keras.Model, name, counting(getattr(keras.Model, name)))
    recompute = fast_recipe.recompute_batchnorm

    def counted_recompute(model, x, *args, **kwargs):
        scored.append((current[0], flops.forward_flops(model), len(x)))
        return recompute(model, x, *args, **kwargs)

    monkeypatch.setattr(fast_recipe, "recompute_batchnorm", counted_recompute)
    options = runner.RunOptions(profile="smoke", store=results.Store(tmp_path), verbose=0,
                                loader=lambda name: data.synthetic(name, *SYNTHETIC),
                                log=messages.append)
    for claim_id, folders in SMOKE_RUNS.items():
        current[0] = claim_id
        result = runner.run_claim(claim_id, options)
        assert not [m for m in messages if "training prerequisite" in m], messages
        module = claims.module(claim_id)
        work = module.planned_work(module.PROFILES["smoke"], *SYNTHETIC)
        fwd = {w.name: flops.forward_flops(w.build()) for w in work}
        keras.backend.clear_session()

        # Inference: images and FLOPs, everything the claim scored.
        mine = [(f, n) for c, f, n in scored if c == claim_id]
        assert sum(n for _, n in mine) == sum(w.eval_images for w in work), claim_id
        assert sum(f * n for f, n in mine) == sum(fwd[w.name] * w.eval_images for w in work), claim_id

        # Training: per model, what its finished seed runs recorded.
        runs = tmp_path / "smoke" / result["dataset"] / claim_id / result["runs_dir"]
        n_train = result["measured"]["data"]["n_train"]
        assert {w.name for w in work if w.train_images} == set(folders), claim_id
        found = set()
        for w in work:
            if not w.train_images:
                continue
            done = sorted(runs.glob(f"{folders[w.name]}/done.json"))
            assert len(done) == len(result["seeds"]), (claim_id, w.name)
            records = [results.read_json(p) for p in done]
            assert all(len(r["history"]["loss"]) == r["epochs"] for r in records)
            assert w.train_images == sum(r["epochs"] for r in records) * n_train, (claim_id, w.name)
            found |= set(done)
        assert found == set(runs.rglob("done.json")), claim_id  # nothing trained unplanned

