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
