"""nets: a Keras-style network library whose gradients come from any difflab method.

>>> import nets
>>> model = nets.Sequential([nets.Dense(16, activation="relu", input_dim=4),
...                          nets.Dense(3, activation="softmax")], seed=0)
>>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
...               metrics=["accuracy"], differentiator="reverse")   # or "manual", "torch", ...

The forward pass and the loss are one function of a flat parameter vector written with
``difflab.namespace``, so every difflab method can differentiate it; ``"manual"`` is the
hand-derived backprop of :mod:`nets.backprop`. Recurrent layers (``SimpleRNN``, ``LSTM``,
``GRU``) and ``Embedding`` are in :mod:`nets.recurrent` and :mod:`nets.embedding`; Keras's
functional API (``Input``, ``Model``) in :mod:`nets.functional`; subclassed models
(``class M(nets.Model)`` with ``call``) in :mod:`nets.subclassed`; layers and models register
by name as they are defined (:mod:`nets.registry`), and :mod:`nets.saving` rebuilds them.
"""
from __future__ import annotations

from . import (activations, callbacks, datasets, examples, initializers, layers, losses, metrics, ops,
               optimizers, regularizers, utils)
from .callbacks import EarlyStopping, History, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau
from .embedding import Embedding
from .functional import Add, Concatenate, Functional, Input, add, concatenate
from .subclassed import Model
from .conv_layers import (AveragePooling2D, AvgPool2D, Conv2D, Flatten, GlobalAveragePooling2D, MaxPool2D,
                          MaxPooling2D)
from .layers import Activation, Dense, Dropout, Layer
from .normalization import BatchNormalization
from .recurrent import GRU, LSTM, SimpleRNN
from .model import Sequential
from .saving import load_model
from .conv1d import Conv1D
from .layer_normalization import LayerNormalization
from .wrappers import Lambda, TimeDistributed
from .utils import to_categorical

__all__ = ["Sequential", "Dense", "Dropout", "Activation", "Layer", "SimpleRNN", "LSTM", "GRU",
           "Embedding", "Conv2D", "MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AvgPool2D", "GlobalAveragePooling2D",
           "Flatten", "BatchNormalization", "Input", "Model", "Functional", "Concatenate", "Add", "load_model", "History",
           "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau",
           "to_categorical", "activations", "initializers", "utils", "callbacks", "datasets", "losses",
           "metrics", "ops", "optimizers", "regularizers", "examples", "concatenate", "add",
           "Conv1D", "LayerNormalization", "Lambda", "TimeDistributed", "layers"]

# Keras spells these keras.layers.concatenate/add; nets.layers sits below the functional API
# (it cannot import it), so the package puts them there once everything is imported.
layers.concatenate, layers.add = concatenate, add
