"""Activation functions: a forward written once with ``difflab.namespace`` and its derivative.

Each row of :data:`ACTIVATIONS` is one activation: the forward pass, which every difflab
method differentiates, and the hand-derived backward pass the ``manual`` path uses
(``backward(z, a, g)`` maps the cotangent ``g`` of the output ``a = f(z)`` to that of ``z``).

ReLU is ``maximum(z, 0)``; at exactly ``z = 0`` its derivative is taken as 1/2, the symmetric
subgradient difflab's own engines and PyTorch give ``maximum`` on ties, so the hand-derived
path and the AD paths follow the same trajectory even there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import difflab

from ._lookup import lookup

#: The negative slope of ``leaky_relu`` (Keras 3's default).
LEAKY_SLOPE = 0.2


@dataclass(frozen=True)
class ActivationFunction:
    """One activation: ``forward(xp, z)`` and the hand-derived ``backward(z, a, g)``."""

    name: str
    forward: Callable
    backward: Callable

    def __call__(self, z):
        return self.forward(difflab.namespace(z), z)


def _half_at_zero(z):
    return np.where(z > 0, 1.0, np.where(z == 0, 0.5, 0.0))


def _softmax_backward(z, a, g):
    return a * (g - np.sum(g * a, axis=-1, keepdims=True))


ACTIVATIONS = {a.name: a for a in [
    ActivationFunction("linear", lambda xp, z: z, lambda z, a, g: g),
    ActivationFunction("sigmoid", lambda xp, z: xp.sigmoid(z), lambda z, a, g: g * a * (1.0 - a)),
    ActivationFunction("tanh", lambda xp, z: xp.tanh(z), lambda z, a, g: g * (1.0 - a * a)),
    ActivationFunction("relu", lambda xp, z: xp.maximum(z, 0.0), lambda z, a, g: g * _half_at_zero(z)),
    ActivationFunction("leaky_relu", lambda xp, z: xp.maximum(z, LEAKY_SLOPE * z),
                       lambda z, a, g: g * (LEAKY_SLOPE + (1.0 - LEAKY_SLOPE) * _half_at_zero(z))),
    ActivationFunction("softmax", lambda xp, z: xp.softmax(z, axis=-1), _softmax_backward),
]}


def get(name) -> ActivationFunction:
    """An activation by name (``None`` is ``linear``); ValueError for an unknown name."""
    if isinstance(name, ActivationFunction):
        return name
    return lookup("activation", "linear" if name is None else name, ACTIVATIONS)
