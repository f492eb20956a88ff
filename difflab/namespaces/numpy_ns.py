"""NumPy as a difflab namespace, and its complex-step variant for ``fd-complex``."""
from __future__ import annotations

import numpy as np

from ..ops import Namespace

#: difflab op name -> NumPy function, where the two agree exactly.
NUMPY_FUNCTIONS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos,
    "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "exp": np.exp,
    "expm1": np.expm1, "log": np.log, "log1p": np.log1p, "sqrt": np.sqrt, "abs": np.abs,
    "square": np.square, "maximum": np.maximum, "minimum": np.minimum, "sum": np.sum,
    "prod": np.prod, "mean": np.mean, "max": np.max, "min": np.min, "matmul": np.matmul,
    "dot": np.dot, "reshape": np.reshape, "transpose": np.transpose, "stack": np.stack,
    "concatenate": np.concatenate, "where": np.where, "clip": np.clip, "asarray": np.asarray,
    "zeros": np.zeros, "ones": np.ones, "zeros_like": np.zeros_like, "ones_like": np.ones_like,
    "broadcast_to": np.broadcast_to,
}


class NumpyNamespace(Namespace):
    """Plain NumPy (float arrays); the inner arithmetic of difflab's own engines."""

    name = "numpy"

    def logsumexp(self, x, axis=None, keepdims=False):
        x = np.asarray(x)
        shift = self.max(x.real if x.dtype.kind == "c" else x, axis=axis, keepdims=True)
        shift = np.where(np.isfinite(shift), shift, 0.0)
        out = np.log(self.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
        return out if keepdims else np.squeeze(out, axis=axis) if axis is not None else out.reshape(())

    def scatter(self, g, index, shape):
        """The transpose of ``x[index]``: zeros of ``shape`` with ``g`` added at ``index``."""
        out = np.zeros(shape, dtype=np.result_type(g, np.float64) if np.ndim(g) else np.result_type(g, 0.0))
        if _is_basic(index):
            out[index] = g
        else:
            np.add.at(out, index, g)
        return out

    def shape(self, x):
        return np.shape(x)


for _op, _fn in NUMPY_FUNCTIONS.items():
    setattr(NumpyNamespace, _op, staticmethod(_fn))


def _reduction_fast_path(ufunc, general):
    """``general`` (np.sum, np.max, ...) with a direct ``ufunc.reduce`` for plain arrays: the
    engines call these several times per operation, and NumPy's Python-level wrapper costs
    more than the reduction on small arrays."""
    reduce = ufunc.reduce

    def reduction(x, axis=None, keepdims=False):
        if type(x) is np.ndarray and x.size:
            return reduce(x, axis=axis, keepdims=keepdims)
        return general(x, axis=axis, keepdims=keepdims)

    reduction.__name__ = general.__name__
    reduction.__doc__ = f"``np.{general.__name__}`` (``np.{ufunc.__name__}.reduce`` on arrays)."
    return staticmethod(reduction)


def _reshape(x, shape):
    """``np.reshape``, by the array's method where it has one."""
    return x.reshape(shape) if type(x) is np.ndarray or isinstance(x, np.generic) else np.reshape(x, shape)


NumpyNamespace.sum = _reduction_fast_path(np.add, np.sum)
NumpyNamespace.max = _reduction_fast_path(np.maximum, np.max)
NumpyNamespace.min = _reduction_fast_path(np.minimum, np.min)
NumpyNamespace.reshape = staticmethod(_reshape)


class ComplexStepNamespace(NumpyNamespace):
    """NumPy over complex arrays, with non-analytic operations complexified the standard way.

    For the complex-step derivative f'(x) = Im f(x + ih) / h the function must be analytic
    in the perturbation. ``abs``, ``maximum``, ``minimum``, ``clip`` and comparisons are made
    so by deciding on the real part (Martins, Sturdza and Alonso, 2003).
    """

    name = "complex-step"

    @staticmethod
    def abs(x):
        return np.where(np.real(x) < 0, -x, x)

    @staticmethod
    def maximum(a, b):
        return np.where(np.real(a) >= np.real(b), a, b)

    @staticmethod
    def minimum(a, b):
        return np.where(np.real(a) <= np.real(b), a, b)

    def clip(self, x, lo, hi):
        return self.minimum(self.maximum(x, lo), hi)

    @staticmethod
    def max(x, axis=None, keepdims=False):
        return _select_by_real(x, np.argmax, axis, keepdims)

    @staticmethod
    def min(x, axis=None, keepdims=False):
        return _select_by_real(x, np.argmin, axis, keepdims)


def _select_by_real(x, arg, axis, keepdims):
    x = np.asarray(x)
    if axis is None:
        out = x.reshape(-1)[arg(np.real(x).reshape(-1))]
        return out.reshape((1,) * x.ndim) if keepdims else out
    idx = np.expand_dims(arg(np.real(x), axis=axis), axis)
    out = np.take_along_axis(x, idx, axis=axis)
    return out if keepdims else np.squeeze(out, axis=axis)


def _is_basic(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


NUMPY = NumpyNamespace()
COMPLEX_STEP = ComplexStepNamespace()
