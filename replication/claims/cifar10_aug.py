"""With augmentation the same CNN follows the lecture notebook's CIFAR-10 learning curve.

Lecture: slides "Data augmentation" and "Results", notebook
``CNN_with_Image_Augmentation.ipynb`` (second fit, 200 epochs; its numbers: registry entry
``cifar10-aug``). The notebook's ImageDataGenerator (rotation, horizontal flip, shifts, zoom,
nearest fill) is rebuilt as one Keras layer inside the model that composes them into one affine
transform per image, as the generator does (:class:`replication.models.RandomAffine`, kind
``"lecture_affine"``), so it runs on the accelerator, in training only.
Tested by: registry entry ``cifar10-aug``: per seed, the last epoch's test accuracy minus the
notebook's own at the same epoch (its printed augmented curve, :data:`NOTEBOOK`), and the mean of
that difference over every epoch (the band around the notebook's curve), means over seeds.
Figures: ``figures/cifar10_aug/plot_cifar10_augmented.py``,
``figures/cifar10_noaug/plot_cifar10_aug_curves.py`` (shared with ``cifar10-noaug``),
``figures/cifar10_aug/plot_cifar10_confusion.py``, ``figures/cifar10_aug/plot_cifar10_prediction_grid.py``,
``figures/cifar10_aug/plot_cifar10_per_class.py``.
Tests: ``tests/claims/test_cifar10_aug.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .cifar10_noaug import PROFILES as NOAUG_PROFILES
from .cifar10_noaug import Config, train_and_measure  # noqa: F401 - Config: this claim's config too

# The same Budget objects and seeds as cifar10-noaug's (which compares itself with this claim):
# paper is the notebook's augmented fit (200 epochs), quick its first 10 epochs, all 50,000 images.
# "lecture_affine": models.LECTURE_AUGMENTATION (not imported: claim modules load without Keras).
PROFILES = {p: dataclasses.replace(c, augmentation="lecture_affine") for p, c in NOAUG_PROFILES.items()}


# The notebook and fit whose per-epoch test accuracy this claim is judged against
# (replication.lecture: the notebook's printed curve, validation = the test set).
NOTEBOOK = ("CNN_with_Image_Augmentation", "augmented")


def versus_notebook(history: dict) -> tuple[float, float]:
    """(last epoch's test accuracy minus the notebook's at the same epoch, the mean over epochs
    1..K of ours minus the notebook's): where a run of K epochs lies against the notebook's own
    augmented learning curve (the registry entry's test and its band)."""
    from .. import lecture
    from ..errors import ReplicationError

    notebook = lecture.curve(NOTEBOOK[0], variant=NOTEBOOK[1])["val_accuracy"].to_numpy()
    ours = np.asarray(history["test_accuracy"], dtype=float)
    if not 1 <= len(ours) <= len(notebook):
        raise ReplicationError(f"a run of {len(ours)} epochs cannot be set against the notebook's "
                               f"{len(notebook)}-epoch curve")
    diff = ours - notebook[:len(ours)]
    return float(diff[-1]), float(diff.mean())


def planned_work(config: Config, n_train: int | None = None, n_test: int | None = None) -> list:
    """What :func:`run` trains and scores (:class:`replication.flops.Work`): as
    ``cifar10_noaug.planned_work`` (the same training and scoring, with augmentation); the pictures
    of the augmentation run no convolution. ``n_train``/``n_test``: the loaded dataset's split
    sizes before the budget's subsets (None: CIFAR-10's 50,000 / 10,000)."""
    from . import cifar10_noaug

    return cifar10_noaug.planned_work(config, n_train, n_test)


def run(config: Config, ctx) -> dict:
    import keras

    from .. import training
    from ..data import Preprocess

    out, records = train_and_measure(config, ctx)
    against = [versus_notebook(r["history"]) for _, r in records]
    out["metrics"]["test_accuracy_vs_notebook"] = [last for last, _ in against]
    out["metrics"]["curve_vs_notebook"] = [mean for _, mean in against]
    # The pictures of the augmentation: the trained model's own augmentation layer, applied with
    # training=True to 9 training images and 25 times to the first of them (as in the notebook).
    first_dir, first = records[0]
    augmentation = training.load_model(first_dir, first).get_layer("augmentation")
    preprocess = Preprocess(**out["preprocess"])
    images = out["arrays"]["sample_images"]
    keras.utils.set_random_seed(int(config.seeds[0]))

    def augment(x):
        y = keras.ops.convert_to_numpy(augmentation(preprocess(x), training=True))
        return np.round(255 * preprocess.invert(y)).astype("uint8")

    out["arrays"]["augmented_images"] = augment(images)
    out["arrays"]["one_image_augmentations"] = augment(np.repeat(images[:1], 25, axis=0))
    return out
