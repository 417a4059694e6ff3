"""The lecture's models, in backend-agnostic Keras 3. Each docstring gives its parameter count.

Images enter every model as uint8-derived floats of shape (H, W, C); see :class:`data.Preprocess`.
Every model's softmax layer computes in float32 whatever the global dtype policy: under
``mixed_bfloat16`` (``--precision bfloat16``) the class probabilities and the loss keep float32's
precision, as Keras's mixed-precision guide advises; under float32 the setting changes nothing.
"""

from __future__ import annotations

# Imported here, not inside the builders like keras.layers below: PixelPermutation must be a
# registered class whenever this module is imported, or a saved model that holds one cannot be
# loaded (keras.saving.load_model only finds custom layers that are registered; see
# fast_recipe.Cutout for the same reason).
import keras
import numpy as np


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
    model.add(layers.Dense(num_classes, activation="softmax", dtype="float32"))
    return model


POOLING = ("max", "subsample", "none")


def mnist_cnn(input_shape=(28, 28, 1), num_classes: int = 10, pooling: str = "max"):
    """The lecture's MNIST CNN, as in its notebook ``mnist_cnn.ipynb`` (valid padding):
    Conv2D 32 3x3 relu -> Conv2D 64 3x3 relu -> MaxPool 2 -> Dropout 0.25 -> Conv2D 64 3x3 relu ->
    Conv2D 64 3x3 relu -> MaxPool 2 -> Dropout 0.25 -> Flatten -> Dense 128 relu -> Dropout 0.5 ->
    Dense 10 softmax.

    225,162 parameters on MNIST (the last feature map is 4x4x64 = 1,024 values). The controls of
    the ``pooling-translation`` claim change only the two pools: ``pooling="subsample"`` keeps every
    second pixel instead of the largest of four (a 1x1 pool of stride 2: the same shapes and the same
    225,162 parameters, no max); ``pooling="none"`` leaves the pools out and flattens the same conv
    stack at full resolution (20x20x64 = 25,600 values; 3,370,890 parameters).
    """
    import keras
    from keras import layers

    if pooling not in POOLING:
        raise ValueError(f"pooling must be one of {POOLING}, got {pooling!r}")
    model = keras.Sequential(name={"max": "mnist_cnn", "subsample": "mnist_cnn_subsample",
                                   "none": "mnist_cnn_no_pooling"}[pooling])
    model.add(keras.Input(shape=input_shape))
    for filters in ((32, 64), (64, 64)):
        for f in filters:
            model.add(layers.Conv2D(f, 3, activation="relu"))  # valid padding, as in the notebook
        if pooling == "max":
            model.add(layers.MaxPooling2D(2))
        elif pooling == "subsample":
            model.add(layers.MaxPooling2D(pool_size=1, strides=2))  # every second pixel, no max
        model.add(layers.Dropout(0.25))
    model.add(layers.Flatten())
    model.add(layers.Dense(128, activation="relu"))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(num_classes, activation="softmax", dtype="float32"))
    return model


# The augmentation layers' dtype policy, whatever the global one (issue #24). Under mixed_bfloat16
# they would compute in bfloat16, and TensorFlow's ImageProjectiveTransformV3 (RandomTranslation,
# RandomRotation, RandomZoom) has GPU kernels for float16/32/64 and integers but not bfloat16
# (TensorFlow 2.21's kernel registry, checked in tests/test_multi_device.py): on a GPU each batch
# would go to the CPU and back. In float32 the random draws (float32 in every case) and, for
# flips and nearest-pixel shifts (the flip_translate recipe), the images that reach the first
# convolution are bit for bit those of bfloat16 layers; bilinear rotation and zoom (the lecture's)
# now interpolate in float32 before the cast. Under the float32 policy nothing changes.
AUGMENTATION_DTYPE = "float32"

# The lecture's ImageDataGenerator(rotation_range=30, horizontal_flip=True, width_shift_range=0.2,
# height_shift_range=0.2, zoom_range=0.25), whose fill_mode defaults to "nearest" and whose
# interpolation_order to 1 (bilinear).
CIFAR10_LECTURE_AUGMENTATION = {
    "rotation_deg": 30,  # uniform in [-30, +30] degrees
    "horizontal_flip": True,
    "shift": 0.2,  # fraction of height and of width, uniform in [-0.2, +0.2]
    "zoom": 0.25,  # scale uniform in [0.75, 1.25], drawn independently for height and width
    "fill_mode": "nearest",
}


def affine_matrices(theta_deg, tx, ty, zx, zy, flip, height: int, width: int):
    """ImageDataGenerator's transform of one image per row, as the (batch, 8) output-to-input
    matrices of ``keras.ops.image.affine_transform``.

    The arguments are ImageDataGenerator's transform parameters (``get_random_transform``), one
    entry per image: rotation ``theta_deg`` (degrees), shifts ``tx``, ``ty`` (pixels), zooms
    ``zx``, ``zy``, and ``flip`` (1: mirror left-right, 0: not). As its ``apply_transform``
    (Keras 3's ``keras.src.legacy.preprocessing.image``), an output pixel (x, y) (x: column, y:
    row) is read from ``c + R(theta) (shift + Z (p - c))`` of the input, with ``c`` the image's
    centre ((width - 1) / 2, (height - 1) / 2) and ``p`` the pixel mirrored first when ``flip``
    (the generator flips the transformed image, which is the same as mirroring where it reads).
    """
    ops = keras.ops
    theta = ops.convert_to_tensor(theta_deg, "float32") * (np.pi / 180)
    cos, sin = ops.cos(theta), ops.sin(theta)
    tx, ty = ops.convert_to_tensor(tx, "float32"), ops.convert_to_tensor(ty, "float32")
    zx, zy = ops.convert_to_tensor(zx, "float32"), ops.convert_to_tensor(zy, "float32")
    f = 1 - 2 * ops.convert_to_tensor(flip, "float32")  # -1 where mirrored
    cx, cy = (width - 1) / 2, (height - 1) / 2
    a0, a1 = cos * zx * f, -sin * zy
    b0, b1 = sin * zx * f, cos * zy
    a2 = cx - a0 * cx - a1 * cy + cos * tx - sin * ty
    b2 = cy - b0 * cx - b1 * cy + sin * tx + cos * ty
    zero = ops.zeros_like(a0)
    return ops.stack([a0, a1, a2, b0, b1, b2, zero, zero], axis=1)


@keras.saving.register_keras_serializable(package="replication")
class RandomAffine(keras.layers.Layer):
    """ImageDataGenerator's random transform as one layer: per image, one rotation, shift, zoom
    (x and y drawn independently) and horizontal flip, composed into a single affine map and
    resampled once (bilinear, ``fill_mode`` outside the image). Identity at inference; 0 parameters.

    Why our own layer (issue #21, item 2): Keras 3 has no random affine layer, and chaining
    RandomRotation, RandomFlip, RandomTranslation and RandomZoom resamples every image three times,
    filling the border anew each time, where the lecture's generator resamples once; the chain
    was also the costliest part of the lecture's CIFAR-10 step on the CPU. The draws follow
    ``ImageDataGenerator.get_random_transform``: rotation uniform in +-``rotation_deg`` degrees,
    shifts uniform in +-``shift`` of the height and of the width, zooms uniform in
    [1 - ``zoom``, 1 + ``zoom``], a flip with probability 1/2; :func:`affine_matrices` turns them
    into the generator's matrix (``tests/claims/test_cifar10_aug.py`` compares images with Keras's legacy
    ``ImageDataGenerator.apply_transform``). One random state (``seed_generator``), which
    :class:`replication.epochs.EpochSeed` resets at every epoch like the other layers' states.
    """

    def __init__(self, rotation_deg: float = 0.0, shift: float = 0.0, zoom: float = 0.0,
                 horizontal_flip: bool = False, fill_mode: str = "nearest",
                 interpolation: str = "bilinear", seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rotation_deg, self.shift, self.zoom = float(rotation_deg), float(shift), float(zoom)
        self.horizontal_flip = bool(horizontal_flip)
        self.fill_mode, self.interpolation, self.seed = fill_mode, interpolation, seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # TensorFlow's ImageProjectiveTransformV3 has no XLA kernel; JAX's resampling compiles
        # (see cifar10_augmentation for why a whole step must not fall back to op-by-op).
        self.supports_jit = keras.backend.backend() != "tensorflow"

    def draw(self, batch):
        """ImageDataGenerator's transform parameters for ``batch`` images (a dict of (batch,) tensors,
        float32): ``theta_deg``, ``tx``/``ty`` as fractions of the side, ``zx``, ``zy``, ``flip``."""
        ops = keras.ops
        u = keras.random.uniform((batch, 6), seed=self.seed_generator, dtype="float32")
        sym = 2 * u - 1  # uniform in [-1, 1)
        flip = ops.cast(u[:, 5] < 0.5, "float32") if self.horizontal_flip else ops.zeros_like(u[:, 5])
        return {"theta_deg": self.rotation_deg * sym[:, 0], "tx": self.shift * sym[:, 1],
                "ty": self.shift * sym[:, 2], "zx": 1 + self.zoom * sym[:, 3],
                "zy": 1 + self.zoom * sym[:, 4], "flip": flip}

    def call(self, inputs, training=None):
        if not training:
            return inputs
        ops = keras.ops
        shape = ops.shape(inputs)
        height, width = inputs.shape[1], inputs.shape[2]
        p = self.draw(shape[0])
        m = affine_matrices(p["theta_deg"], p["tx"] * width, p["ty"] * height, p["zx"], p["zy"],
                            p["flip"], height, width)
        return ops.image.affine_transform(inputs, m, interpolation=self.interpolation,
                                          fill_mode=self.fill_mode)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rotation_deg": self.rotation_deg, "shift": self.shift,
                "zoom": self.zoom, "horizontal_flip": self.horizontal_flip,
                "fill_mode": self.fill_mode, "interpolation": self.interpolation, "seed": self.seed}


# The lecture's augmentation as cifar10-aug, and cifar10-fast's lecture-recipe baseline, train it.
LECTURE_AUGMENTATION = "lecture_affine"
AUGMENTATIONS = ("lecture_affine", "lecture", "flip_translate")


def cifar10_augmentation(kind: str = LECTURE_AUGMENTATION):
    """Random image transforms as Keras layers (0 parameters): active in training only.

    ``"lecture_affine"``: the notebook's ImageDataGenerator (see
    :data:`CIFAR10_LECTURE_AUGMENTATION`) as one :class:`RandomAffine` layer: one composed
    transform and one resampling per image, as the generator does. ``"lecture"``: the same
    transforms as RandomRotation, RandomFlip, RandomTranslation and RandomZoom in a row, each
    resampling and filling with the nearest pixel: the package's implementation until issue #21's
    item 2, kept under its old name because results made with it name it (and to compare).
    ``"flip_translate"``: horizontal flip and a shift of up to 4 pixels (1/8 of the side),
    rounded to whole pixels and filled by reflection: the usual "flip and pad-crop" of fast CIFAR-10
    recipes. Inside a model, these layers run on the accelerator and are the identity at inference.

    They compute in float32 whatever the global dtype policy (:data:`AUGMENTATION_DTYPE`).
    """
    from keras import layers

    f32 = {"dtype": AUGMENTATION_DTYPE}
    a = CIFAR10_LECTURE_AUGMENTATION
    if kind == "lecture_affine":
        transforms = [RandomAffine(a["rotation_deg"], a["shift"], a["zoom"], a["horizontal_flip"],
                                   fill_mode=a["fill_mode"], **f32)]
    elif kind == "lecture":
        fill = a["fill_mode"]
        transforms = [
            # factor: a fraction of 2 pi
            layers.RandomRotation(a["rotation_deg"] / 360, fill_mode=fill, **f32),
            layers.RandomFlip("horizontal", **f32),
            layers.RandomTranslation(a["shift"], a["shift"], fill_mode=fill, **f32),
            # ImageDataGenerator draws the x and y zoom independently, so both factors are given.
            layers.RandomZoom((-a["zoom"], a["zoom"]), (-a["zoom"], a["zoom"]), fill_mode=fill,
                              **f32),
        ]
    elif kind == "flip_translate":
        transforms = [
            layers.RandomFlip("horizontal", **f32),
            layers.RandomTranslation(4 / 32, 4 / 32, fill_mode="reflect", interpolation="nearest",
                                     **f32),
        ]
    else:
        raise ValueError(f"unknown augmentation {kind!r}; choose one of {AUGMENTATIONS}")
    if keras.backend.backend() == "jax":
        # Keras marks RandomTranslation/Rotation/Zoom supports_jit=False (for TensorFlow, whose
        # ImageProjectiveTransformV3 XLA does not compile), and one such layer makes the whole
        # train step of a model run op by op, on JAX too, where the layers are plain jax.numpy
        # and compile (issue #24). Measured on JAX 0.10's CPU: the flip_translate VGG trains at
        # 578 instead of 893 ms per step of 128 on one device, and on a DataParallel over two
        # devices the op-by-op step deadlocked in its first all-reduce (XLA's rendezvous
        # timeout, both runs of tests/test_multi_device.py). TensorFlow keeps Keras's choice.
        for layer in transforms:
            layer.supports_jit = True
    return keras.Sequential(transforms, name="augmentation")


def cifar10_vgg(input_shape=(32, 32, 3), num_classes: int = 10, augmentation: str | None = None):
    """The lecture's VGG-like CIFAR-10 CNN (notebook ``CNN_with_Image_Augmentation.ipynb``):

    for f in 32, 64, 128: Conv2D f 3x3 same relu -> BatchNorm -> Conv2D f 3x3 same relu ->
    BatchNorm -> MaxPool 2 -> Dropout 0; then Flatten -> Dense 512 relu -> BatchNorm ->
    Dropout 0.5 -> Dense 10 softmax.

    1,345,066 parameters on CIFAR-10: 1,343,146 trainable and 1,920 non-trainable (the moving
    means and variances of the seven BatchNorm layers). ``augmentation`` (one of
    :data:`AUGMENTATIONS`, see :func:`cifar10_augmentation`) puts the random transforms in front of
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
    model.add(layers.Dense(num_classes, activation="softmax", dtype="float32"))
    return model


@keras.saving.register_keras_serializable(package="replication")
class PixelPermutation(keras.layers.Layer):
    """One fixed permutation of an image's pixel positions, the same for every image, at training
    and at inference; each pixel's channels move together. 0 parameters.

    The permutation is ``numpy.random.default_rng(seed).permutation(H * W)``, drawn from ``seed``
    alone (the config saves the seed, not the indices): output pixel ``i`` (row-major) is input pixel
    ``order[i]``. The images keep every pixel's colour, so their colour statistics and what the
    labels say about them, but lose which pixels are neighbours: the ``filters-layer1`` claim's
    control (:func:`filters_cnn` with ``permute_pixels``).
    """

    def __init__(self, seed: int, **kwargs):
        super().__init__(**kwargs)
        self.seed = int(seed)

    def order(self, height: int, width: int) -> np.ndarray:
        return np.random.default_rng(self.seed).permutation(height * width)

    def call(self, inputs):
        _, height, width, channels = inputs.shape
        flat = keras.ops.reshape(inputs, (-1, height * width, channels))
        moved = keras.ops.take(flat, self.order(height, width), axis=1)
        return keras.ops.reshape(moved, (-1, height, width, channels))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def filters_cnn(input_shape=(32, 32, 3), num_classes: int = 10, filters: int = 64, kernel: int = 7,
                stride: int = 2, augmentation: str | None = "flip_translate",
                permute_pixels: int | None = None):
    """A small CIFAR-10 CNN with an AlexNet-like first layer, to look at what that layer learns:

    Conv2D 64 7x7 stride 2 same relu ("conv1") -> BatchNorm -> MaxPool 3 stride 2 same -> Conv2D 128
    3x3 same relu ("conv2") -> BatchNorm -> MaxPool 2 -> Conv2D 256 3x3 same relu ("conv3") ->
    BatchNorm -> GlobalAveragePooling -> Dense 10 softmax.

    On 32x32x3 inputs conv1 sees 7x7 pixels, conv2 19x19 and conv3 39x39 (all of the image);
    382,858 parameters (896 of them BatchNorm moving statistics). AlexNet's first layer is 96
    filters of 11x11 with stride 4 on 227x227 images; on 32x32 images a 7x7 stride-2 layer covers
    a similar share of the picture (22% of the side against AlexNet's 5%, but 11x11 stride 4 would
    leave a 6x6 map here). ``augmentation`` as in :func:`cifar10_vgg`.

    ``permute_pixels`` (a seed): a :class:`PixelPermutation` layer named ``pixel_permutation``
    right after the augmentation, so flips and shifts act on the natural image and the
    convolutions see its pixels in one fixed scrambled order, in training and in evaluation (the
    ``filters-layer1`` control); same parameters, and the same initial weights for a given seed.
    """
    from keras import layers

    model = keras.Sequential(name="filters_cnn" if permute_pixels is None else "filters_cnn_permuted")
    model.add(keras.Input(shape=input_shape))
    if augmentation is not None:
        model.add(cifar10_augmentation(augmentation))
    if permute_pixels is not None:
        model.add(PixelPermutation(permute_pixels, name="pixel_permutation"))
    model.add(layers.Conv2D(filters, kernel, strides=stride, padding="same", activation="relu",
                            name="conv1"))
    model.add(layers.BatchNormalization())
    model.add(layers.MaxPooling2D(3, strides=2, padding="same"))
    model.add(layers.Conv2D(2 * filters, 3, padding="same", activation="relu", name="conv2"))
    model.add(layers.BatchNormalization())
    model.add(layers.MaxPooling2D(2))
    model.add(layers.Conv2D(4 * filters, 3, padding="same", activation="relu", name="conv3"))
    model.add(layers.BatchNormalization())
    model.add(layers.GlobalAveragePooling2D())
    model.add(layers.Dense(num_classes, activation="softmax", dtype="float32"))
    return model


# AlexNet's convolutions that the paper split across its two GPUs: each half of the filters sees
# only the half of the previous layer's maps that lives on its own GPU (conv3 and the dense layers
# see everything).
ALEXNET_GROUPED = {"conv2": 2, "conv4": 2, "conv5": 2}


def alexnet(input_shape=(227, 227, 3), num_classes: int = 1000, grouped: bool = False):
    """AlexNet (Krizhevsky, Sutskever & Hinton 2012): 5 convolutional and 3 fully connected weight
    layers, 8 in all, as on the slide "Architecture of Alex Krizhevsky et al.".

    conv1 96 11x11 stride 4 valid relu -> MaxPool 3/2 -> conv2 256 5x5 same relu -> MaxPool 3/2 ->
    conv3 384 3x3 -> conv4 384 3x3 -> conv5 256 3x3 (same, relu) -> MaxPool 3/2 -> fc6 4096 relu ->
    Dropout 0.5 -> fc7 4096 relu -> Dropout 0.5 -> fc8 1000 softmax.

    Single tower (``grouped=False``): 62,378,344 parameters. With the paper's two-GPU split
    (``grouped=True``: conv2, conv4 and conv5 with ``groups=2``, see :data:`ALEXNET_GROUPED`):
    60,965,224, the paper's "60 million". The 227x227 input is the size that makes the paper's
    arithmetic work (its text says 224). Local response normalisation is left out: Keras has no
    such layer, and it has no parameters. TensorFlow's CPU kernels reject grouped convolutions, so
    the grouped model can be built and counted but not run on a TensorFlow CPU.
    """
    import keras
    from keras import layers

    groups = ALEXNET_GROUPED if grouped else {}
    model = keras.Sequential(name="alexnet_grouped" if grouped else "alexnet")
    model.add(keras.Input(shape=input_shape))
    model.add(layers.Conv2D(96, 11, strides=4, activation="relu", name="conv1"))
    model.add(layers.MaxPooling2D(3, strides=2, name="pool1"))
    model.add(layers.Conv2D(256, 5, padding="same", activation="relu", groups=groups.get("conv2", 1),
                            name="conv2"))
    model.add(layers.MaxPooling2D(3, strides=2, name="pool2"))
    for name, f in (("conv3", 384), ("conv4", 384), ("conv5", 256)):
        model.add(layers.Conv2D(f, 3, padding="same", activation="relu", groups=groups.get(name, 1),
                                name=name))
    model.add(layers.MaxPooling2D(3, strides=2, name="pool5"))
    model.add(layers.Flatten())
    model.add(layers.Dense(4096, activation="relu", name="fc6"))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(4096, activation="relu", name="fc7"))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(num_classes, activation="softmax", dtype="float32", name="fc8"))
    return model


def weight_layers(model) -> list[str]:
    """Names of the layers that hold trainable weights (convolutions and dense layers)."""
    return [layer.name for layer in model.layers
            if type(layer).__name__ in ("Conv2D", "Dense") and layer.trainable_weights]


def pool_positions(depth: int) -> list[int]:
    """After which conv layers (0-based) the three 2x2 max-pools follow, for ``depth`` conv layers:
    after the first (so that deep stacks do not run at full resolution), in the middle and after
    the last; with ``depth < 3`` two pools follow one layer. Every depth ends at 4x4 on 32x32
    inputs, so the parameter count does not depend on where the pools are."""
    return [0, int(round((depth - 1) / 2)), depth - 1]


def depth_width_cnn(depth: int, width: int, fc_width: int = 128, fc_layers: int = 1,
                    input_shape=(32, 32, 3), num_classes: int = 10, name: str | None = None, *,
                    bn_momentum: float = 0.99, head: str = "flatten", flip: bool = False):
    """A plain CNN of ``depth`` conv layers of ``width`` filters (3x3 same, relu, BatchNorm), three
    2x2 max-pools placed by :func:`pool_positions`, then ``fc_layers`` Dense ``fc_width`` relu and
    Dense ``num_classes`` softmax. The ``depth-width`` sweep's one architecture, for all three
    families: deep (many conv layers), shallow and wide (3 conv layers, many filters), shallow with
    wide fully connected layers (3 conv layers, wide Dense layers).

    Options (the defaults build the network above, parameter for parameter):
    ``bn_momentum``: every BatchNorm's momentum. Keras's 0.99 averages its moving statistics over
    about 100 steps and starts them at mean 0, variance 1; a run of a few hundred steps then
    evaluates with statistics that still carry much of that start, which compounds over many
    layers (``benchmarks/DEPTH_DIAGNOSIS.md``, issue #16); 0.9 averages over about 10 steps.
    ``head``: ``"flatten"`` (the 4x4 map flattened into the Dense layers) or ``"gap"`` (global
    average pooling of the last conv layer's map instead, so that the parameters sit in the conv
    layers rather than in the first Dense layer). ``flip``: a random horizontal flip in front of
    the first convolution (active in training only, 0 parameters).
    """
    import keras
    from keras import layers

    if head not in ("flatten", "gap"):
        raise ValueError(f"unknown head {head!r}; choose 'flatten' or 'gap'")
    model = keras.Sequential(name=name or f"cnn_d{depth}_w{width}_fc{fc_layers}x{fc_width}")
    model.add(keras.Input(shape=input_shape))
    if flip:
        model.add(layers.RandomFlip("horizontal", dtype=AUGMENTATION_DTYPE))
    pools = pool_positions(depth)
    for i in range(depth):
        model.add(layers.Conv2D(width, 3, padding="same", activation="relu"))
        model.add(layers.BatchNormalization(momentum=bn_momentum))
        for _ in range(pools.count(i)):
            model.add(layers.MaxPooling2D(2))
    model.add(layers.Flatten() if head == "flatten" else layers.GlobalAveragePooling2D())
    for _ in range(fc_layers):
        model.add(layers.Dense(fc_width, activation="relu"))
    model.add(layers.Dense(num_classes, activation="softmax", dtype="float32"))
    return model
