"""nets: a Keras-style network library whose gradients come from any difflab method.

>>> import nets
>>> model = nets.Sequential([nets.Dense(16, activation="relu", input_dim=4),
...                          nets.Dense(3, activation="softmax")], seed=0)
>>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
...               metrics=["accuracy"], differentiator="reverse")   # or "manual", "torch", ...

The forward pass and the loss are one function of a flat parameter vector written with
``difflab.namespace``, so every difflab method can differentiate it; ``"manual"`` is the
hand-derived backprop of :mod:`nets.backprop`.
"""
from __future__ import annotations

from . import activations, callbacks, datasets, examples, losses, metrics, optimizers, regularizers
from .callbacks import EarlyStopping, History, ModelCheckpoint
from .conv_layers import AveragePooling2D, Conv2D, Flatten, GlobalAveragePooling2D, MaxPooling2D
from .layers import Activation, Dense, Dropout, Layer
from .normalization import BatchNormalization
from .model import Sequential
from .saving import load_model

__all__ = ["Sequential", "Dense", "Dropout", "Activation", "Layer", "Conv2D", "MaxPooling2D",
           "AveragePooling2D", "GlobalAveragePooling2D", "Flatten", "BatchNormalization",
           "load_model", "History",
           "EarlyStopping", "ModelCheckpoint", "activations", "callbacks", "datasets", "losses",
           "metrics", "optimizers", "regularizers", "examples"]
