"""Hand-derived backpropagation: the ``manual`` differentiator of a network.

One forward sweep keeps what each layer's backward pass needs; the loss's hand-derived
gradient seeds the backward sweep; each layer's ``backward`` (next to its ``forward`` in
:mod:`nets.layers`) sends the cotangent to its input and to its weights; weight penalties add
their own gradients. Nothing here is automatic: it is the reference teaching path that the
AD methods are checked against.

A model supplies its own sweeps (``_backprop_forward``/``_backprop_backward``): the chain of
layers here for ``Sequential``, the layer graph in :mod:`nets.functional` for ``Model``.
"""
from __future__ import annotations

import numpy as np

from difflab.namespaces import NUMPY


def forward(model, weights, batch):
    """Predictions and the per-layer caches for :func:`backward`, through a chain of layers."""
    out, caches = batch.x, []
    for layer, w in zip(model.layers, weights):
        out, cache = layer.forward(w, out, batch)
        caches.append(cache)
    return out, caches


def backward(model, weights, caches, g):
    """Each layer's weight gradients, from the cotangent ``g`` of the chain's output."""
    grads = [None] * len(model.layers)
    for i in reversed(range(len(model.layers))):
        g, grads[i] = model.layers[i].backward(weights[i], caches[i], g)
    return grads


def value_and_gradient(model, theta, batch):
    """``(loss, d loss / d theta)`` for the batch, by backpropagation."""
    weights = model.parameters.unflatten(theta)
    y_pred, caches = model._backprop_forward(weights, batch)
    g = model._loss_gradient(batch.y, y_pred)
    value = float(model._data_loss(batch.y, y_pred)) + sum(float(t) for t in model.penalties(NUMPY, weights))
    grads = model._backprop_backward(weights, caches, g)
    grads = [[gw + gp for gw, gp in zip(layer_grads, layer.penalty_gradients(w))]
             for layer, w, layer_grads in zip(model.layers, weights, grads)]
    return value, model.parameters.flatten_gradients(grads)


def loss_gradient(loss, y_true, y_pred):
    """The loss's hand-derived gradient, or a clear error where it has none."""
    g = loss.gradient(y_true, y_pred)
    if g is None:
        raise ValueError(f"the loss {loss.name!r} has no hand-derived gradient, so the 'manual' "
                         "differentiator cannot train with it; choose an AD method such as 'reverse'")
    return g


class Backprop:
    """Backprop as a value and a gradient that share one sweep, for ``difflab.Function``.

    difflab's ``manual`` method asks for ``f(theta)`` and then ``gradient(theta)`` with the
    same point; the sweep done for the value is kept for the gradient, so a training step
    costs one forward and one backward pass, as backprop should.
    """

    def __init__(self, model):
        self.model = model
        self._last = (None, None, None)  # (theta, batch, gradient)

    def value(self, theta):
        value, grad = value_and_gradient(self.model, theta, self.model.batch)
        self._last = (theta.copy(), self.model.batch, grad)
        return value

    def gradient(self, theta):
        last_theta, last_batch, grad = self._last
        self._last = (None, None, None)
        if last_batch is self.model.batch and np.array_equal(last_theta, theta):
            return grad
        return value_and_gradient(self.model, theta, self.model.batch)[1]
