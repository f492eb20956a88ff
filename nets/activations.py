"""Activation functions: a forward written once with ``difflab.namespace`` and its derivative.

Each row of :data:`ACTIVATIONS` is one activation: the forward pass, which every difflab
method differentiates, and the hand-derived backward pass the ``manual`` path uses
(``backward(z, a, g)`` maps the cotangent ``g`` of the output ``a = f(z)`` to that of ``z``).

ReLU and leaky ReLU have a kink at ``z = 0``, where every library picks a derivative: the
*convention* ``at_zero`` says which, as the weight of the right-hand derivative,
``(1 - at_zero) * left + at_zero * right``. For ``relu`` that is the derivative itself (0, 1/2
or 1); for ``leaky_relu`` with slope 0.2 it is 0.2, 0.6 or 1. The default ``at_zero=0`` is
what ``torch.relu``, ``tf.nn.relu``, ``jax.nn.relu`` and ``tf.nn.leaky_relu`` give, so a
trajectory through an exact zero matches theirs. Choose another with
``activations.get("relu", at_zero=0.5)``, ``activations.relu(at_zero=1)`` or the name
``"relu(at_zero=0.5)"`` (``Dense(8, activation="relu(at_zero=0.5)")``, saved models, ``difflab
train --activation``).

The convention lives in the forward pass, so every difflab method follows it with no rule of
its own: ``where(z > 0, z, left * z)`` gives the left derivative at 0 in every method,
``where(z >= 0, z, left * z)`` the right one, and ``where(z > 0, z, where(z < 0, left * z,
d0 * z))`` any ``d0`` between (``maximum(z, 0)`` would not do: its tie rule is 1/2 in difflab,
autograd, PyTorch and JAX but 1 in TensorFlow). The hand-derived backward follows the same
convention. (SymPy cannot branch on a symbol, so it refuses these with NotSupported.)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

import difflab

from ._lookup import lookup

#: The negative slope of ``leaky_relu`` (Keras 3's default).
LEAKY_SLOPE = 0.2
#: The derivative convention of ``relu`` and ``leaky_relu`` at 0 unless one is chosen: the
#: left derivative, as PyTorch, TensorFlow and JAX give for ``relu``.
DEFAULT_AT_ZERO = 0.0


@dataclass(frozen=True)
class ActivationFunction:
    """One activation: ``forward(xp, z)`` and the hand-derived ``backward(z, a, g)``."""

    name: str
    forward: Callable
    backward: Callable

    def __call__(self, z):
        return self.forward(difflab.namespace(z), z)


def _rectifier(name, slope, at_zero) -> ActivationFunction:
    """``z`` for ``z > 0``, ``slope * z`` below, and derivative ``slope + at_zero (1 - slope)`` at 0."""
    at_zero = _convention(at_zero)
    d0 = slope + at_zero * (1.0 - slope)

    def below(z):
        return 0.0 if slope == 0 else slope * z

    if at_zero == 0:
        forward = lambda xp, z: xp.where(z > 0, z, below(z))
    elif at_zero == 1:
        forward = lambda xp, z: xp.where(z >= 0, z, below(z))
    else:
        forward = lambda xp, z: xp.where(z > 0, z, xp.where(z < 0, below(z), d0 * z))

    def backward(z, a, g):
        return g * np.where(z > 0, 1.0, np.where(z < 0, slope, d0))

    label = name if at_zero == DEFAULT_AT_ZERO else f"{name}(at_zero={at_zero:g})"
    return ActivationFunction(label, forward, backward)


def _convention(at_zero) -> float:
    try:
        value = float(at_zero)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"at_zero (the weight of the right-hand derivative at the kink) must be a "
                         f"number in [0, 1], such as 0, 0.5 or 1; got {at_zero!r}")
    return value


def relu(at_zero=DEFAULT_AT_ZERO) -> ActivationFunction:
    """``max(z, 0)`` with derivative ``at_zero`` at 0 (0 by default, as the frameworks)."""
    return _rectifier("relu", 0.0, at_zero)


def leaky_relu(at_zero=DEFAULT_AT_ZERO) -> ActivationFunction:
    """``z`` above 0, ``LEAKY_SLOPE * z`` below; at 0 the derivative
    ``LEAKY_SLOPE + at_zero (1 - LEAKY_SLOPE)``: the slope by default, as TensorFlow and
    PyTorch give; JAX's ``leaky_relu`` gives 1 there (``at_zero=1``)."""
    return _rectifier("leaky_relu", LEAKY_SLOPE, at_zero)


def _softmax_backward(z, a, g):
    return a * (g - np.sum(g * a, axis=-1, keepdims=True))


ACTIVATIONS = {a.name: a for a in [
    ActivationFunction("linear", lambda xp, z: z, lambda z, a, g: g),
    ActivationFunction("sigmoid", lambda xp, z: xp.sigmoid(z), lambda z, a, g: g * a * (1.0 - a)),
    ActivationFunction("tanh", lambda xp, z: xp.tanh(z), lambda z, a, g: g * (1.0 - a * a)),
    relu(),
    leaky_relu(),
    ActivationFunction("softmax", lambda xp, z: xp.softmax(z, axis=-1), _softmax_backward),
]}


#: The kinked activations, which take ``at_zero``.
RECTIFIERS = {"relu": relu, "leaky_relu": leaky_relu}
_WITH_CONVENTION = re.compile(r"\s*(\w+)\s*\(\s*at_zero\s*=\s*([^)]*?)\s*\)\s*")


def get(name, at_zero=None) -> ActivationFunction:
    """An activation by name (``None`` is ``linear``); ValueError for an unknown name.

    ``at_zero`` chooses the derivative convention of ``relu``/``leaky_relu`` at 0 (see the
    module's docstring); a name may carry it too: ``"relu(at_zero=0.5)"``.
    """
    if isinstance(name, ActivationFunction) and at_zero is None:
        return name
    if isinstance(name, str) and (match := _WITH_CONVENTION.fullmatch(name)):
        if at_zero is not None:
            raise ValueError(f"the activation {name!r} names its at_zero already; do not also pass at_zero")
        name, at_zero = match.group(1), match.group(2)
    if at_zero is None:
        return lookup("activation", "linear" if name is None else name, ACTIVATIONS)
    key = name.name.split("(")[0] if isinstance(name, ActivationFunction) else str(name).lower()
    if key not in RECTIFIERS:
        raise ValueError(f"at_zero applies to {' and '.join(RECTIFIERS)} only (the activations with a "
                         f"kink), not to {key!r}")
    return RECTIFIERS[key](at_zero)
