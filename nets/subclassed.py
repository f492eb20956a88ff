"""Subclassed models, as Keras writes them: layers assigned in ``__init__``, a ``call``.

>>> class LeNet5(nets.Model):
...     def __init__(self):
...         super().__init__()
...         self.c1 = nets.layers.Conv2D(6, 5, activation="sigmoid")
...         self.p1 = nets.layers.MaxPool2D(2, 2)
...         self.flatten = nets.layers.Flatten()
...         self.f1 = nets.layers.Dense(10, activation="softmax")
...     def call(self, x, training=None):
...         return self.f1(self.flatten(self.p1(self.c1(x))))

Attributes that are layers, models (nested ``Model`` subclasses, ``Sequential``) or lists of
them are tracked as they are assigned, in that order: ``model.layers`` lists them and their
weights are ``get_weights()``'s order. The model is built by running ``call`` once on a
sample of zeros (``build(input_shape)``, or the first ``fit``/``predict``): each layer builds
for the shape it meets and draws its weights. Training, evaluation and saving are
``Sequential``'s; the forward pass runs ``call`` over the tensors of whichever difflab method
differentiates it (:mod:`nets.forward_pass`), so ``call`` may use the array namespace
(``difflab.namespace(x)``) and :mod:`nets.ops`. The hand-derived ``manual`` path needs a
chain or a graph of layers, so a subclassed model trains with an AD method.

``Model(inputs, outputs)`` is the functional API (:class:`nets.functional.Functional`), as in Keras.
"""
from __future__ import annotations

import inspect
import re

import numpy as np

from . import registry
from .layers import Layer
from .model import Sequential, _sample_shape, check_inputs, shape_text


class Model(Sequential):
    """Base class of subclassed models; ``Model(inputs, outputs)`` makes a functional one."""

    def __new__(cls, *args, **kwargs):
        made = cls
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            made = registry.lookup("Functional", "nets.functional")  # registered by nets.functional
        return super().__new__(made)

    def __init__(self, seed=None, name=None, **kwargs):
        unknown = sorted(set(kwargs) - {"trainable", "dtype"})
        if unknown:
            raise ValueError(f"Model() takes seed and name (and Keras's trainable, dtype); got {unknown}. "
                             "For the functional API give Model(inputs, outputs)")
        Sequential.__init__(self, None, seed=seed, name=name or _snake(type(self).__name__))
        self.__dict__["_tracked"] = {}
        self.__dict__["_tracking"] = True
        self._output_shape = None

    # ------------------------------------------------------------------ tracking
    def __setattr__(self, name, value):
        if self.__dict__.get("_tracking") and not name.startswith("_"):
            tracked = self.__dict__["_tracked"]
            tracked.pop(name, None)
            if isinstance(value, (Layer, Sequential, list, tuple)):
                tracked[name] = value
        super().__setattr__(name, value)

    @property
    def layers(self) -> list:
        """The layers and nested models assigned as attributes (list entries in place)."""
        if not self.__dict__.get("_tracking"):
            return self.__dict__.get("_layer_list", [])
        out, seen = [], set()
        for value in self.__dict__["_tracked"].values():
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                if isinstance(item, (Layer, Sequential)) and id(item) not in seen:
                    seen.add(id(item))
                    out.append(item)
        return out

    @layers.setter
    def layers(self, value):
        if self.__dict__.get("_tracking"):
            raise AttributeError("a subclassed model's layers are its attributes: assign each layer "
                                 "to an attribute (self.dense = Dense(...)) instead of setting layers")
        self.__dict__["_layer_list"] = value

    def add(self, layer):
        raise ValueError("a subclassed model's layers are its attributes; assign them in __init__")

    def _leaf_layers(self) -> list:
        out, seen = [], set()
        for item in self.layers:
            for leaf in (item._leaf_layers() if isinstance(item, Sequential) else [item]):
                if id(leaf) not in seen:
                    seen.add(id(leaf))
                    out.append(leaf)
        return out

    # ------------------------------------------------------------------ the forward pass
    def call(self, inputs, training=None):
        raise NotImplementedError(f"{type(self).__name__} must define call(self, inputs, training=None)")

    def _call_model(self, forward_pass, x):
        if "training" in _parameters(self.call):
            return self.call(x, training=forward_pass.training)
        return self.call(x)

    # ------------------------------------------------------------------ building
    def build(self, input_shape):
        """Build for Keras's ``input_shape``, batch axis first: ``build((None, 32, 32, 3))``."""
        shape = tuple(input_shape)
        if len(shape) < 2:
            raise ValueError(f"build takes the input shape with its batch axis first, such as "
                             f"(None, 4); got {input_shape!r}")
        self._build_sample(shape[1:])

    def _build_sample(self, shape):
        """Build for samples of ``shape`` (no batch axis): ``call`` runs once on zeros, each
        layer building for the shape it meets and drawing its weights from the model's seed."""
        shape = _sample_shape(shape)
        if self.built:
            if shape != self.input_shape:
                raise ValueError(f"the model takes inputs of shape {self.input_shape}, got {shape}")
            return
        if None in shape:
            raise ValueError(f"building {self.name} needs every axis' length, got {shape_text(shape)}")
        self._name_layers()
        out = self._build_by_calling(shape)
        outputs = out if isinstance(out, (list, tuple)) else [out]
        self._output_shape = tuple(np.shape(outputs[0])[1:])

    def _name_layers(self):
        """Name unnamed layers and nested models Keras's way: by kind, numbered in order."""
        counts, used = {}, set()

        def visit(item):
            if item.name is None or item.name in used:
                base = _snake(type(item).__name__) if item.name is None else item.name
                name = base
                while name in used:
                    counts[base] = counts.get(base, 0) + 1
                    name = f"{base}_{counts[base]}"
                item.name = name
            used.add(item.name)
            if isinstance(item, Sequential):
                for inner in item.layers:
                    visit(inner)

        for item in self.layers:
            visit(item)

    @property
    def output_dim(self):
        self._need_built()
        return self._output_shape[-1] if self._output_shape else None

    def _output_sample_shape(self):
        return self._output_shape

    def _need_built(self):
        if not self.built:
            raise ValueError(f"{self.name} is not built yet: call build(input_shape) with the batch "
                             "axis first, such as build((None, 32, 32, 3)), or fit or predict on data")

    def _check_x(self, x):
        """The samples as floats; an unbuilt model builds for their shape first (as Keras)."""
        if not self.built:
            shape = np.shape(x)
            if len(shape) < 2:
                raise ValueError(f"x must be a batch of samples (samples, ...), got shape {shape}")
            self._build_sample(shape[1:])
        return check_inputs(x, self.input_shape, "x")

    def _encode(self, x):
        return x

    def declared_input_shape(self):
        return self.input_shape if self.built else None

    # ------------------------------------------------------------------ compiling, the manual path
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, differentiator="reverse", **options):
        if str(differentiator) == "manual":
            raise ValueError("the 'manual' differentiator back-propagates through Sequential and "
                             "functional models; a subclassed model's call is Python code, so train "
                             "it with an AD method such as 'reverse'")
        super().compile(optimizer, loss, metrics, differentiator, **options)

    # ------------------------------------------------------------------ reporting and saving
    def get_config(self) -> dict:
        """The arguments that make the model again (``type(self)(**config)``): none by
        default; a model whose ``__init__`` takes arguments returns them here, as in Keras."""
        return {}

    def _save_config(self) -> dict:
        shape = list(self.input_shape) if self.built else None
        return {"subclassed": True, "class_name": type(self).__name__, "module": type(self).__module__,
                "name": self.name, "config": self.get_config(), "input_shape": shape}


def _parameters(fn) -> dict:
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}


def _snake(name: str) -> str:
    """``ConvBNRelu`` -> ``conv_bn_relu``: Keras's default layer and model names."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
