"""Has the data a function closes over changed since a method prepared its derivative?

``sympy`` traces a function once per input size and ``jit=True`` of jax and tensorflow
compile it once: the NumPy arrays and numbers the function reads from its closure, its
module's globals, its defaults or a bound ``self`` become constants of the expression or
graph. Changed afterwards (``a[0] = 2``, ``a = other``, ``model.w = ...``), they would
silently give the old derivative. A :class:`ClosureSnapshot`, taken when such a method
prepares, records what the function reaches; :class:`difflab.Derivative` asks
:meth:`ClosureSnapshot.changed` before each call and prepares again when it says yes.

What is followed: closure cells, the globals a function's code names (and its nested
lambdas' and comprehensions'), defaults, bound methods' ``self``, ``functools.partial``,
user objects' ``__dict__``, the attributes the code names on user classes and modules,
lists, tuples and dicts, and the functions (and methods) reached through them;
never into library code (NumPy, SciPy, SymPy, the frameworks, difflab itself, the standard
library). What is compared: arrays bit for bit against a copy (NaN equals NaN, 0.0 differs
from -0.0; about 40 us per 100 000 float64), numbers by value, everything else by identity.
A reach too large to record (more than :data:`MAX_CHECKS` things, or nested deeper than
:data:`MAX_DEPTH` levels) counts as changed on every call: slower, never stale.
"""
from __future__ import annotations

import functools
import sys
import types

import numpy as np

from ..namespaces import LAZY_NAMESPACES

#: Top-level packages whose objects are library code, followed no further: the frameworks
#: (those difflab.namespace knows), the scalar libraries, difflab and the standard library.
LIBRARIES = (frozenset({"numpy", "scipy", "sympy", "mpmath", "difflab", "builtins"})
             | frozenset(LAZY_NAMESPACES) | frozenset(sys.stdlib_module_names))
#: Values compared by value rather than identity (a rebound equal number is no change).
SCALARS = (int, float, complex, bool, str, bytes, type(None), np.number, np.bool_)
#: How deep references are followed from the function, and how many things are recorded;
#: a reach beyond either is not skipped but counts as changed on every call (never stale).
MAX_DEPTH = 64
MAX_CHECKS = 10_000

_MISSING = object()
_PLAIN_NUMBERS = frozenset({int, float, complex, bool})
#: Arrays up to this size are compared as bytes; larger ones as integers against a copy.
SMALL_ARRAY_BYTES = 64 * 1024
#: Item size -> unsigned integer type of that size, for bitwise comparison of arrays.
_BITS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def freezes_closure(differentiator) -> bool:
    """Does this method keep the closed-over data of its preparation (trace, compile)?"""
    return bool(getattr(differentiator, "freezes_closure", False))


def closure_snapshot(differentiator, function):
    """A :class:`ClosureSnapshot` of ``function`` for a method that freezes data, else None."""
    return ClosureSnapshot(function) if freezes_closure(differentiator) else None


class ClosureSnapshot:
    """The arrays, numbers and bindings a function reaches, as they are now.

    Parameters
    ----------
    fn : callable or difflab.Function
    """

    def __init__(self, fn):
        self._checks: list = []
        self._seen: set = set()
        self._too_large = False
        target = fn.fn if _is_difflab_function(fn) else fn
        if not isinstance(target, (types.FunctionType, types.MethodType, functools.partial)):
            call = getattr(target, "__call__", None)  # noqa: B004 - the bound method itself: a callable object: its __call__ and self
            target = call if isinstance(call, types.MethodType) else target
        self._visit(target, 0, ())
        del self._seen

    def changed(self) -> bool:
        """True when anything recorded differs now (or too much was reachable to record)."""
        if self._too_large:
            return True
        for check in self._checks:
            if not check[0](*check[1:]):
                return True
        return False

    # ------------------------------------------------------------------ recording
    def _add(self, *check):
        if len(self._checks) >= MAX_CHECKS:
            self._too_large = True
            return
        self._checks.append(check)

    def _visit(self, obj, depth, names):
        """Record what can change inside ``obj``; ``names``: attribute names the code uses."""
        if self._too_large or isinstance(obj, SCALARS):
            return
        if depth > MAX_DEPTH:  # data nested deeper than followed: watched by re-preparing
            if isinstance(obj, (np.ndarray, list, tuple, dict)) or not _is_library(obj):
                self._too_large = True
            return
        # a class or module is read for the names of the code that reached it, maybe several
        key = (id(obj), names) if isinstance(obj, (type, types.ModuleType)) else id(obj)
        if key in self._seen:
            return
        self._seen.add(key)
        if isinstance(obj, np.ndarray):
            self._add(*_array_check(obj))
        elif isinstance(obj, types.FunctionType):
            if not _is_library(obj):
                self._visit_function(obj, depth)
        elif isinstance(obj, types.MethodType):
            code = getattr(obj.__func__, "__code__", None)
            own = _global_names(code) if code is not None else names  # self.w: "w" in the code
            self._visit(obj.__func__, depth + 1, own)
            self._visit(obj.__self__, depth + 1, own)
        elif isinstance(obj, functools.partial):
            self._visit(obj.func, depth + 1, names)
            self._visit(obj.args, depth + 1, names)
            self._visit_mapping(obj.keywords, depth, names)
        elif _is_difflab_function(obj):
            self._add(_same_item, vars(obj), "fn", obj.fn)
            self._visit(obj.fn, depth + 1, names)
        elif isinstance(obj, tuple):
            for item in obj:
                self._visit(item, depth + 1, names)
        elif isinstance(obj, list):
            if all(type(item) in _PLAIN_NUMBERS for item in obj):  # data as a list: compared in C
                self._add(_same_numbers, obj, list(obj))
                return
            self._add(_same_sequence, obj, list(obj))
            for item in obj:
                self._visit(item, depth + 1, names)
        elif isinstance(obj, dict):
            self._visit_mapping(obj, depth, names)
        elif isinstance(obj, (types.ModuleType, type)):
            if not _is_library(obj):  # a user's module or class: the attributes the code names
                self._visit_names(vars(obj), depth, names)
        elif not _is_library(obj) and isinstance(getattr(obj, "__dict__", None), dict):
            self._visit_mapping(obj.__dict__, depth, names)
            self._visit(type(obj), depth + 1, names)  # class attributes and methods it names
        # anything else (library objects, classes, slots-only objects): identity, via its parent

    def _visit_names(self, namespace, depth, names):
        for name in names:
            value = namespace.get(name, _MISSING)
            if value is not _MISSING:
                self._add(_same_item, namespace, name, value)
                self._visit(value, depth + 1, names)

    def _visit_mapping(self, mapping, depth, names):
        self._add(_same_mapping, mapping, dict(mapping))
        for value in mapping.values():
            self._visit(value, depth + 1, names)

    def _visit_function(self, fn, depth):
        code = fn.__code__
        names = _global_names(code)
        self._add(_same_attribute, fn, "__defaults__", fn.__defaults__)
        self._visit(fn.__defaults__, depth + 1, names)
        if fn.__kwdefaults__:
            self._visit_mapping(fn.__kwdefaults__, depth, names)
        for cell in fn.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell (a name assigned later in the outer function)
                value = _MISSING
            self._add(_same_cell, cell, value)
            self._visit(value, depth + 1, names)
        self._visit_names(fn.__globals__, depth, names)


# ---------------------------------------------------------------------- the checks
def _same(now, then) -> bool:
    return now is then or (type(now) is type(then) and isinstance(then, SCALARS) and now == then)


def _same_cell(cell, then):
    try:
        return _same(cell.cell_contents, then)
    except ValueError:
        return then is _MISSING


def _same_item(mapping, key, then):
    return _same(mapping.get(key, _MISSING), then)


def _same_attribute(obj, name, then):
    return getattr(obj, name, _MISSING) is then


def _same_sequence(items, then):
    return len(items) == len(then) and all(map(_same, items, then))


def _same_numbers(items, then):
    try:
        return items == then
    except (TypeError, ValueError):  # an array put where a number was
        return False


def _same_mapping(mapping, then):
    if len(mapping) != len(then):
        return False
    get = mapping.get
    return all(_same(get(key, _MISSING), value) for key, value in then.items())


def _array_check(array) -> tuple:
    """A check that ``array`` still holds these bits: NaN equals NaN, 0.0 differs from -0.0.

    Small arrays compare as bytes (``tobytes``: about 0.1 us for 10 elements); large ones as
    unsigned integers of the item's size against a copy (about memory speed, 40 us per 800 KB).
    """
    if array.dtype.hasobject:
        return _same_objects, array, array.copy()
    if array.nbytes <= SMALL_ARRAY_BYTES:
        return _same_small_array, array, array.shape, array.dtype, array.tobytes()
    bits = _BITS.get(array.dtype.itemsize, np.uint8)
    return _same_large_array, array, array.shape, array.dtype, np.ascontiguousarray(array).copy().view(bits)


def _same_objects(array, then):
    return array.shape == then.shape and all(map(_same, array.flat, then.flat))


def _same_small_array(array, shape, dtype, data):
    return array.shape == shape and array.dtype == dtype and array.tobytes() == data


def _same_large_array(array, shape, dtype, then):
    if array.shape != shape or array.dtype != dtype:
        return False
    now = array if array.flags.c_contiguous else np.ascontiguousarray(array)
    return bool((now.view(then.dtype) == then).all())


# ---------------------------------------------------------------------- helpers
@functools.lru_cache(maxsize=1024)
def _global_names(code) -> tuple:
    """Names the code (and code nested in it: lambdas, comprehensions) looks up."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.update(_global_names(const))
    return tuple(sorted(names))


def _is_library(obj) -> bool:
    module = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None)
    if not isinstance(module, str):  # a function made by exec, an object without __module__
        if isinstance(obj, types.FunctionType):
            return False
        module = type(obj).__module__
    return module.partition(".")[0] in LIBRARIES


def _is_difflab_function(obj) -> bool:
    from .function import Function

    return isinstance(obj, Function)
