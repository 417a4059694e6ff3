"""With augmentation the same CNN reaches "about 90%" on CIFAR-10 and no longer overfits.

Lecture: slides "Data augmentation" and "Results" ("About 90% accuracy (with 10 classes of
images)"), notebook ``CNN_with_Image_Augmentation.ipynb`` (second fit, 200 epochs: 89.86% test,
96.0% train accuracy). The notebook's ImageDataGenerator (rotation 30 degrees, horizontal flip,
shifts 0.2, zoom 0.25, nearest fill) is rebuilt as Keras layers inside the model
(:func:`replication.models.cifar10_augmentation`), so it runs on the accelerator, in training only.
Tested by: registry entry ``cifar10-aug`` (last-epoch test accuracy, mean over seeds).
Figures: ``figures/plot_cifar10_augmented.py``, ``figures/plot_cifar10_aug_curves.py``,
``figures/plot_cifar10_confusion.py``, ``figures/plot_cifar10_prediction_grid.py``,
``figures/plot_cifar10_per_class.py``.
"""

from __future__ import annotations

import numpy as np

from .cifar10_noaug import Config, train_and_measure

PROFILES = {
    "paper": Config(epochs=200, augmentation="lecture"),  # the notebook's second fit
    # ~54 s per epoch on 10,000 images on 2 CPU cores (+~16 s test curve): 12 epochs, ~15 minutes,
    # on the same fixed subset and budget as cifar10-noaug's quick run, for the side-by-side curves.
    "quick": Config(seeds=(0,), epochs=12, n_train=10_000, augmentation="lecture"),
    "smoke": Config(seeds=(0,), epochs=1, n_train=512, n_test=256, augmentation="lecture"),
}


def run(config: Config, ctx) -> dict:
    import keras

    from .. import training
    from ..data import Preprocess

    out, records = train_and_measure(config, ctx)
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
