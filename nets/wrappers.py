"""Layers around other code: ``TimeDistributed`` (a layer applied to every time step) and
``Lambda`` (a function of the namespace as a layer), Keras-shaped."""
from __future__ import annotations

import numpy as np

from difflab.namespaces import NUMPY

from .layers import Layer


class TimeDistributed(Layer):
    """``layer`` applied to each step of (time, ...) samples, with one set of weights.

    The steps are folded into the batch axis, ``(n, t, ...) -> (n*t, ...)``, the layer runs
    once, and the result is unfolded, as Keras does; its weights are the wrapped layer's.
    """

    input_rank = None

    def __init__(self, layer, name=None, input_shape=None):
        if isinstance(layer, dict):  # from a saved config
            from .layers import from_config

            layer = from_config(layer["class_name"], layer["config"])
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed wraps a nets layer, got {type(layer).__name__}")
        super().__init__(name, None, input_shape)
        self.layer = layer

    def build_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 2:
            raise ValueError(f"TimeDistributed takes samples (time, ...) with at least two axes, "
                             f"got {input_shape}")
        if self.layer.name is None:
            self.layer.name = f"{type(self.layer).__name__.lower()}"
        self.layer.input_shape = input_shape[1:]
        inner = tuple(self.layer.build_shape(input_shape[1:]))
        self.weight_specs = self.layer.weight_specs
        self.input_dim, self.output_dim = input_shape[-1], inner[-1]
        self.output_shape = (input_shape[0],) + inner
        return self.output_shape

    def call(self, xp, weights, x, batch):
        shape = tuple(int(n) for n in xp.shape(x))
        y = self.layer.call(xp, weights, xp.reshape(x, (shape[0] * shape[1],) + shape[2:]), batch)
        return xp.reshape(y, shape[:2] + tuple(int(n) for n in xp.shape(y))[1:])

    def forward(self, weights, x, batch):
        y, cache = self.layer.forward(weights, x.reshape((-1,) + x.shape[2:]), batch)
        return y.reshape(x.shape[:2] + y.shape[1:]), (cache, x.shape)

    def backward(self, weights, cache, g):
        cache, shape = cache
        g_x, grads = self.layer.backward(weights, cache, g.reshape((-1,) + g.shape[2:]))
        return g_x.reshape(shape), grads

    def penalty(self, xp, weights):
        return self.layer.penalty(xp, weights)

    def penalty_gradients(self, weights):
        return self.layer.penalty_gradients(weights)

    def get_config(self):
        return {"name": self.name, "layer": {"class_name": type(self.layer).__name__,
                                             "config": self.layer.get_config()}}


class Lambda(Layer):
    """``function(x, **arguments)`` as a layer, as ``keras.layers.Lambda``.

    The function receives what the differentiator traces and is written with the array
    namespace (``xp = difflab.namespace(x)``) or :mod:`nets.ops`-style spellings over it, so
    every AD method goes through it. Its output shape is found by running it once on zeros,
    unless ``output_shape`` (per sample) is given. It has no hand-derived derivative (the
    ``manual`` method refuses it) and, since nets never stores code, a model holding one
    cannot be saved as a config: rebuild it and load the weights.
    """

    input_rank = None

    def __init__(self, function, output_shape=None, arguments=None, name=None, input_shape=None):
        if not callable(function):
            raise ValueError(f"Lambda takes a function, got {type(function).__name__}")
        super().__init__(name, None, input_shape)
        self.function = function
        self.arguments = dict(arguments or {})
        self._given_output_shape = None if output_shape is None else tuple(output_shape)
        self.takes_list = False

    def __call__(self, inputs):
        self.takes_list = isinstance(inputs, (list, tuple))
        return super().__call__(inputs)

    def build_shape(self, input_shape):
        several = self.takes_list
        shapes = [tuple(s) for s in input_shape] if several else [tuple(input_shape)]
        if self._given_output_shape is not None:
            out = self._given_output_shape
        else:
            probes = [np.zeros((1,) + tuple(1 if s is None else s for s in shape)) for shape in shapes]
            try:
                y = self._apply(NUMPY, probes if several else probes[0])
            except Exception as exc:  # noqa: BLE001 - the user's function: say which layer failed
                raise ValueError(f"Lambda {self.name}: the function fails on inputs of shape "
                                 f"{shapes if several else shapes[0]} ({type(exc).__name__}: {exc}); "
                                 "give output_shape or fix the function") from None
            out = tuple(np.shape(y))[1:]
        self.output_shape = out
        self.input_dim = shapes[0][-1] if shapes[0] else None
        self.output_dim = out[-1] if out else 1
        return self.output_shape

    def _apply(self, xp, x):
        return self.function(x, **self.arguments)

    def call(self, xp, weights, x, batch):
        return self._apply(xp, x)

    def forward(self, weights, x, batch):
        raise ValueError(f"Lambda {self.name} has no hand-derived derivative, so the 'manual' method "
                         "cannot go through it; choose an AD method such as 'reverse'")

    def get_config(self):
        raise ValueError(f"Lambda {self.name} holds a Python function, which nets does not save; "
                         "rebuild the model in code and load its weights (save_weights/get_weights)")
