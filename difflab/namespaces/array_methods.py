"""NumPy's array methods (``x.sum()``, ``x.reshape(2, 3)``, ``x.T``) on the values user code sees.

Mixed into difflab's own traced values and into the view of a framework tensor
(:mod:`difflab.namespaces.view`); each method is its namespace's op of the same name, so it
differentiates wherever the op does and a function written ``x.sum()`` gets the same numbers
as one written ``xp.sum(x)`` on every method. The subclass provides ``namespace`` and
``shape``; ``ndim``, ``size`` and ``len()`` come from :class:`difflab.namespaces.shaped.Shaped`.
"""
from __future__ import annotations

import math


def _shape_args(args):
    """``reshape(2, 3)`` and ``reshape((2, 3))`` alike, NumPy's two spellings."""
    if len(args) == 1 and not isinstance(args[0], int):
        return tuple(args[0])
    return tuple(args)


class ArrayMethods:
    """The common NumPy array methods, each the namespace's op of the same name."""

    __slots__ = ()

    # ---- reductions (NumPy's ``axis`` and ``keepdims``) -------------------------------------
    def sum(self, axis=None, *, keepdims=False):
        return self.namespace.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, *, keepdims=False):
        return self.namespace.mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, *, keepdims=False):
        return self.namespace.prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, *, keepdims=False):
        return self.namespace.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, *, keepdims=False):
        return self.namespace.min(self, axis=axis, keepdims=keepdims)

    # ---- structure ---------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = _shape_args(shape)
        if -1 in shape:  # NumPy's inferred axis, resolved here so every namespace sees sizes
            known = math.prod(s for s in shape if s != -1)
            shape = tuple(self.size // known if s == -1 else s for s in shape)
        return self.namespace.reshape(self, shape)

    def transpose(self, *axes):
        axes = _shape_args(axes) if axes and axes != (None,) else None
        return self.namespace.transpose(self, axes)

    @property
    def T(self):
        return self.namespace.transpose(self)

    def flatten(self):
        return self.namespace.reshape(self, (self.size,))

    def ravel(self):
        return self.namespace.reshape(self, (self.size,))

    # ---- products, elementwise and casts -------------------------------------------------------
    def dot(self, other):
        return self.namespace.dot(self, other)

    def clip(self, lo=None, hi=None):
        return self.namespace.clip(self, lo, hi)

    def astype(self, dtype):
        return self.namespace.astype(self, dtype)
