"""The lecture's models, in backend-agnostic Keras 3. Each docstring gives its parameter count.

Images enter every model as uint8-derived floats of shape (H, W, C); see :class:`data.Preprocess`.
"""

from __future__ import annotations


def mlp(input_shape=(28, 28, 1), num_classes: int = 10, dropout: float = 0.2, width: int = 512,
        depth: int = 3):
    """The lecture's MLP: (Dense 512 relu -> Dropout 0.2) x 3 -> Dense 10 softmax.

    932,362 parameters on MNIST (784 -> 512 -> 512 -> 512 -> 10), as printed on the slide. With
    ``dropout=0`` the Dropout layers are left out (the ``dropout`` claim's control).
    """
    import keras
    from keras import layers

    model = keras.Sequential(name="mnist_mlp" if dropout else "mnist_mlp_no_dropout")
    model.add(keras.Input(shape=input_shape))
    # The notebook reshaped each image to a 784-vector; Flatten does the same with 0 parameters.
    model.add(layers.Flatten())
    for _ in range(depth):
        model.add(layers.Dense(width, activation="relu"))
        if dropout:
            model.add(layers.Dropout(dropout))
    model.add(layers.Dense(num_classes, activation="softmax"))
    return model


def mnist_cnn(input_shape=(28, 28, 1), num_classes: int = 10, pooling: bool = True):
    """The lecture's MNIST CNN, as in its notebook ``mnist_cnn.ipynb`` (valid padding):

    Conv2D 32 3x3 relu -> Conv2D 64 3x3 relu -> MaxPool 2 -> Dropout 0.25 -> Conv2D 64 3x3 relu ->
    Conv2D 64 3x3 relu -> MaxPool 2 -> Dropout 0.25 -> Flatten -> Dense 128 relu -> Dropout 0.5 ->
    Dense 10 softmax.

    225,162 parameters on MNIST (the last feature map is 4x4x64 = 1,024 values). With
    ``pooling=False`` the two MaxPool layers are left out and the same conv stack is flattened at
    full resolution (20x20x64 = 25,600 values; 3,370,890 parameters): the control of the
    ``pooling-translation`` claim.
    """
    import keras
    from keras import layers

    model = keras.Sequential(name="mnist_cnn" if pooling else "mnist_cnn_no_pooling")
    model.add(keras.Input(shape=input_shape))
    for filters in ((32, 64), (64, 64)):
        for f in filters:
            model.add(layers.Conv2D(f, 3, activation="relu"))  # valid padding, as in the notebook
        if pooling:
            model.add(layers.MaxPooling2D(2))
        model.add(layers.Dropout(0.25))
    model.add(layers.Flatten())
    model.add(layers.Dense(128, activation="relu"))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(num_classes, activation="softmax"))
    return model


# The lecture's ImageDataGenerator(rotation_range=30, horizontal_flip=True, width_shift_range=0.2,
# height_shift_range=0.2, zoom_range=0.25), whose fill_mode defaults to "nearest".
CIFAR10_LECTURE_AUGMENTATION = {
    "rotation_deg": 30,  # uniform in [-30, +30] degrees
    "horizontal_flip": True,
    "shift": 0.2,  # fraction of height and of width, uniform in [-0.2, +0.2]
    "zoom": 0.25,  # scale uniform in [0.75, 1.25], drawn independently for height and width
    "fill_mode": "nearest",
}


def cifar10_augmentation(kind: str = "lecture"):
    """Random image transforms as Keras layers (0 parameters): active in training only.

    ``"lecture"``: the notebook's ImageDataGenerator (see :data:`CIFAR10_LECTURE_AUGMENTATION`) as
    RandomRotation, RandomFlip, RandomTranslation and RandomZoom, each filling with the nearest
    pixel. ``"flip_translate"``: horizontal flip and a shift of up to 4 pixels (1/8 of the side),
    rounded to whole pixels and filled by reflection: the usual "flip and pad-crop" of fast CIFAR-10
    recipes. Inside a model, these layers run on the accelerator and are the identity at inference.
    """
    import keras
    from keras import layers

    if kind == "lecture":
        a = CIFAR10_LECTURE_AUGMENTATION
        fill = a["fill_mode"]
        transforms = [
            layers.RandomRotation(a["rotation_deg"] / 360, fill_mode=fill),  # factor: fraction of 2 pi
            layers.RandomFlip("horizontal"),
            layers.RandomTranslation(a["shift"], a["shift"], fill_mode=fill),
            # ImageDataGenerator draws the x and y zoom independently, so both factors are given.
            layers.RandomZoom((-a["zoom"], a["zoom"]), (-a["zoom"], a["zoom"]), fill_mode=fill),
        ]
    elif kind == "flip_translate":
        transforms = [
            layers.RandomFlip("horizontal"),
            layers.RandomTranslation(4 / 32, 4 / 32, fill_mode="reflect", interpolation="nearest"),
        ]
    else:
        raise ValueError(f"unknown augmentation {kind!r}; choose 'lecture' or 'flip_translate'")
    return keras.Sequential(transforms, name="augmentation")


def cifar10_vgg(input_shape=(32, 32, 3), num_classes: int = 10, augmentation: str | None = None):
    """The lecture's VGG-like CIFAR-10 CNN (notebook ``CNN_with_Image_Augmentation.ipynb``):

    for f in 32, 64, 128: Conv2D f 3x3 same relu -> BatchNorm -> Conv2D f 3x3 same relu ->
    BatchNorm -> MaxPool 2 -> Dropout 0; then Flatten -> Dense 512 relu -> BatchNorm ->
    Dropout 0.5 -> Dense 10 softmax.

    1,345,066 parameters on CIFAR-10: 1,343,146 trainable and 1,920 non-trainable (the moving
    means and variances of the seven BatchNorm layers). ``augmentation`` (``"lecture"`` or
    ``"flip_translate"``, see :func:`cifar10_augmentation`) puts the random transforms in front of
    the first convolution as one layer named ``augmentation``; it adds no parameters.
    """
    import keras
    from keras import layers

    name = "cifar10_vgg" if augmentation is None else f"cifar10_vgg_{augmentation}"
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=input_shape))
    if augmentation is not None:
        model.add(cifar10_augmentation(augmentation))
    for filters in (32, 64, 128):
        for _ in range(2):
            model.add(layers.Conv2D(filters, 3, padding="same", activation="relu"))
            model.add(layers.BatchNormalization())
        model.add(layers.MaxPooling2D(2))
        model.add(layers.Dropout(0.0))  # as in the notebook: a placeholder with rate 0
    model.add(layers.Flatten())
    model.add(layers.Dense(512, activation="relu"))
    model.add(layers.BatchNormalization())
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(num_classes, activation="softmax"))
    return model
