"""A model used as one layer of another: ``Sequential([base, Dense(10)])`` or ``y = base(x)``
inside a functional model, as Keras allows.

The wrapped model's layers keep their own passes; this layer holds their weights as one list
(the inner layers' weights in their order, which is where Keras's ``get_weights`` puts a
nested model's), starting from the inner model's current values. The outer model owns the
values from then on: training it does not write back into the inner model (copy them back
with ``inner.set_weights(...)`` if needed).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .layers import Layer, WeightSpec


def _start_at(value):
    """An initialiser that returns ``value`` (the inner model's weight when it was wrapped)."""
    return lambda shape, rng: np.array(value, dtype=float, copy=True)


class ModelLayer(Layer):
    """``model`` (a ``Sequential`` or single-output functional ``Model``) as a layer."""

    def __init__(self, model):
        super().__init__(model.name)
        self.model = model
        inputs = getattr(model, "inputs", None)
        self.takes_list = inputs is not None and len(inputs) > 1
        if inputs is not None and not model.single_output:
            raise ValueError(f"model {model.name} has several outputs; only a single-output model "
                             "can be used as a layer")

    def declared_input_shape(self):
        inputs = getattr(self.model, "inputs", None)
        if inputs is not None:
            return None if self.takes_list else inputs[0].shape
        return self.model.input_shape if self.model.built else self.model._declared_input_shape()

    def build_shape(self, input_shape):
        model = self.model
        inputs = getattr(model, "inputs", None)
        if inputs is None:
            declared = model.input_shape if model.built else model._declared_input_shape()
            if declared is not None and len(declared) == len(input_shape) and any(
                    d is not None and d != s for d, s in zip(declared, input_shape)):
                raise ValueError(f"model {model.name} takes inputs of shape {tuple(declared)}, "
                                 f"got {tuple(input_shape)}")
            model.build(tuple(input_shape))
            self.output_shape = tuple(model.layers[-1].output_shape)
        else:
            expected = [t.shape for t in inputs] if self.takes_list else inputs[0].shape
            given = [tuple(s) for s in input_shape] if self.takes_list else tuple(input_shape)
            if given != expected:
                raise ValueError(f"model {model.name} takes inputs of shape {expected}, got {given}")
            self.output_shape = tuple(model.outputs[0].shape)
        stateful = [l.name for l in model.layers if hasattr(l, "updated_state")]
        if stateful:
            raise ValueError(f"model {model.name} has layers with moving statistics ({', '.join(stateful)}); "
                             "a model with them cannot be used as a layer yet")
        values = model.parameters.unflatten(model.parameters.theta)
        self.weight_specs, self._counts = [], []
        for layer, row in zip(model.layers, values):
            self._counts.append(len(layer.weight_specs))
            self.weight_specs += [WeightSpec(f"{layer.name}/{spec.name}", spec.shape, spec.trainable,
                                             _start_at(w)) for spec, w in zip(layer.weight_specs, row)]
        self.input_dim = self.output_dim = None
        return self.output_shape

    @property
    def inner_layers(self):
        """The wrapped model's layers: the trainer draws their dropout masks into the outer
        batch's (flat) mask table, where they look themselves up."""
        return self.model.layers

    def _grouped(self, weights):
        """The flat weight list as the inner model's per-layer lists."""
        out, k = [], 0
        for n in self._counts:
            out.append(list(weights[k:k + n]))
            k += n
        return out

    def _inner_batch(self, x, batch):
        inner_x = tuple(x) if hasattr(self.model, "inputs") else x
        if hasattr(self.model, "inputs") and not self.takes_list:
            inner_x = (x,)
        return dataclasses.replace(batch, x=inner_x, y=None, masks=batch.masks)

    def call(self, xp, weights, x, batch):
        return self.model.forward(xp, None, self._inner_batch(x, batch), self._grouped(weights))

    # The manual path: the inner chain's own sweeps, keeping the cotangent of its input.
    def forward(self, weights, x, batch):
        if hasattr(self.model, "inputs"):
            raise ValueError(f"the 'manual' differentiator does not go through a nested functional model "
                             f"({self.model.name}); choose an AD method such as 'reverse'")
        grouped = self._grouped(weights)
        out, caches = self.model._backprop_forward(grouped, self._inner_batch(x, batch))
        return out, (grouped, caches)

    def backward(self, weights, cache, g):
        grouped, caches = cache
        grads = [None] * len(self.model.layers)
        for i in reversed(range(len(self.model.layers))):
            g, grads[i] = self.model.layers[i].backward(grouped[i], caches[i], g)
        return g, [w for row in grads for w in row]

    def get_config(self):
        raise ValueError(f"a model used as a layer ({self.model.name}) cannot be saved as a config yet; "
                         "save its weights with get_weights")
