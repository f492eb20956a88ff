"""HIPS autograd as a difflab namespace: ``autograd.numpy`` on ``ArrayBox`` values.

Imported only when ``difflab.namespace`` meets an autograd box, so autograd is loaded then.
autograd wraps NumPy, so the op names are NumPy's; ``logsumexp`` is autograd's own primitive
from ``autograd.scipy.special``. ``sigmoid`` is the composed stable form of
:class:`difflab.namespaces.ops.Namespace`: autograd's ``expit`` has no forward-mode (JVP) rule.
"""
from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd.scipy.special import logsumexp as _logsumexp
from autograd.tracer import Box, getval

from ..errors import NotSupported
from .precision import float_dtype_for
from .ops import Namespace, einsum_subscripts
from . import indexing
from .view import VIEWING, ArrayView, Viewing, unview, viewing

#: difflab op name -> autograd.numpy function.
AUTOGRAD_FUNCTIONS = {
    "sin": anp.sin, "cos": anp.cos, "tan": anp.tan, "arcsin": anp.arcsin, "arccos": anp.arccos,
    "arctan": anp.arctan, "sinh": anp.sinh, "cosh": anp.cosh, "tanh": anp.tanh, "exp": anp.exp,
    "expm1": anp.expm1, "log": anp.log, "log1p": anp.log1p, "sqrt": anp.sqrt, "abs": anp.abs,
    "square": anp.square, "maximum": anp.maximum, "minimum": anp.minimum, "sum": anp.sum,
    "prod": anp.prod, "mean": anp.mean, "max": anp.max, "min": anp.min, "matmul": anp.matmul,
    "dot": anp.dot, "reshape": anp.reshape, "transpose": anp.transpose, "where": anp.where,
    "clip": anp.clip, "broadcast_to": anp.broadcast_to, "sign": anp.sign,
    "cumsum": anp.cumsum,
}


class AutogradView(ArrayView):
    """An autograd box as user code sees it (:mod:`difflab.namespaces.view`); NumPy's own
    functions called on it (``np.sin(x)``, which autograd's boxes take) see the box."""

    __slots__ = ()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = getattr(ufunc, method)(*unview(inputs), **unview(kwargs))
        return NAMESPACE._view_out(out) if VIEWING.get() else out

    def __array_function__(self, func, types, args, kwargs):
        out = func(*unview(args), **unview(kwargs))
        return NAMESPACE._view_out(out) if VIEWING.get() else out


class AutogradNamespace(Viewing, Namespace):
    """``autograd.numpy``: every difflab op is the NumPy function of the same name."""

    name = "autograd"
    view_type = AutogradView

    def is_raw(self, x):
        return isinstance(x, Box)

    def getitem(self, x, index):
        return x[indexing.normalise(index)]

    def astype(self, x, dtype):
        return x.astype(dtype) if isinstance(x, Box) else np.asarray(x).astype(dtype)

    def logsumexp(self, x, axis=None, keepdims=False):
        return _logsumexp(x, axis=axis, keepdims=keepdims)

    def softmax(self, x, axis=-1):
        return anp.exp(x - _logsumexp(x, axis=axis, keepdims=True))

    def einsum(self, subscripts, *operands):
        spec = einsum_subscripts(subscripts, [anp.ndim(o) for o in operands],
                                 shapes=[anp.shape(o) for o in operands])
        if any(len(set(t)) != len(t) for t in spec.split("->")[0].replace("...", "").split(",")):
            raise NotSupported("einsum with a repeated subscript (a diagonal)", "autograd",
                               "autograd's einsum derivative writes it as a repeated output; take xp.diag first")
        return anp.einsum(subscripts, *operands)

    def stack(self, arrays, axis=0):
        return anp.stack(list(arrays), axis=axis)

    def concatenate(self, arrays, axis=0):
        return anp.concatenate(list(arrays), axis=axis)

    def asarray(self, data, dtype=None):
        if type(data).__module__.startswith("autograd"):
            return data
        return np.asarray(data, dtype=dtype or float_dtype_for(data))

    def zeros(self, shape):
        return np.zeros(shape, dtype=float_dtype_for(0.0, np.float64))

    def ones(self, shape):
        return np.ones(shape, dtype=float_dtype_for(0.0, np.float64))

    def zeros_like(self, x):
        return np.zeros(anp.shape(x), dtype=_dtype_of(x))

    def ones_like(self, x):
        return np.ones(anp.shape(x), dtype=_dtype_of(x))

    def stop_gradient(self, x):
        return getval(x)

    def shape(self, x):
        return tuple(anp.shape(x))


def _dtype_of(x):
    dtype = np.asarray(getval(x)).dtype
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


for _op, _fn in AUTOGRAD_FUNCTIONS.items():
    setattr(AutogradNamespace, _op, staticmethod(_fn))

viewing(AutogradNamespace)
NAMESPACE = AutogradNamespace()
