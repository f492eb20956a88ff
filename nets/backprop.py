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
    """Predictions and the per-entry caches for :func:`backward`, through a chain of layers
    (a nested model's entry: its own chain, on its layers' weights)."""
    return _forward_chain(model, weights, batch.x, batch)


def backward(model, weights, caches, g):
    """Each layer's weight gradients, from the cotangent ``g`` of the chain's output."""
    return _backward_chain(model, weights, caches, g)[1]


def _entries(model, weights):
    """The chain's entries, each with its weights: a layer's row, or a nested model's rows."""
    k = 0
    for entry in model.layers:
        if hasattr(entry, "_leaf_layers"):
            if getattr(entry, "inputs", None) is not None or "_tracked" in entry.__dict__:
                raise ValueError(f"the 'manual' differentiator goes through a nested Sequential, not a "
                                 f"nested functional or subclassed model ({entry.name}); choose an AD "
                                 "method such as 'reverse'")
            count = len(entry._leaf_layers())
            yield entry, weights[k:k + count], True
            k += count
        else:
            yield entry, weights[k], False
            k += 1


def _forward_chain(model, weights, x, batch):
    out, caches = x, []
    for entry, w, is_model in _entries(model, weights):
        out, cache = _forward_chain(entry, w, out, batch) if is_model else entry.forward(w, out, batch)
        caches.append(cache)
    return out, caches


def _backward_chain(model, weights, caches, g):
    """``(cotangent of the chain's input, weight gradients in the chain's leaf order)``."""
    grads = []
    for (entry, w, is_model), cache in reversed(list(zip(_entries(model, weights), caches))):
        if is_model:
            g, inner = _backward_chain(entry, w, cache, g)
            grads = inner + grads
        else:
            g, row = entry.backward(w, cache, g)
            grads = [row] + grads
    return g, grads


def value_and_gradient(model, theta, batch, downstream_step=None):
    """``(loss, d loss / d theta)`` for the batch, by backpropagation.

    ``downstream_step=lr`` computes instead what the 2-2-2 worked example's printed figures
    were computed with (:func:`nets.examples.backprop_example` with ``variant="as-printed"``):
    each layer's weights are moved by ``-lr * gradient`` as soon as its gradient is known, and
    the cotangent it sends down to the layer below is computed with the moved weights. An
    SGD step of ``lr`` along the result is that layer-by-layer update. It is not the gradient.
    """
    weights = [[np.asarray(w, dtype=theta.dtype) for w in row]  # frozen arrays too: float32 stays float32
               for row in model.parameters.unflatten(theta)]
    y_pred, caches = model._backprop_forward(weights, batch)
    g = model._loss_gradient(batch.y, y_pred)
    value = float(model._data_loss(batch.y, y_pred)) + sum(float(t) for t in model.penalties(NUMPY, weights))
    if downstream_step is None:
        grads = model._backprop_backward(weights, caches, g)
        grads = [[gw + gp for gw, gp in zip(layer_grads, layer.penalty_gradients(w))]
                 for layer, w, layer_grads in zip(model.parameters.layers, weights, grads)]
    else:
        grads = _layer_by_layer(model, weights, caches, g, downstream_step)
    return value, model.parameters.flatten_gradients(grads)


def _layer_by_layer(model, weights, caches, g, step):
    """The as-printed sweep of a chain: each layer's cotangent to the layer below computed with
    its weights already moved by ``-step * gradient``."""
    if getattr(model, "inputs", None) is not None or len(model.layers) != len(model.parameters.layers):
        raise ValueError("the as-printed layer-by-layer update is defined for a Sequential chain of layers only")
    grads = [None] * len(model.layers)
    for i in reversed(range(len(model.layers))):
        layer, w = model.layers[i], weights[i]
        _, grads[i] = layer.backward(w, caches[i], g)
        grads[i] = [gw + gp for gw, gp in zip(grads[i], layer.penalty_gradients(w))]
        g = layer.backward(_moved(model, i, w, grads[i], step), caches[i], g)[0]
    return grads


def loss_gradient(loss, y_true, y_pred):
    """The loss's hand-derived gradient, or a clear error where it has none."""
    g = loss.gradient(y_true, y_pred)
    if g is None:
        raise ValueError(f"the loss {loss.name!r} has no hand-derived gradient, so the 'manual' "
                         "differentiator cannot train with it; choose an AD method such as 'reverse'")
    return g


def _moved(model, i, weights, grads, step):
    """Layer ``i``'s weights after ``w - step * grad`` on its trainable arrays (frozen ones stay)."""
    return [w - step * gw if offset is not None else w
            for w, gw, (_, offset) in zip(weights, grads, model.parameters.slots[i])]


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
