"""``xp.linalg.norm``: NumPy's vector and matrix norms, composed from the namespace's own ops.

Composed (``sqrt``, ``sum``, ``abs``, ``max``, ``min``, ``**``), so every engine and framework
differentiates it with the rules it already has and no row of the rule table is needed. The
derivative inherits the pieces' conventions: at x = 0 the 2-norm's is NaN (``sqrt``'s at 0),
``abs'(0) = 0`` for the 1- and p-norms, and ties of the max-norm share the derivative.
Matrix norms that need singular values (``ord`` 2, -2, ``"nuc"``) and ``ord=0`` (a count)
are refused with :class:`~difflab.errors.NotSupported`.
"""
from __future__ import annotations

import math

from ..errors import InputError, NotSupported


class Linalg:
    """The ``linalg`` sub-namespace of an array namespace: ``xp.linalg.norm``."""

    def __init__(self, ns):
        self._ns = ns

    def norm(self, x, ord=None, axis=None, keepdims=False):  # noqa: A002 - NumPy's name
        return norm(self._ns, x, ord=ord, axis=axis, keepdims=keepdims)


def norm(xp, x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """``np.linalg.norm(x, ord, axis, keepdims)`` written with ``xp``'s ops."""
    shape = tuple(xp.shape(x))
    ndim = len(shape)
    if axis is None:
        if ord is not None and ndim not in (1, 2):
            raise InputError(f"linalg.norm: ord={ord!r} needs a 1-D or 2-D array or an axis, as NumPy")
        axes = tuple(range(ndim))
    else:
        axes = tuple(a % ndim for a in ((axis,) if isinstance(axis, int) else axis))
    if ord is None or ord == "fro" and len(axes) == 2:
        out = xp.sqrt(xp.sum(x * x, axis=axes, keepdims=True))
    elif len(axes) == 1:
        out = _vector(xp, x, ord, axes)
    elif len(axes) == 2:
        out = _matrix(xp, x, ord, axes)
    else:
        raise InputError(f"linalg.norm: axis={axis!r} names more than two axes")
    if keepdims:
        return out
    return xp.reshape(out, tuple(n for i, n in enumerate(shape) if i not in axes))


def _vector(xp, x, ord, axes):  # noqa: A002 - NumPy's name
    if ord == 2:
        return xp.sqrt(xp.sum(x * x, axis=axes, keepdims=True))
    if ord == 0:
        raise NotSupported("linalg.norm with ord=0", xp.name, "a count of nonzero entries has no derivative")
    if ord == math.inf:
        return xp.max(xp.abs(x), axis=axes, keepdims=True)
    if ord == -math.inf:
        return xp.min(xp.abs(x), axis=axes, keepdims=True)
    if ord == 1:
        return xp.sum(xp.abs(x), axis=axes, keepdims=True)
    if isinstance(ord, str):
        raise InputError(f"linalg.norm: ord={ord!r} is a matrix norm; a vector takes a number")
    return xp.sum(xp.abs(x) ** ord, axis=axes, keepdims=True) ** (1.0 / ord)


def _matrix(xp, x, ord, axes):  # noqa: A002 - NumPy's name
    rows, cols = axes
    if ord in (1, -1):   # the largest (smallest) column sum of |x|
        sums, across = xp.sum(xp.abs(x), axis=rows, keepdims=True), cols
    elif ord in (math.inf, -math.inf):  # the largest (smallest) row sum
        sums, across = xp.sum(xp.abs(x), axis=cols, keepdims=True), rows
    else:
        raise NotSupported(f"linalg.norm with ord={ord!r} on a matrix", xp.name,
                           "it needs singular values; use ord=None ('fro'), 1, -1, inf or -inf")
    pick = xp.max if ord > 0 else xp.min
    return pick(sums, axis=across, keepdims=True)
