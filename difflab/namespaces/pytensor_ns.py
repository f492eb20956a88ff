"""PyTensor as a difflab namespace: ``pytensor.tensor`` on symbolic tensor variables.

Imported only when ``difflab.namespace`` meets a PyTensor variable (the ``pytensor`` method
traces the user's function on ``pytensor.tensor`` inputs), so PyTensor is loaded by then.
Most ops are the ``pytensor.tensor`` function of the same name; ``where`` is
``pytensor.tensor.switch``; ``softmax``/``log_softmax`` are ``pytensor.tensor.special``'s.

User code sees each variable as a :class:`PytensorView` (:mod:`difflab.namespaces.view`):
PyTensor's own ``==`` is identity (``x[0] == 0`` would be False for every x) and
``bool`` of a variable a TypeError deep in PyTensor; the view makes ``==`` PyTensor's ``eq``
and an ``if``/``while`` on a value :class:`~difflab.NotSupported` (data-dependent control
flow: write it with ``xp.where``). Python floats and closed-over float arrays enter the
graph at the evaluation's precision (a Python float would make a float32 graph float64).
"""
from __future__ import annotations

import numpy as np
import pytensor.gradient
import pytensor.tensor as pt
import pytensor.tensor.special
from pytensor.graph.basic import Variable

from ..errors import NotSupported
from .ops import Namespace, diag_shape, einsum_subscripts
from .precision import compute_dtype, float_dtype_for
from . import indexing
from .view import ArrayView, Viewing, unview, viewing

#: difflab op name -> ``pytensor.tensor`` function of one tensor.
PYTENSOR_UNARY = {
    "sin": pt.sin, "cos": pt.cos, "tan": pt.tan, "arcsin": pt.arcsin, "arccos": pt.arccos,
    "arctan": pt.arctan, "sinh": pt.sinh, "cosh": pt.cosh, "tanh": pt.tanh, "exp": pt.exp,
    "expm1": pt.expm1, "log": pt.log, "log1p": pt.log1p, "sqrt": pt.sqrt, "abs": pt.abs,
    "square": pt.sqr, "sigmoid": pt.sigmoid, "sign": pt.sign,
}
#: difflab reduction -> ``pytensor.tensor`` reduction taking ``axis`` and ``keepdims``.
PYTENSOR_REDUCTIONS = {"sum": pt.sum, "prod": pt.prod, "mean": pt.mean, "max": pt.max,
                       "min": pt.min, "logsumexp": pt.logsumexp}


def control_flow(what: str) -> NotSupported:
    return NotSupported("data-dependent control flow", "pytensor",
                        f"{what} on a value of x while it is a PyTensor graph variable; the "
                        "graph cannot take one branch for every x: write it with xp.where "
                        "(pytensor.tensor.switch), or use AD or finite differences")


def constant(value):
    """A Python number or NumPy array as a graph constant, floats at the evaluation's precision."""
    if isinstance(value, Variable):
        return value
    if isinstance(value, (bool, int)):  # PyTensor's smallest int type: never upcasts a float
        return pt.as_tensor_variable(value)
    arr = np.asarray(value)
    dtype = float_dtype_for(arr) if arr.dtype.kind == "f" else None
    return pt.as_tensor_variable(arr.astype(dtype) if dtype is not None else arr)


class PytensorView(ArrayView):
    """A PyTensor variable as user code sees it: NumPy's ``==``, no truth value."""

    __slots__ = ()

    def _op(self, op, other):
        other = unview(other)
        if isinstance(other, (float, np.floating, np.ndarray)):
            other = constant(other)
        return self.namespace.view(op(self.raw, other))

    def __eq__(self, o):  return self.namespace.view(pt.eq(self.raw, constant(unview(o))))
    def __ne__(self, o):  return self.namespace.view(pt.neq(self.raw, constant(unview(o))))
    __hash__ = ArrayView.__hash__

    def __bool__(self):   raise control_flow("an if, while, and/or or == test")
    # no number while tracing: refused in the words difflab.interface.boundary recognises as a
    # conversion of a traced value
    def __float__(self):
        raise TypeError("float() argument must be a real number, not 'TensorVariable'")

    def __int__(self):
        raise TypeError("int() argument must be a string, a bytes-like object or a real number, "
                        "not 'TensorVariable'")

    __index__ = __int__

    def __len__(self):
        return self.shape[0]


class PytensorNamespace(Viewing, Namespace):
    """``pytensor.tensor`` with NumPy's names and argument conventions."""

    name = "pytensor"
    view_type = PytensorView

    def is_raw(self, x):
        return isinstance(x, Variable)

    def shape(self, x):
        """The static shape PyTensor infers (every op of the list keeps it known)."""
        if not isinstance(x, Variable):
            return np.shape(x)
        shape = x.type.shape
        if any(s is None for s in shape):
            raise NotSupported("a shape PyTensor cannot infer while tracing", self.name,
                               f"the array's static shape is {shape}")
        return tuple(int(s) for s in shape)

    # ------------------------------------------------------------------ indexing
    def getitem(self, x, index):
        """NumPy's ``x[index]``: PyTensor reads every NumPy form as NumPy does; an index out
        of range is NumPy's IndexError (PyTensor would fail only when called)."""
        if type(index) is slice:
            return x[index]
        index = indexing.normalise(index)
        if any(isinstance(p, Variable) for p in index):  # a mask computed from x
            raise NotSupported("indexing with a mask computed from x", self.name,
                               "its size is decided by the values; use xp.where")
        indexing.check(self.shape(x), index)
        return x[index]

    def astype(self, x, dtype):
        return pt.cast(constant(x), np.dtype(dtype).name)

    # ------------------------------------------------------------------ constants
    def asarray(self, data, dtype=None):
        if isinstance(data, Variable):
            return data if dtype is None else pt.cast(data, np.dtype(dtype).name)
        if isinstance(data, (list, tuple)) and any(isinstance(d, Variable) for d in data):
            return pt.stack([self.asarray(d) for d in data])
        arr = np.asarray(data)
        dtype = dtype or float_dtype_for(arr)
        return pt.as_tensor_variable(arr.astype(dtype) if dtype is not None else arr)

    def zeros(self, shape):
        return pt.as_tensor_variable(np.zeros(shape, dtype=compute_dtype() or np.float64))

    def ones(self, shape):
        return pt.as_tensor_variable(np.ones(shape, dtype=compute_dtype() or np.float64))

    def zeros_like(self, x):
        return pt.zeros_like(constant(x))

    def ones_like(self, x):
        return pt.ones_like(constant(x))

    def stop_gradient(self, x):
        return pytensor.gradient.disconnected_grad(constant(x))

    # ------------------------------------------------------------------ elementwise
    def maximum(self, a, b):
        return pt.maximum(constant(a), constant(b))

    def minimum(self, a, b):
        return pt.minimum(constant(a), constant(b))

    def where(self, cond, a, b):
        return pt.switch(constant(cond), constant(a), constant(b))

    def clip(self, x, lo=None, hi=None):
        out = constant(x)
        out = out if lo is None else pt.maximum(out, constant(lo))
        return out if hi is None else pt.minimum(out, constant(hi))

    # ------------------------------------------------------------------ reductions
    def _reduce(self, op, x, axis=None, keepdims=False):
        return PYTENSOR_REDUCTIONS[op](constant(x), axis=axis, keepdims=keepdims)

    def softmax(self, x, axis=-1):
        return pytensor.tensor.special.softmax(constant(x), axis=axis)

    def log_softmax(self, x, axis=-1):
        return pytensor.tensor.special.log_softmax(constant(x), axis=axis)

    # ------------------------------------------------------------------ structure
    def matmul(self, a, b):
        return pt.matmul(constant(a), constant(b))

    def dot(self, a, b):
        """NumPy's ``dot``: a product with a scalar, else ``matmul`` (vectors, matrices)."""
        a, b = constant(a), constant(b)
        if a.ndim == 0 or b.ndim == 0:
            return a * b
        if b.ndim <= 2:
            return pt.matmul(a, b)
        return pt.tensordot(a, b, axes=[[a.ndim - 1], [b.ndim - 2]])

    def reshape(self, x, shape):
        return pt.reshape(constant(x), (shape,) if isinstance(shape, int) else tuple(shape))

    def transpose(self, x, axes=None):
        return pt.transpose(constant(x), axes)

    def stack(self, arrays, axis=0):
        return pt.stack([constant(a) for a in arrays], axis=axis)

    def concatenate(self, arrays, axis=0):
        return pt.concatenate([constant(a) for a in arrays], axis=axis)

    def broadcast_to(self, x, shape):
        return pt.broadcast_to(constant(x), tuple(shape))

    def cumsum(self, x, axis=None):
        return pt.cumsum(constant(x), axis=axis)

    def diag(self, v, k=0):
        diag_shape(self.shape(v))
        return Namespace.diag(self, v, k)

    def einsum(self, subscripts, *operands):
        operands = [constant(o) for o in operands]
        einsum_subscripts(subscripts, [o.ndim for o in operands],
                          shapes=[self.shape(o) for o in operands])
        return pt.einsum(subscripts, *operands)


def _unary(fn):
    def method(self, x):
        return fn(constant(x))
    method.__name__ = fn.__name__ if hasattr(fn, "__name__") else "op"
    return method


def _reduction(op):
    def method(self, x, axis=None, keepdims=False):
        return self._reduce(op, x, axis, keepdims)
    method.__name__ = op
    return method


for _op, _fn in PYTENSOR_UNARY.items():
    setattr(PytensorNamespace, _op, _unary(_fn))
for _op in PYTENSOR_REDUCTIONS:
    setattr(PytensorNamespace, _op, _reduction(_op))

viewing(PytensorNamespace)
NAMESPACE = PytensorNamespace()
