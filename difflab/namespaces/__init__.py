"""``difflab.namespace(*arrays)``: the array namespace for whatever the arrays are.

Detection is by type and never imports a framework: a torch tensor is recognised by its
module name, and only then is difflab's torch namespace (and torch, already loaded by the
caller) imported. Third-party array types register with :func:`register_namespace`.
"""
from __future__ import annotations

import contextlib
import importlib
import threading

import numpy as np

from .numpy_ns import COMPLEX_STEP, NUMPY
from .object_ns import MPMATH, SYMPY
from .view import ArrayView

__all__ = ["namespace", "register_namespace", "NUMPY", "COMPLEX_STEP", "MPMATH", "SYMPY"]

#: Top-level module of an array type -> module holding its difflab namespace as ``NAMESPACE``.
LAZY_NAMESPACES = {
    "torch": "difflab.namespaces.torch_ns",
    "tensorflow": "difflab.namespaces.tensorflow_ns",
    "keras": "difflab.namespaces.tensorflow_ns",
    "jax": "difflab.namespaces.jax_ns",
    "jaxlib": "difflab.namespaces.jax_ns",
    "autograd": "difflab.namespaces.autograd_ns",
    "pytensor": "difflab.namespaces.pytensor_ns",
    "casadi": "difflab.namespaces.casadi_ns",
}

_registered: list[tuple[type, object]] = []
#: Per thread: the namespace of object arrays of numbers while a computation over its own
#: scalar type runs (the oracle's jets), see :func:`object_arrays`.
_object_arrays = threading.local()


def register_namespace(array_type: type, ns) -> None:
    """Make ``namespace(x)`` return ``ns`` for instances of ``array_type``."""
    _registered.append((array_type, ns))


def namespace(*arrays):
    """Return the namespace that computes with ``arrays``.

    Traced values (difflab's duals and tape nodes) win over plain ones, and among them the
    innermost trace (highest level) wins, so nested differentiation composes. Pytrees (dicts,
    lists, tuples, namedtuples) are looked through: ``namespace(params)`` with a dict of
    tensors is the tensors' namespace.
    """
    found = [None, -1, None]  # best traced value, its level, the plain namespace
    _scan(arrays, found)
    best, _, plain = found
    if best is not None:
        return best.namespace
    return plain if plain is not None else NUMPY


def _scan(arrays, found) -> None:
    """Fold ``arrays`` (and the leaves of any containers among them) into ``found``."""
    for a in arrays:
        t = type(a)
        if t is np.ndarray:  # the common case first: this runs on every traced operation
            plain = found[2]
            if plain is None or plain is NUMPY:
                kind = a.dtype.kind
                found[2] = NUMPY if kind in "fiub" else _plain_namespace(a)
            continue
        if t is float or t is int:
            continue
        level = getattr(a, "_level", None)
        if level is not None:
            if level > found[1]:
                found[0], found[1] = a, level
        elif isinstance(a, (dict, list, tuple)):
            _scan(a.values() if isinstance(a, dict) else a, found)
        elif found[2] is None or found[2] is NUMPY:
            found[2] = _plain_namespace(a)


def _plain_namespace(a):
    t = type(a)
    if isinstance(a, np.ndarray):  # subclasses too (the casadi method's object arrays)
        kind = a.dtype.kind
        if kind == "c":
            return COMPLEX_STEP
        if kind == "O":
            return _object_namespace(a)
        return NUMPY
    if t is float or t is int or t is bool or isinstance(a, (np.floating, np.integer, np.bool_)):
        return NUMPY
    if isinstance(a, (complex, np.complexfloating)):
        return COMPLEX_STEP
    if isinstance(a, ArrayView):  # a framework tensor as a framework method shows it
        return a.namespace
    root = t.__module__.split(".", 1)[0]
    if root in LAZY_NAMESPACES:
        return importlib.import_module(LAZY_NAMESPACES[root]).NAMESPACE
    if root == "mpmath":
        return MPMATH
    if root == "sympy":
        return SYMPY
    for array_type, ns in _registered:
        if isinstance(a, array_type):
            return ns
    return NUMPY


@contextlib.contextmanager
def object_arrays(ns):
    """Within the block (in this thread), object arrays that are not SymPy's belong to ``ns``.

    The oracle runs the user's function on object arrays that mix its jets with plain
    mpmath numbers; which entry comes first must not decide the namespace.
    """
    previous = getattr(_object_arrays, "ns", None)
    _object_arrays.ns = ns
    try:
        yield
    finally:
        _object_arrays.ns = previous


def _object_namespace(a: np.ndarray):
    override = getattr(_object_arrays, "ns", None)
    for item in a.flat:
        root = type(item).__module__.split(".", 1)[0]
        if root == "sympy":
            return SYMPY
        if root == "casadi":
            return importlib.import_module(LAZY_NAMESPACES[root]).NAMESPACE
        if override is not None:
            return override
        if root == "mpmath":
            return MPMATH
    return override or MPMATH
