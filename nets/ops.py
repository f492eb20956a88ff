"""The TF/Keras op spellings the notes use inside a model's ``call``, over difflab's namespace.

``nets.ops.concat([a, b], axis=3)`` is ``tf.concat``; each op takes whatever tensors the
differentiator traces (NumPy while building, tape nodes, torch or TensorFlow tensors while
differentiating) and computes with ``difflab.namespace`` of them, so every difflab method
differentiates a subclassed model that uses them. The names follow TensorFlow
(``tf.concat``, ``tf.add``, ``tf.nn.relu``, ``tf.reduce_mean``, ``tf.reshape``) with Keras's
(``keras.ops.concatenate``, ``keras.ops.mean``) beside them.
"""
from __future__ import annotations

import math

import difflab

from . import activations


def _xp(*tensors):
    return difflab.namespace(*tensors)


def concat(values, axis=-1):
    """Join tensors along ``axis`` (``tf.concat``; Keras's ``ops.concatenate``)."""
    values = list(values)
    if not values:
        raise ValueError("concat takes a non-empty list of tensors")
    return _xp(*values).concatenate(values, axis=axis)


concatenate = concat


def add(x, y):
    """``x + y`` (``tf.add``)."""
    return x + y


def subtract(x, y):
    return x - y


def multiply(x, y):
    return x * y


def add_n(values):
    """The sum of a list of tensors (``tf.add_n``)."""
    values = list(values)
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def matmul(a, b):
    return a @ b


def relu(x):
    """``max(x, 0)`` (``tf.nn.relu``), as the ``relu`` activation (derivative 0 at 0)."""
    return activations.get("relu")(x)


def sigmoid(x):
    return activations.get("sigmoid")(x)


def tanh(x):
    return activations.get("tanh")(x)


def softmax(x, axis=-1):
    return _xp(x).softmax(x, axis=axis)


def exp(x):
    return _xp(x).exp(x)


def log(x):
    return _xp(x).log(x)


def sqrt(x):
    return _xp(x).sqrt(x)


def square(x):
    return x * x


def maximum(x, y):
    return _xp(x, y).maximum(x, y)


def minimum(x, y):
    return _xp(x, y).minimum(x, y)


def reduce_mean(x, axis=None, keepdims=False):
    """The mean over ``axis`` (``tf.reduce_mean``; Keras's ``ops.mean``)."""
    return _xp(x).mean(x, axis=_axis(axis), keepdims=keepdims)


def reduce_sum(x, axis=None, keepdims=False):
    return _xp(x).sum(x, axis=_axis(axis), keepdims=keepdims)


def reduce_max(x, axis=None, keepdims=False):
    return _xp(x).max(x, axis=_axis(axis), keepdims=keepdims)


mean, sum, max = reduce_mean, reduce_sum, reduce_max  # noqa: A001 - Keras's ops.mean, ops.sum, ops.max


def reshape(x, shape):
    """``x`` reshaped; one entry of ``shape`` may be -1 (the rest of the size), as ``tf.reshape``."""
    xp = _xp(x)
    shape = [int(s) for s in shape]
    size = math.prod(xp.shape(x))
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: at most one -1 in the shape, got {shape}")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape {tuple(xp.shape(x))} into {shape}")
        shape[shape.index(-1)] = size // known
    if math.prod(shape) != size:
        raise ValueError(f"reshape: cannot reshape {tuple(xp.shape(x))} into {tuple(shape)}")
    return xp.reshape(x, tuple(shape))


def flatten(x):
    """Each sample flattened: (batch, ...) -> (batch, features), as ``Flatten`` does."""
    return reshape(x, (_xp(x).shape(x)[0], -1))


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis
