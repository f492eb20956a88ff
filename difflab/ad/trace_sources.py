"""Where a function's closed-over arrays live, so a compiled program can read them afresh.

A flat program must not capture a closed-over array by identity: rebinding the name (or the
attribute) must give the new answer. Before tracing, :func:`find_sources` walks what the
function can reach (closure cells, the globals it names, default arguments, the object of a
bound method, and their attributes, dict items and list items, a few levels deep) and
returns, for every NumPy array found, a *path*: a Python expression over a few root objects
that the generated program evaluates at each call to fetch the array.

A path holds only difflab's own text: numbered slots (``_root3``) and fixed attribute names
(``cell_contents``, ``__defaults__``, ``args``, ``keywords``). A dict key is the key object
itself, in a slot (``_root1[_root4]``: no ``repr``, which a key class may override to run
code, or which is not Python for an ``IntEnum``); an attribute name is the name string, in
a slot, read with ``getattr`` (``_getattr(_root0, _root5)``: written as ``obj.name`` Python
would normalise it, NFKC, and ``obj.\ufb01`` would read ``obj.fi``).
"""
from __future__ import annotations

import functools
import types
from collections import deque

import numpy as np

#: How deep and how wide the walk goes: enough for ``model.batch.x`` and closures of closures.
MAX_DEPTH = 4
MAX_OBJECTS = 5000
MAX_ITEMS = 64

_OPAQUE = (types.ModuleType, type, types.BuiltinFunctionType, str, bytes, int, float, complex,
           bool, type(None), np.generic, np.dtype)


class Sources:
    """``paths[id(array)] = code`` and ``roots[name] = object`` that the code refers to."""

    def __init__(self):
        self.paths: dict[int, str] = {}
        self.arrays: dict[int, np.ndarray] = {}  # keeps the arrays alive while tracing
        self.roots: dict[str, object] = {}

    def root(self, obj) -> str:
        name = f"_root{len(self.roots)}"
        self.roots[name] = obj
        return name


def find_sources(fn) -> Sources:
    """Every NumPy array ``fn`` can reach, with the code that fetches it at call time."""
    sources = Sources()
    queue: deque = deque()
    seen: set = set()
    _push_callable(fn, sources, queue, 0)
    visited = 0
    while queue and visited < MAX_OBJECTS:
        obj, code, depth = queue.popleft()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        visited += 1
        if type(obj) is np.ndarray:
            if obj.dtype.kind in "fiub" and id(obj) not in sources.paths:
                sources.paths[id(obj)] = code
                sources.arrays[id(obj)] = obj
            continue
        if depth >= MAX_DEPTH or isinstance(obj, _OPAQUE):
            continue
        if isinstance(obj, (types.FunctionType, types.MethodType)):
            _push_callable(obj, sources, queue, depth + 1)
            continue
        for child, child_code in _children(obj, code, sources):
            queue.append((child, child_code, depth + 1))
    return sources


def _push_callable(fn, sources, queue, depth):
    if isinstance(fn, functools.partial):  # difflab's own wrappers (boundary.guarded) too
        root = sources.root(fn)
        for i, arg in enumerate(fn.args):
            if callable(arg):
                _push_callable(arg, sources, queue, depth)
            else:
                queue.append((arg, f"{root}.args[{i}]", depth))
        for key, value in fn.keywords.items():
            queue.append((value, f"{root}.keywords[{sources.root(key)}]", depth))
        _push_callable(fn.func, sources, queue, depth)
        return
    if isinstance(fn, types.MethodType):
        self_obj = fn.__self__
        queue.append((self_obj, sources.root(self_obj), depth))
        fn = fn.__func__
    inner = getattr(fn, "fn", None)  # a difflab.Function wraps the callable
    if inner is not None and callable(inner) and not isinstance(fn, types.FunctionType):
        _push_callable(inner, sources, queue, depth)
        return
    if not isinstance(fn, types.FunctionType):
        if hasattr(fn, "__dict__"):
            queue.append((fn, sources.root(fn), depth))
        return
    for cell in fn.__closure__ or ():
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        queue.append((contents, f"{sources.root(cell)}.cell_contents", depth))
    names = _global_names(fn.__code__)
    if names:
        g = sources.root(fn.__globals__)
        for name in names:
            if name in fn.__globals__:
                queue.append((fn.__globals__[name], f"{g}[{sources.root(name)}]", depth))
    for i, default in enumerate(fn.__defaults__ or ()):
        queue.append((default, f"{sources.root(fn)}.__defaults__[{i}]", depth))


def _global_names(code) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _children(obj, code, sources):
    if isinstance(obj, dict):
        for i, (k, v) in enumerate(obj.items()):
            if i >= MAX_ITEMS:
                break
            if ((isinstance(k, (str, int)) and not isinstance(k, bool))
                    or getattr(type(k), "__hash__", None) is object.__hash__):  # nets: masks by layer
                yield v, f"{code}[{sources.root(k)}]"  # the key itself, never its repr
        return
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj[:MAX_ITEMS]):
            yield v, f"{code}[{i}]"
        return
    attrs = getattr(obj, "__dict__", None)
    if isinstance(attrs, dict):
        for k, v in list(attrs.items())[:MAX_ITEMS]:
            if type(k) is str:
                yield v, f"_getattr({code}, {sources.root(k)})"
    for cls in type(obj).__mro__:
        slots = getattr(cls, "__slots__", ())
        for k in (slots,) if isinstance(slots, str) else slots:
            if type(k) is str and not k.startswith("__") and hasattr(obj, k):
                yield getattr(obj, k), f"_getattr({code}, {sources.root(k)})"
