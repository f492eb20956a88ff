"""What forward and reverse mode share: traced values, their operators, their namespace.

A traced value wraps an inner ``value`` (a NumPy array, an object array of mpmath numbers,
or another traced value) at a *level*. Every differentiation opens a new, higher level, and
an operation is handled by the highest level among its arguments, which treats lower-level
values as constants: that is what makes nesting (forward over reverse for Hessians,
forward over forward in the oracle) free of perturbation confusion.
"""
from __future__ import annotations

import itertools
import operator
import threading

import numpy as np

from ..namespaces.ops import Namespace, einsum_subscripts, pool_args, window_args
from ..namespaces import precision
from ..namespaces.precision import float_dtype_for
from ..errors import NotSupported
from ..namespaces.array_methods import ArrayMethods
from .rules import RULES
from ..namespaces.shaped import Shaped

_levels = itertools.count(1)
_NO_PARAMS: dict = {}
_converted = threading.local()


def conversions() -> int:
    """How many traced values this thread has turned into Python numbers (``float``, ``int``,
    an index): a function whose result is plain numbers though none was converted is a
    constant, not one written with NumPy (difflab.interface.boundary.guarded)."""
    return getattr(_converted, "count", 0)


def count_conversion() -> None:
    _converted.count = getattr(_converted, "count", 0) + 1


def new_level() -> int:
    """A fresh level, above every level opened before."""
    return next(_levels)


def strip(v):
    """The plain value under every level of tracing (for comparisons and control flow)."""
    while isinstance(v, Traced):
        v = v.value
    return v


def _peel(a, b):
    """``(a, b)`` with the outermost level of tracing between them taken off."""
    la = a._level if isinstance(a, Traced) else -1
    lb = b._level if isinstance(b, Traced) else -1
    top = max(la, lb)
    return (a.value if la == top else a), (b.value if lb == top else b)


def _strip_index(index):
    if isinstance(index, tuple):
        return tuple(strip(i) for i in index)
    return strip(index)


class Traced(Shaped, ArrayMethods):
    """Base of difflab's dual numbers and tape nodes: NumPy-like operators, routed by level;
    NumPy's array methods (``x.sum()``, ``x.T``, ...) are their namespace's ops."""

    __slots__ = ()
    __array_ufunc__ = None   # make NumPy defer: ndarray * traced -> traced.__rmul__
    __array_priority__ = 1000
    namespace: "ADNamespace"
    value: object
    _level: int

    # ---- arithmetic, routed to the namespace of the highest level ------------------------
    def _binary(self, name, other, reflected=False):
        args = (other, self) if reflected else (self, other)
        level = getattr(other, "_level", None)
        ns = other.namespace if level is not None and level > self._level else self.namespace
        return ns.apply(name, args, _NO_PARAMS)

    def __add__(self, o):      return self._binary("add", o)
    def __radd__(self, o):     return self._binary("add", o, True)
    def __sub__(self, o):      return self._binary("sub", o)
    def __rsub__(self, o):     return self._binary("sub", o, True)
    def __mul__(self, o):      return self._binary("mul", o)
    def __rmul__(self, o):     return self._binary("mul", o, True)
    def __truediv__(self, o):  return self._binary("div", o)
    def __rtruediv__(self, o): return self._binary("div", o, True)
    def __pow__(self, o):      return self._binary("pow", o)
    def __rpow__(self, o):     return self._binary("pow", o, True)
    def __matmul__(self, o):   return self._binary("matmul", o)
    def __rmatmul__(self, o):  return self._binary("matmul", o, True)
    def __neg__(self):         return self.namespace.apply("neg", (self,), {})
    def __pos__(self):         return self
    def __abs__(self):         return self.namespace.abs(self)

    def __getitem__(self, index):
        return self.namespace.apply("getitem", (self,), {"index": _strip_index(index)})

    # ---- comparisons and control flow act on the values, one level at a time --------------
    # Peeling only the outermost level (not stripping every level) lets a lower level that
    # watches decisions see them: the compiled tape's tracer, under a nested derivative.
    def __lt__(self, o): return operator.lt(*_peel(self, o))
    def __le__(self, o): return operator.le(*_peel(self, o))
    def __gt__(self, o): return operator.gt(*_peel(self, o))
    def __ge__(self, o): return operator.ge(*_peel(self, o))
    def __eq__(self, o): return operator.eq(*_peel(self, o))
    def __ne__(self, o): return operator.ne(*_peel(self, o))
    __hash__ = object.__hash__

    def __bool__(self):  return bool(self.value)

    def __float__(self):
        count_conversion()
        return float(self.value)

    def __int__(self):
        count_conversion()
        return int(self.value)

    def __index__(self):
        count_conversion()
        return operator.index(self.value) if isinstance(self.value, Traced) else int(self.value)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # ---- array attributes ------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(np.shape(self.value)) if not isinstance(self.value, Traced) else self.value.shape

    @property
    def dtype(self):
        return getattr(strip(self), "dtype", np.dtype(float))

    def __repr__(self):
        return f"{type(self).__name__}(level={self._level}, value={strip(self)!r})"


class ADNamespace(Namespace):
    """The op list for traced values: each op is a row of the rule table, applied by level."""

    traced_type: type = Traced

    def apply(self, name: str, args: tuple, params: dict):
        raise NotImplementedError

    def split(self, args):
        """(level, positions traced at that level, values with those unwrapped).

        Arguments traced at lower levels stay as they are: constants for this level.
        """
        cls = self.traced_type
        level = -1
        for a in args:
            if type(a) is cls and a._level > level:
                level = a._level
        if level < 0:  # constants only (a backward sweep with a plain cotangent)
            return None, (), args
        active, values = [], []
        for i, a in enumerate(args):
            if type(a) is cls and a._level == level:
                active.append(i)
                values.append(a.value)
            else:
                values.append(a)
        return level, active, values

    # ---- constructors: constants --------------------------------------------------------
    # Float data comes in at the evaluation's precision (difflab.namespaces.precision).
    def asarray(self, data, dtype=None):
        return data if isinstance(data, Traced) else np.asarray(data, dtype=dtype or float_dtype_for(data))

    zeros = staticmethod(precision.zeros)
    ones = staticmethod(precision.ones)

    def zeros_like(self, x):
        return self.zeros(np.shape(strip(x)))

    def ones_like(self, x):
        return self.ones(np.shape(strip(x)))

    def stop_gradient(self, x):
        return strip(x)

    def astype(self, x, dtype):
        """``x`` itself for its own float dtype; the engines compute at the method's precision
        (``difflab.get(m, dtype="float32")``), so any other cast is refused, not ignored."""
        target, own = np.dtype(dtype), np.dtype(self.dtype_of(x))
        if target == own or (target.kind == "f" and own.kind == "O"):  # "O": the oracle's mpmath
            return x
        raise NotSupported(f"astype({target.name})", self.name,
                           f"the value is {own.name} and difflab's own engines do not cast inside a "
                           f"derivative; for float32 create the method with dtype='float32'")

    @staticmethod
    def dtype_of(x):
        return getattr(strip(x), "dtype", np.dtype(float))

    def shape(self, x):
        return tuple(getattr(x, "shape", np.shape(x)))

    # ---- structure with argument normalisation ------------------------------------------
    def reshape(self, x, shape):
        return self.apply("reshape", (x,), {"shape": (shape,) if isinstance(shape, int) else tuple(shape)})

    def transpose(self, x, axes=None):
        return self.apply("transpose", (x,), {"axes": None if axes is None else tuple(axes)})

    def stack(self, arrays, axis=0):
        return self.apply("stack", tuple(arrays), {"axis": axis})

    def concatenate(self, arrays, axis=0):
        return self.apply("concatenate", tuple(arrays), {"axis": axis})

    def broadcast_to(self, x, shape):
        return self.apply("broadcast_to", (x,), {"shape": tuple(shape)})

    def scatter(self, g, index, shape):
        return self.apply("scatter", (g,), {"index": index, "shape": tuple(shape)})

    def matmul(self, a, b):
        return self.apply("matmul", (a, b), {})

    def einsum(self, subscripts, *operands):
        shapes = [tuple(self.shape(o)) for o in operands]
        spec = einsum_subscripts(subscripts, [len(s) for s in shapes], differentiable=True, shapes=shapes)
        return self.apply("einsum", operands, {"subscripts": spec})

    def cumsum(self, x, axis=None):
        return self.apply("cumsum", (x,), {"axis": None if axis is None else operator.index(axis)})

    def dot(self, a, b):
        return self.apply("matmul", (a, b), {})

    def clip(self, x, lo=None, hi=None):
        return self.apply("clip", (x, lo, hi), {})

    # ---- sliding windows: rows of the table, parameters normalised to hashable values ----
    def conv2d(self, x, kernel, strides=(1, 1), padding="valid"):
        return self.apply("conv2d", (x, kernel), _window_params(strides, padding))

    def conv2d_transpose(self, g, kernel, input_size, strides=(1, 1), padding="valid"):
        return self.apply("conv2d_transpose", (g, kernel),
                          {"input_size": tuple(input_size), **_window_params(strides, padding)})

    def conv2d_kernel_grad(self, x, g, kernel_size, strides=(1, 1), padding="valid"):
        return self.apply("conv2d_kernel_grad", (x, g),
                          {"kernel_size": tuple(kernel_size), **_window_params(strides, padding)})

    def max_pool2d(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        return self.apply("max_pool2d", (x,), _pool_params(pool_size, strides, padding))

    def avg_pool2d(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        return self.apply("avg_pool2d", (x,), _pool_params(pool_size, strides, padding))

    def max_pool2d_gather(self, t, x, pool_size=(2, 2), strides=None, padding="valid"):
        return self.apply("max_pool2d_gather", (t, x), _pool_params(pool_size, strides, padding))

    def max_pool2d_scatter(self, g, x, pool_size=(2, 2), strides=None, padding="valid"):
        return self.apply("max_pool2d_scatter", (g, x), _pool_params(pool_size, strides, padding))

    def avg_pool2d_transpose(self, g, input_size, pool_size=(2, 2), strides=None, padding="valid"):
        return self.apply("avg_pool2d_transpose", (g,),
                          {"input_size": tuple(input_size), **_pool_params(pool_size, strides, padding)})


def _window_params(strides, padding):
    strides, padding = window_args(strides, padding)
    return {"strides": strides, "padding": padding}


def _pool_params(pool_size, strides, padding):
    size, strides, padding = pool_args(pool_size, strides, padding)
    return {"pool_size": size, "strides": strides, "padding": padding}


def _unary(name):
    def method(self, x):
        return self.apply(name, (x,), {})
    method.__name__ = name
    return method


def _binary_op(name):
    def method(self, a, b):
        return self.apply(name, (a, b), {})
    method.__name__ = name
    return method


def _reduction(name):
    def method(self, x, axis=None, keepdims=False):
        return self.apply(name, (x,), {"axis": axis, "keepdims": keepdims})
    method.__name__ = name
    return method


for _name, _rule in RULES.items():
    if hasattr(ADNamespace, _name) and _name in ADNamespace.__dict__:
        continue
    if _rule.kind == "reduction":
        setattr(ADNamespace, _name, _reduction(_name))
    elif _rule.kind == "elementwise" and len(_rule.partials) == 1:
        setattr(ADNamespace, _name, _unary(_name))
    elif _rule.kind == "elementwise" and len(_rule.partials) == 2:
        setattr(ADNamespace, _name, _binary_op(_name))

ADNamespace.where = lambda self, c, a, b: self.apply("where", (c, a, b), {})
