"""NumPy object arrays of mpmath numbers (the oracle) or SymPy expressions (``sympy``).

Elementwise functions are the scalar library's own, vectorised with ``np.frompyfunc``;
structure (indexing, reshape, matmul, sums) is NumPy's, which works on object arrays.
"""
from __future__ import annotations

import operator

import numpy as np

from ..errors import NotSupported
from .ops import Namespace
from .numpy_ns import NumpyNamespace
from .view import ArrayView, Viewing, viewing

#: difflab op name -> function name in mpmath / sympy.
ELEMENTWISE_NAMES = {
    "sin": ("sin", "sin"), "cos": ("cos", "cos"), "tan": ("tan", "tan"),
    "arcsin": ("asin", "asin"), "arccos": ("acos", "acos"), "arctan": ("atan", "atan"),
    "sinh": ("sinh", "sinh"), "cosh": ("cosh", "cosh"), "tanh": ("tanh", "tanh"),
    "exp": ("exp", "exp"), "expm1": ("expm1", None), "log": ("log", "log"),
    "log1p": ("log1p", None), "sqrt": ("sqrt", "sqrt"), "abs": ("fabs", "Abs"),
    "sign": ("sign", "sign"),
}


class ObjectNamespace(NumpyNamespace):
    """Elementwise via a scalar library on object arrays; everything else as NumPy."""

    def __init__(self, name: str, column: int):
        self.name = name
        self._column = column
        self._ufuncs: dict[str, np.ufunc] = {}

    def _library(self):
        import importlib

        return importlib.import_module(self.name)

    @property
    def pi(self):
        """mpmath's pi at the working precision, or SymPy's exact ``pi``."""
        if self._column == 1:
            import sympy

            return sympy.pi
        import mpmath

        return +mpmath.pi

    def _ufunc(self, op: str, nin: int = 1):
        uf = self._ufuncs.get(op)
        if uf is None:
            uf = np.frompyfunc(self._scalar(op), nin, 1)
            self._ufuncs[op] = uf
        return uf

    def _scalar(self, op: str):
        lib = self._library()
        if op in ELEMENTWISE_NAMES:
            target = ELEMENTWISE_NAMES[op][self._column]
            if target is None:  # composed where the library has no such function
                return {"expm1": lambda v: lib.exp(v) - 1, "log1p": lambda v: lib.log(1 + v)}[op]
            return getattr(lib, target)
        return {"maximum": self._max2, "minimum": self._min2}[op]

    def _max2(self, a, b):
        return a if a >= b else b

    def _min2(self, a, b):
        return a if a <= b else b

    def _apply(self, op, *args):
        return self._ufunc(op, len(args))(*args)

    def maximum(self, a, b):
        return self._apply("maximum", a, b)

    def minimum(self, a, b):
        return self._apply("minimum", a, b)

    def max(self, x, axis=None, keepdims=False):
        return self._reduce("maximum", x, axis, keepdims)

    def min(self, x, axis=None, keepdims=False):
        return self._reduce("minimum", x, axis, keepdims)

    def _reduce(self, op, x, axis, keepdims):
        x = np.asarray(x, dtype=object)
        if axis is None:
            out = self._ufunc(op, 2).reduce(x.reshape(-1))
            return np.asarray(out, dtype=object).reshape((1,) * x.ndim) if keepdims else out
        return self._ufunc(op, 2).reduce(x, axis=axis, keepdims=keepdims)

    def clip(self, x, lo, hi):
        """Through maximum and minimum, which SymPy keeps symbolic (np.clip compares)."""
        out = x if lo is None else self.maximum(x, lo)
        return out if hi is None else self.minimum(out, hi)

    def logsumexp(self, x, axis=None, keepdims=False):
        # Arbitrary exponent range (mpmath) or exact symbols (sympy): no shift needed.
        return self.log(np.sum(self.exp(x), axis=axis, keepdims=keepdims))

    def sigmoid(self, x):
        return 1 / (1 + self.exp(-np.asarray(x, dtype=object)))

    def zeros(self, shape):
        return np.zeros(shape, dtype=object)

    def ones(self, shape):
        return np.ones(shape, dtype=object)

    def scatter(self, g, index, shape):
        out = np.zeros(shape, dtype=object)
        np.add.at(out, index, g)
        return out

    # Sliding windows composed from slices and matmul over the window positions (the
    # object arrays' own arithmetic), not NumPy's float fast path.
    conv2d = Namespace.conv2d
    conv2d_transpose = Namespace.conv2d_transpose
    conv2d_kernel_grad = Namespace.conv2d_kernel_grad
    max_pool2d = Namespace.max_pool2d
    avg_pool2d = Namespace.avg_pool2d


def _elementwise(op):
    def method(self, x):
        return self._apply(op, x)

    method.__name__ = op
    return method


for _op in ELEMENTWISE_NAMES:
    setattr(ObjectNamespace, _op, _elementwise(_op))


def _has_symbols(raw) -> bool:
    items = raw.flat if isinstance(raw, np.ndarray) else (raw,)
    return any(getattr(v, "free_symbols", None) for v in items)


def _numbers(other) -> bool:
    return isinstance(other, (int, float, complex, np.number, np.bool_)) or (
        isinstance(other, np.ndarray) and other.dtype.kind in "biufc")


class SympyView(ArrayView):
    """SymPy values (an object array of expressions, or one) as the function the ``sympy``
    method traces sees them (:func:`difflab.namespaces.view.call_viewed`).

    SymPy answers ``bool(x0)`` with True and ``x0 == 0`` with False (structural equality)
    without deciding anything, so ``if x[0]:`` or ``xp.where(x == 0, ...)`` would silently
    keep one branch for every x. On a view they raise ``TypeError`` (the sympy method's
    :class:`~difflab.NotSupported` for data-dependent control flow) where the value holds a
    symbol. Only the traced function holds views: SymPy's own code, the user's other code
    and other threads keep SymPy's meaning, and no SymPy class is changed.
    """

    __slots__ = ()
    __sympy__ = None  # sympify takes a view through _sympy_, not as a Basic

    def _sympy_(self):
        import sympy

        return sympy.sympify(self.raw)

    def __bool__(self):
        if _has_symbols(self.raw):
            raise TypeError(f"cannot determine truth value of {self.raw} (an if or while on it)")
        return bool(self.raw)

    def __eq__(self, o):
        if _numbers(o) and _has_symbols(self.raw):
            raise TypeError(f"cannot determine truth value of {self.raw} == {o}")
        return self._op(operator.eq, o)

    def __ne__(self, o):
        if _numbers(o) and _has_symbols(self.raw):
            raise TypeError(f"cannot determine truth value of {self.raw} != {o}")
        return self._op(operator.ne, o)

    __hash__ = object.__hash__


class SympyNamespace(Viewing, ObjectNamespace):
    """SymPy expressions: exact symbolic values; ``if`` on them cannot be decided, so the
    traced function sees them as :class:`SympyView`."""

    view_type = SympyView

    def is_raw(self, x):
        return (isinstance(x, np.ndarray) and x.dtype == object) or type(x).__module__.startswith("sympy")

    def getitem(self, x, index):
        return x[index]

    def astype(self, x, dtype):
        """``x`` itself for the object dtype; a cast to a float dtype is refused: a symbol has
        no float value, and the method's exactness would be lost."""
        if np.dtype(dtype) == object:
            return x
        raise NotSupported(f"astype({np.dtype(dtype).name})", self.name,
                           "its values are symbols; drop the cast (the method differentiates "
                           "exactly and converts its result to the method's dtype)")

    def _max2(self, a, b):
        import sympy

        return sympy.Max(a, b)

    def _min2(self, a, b):
        import sympy

        return sympy.Min(a, b)

    def where(self, cond, a, b):
        import sympy

        cond = np.asarray(cond, dtype=object)
        if all(isinstance(c, (bool, np.bool_)) for c in cond.flat):
            return np.where(cond.astype(bool), a, b)
        pw = np.frompyfunc(lambda c, u, v: sympy.Piecewise((u, c), (v, True)), 3, 1)
        return pw(cond, a, b)

    def max(self, x, axis=None, keepdims=False):
        return self._reduce("maximum", x, axis, keepdims)

    def sum(self, x, axis=None, keepdims=False):
        """One ``sympy.Add`` per result entry. NumPy adds the entries one at a time, and SymPy
        rebuilds the growing sum at each step: O(n^2) to trace a sum of n terms."""
        import sympy

        x = np.asarray(x, dtype=object)
        axes = tuple(range(x.ndim)) if axis is None else tuple(
            a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,)))
        kept = [a for a in range(x.ndim) if a not in axes]
        moved = np.transpose(x, kept + list(axes))
        size = lambda dims: int(np.prod([x.shape[a] for a in dims], dtype=int))  # noqa: E731
        rows = moved.reshape((size(kept), size(axes)))
        out = np.empty(len(rows), dtype=object)
        out[:] = [sympy.Add(*row) for row in rows]
        shape = tuple(1 if a in axes else n for a, n in enumerate(x.shape)) if keepdims else \
            tuple(x.shape[a] for a in kept)
        out = out.reshape(shape)
        return out[()] if out.ndim == 0 else out

    def stop_gradient(self, x):
        raise NotSupported("stop_gradient", "sympy", "a symbolic expression has no constants to hold")


viewing(SympyNamespace)

MPMATH = ObjectNamespace("mpmath", 0)
SYMPY = SympyNamespace("sympy", 1)
