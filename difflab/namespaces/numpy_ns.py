"""NumPy as a difflab namespace, and its complex-step variant for ``fd-complex``."""
from __future__ import annotations

import numpy as np

from .ops import Namespace, diag_shape, einsum_subscripts, pool_args, window_args
from . import precision, windows
from .precision import float_dtype_for

#: difflab op name -> NumPy function, where the two agree exactly.
NUMPY_FUNCTIONS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos,
    "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "exp": np.exp,
    "expm1": np.expm1, "log": np.log, "log1p": np.log1p, "sqrt": np.sqrt, "abs": np.abs,
    "square": np.square, "maximum": np.maximum, "minimum": np.minimum, "sum": np.sum,
    "prod": np.prod, "mean": np.mean, "max": np.max, "min": np.min, "matmul": np.matmul,
    "dot": np.dot, "reshape": np.reshape, "transpose": np.transpose, "stack": np.stack,
    "concatenate": np.concatenate, "where": np.where, "clip": np.clip,
    "zeros_like": np.zeros_like, "ones_like": np.ones_like,
    "broadcast_to": np.broadcast_to, "sign": np.sign, "cumsum": np.cumsum,
    "flip": np.flip,
}


class NumpyNamespace(Namespace):
    """Plain NumPy (float arrays); the inner arithmetic of difflab's own engines."""

    name = "numpy"

    # Float data comes in at the evaluation's precision (difflab.namespaces.precision); outside a
    # difflab evaluation these are NumPy's own.
    @staticmethod
    def asarray(data, dtype=None):
        return np.asarray(data, dtype=dtype or float_dtype_for(data))

    zeros = staticmethod(precision.zeros)
    ones = staticmethod(precision.ones)

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

    def diag(self, v, k=0):
        diag_shape(np.shape(v))
        return np.diag(v, k)

    @staticmethod
    def einsum(subscripts, *operands):
        einsum_subscripts(subscripts, [np.ndim(o) for o in operands],
                          shapes=[np.shape(o) for o in operands])
        return np.einsum(subscripts, *operands)

    # Sliding windows: strided views contracted by tensordot (difflab.namespaces.windows).
    def conv2d(self, x, kernel, strides=(1, 1), padding="valid"):
        return windows.numpy_conv2d(x, kernel, *window_args(strides, padding))

    def conv2d_transpose(self, g, kernel, input_size, strides=(1, 1), padding="valid"):
        return windows.numpy_conv2d_transpose(g, kernel, tuple(input_size), *window_args(strides, padding))

    def conv2d_kernel_grad(self, x, g, kernel_size, strides=(1, 1), padding="valid"):
        return windows.numpy_conv2d_kernel_grad(x, g, tuple(kernel_size), *window_args(strides, padding))

    def max_pool2d(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        return windows.numpy_max_pool2d(x, *pool_args(pool_size, strides, padding))

    def avg_pool2d(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        return windows.numpy_avg_pool2d(x, *pool_args(pool_size, strides, padding))


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
    in the perturbation. ``abs``, ``maximum``, ``minimum``, ``max``, ``min``, ``clip`` and
    comparisons are made so by deciding on the real part (Martins, Sturdza and Alonso, 2003).
    Where that decision is a tie, the perturbations are averaged, so ``fd-complex`` takes
    the same one-sided choices as difflab's AD: half to each side of a ``maximum``/``minimum``
    tie, split evenly among tied entries of ``max``/``min``, ``abs'(0) = 0``, and ``clip``
    passing the derivative on its closed interval.
    """

    name = "complex-step"

    # decided on the real part, through this namespace's max (ties share the perturbation)
    max_pool2d = Namespace.max_pool2d

    @staticmethod
    def stop_gradient(x):
        """The real part: the complex step's perturbation held, as the AD methods hold a
        tangent (plain NumPy's stop_gradient is the identity: finite differences see values)."""
        return np.real(x)

    @staticmethod
    def sign(x):
        """The sign of the real part: a constant, no perturbation (``np.sign`` of a complex
        number is x/|x|, which is not analytic)."""
        return np.sign(np.real(x)) + 0j

    @staticmethod
    def abs(x):
        re = np.real(x)
        return np.where(re < 0, -x, np.where(re > 0, x, re + 0j * re))

    @staticmethod
    def maximum(a, b):
        return _pick_by_real(a, b, np.greater)

    @staticmethod
    def minimum(a, b):
        return _pick_by_real(a, b, np.less)

    def clip(self, x, lo, hi):
        x = np.asarray(x)
        if lo is not None:
            x = np.where(np.real(x) < np.real(lo), lo, x)
        if hi is not None:
            x = np.where(np.real(x) > np.real(hi), hi, x)
        return x

    @staticmethod
    def max(x, axis=None, keepdims=False):
        return _extreme_by_real(x, np.max, axis, keepdims)

    @staticmethod
    def min(x, axis=None, keepdims=False):
        return _extreme_by_real(x, np.min, axis, keepdims)


def _pick_by_real(a, b, wins):
    """``a`` where its real part wins, ``b`` where b's does, on a tie the real part with the
    mean of the two perturbations (the symmetric subgradient)."""
    ra, rb = np.real(a), np.real(b)
    tie = ra + 0.5j * (np.imag(a) + np.imag(b))
    return np.where(wins(ra, rb), a, np.where(wins(rb, ra), b, tie))


def _extreme_by_real(x, extreme, axis, keepdims):
    """The entry with the extreme real part; tied entries share the perturbation evenly."""
    x = np.asarray(x)
    re = np.real(x)
    target = extreme(re, axis=axis, keepdims=True)
    hit = re == target
    perturbation = np.sum(np.where(hit, np.imag(x), 0.0), axis=axis, keepdims=True) / np.sum(
        hit, axis=axis, keepdims=True)
    out = target + 1j * perturbation
    if keepdims:
        return out
    return np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def _is_basic(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


NUMPY = NumpyNamespace()
COMPLEX_STEP = ComplexStepNamespace()
