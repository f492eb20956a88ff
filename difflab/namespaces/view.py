"""The framework tensors user code sees while a framework method evaluates it: NumPy's
indexing and array methods over the framework's own tensor.

A TensorFlow tensor has no ``x.sum()`` and reads ``x[[0, 1]]`` as ``x[0, 1]``; a torch
tensor refuses ``x[::-1]`` and its ``x.max(axis=0)`` is a pair; a JAX array refuses
``x[[0, 1]]``. What ``x[...]`` and ``x.sum()`` mean is decided by the framework's classes, and
patching those process-wide would change them for every other thread and for the user's own
code. Instead the framework methods call the function with each input as an
:class:`ArrayView` (:func:`call_viewed`): its operators are the tensor's own, its indexing
and methods are the namespace's ops (NumPy's meaning), and while the function runs the
namespace's ops hand back views too. The function's output is unwrapped before the framework
sees it, so a view never leaves the evaluation.
"""
from __future__ import annotations

import contextvars
import functools
import inspect
import operator

import numpy as np

from .shaped import Shaped
from .array_methods import ArrayMethods

#: True while a framework method evaluates user code in this thread (or task).
VIEWING = contextvars.ContextVar("difflab_viewing", default=False)


def unview(a):
    """``a`` with every view (in tuples, lists and dicts too) replaced by its tensor."""
    t = type(a)
    if isinstance(a, ArrayView):
        return a.raw
    if t is tuple or t is list:
        return t(unview(i) for i in a)
    if t is dict:
        return {k: unview(v) for k, v in a.items()}
    return a


def _reflect(op):
    return lambda a, b: op(b, a)


# the reflected operators, made once (not a new lambda on every ``1.0 - x``)
_RADD, _RSUB, _RMUL = _reflect(operator.add), _reflect(operator.sub), _reflect(operator.mul)
_RTRUEDIV, _RPOW = _reflect(operator.truediv), _reflect(operator.pow)


class ArrayView(Shaped, ArrayMethods):
    """A framework tensor with NumPy's indexing and array methods (see the module docstring).

    Attributes the view does not define (``.numpy()``, ``.detach()``, ``.device``) are the
    tensor's own.
    """

    __slots__ = ("raw", "namespace")
    __array_ufunc__ = None  # NumPy defers: ndarray * view -> view.__rmul__
    __array_priority__ = 1000
    #: Not a value difflab's engines trace: ``difflab.namespace`` asks every argument for its
    #: level, and without this the question went to the tensor and failed with an
    #: AttributeError, 8 us on every ``difflab.namespace(x)`` inside the function.
    _level = None

    def __init__(self, raw, namespace):
        self.raw = raw
        self.namespace = namespace

    @property
    def shape(self):
        return tuple(self.namespace.shape(self.raw))

    @property
    def dtype(self):
        return self.raw.dtype

    def _op(self, op, other):
        # runs on every operator in user code: unview and view inlined for the common cases
        t = type(other)
        if t is not float and t is not int:
            other = other.raw if isinstance(other, ArrayView) else unview(other)
        out = op(self.raw, other)
        ns = self.namespace
        return ns.view_type(out, ns) if ns.is_raw(out) else out

    def __add__(self, o):      return self._op(operator.add, o)
    def __radd__(self, o):     return self._op(_RADD, o)
    def __sub__(self, o):      return self._op(operator.sub, o)
    def __rsub__(self, o):     return self._op(_RSUB, o)
    def __mul__(self, o):      return self._op(operator.mul, o)
    def __rmul__(self, o):     return self._op(_RMUL, o)
    def __truediv__(self, o):  return self._op(operator.truediv, o)
    def __rtruediv__(self, o): return self._op(_RTRUEDIV, o)
    def __pow__(self, o):      return self._op(operator.pow, o)
    def __rpow__(self, o):     return self._op(_RPOW, o)
    def __lt__(self, o):       return self._op(operator.lt, o)
    def __le__(self, o):       return self._op(operator.le, o)
    def __gt__(self, o):       return self._op(operator.gt, o)
    def __ge__(self, o):       return self._op(operator.ge, o)
    def __eq__(self, o):       return self._op(operator.eq, o)
    def __ne__(self, o):       return self._op(operator.ne, o)
    def __and__(self, o):      return self._op(operator.and_, o)
    def __or__(self, o):       return self._op(operator.or_, o)
    def __invert__(self):      return self.namespace.view(~self.raw)
    def __neg__(self):         return self.namespace.view(-self.raw)
    def __pos__(self):         return self
    def __abs__(self):         return self.namespace.abs(self)
    __hash__ = object.__hash__

    # NumPy's matmul (vectors included), which TensorFlow's ``@`` is not.
    def __matmul__(self, o):   return self.namespace.matmul(self, o)
    def __rmatmul__(self, o):  return self.namespace.matmul(o, self)

    def __getitem__(self, index):
        return self.namespace.getitem(self, index)

    def __bool__(self):  return bool(self.raw)
    def __float__(self): return float(self.raw)
    def __int__(self):   return int(self.raw)
    def __index__(self): return operator.index(self.raw)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.raw, dtype=dtype)

    def __getattr__(self, name):
        if name in ArrayView.__slots__:  # not set yet (copying, unpickling)
            raise AttributeError(name)
        return getattr(self.raw, name)

    def __repr__(self):
        return f"ArrayView({self.raw!r})"


def call_viewed(namespace, fn, *args):
    """``fn(*args)`` with framework tensors as views and the namespace handing back views;
    the output with its views unwrapped."""
    token = VIEWING.set(True)
    try:
        return unview(fn(*(namespace.view(a) for a in args)))
    finally:
        VIEWING.reset(token)


def viewed(namespace, fn):
    """``fn`` as :func:`call_viewed` calls it."""
    return functools.partial(call_viewed, namespace, fn)


class Viewing:
    """Mixin of the framework namespaces: ``view``, and every public op made to take views
    and, while :data:`VIEWING`, to give views back (see :func:`viewing`)."""

    #: The view class for this framework's tensors (a subclass may add the framework's
    #: conversion protocol).
    view_type = ArrayView

    def is_raw(self, x) -> bool:
        """Whether ``x`` is this framework's tensor."""
        raise NotImplementedError

    def view(self, x):
        return self.view_type(x, self) if self.is_raw(x) else x

    def _view_out(self, out):
        t = type(out)
        if t is tuple or t is list:
            return t(self._view_out(o) for o in out)
        return self.view(out)


#: Public names of a namespace that are not ops.
_NOT_OPS = {"view", "is_raw", "view_type", "name"}


def viewing(cls):
    """Make each public op of a framework namespace (a :class:`Viewing`) unwrap views among
    its arguments and, while :data:`VIEWING`, wrap the tensors it returns; inside the op
    (its calls to other ops) everything is a plain tensor."""
    for name in dir(cls):
        if name.startswith("_") or name in _NOT_OPS:
            continue
        attr = inspect.getattr_static(cls, name)
        if isinstance(attr, staticmethod):
            setattr(cls, name, _viewing_method(_as_method(attr.__func__)))
        elif inspect.isfunction(attr):
            setattr(cls, name, _viewing_method(attr))
    return cls


def _as_method(fn):
    @functools.wraps(fn)
    def op(self, *args, **kwargs):
        return fn(*args, **kwargs)
    return op


def _unview_args(args):
    """``unview`` of an argument tuple, which is the tuple itself when it holds no view."""
    for a in args:
        if isinstance(a, _HOLDERS):
            return tuple([unview(a) for a in args])
    return args


_HOLDERS = (ArrayView, tuple, list, dict)


def _viewing_method(fn):
    @functools.wraps(fn)
    def op(self, *args, **kwargs):
        args = _unview_args(args)
        if kwargs:
            kwargs = {k: unview(v) for k, v in kwargs.items()}
        if not VIEWING.get():
            return fn(self, *args, **kwargs)
        token = VIEWING.set(False)  # the op's own calls to other ops see tensors
        try:
            out = fn(self, *args, **kwargs)
        finally:
            VIEWING.reset(token)
        return self._view_out(out)
    return op
