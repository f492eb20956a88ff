"""CasADi as a difflab namespace: NumPy object arrays of CasADi scalar expressions (SX or MX).

The ``casadi`` method splits its symbolic input (``SX.sym``/``MX.sym``) into scalars and hands
the function a :class:`CasadiArray` of them; elementwise functions are CasADi's own
(``casadi.sin``, ``casadi.fmax``, ``casadi.if_else`` for ``where``), and structure (indexing,
reshape, matmul, sums) is NumPy's, which works on object arrays, as for SymPy.

NumPy compares object arrays by asking each entry for a truth value, which a symbolic CasADi
expression does not have; :class:`CasadiArray` compares entry by entry into CasADi's own
symbolic comparisons, so ``xp.where(x > 0, a, b)`` is an ``if_else`` node, while ``if x[0] >
0:`` still has no truth value (the method reports that as data-dependent control flow).
"""
from __future__ import annotations

import operator

import casadi
import numpy as np

from ..errors import NotSupported
from .ops import Namespace, _reduced_shape
from .object_ns import ObjectNamespace

#: difflab op name -> CasADi function.
CASADI_FUNCTIONS = {
    "sin": casadi.sin, "cos": casadi.cos, "tan": casadi.tan, "arcsin": casadi.asin,
    "arccos": casadi.acos, "arctan": casadi.atan, "sinh": casadi.sinh, "cosh": casadi.cosh,
    "tanh": casadi.tanh, "exp": casadi.exp, "expm1": casadi.expm1, "log": casadi.log,
    "log1p": casadi.log1p, "sqrt": casadi.sqrt, "abs": casadi.fabs, "sign": casadi.sign,
    "maximum": casadi.fmax, "minimum": casadi.fmin, "where": casadi.if_else,
}
#: CasADi's scalar expression types.
SCALARS = (casadi.SX, casadi.MX)


def objects(a):
    """A bare CasADi scalar as a 0-d object array (NumPy's functions called on a CasADi value
    go to CasADi's own NumPy protocol, which reads it as a 1 x 1 matrix); anything else as is."""
    if isinstance(a, SCALARS):
        out = np.empty((), dtype=object)
        out[()] = a
        return out
    if type(a) is list or type(a) is tuple:
        return type(a)(objects(i) for i in a)
    return a


def _entrywise(op):
    ufunc = np.frompyfunc(op, 2, 1)

    def compare(self, other):
        return as_casadi(ufunc(self, objects(other)))
    return compare


class CasadiArray(np.ndarray):
    """An object array of CasADi expressions: comparisons are CasADi's (symbolic), and every
    result, indexing a single entry and reductions to one included, stays such an array (a
    0-d one for a scalar). A bare CasADi value would meet NumPy arrays as a CasADi matrix
    (``SX + ndarray`` builds a matrix expression), and NumPy would compare it for truth."""

    __array_priority__ = 20

    __lt__ = _entrywise(operator.lt)
    __le__ = _entrywise(operator.le)
    __gt__ = _entrywise(operator.gt)
    __ge__ = _entrywise(operator.ge)
    __eq__ = _entrywise(operator.eq)
    __ne__ = _entrywise(operator.ne)
    __hash__ = None

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = [i.view(np.ndarray) if isinstance(i, CasadiArray) else objects(i) for i in inputs]
        if "out" in kwargs:  # NumPy's own mean passes out=
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, CasadiArray) else o
                                  for o in kwargs["out"])
        return as_casadi(getattr(ufunc, method)(*inputs, **kwargs))

    def __getitem__(self, index):
        if any(isinstance(i, CasadiArray) for i in (index if isinstance(index, tuple) else (index,))):
            raise NotSupported("indexing with a mask computed from x", "casadi",
                               "its size is decided by the values, which a CasADi graph does not "
                               "have; use xp.where")
        return as_casadi(super().__getitem__(index))

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # NumPy's own max, min and clip compare entries for truth: the namespace's instead
    def max(self, axis=None, keepdims=False):
        return NAMESPACE.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return NAMESPACE.min(self, axis=axis, keepdims=keepdims)

    def clip(self, lo=None, hi=None):
        return NAMESPACE.clip(self, lo, hi)

    def astype(self, dtype, *args, **kwargs):
        """Itself for the object dtype; a float dtype is refused (a symbol has no float)."""
        if np.dtype(dtype) == object:
            return self
        raise NotSupported(f"astype({np.dtype(dtype).name})", "casadi",
                           "its values are CasADi expressions; drop the cast (the method "
                           "returns its derivatives in the method's dtype)")

    # a symbolic entry has no number (CasADi's float() of a symbol is NaN): refused, in the
    # words difflab.interface.boundary recognises as a conversion of a traced value
    def __float__(self):
        raise TypeError("float() argument must be a real number, not 'SX'")

    def __int__(self):
        raise TypeError("int() argument must be a string, a bytes-like object or a real number, not 'SX'")

    __index__ = __int__


def as_casadi(a):
    """``a`` as a :class:`CasadiArray` where it is an object array or a CasADi scalar."""
    if isinstance(a, SCALARS):
        a = objects(a)
    if isinstance(a, np.ndarray) and a.dtype == object and type(a) is not CasadiArray:
        return a.view(CasadiArray)
    return a


class CasadiNamespace(ObjectNamespace):
    """Elementwise by CasADi's functions on object arrays; structure as NumPy."""

    def __init__(self):
        super().__init__("casadi", 0)

    @property
    def pi(self):
        return np.pi

    def _scalar(self, op):
        return CASADI_FUNCTIONS[op]

    def _apply(self, op, *args):
        out = self._ufunc(op, len(args))(*objects(args))
        if not isinstance(out, np.ndarray):  # a number (an op of constants) stays in the namespace
            out = np.array(out, dtype=object) if not isinstance(out, SCALARS) else out
        return as_casadi(out)

    def asarray(self, data, dtype=None):
        """Data as an object array (its floats as entries), so that constants stay in the
        namespace (a float array result would read as a function written with NumPy)."""
        if isinstance(data, np.ndarray) and data.dtype == object or isinstance(data, SCALARS):
            return as_casadi(data)
        out = np.asarray(super().asarray(data, dtype))
        return as_casadi(out.astype(object)) if out.dtype.kind in "fiub" else out

    def shape(self, x):
        return () if isinstance(x, SCALARS) else np.shape(x)

    def where(self, cond, a, b):
        return self._apply("where", cond, a, b)

    def logsumexp(self, x, axis=None, keepdims=False):
        """Shifted by the maximum (CasADi computes in floats: exp(1000) would overflow); the
        shift's derivative cancels to rounding (it is differentiated, not held constant)."""
        x = as_casadi(np.asarray(objects(x), dtype=object))
        shift = self.max(x, axis=axis, keepdims=True)
        out = self.log(self.sum(self.exp(x - shift), axis=axis, keepdims=True)) + shift
        return out if keepdims else self.reshape(out, _reduced_shape(x.shape, axis))

    sigmoid = Namespace.sigmoid  # the where form: exp never overflows

    def _reduce(self, op, x, axis, keepdims):
        return as_casadi(super()._reduce(op, objects(x), axis, keepdims))

    def stop_gradient(self, x):
        raise NotSupported("stop_gradient", "casadi", "a CasADi expression has no constants to hold; "
                           "compute the value outside the function")


def _wrapped(name):
    def op(self, *args, **kwargs):
        return as_casadi(getattr(super(CasadiNamespace, self), name)(*objects(args), **kwargs))
    op.__name__ = name
    return op


# NumPy's structural functions return plain object arrays: keep them CasadiArrays.
for _name in ("sum", "prod", "mean", "matmul", "dot", "reshape", "transpose", "stack",
              "concatenate", "zeros", "ones", "zeros_like", "ones_like", "clip",
              "cumsum", "flip", "diag", "outer", "einsum", "broadcast_to", "var", "std",
              "softmax", "log_softmax", "maximum", "minimum"):
    setattr(CasadiNamespace, _name, _wrapped(_name))
for _op in CASADI_FUNCTIONS:
    if _op not in ("maximum", "minimum", "where"):
        setattr(CasadiNamespace, _op, lambda self, x, _op=_op: self._apply(_op, x))

NAMESPACE = CasadiNamespace()
