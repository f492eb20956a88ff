"""The oracle's array namespace: NumPy object arrays of jets and mpmath numbers.

Structure is NumPy's own (object arrays); each elementwise function is the jets module's
scalar function. Where a function has a kink the oracle states its own convention, the
midpoint of the one-sided derivatives unless a documented engine convention says otherwise:
``abs'(0) = 0`` (SymPy's ``sign``), ``maximum``/``minimum`` ties share the derivative half
and half, ``max``/``min`` split it evenly among tied entries, ``clip`` passes it on its
closed interval, and a max pool sends it to the first maximum of each window (row-major).

The function sees its inputs as :class:`~difflab.analysis.oracle.view.OracleView` (the namespace is a
:class:`~difflab.namespaces.view.Viewing` one), so ``y.max()`` and ``np.max(y)`` are these
ops, with these conventions, as ``xp.max(y)`` is.
"""
from __future__ import annotations

import numpy as np

from ...namespaces import windows
from ...namespaces import register_namespace
from ...namespaces.object_ns import ObjectNamespace
from ...namespaces.view import Viewing, viewing
from ...namespaces.ops import pool_args
from . import jets
from .view import OracleView


class OracleNamespace(Viewing, ObjectNamespace):
    """Jets (or plain mpmath numbers) in object arrays."""

    view_type = OracleView

    def __init__(self):
        super().__init__("oracle", 0)

    def is_raw(self, x):
        """An object array (of jets and numbers) or one jet: what the function sees as a view."""
        return isinstance(x, jets.Jet) or (isinstance(x, np.ndarray) and x.dtype == object)

    def getitem(self, x, index):
        return x[index]

    def _library(self):
        return jets

    def _max2(self, a, b):
        if a > b:
            return a
        if b > a:
            return b
        return (a + b) / 2  # a tie: the same value, the derivatives averaged

    def _min2(self, a, b):
        if a < b:
            return a
        if b < a:
            return b
        return (a + b) / 2

    def max(self, x, axis=None, keepdims=False):
        return self._extreme(x, axis, keepdims, max)

    def min(self, x, axis=None, keepdims=False):
        return self._extreme(x, axis, keepdims, min)

    def _extreme(self, x, axis, keepdims, pick):
        """The extreme entry along ``axis``; tied entries share the derivative evenly."""
        x = np.asarray(x, dtype=object)
        axes = tuple(range(x.ndim)) if axis is None else tuple(
            a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,)))
        kept = [a for a in range(x.ndim) if a not in axes]
        rows = np.transpose(x, kept + list(axes)).reshape(
            (int(np.prod([x.shape[a] for a in kept], dtype=int)), -1))
        out = np.empty(len(rows), dtype=object)
        for i, row in enumerate(rows):
            best = pick(jets.real(v) for v in row)
            tied = [v for v in row if jets.real(v) == best]
            total = tied[0]
            for v in tied[1:]:
                total = total + v
            out[i] = total if len(tied) == 1 else total / len(tied)
        shape = tuple(1 if a in axes else x.shape[a] for a in range(x.ndim)) if keepdims else \
            tuple(x.shape[a] for a in kept)
        out = out.reshape(shape)
        return out[()] if out.ndim == 0 else out

    def stop_gradient(self, x):
        """``x`` as a constant at every level: its plain numbers."""
        if isinstance(x, jets.Jet):
            return jets.real(x)
        if isinstance(x, np.ndarray) and x.dtype == object:
            return _REAL(x)
        return x

    def clip(self, x, lo, hi):
        out = np.asarray(x, dtype=object)
        if lo is not None:
            out = np.where(_below(out, lo), lo, out)
        if hi is not None:
            out = np.where(_below(hi, out), hi, out)
        return out if out.ndim else out[()]

    def max_pool2d(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        """The first maximum of each window (row-major) passes the derivative."""
        parts, _, _ = windows.pool_parts(self, x, *pool_args(pool_size, strides, padding), -np.inf)
        out = parts[0]
        for part in parts[1:]:
            out = np.where(_below(out, part), part, out)
        return out


def _below(a, b):
    """``a < b`` entry by entry, decided on the values (a plain boolean array)."""
    return np.vectorize(lambda u, v: jets.real(u) < jets.real(v), otypes=[bool])(a, b)


viewing(OracleNamespace)
_REAL = np.frompyfunc(jets.real, 1, 1)
ORACLE = OracleNamespace()
register_namespace(jets.Jet, ORACLE)
