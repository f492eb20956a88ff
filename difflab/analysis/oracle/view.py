"""The oracle's values as the user's function sees them: views whose array methods are the
oracle's ops.

The oracle computes on NumPy object arrays of jets. On such an array ``y.max()``,
``y.min(axis=0)`` and ``np.maximum(y, c)`` are NumPy's own: the first maximum by Python
comparison, so at a tie the whole derivative went to one entry while ``xp.max(y)`` (the
oracle's op) and every engine split it evenly. As the framework and ``sympy`` methods do
(:mod:`difflab.namespaces.view`), the oracle calls the function with each input as an
:class:`OracleView`: its operators are the object array's (NumPy's algebra on jets), its
indexing and array methods are the namespace's ops, and NumPy's functions whose meaning at
a kink is a convention (``np.max(y)``, ``np.maximum``, ``np.clip``, ``np.abs``:
:data:`CONVENTIONS`) are the namespace's op where the call fits that op's signature. Every
other NumPy function is NumPy's own on the object array, as before the views (so a function
written with ``np.sin`` is still refused: the oracle runs functions written against
``difflab.namespace``). No NumPy class is changed, so other threads and the user's other
code keep NumPy's meaning.
"""
from __future__ import annotations

import functools
import inspect

from ...namespaces.view import VIEWING, ArrayView, unview

#: NumPy's functions (ufuncs and array functions) whose meaning at a kink is a convention ->
#: the namespace's op. On an object array NumPy takes the first maximum (``max``,
#: ``maximum``); the oracle splits ties. ``clip`` and ``absolute`` agree with the ops already
#: and are listed so that they keep to the oracle's conventions by construction.
CONVENTIONS = {"max": "max", "amax": "max", "min": "min", "amin": "min",
               "maximum": "maximum", "minimum": "minimum", "clip": "clip", "absolute": "abs"}


class OracleView(ArrayView):
    """An object array of jets (or one jet) with the oracle's array methods."""

    __slots__ = ()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__":
            op = _op(self.namespace, ufunc.__name__, inputs, kwargs)
            if op is not None:
                return op(*inputs, **kwargs)
        return self._numpy(getattr(ufunc, method), inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        op = _op(self.namespace, func.__name__, args, kwargs)
        if op is not None:
            return op(*args, **kwargs)
        return self._numpy(func, args, kwargs)

    def _numpy(self, func, args, kwargs):
        """NumPy's own function on the object arrays (its algebra on jets), viewed back."""
        out = func(*unview(args), **unview(kwargs))
        return self.namespace._view_out(out) if VIEWING.get() else out

    def __getattr__(self, name):
        # the object array's other methods (``y.copy()``, ``y.squeeze()``): their results are
        # views too, so ``y.copy().max()`` is still the oracle's max
        attr = ArrayView.__getattr__(self, name)
        if not VIEWING.get():
            return attr
        if callable(attr):
            return functools.partial(self._numpy_call, attr)
        return self.namespace._view_out(attr)

    def _numpy_call(self, func, *args, **kwargs):
        return self._numpy(func, args, kwargs)

    def __repr__(self):
        # cheap on purpose: mpmath formats an operand it cannot convert (mpf * view)
        return f"<oracle view, shape {self.shape}>"


def _op(ns, name, args, kwargs):
    """The namespace's op for NumPy's function ``name`` (one of :data:`CONVENTIONS`) if this
    call binds to it (``np.max(y, axis=0)``, not ``np.max(y, out=...)``), else None."""
    op = CONVENTIONS.get(name)
    signature = None if op is None else _signature(type(ns), op)
    if signature is None:
        return None
    try:
        signature.bind(ns, *args, **kwargs)
    except TypeError:
        return None
    return getattr(ns, op)


@functools.cache
def _signature(cls, name):
    """The signature of the public op ``name`` of a namespace class (None if it has none)."""
    if name.startswith("_"):
        return None
    attr = inspect.getattr_static(cls, name, None)
    if not inspect.isfunction(attr):
        return None
    signature = inspect.signature(attr)  # the op's own, through the viewing wrapper
    first = next(iter(signature.parameters), None)
    return signature if first == "self" else None  # (a wrapped staticmethod: not matched)
