"""Ready-made models of the worked examples."""
from __future__ import annotations

from .datasets import BACKPROP_EXAMPLE
from .layers import Dense
from .model import Sequential
from .optimizers import SGD


def backprop_example(differentiator="manual", **options) -> Sequential:
    """The 2-2-2 step-by-step backprop network, compiled: logistic units, fixed shared biases,
    SGD with learning rate 0.5 and ``mse`` (for one sample and two outputs, mse is exactly the
    example's E = sum 0.5 (target - out)^2)."""
    ex = BACKPROP_EXAMPLE
    model = Sequential([
        Dense(2, activation="sigmoid", input_dim=2, kernel_initializer=ex["hidden_kernel"],
              bias_initializer=ex["hidden_bias"], bias_trainable=False, name="hidden"),
        Dense(2, activation="sigmoid", kernel_initializer=ex["output_kernel"],
              bias_initializer=ex["output_bias"], bias_trainable=False, name="output"),
    ], name="backprop_example")
    model.compile(optimizer=SGD(learning_rate=ex["learning_rate"]), loss="mse",
                  differentiator=differentiator, **options)
    return model


def digits_cnn(differentiator="reverse", filters=16, seed=0, **options) -> Sequential:
    """The CNN chapter's network on the 8x8 digits (``datasets.load_digits_images``), compiled:
    Conv2D(3x3, same) - BatchNormalization - ReLU - MaxPooling2D - Flatten - Dense softmax,
    Adam(0.01). 15 epochs of batches of 32 reach about 0.98 test accuracy."""
    from .conv_layers import Conv2D, Flatten, MaxPooling2D
    from .layers import Activation
    from .normalization import BatchNormalization
    from .optimizers import Adam

    model = Sequential([
        Conv2D(filters, (3, 3), padding="same", input_shape=(8, 8, 1)),
        BatchNormalization(),
        Activation("relu"),
        MaxPooling2D((2, 2)),
        Flatten(),
        Dense(10, activation="softmax"),
    ], seed=seed, name="digits_cnn")
    model.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  differentiator=differentiator, **options)
    return model
