"""The method registry: name -> Differentiator class, imported only when asked for.

Built-in methods are listed in :data:`BUILTIN_METHODS`; third-party packages add theirs
through the entry-point group ``difflab.differentiators`` (``name = "pkg.module:Class"``).
Loading a method module is light: frameworks are imported only when a derivative is built.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.metadata

from .errors import InputError

ENTRY_POINT_GROUP = "difflab.differentiators"

#: Registry name -> "module:Class", in the order reports list methods.
BUILTIN_METHODS = {
    "manual": "difflab.backends.manual:Manual",
    "fd-forward": "difflab.backends.finite_differences:ForwardDifference",
    "fd-central": "difflab.backends.finite_differences:CentralDifference",
    "fd-five-point": "difflab.backends.finite_differences:FivePointDifference",
    "fd-complex": "difflab.backends.finite_differences:ComplexStep",
    "fd-richardson": "difflab.backends.finite_differences:Richardson",
    "sympy": "difflab.backends.symbolic:Sympy",
    "forward": "difflab.backends.own_ad:Forward",
    "reverse": "difflab.backends.own_ad:Reverse",
    "autograd": "difflab.backends.autograd_backend:Autograd",
    "tensorflow": "difflab.backends.tensorflow_backend:TensorFlow",
    "torch": "difflab.backends.torch_backend:Torch",
    "jax": "difflab.backends.jax_backend:Jax",
}

_extra: dict[str, str] = {}
_classes: dict[str, type] = {}


def register(name: str, target) -> None:
    """Register a method: ``target`` is a Differentiator subclass or a "module:Class" string."""
    if isinstance(target, str):
        _extra[name] = target
    else:
        _classes[name] = target
        _extra[name] = f"{target.__module__}:{target.__qualname__}"


def _entry_points() -> dict[str, str]:
    found = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def _table() -> dict[str, str]:
    return {**BUILTIN_METHODS, **_entry_points(), **_extra}


def methods() -> list[str]:
    """Every registered method name, built-ins first."""
    return list(_table())


def method_class(name: str) -> type:
    """The Differentiator class registered as ``name``."""
    cls = _classes.get(name)
    if cls is not None:
        return cls
    table = _table()
    if name not in table:
        close = difflib.get_close_matches(str(name), table, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(table)}"
        raise InputError(f"unknown method {name!r}{hint}")
    module, _, attr = table[name].partition(":")
    cls = getattr(importlib.import_module(module), attr)
    _classes[name] = cls
    return cls


def get(name: str, **options):
    """A Differentiator by registry name: ``difflab.get("fd-central", step=1e-6)``."""
    return method_class(name)(**options)


def exact_methods(available_only: bool = True) -> list[str]:
    """Names of methods whose errors are rounding only (AD and symbolic)."""
    out = []
    for name in methods():
        try:
            cls = method_class(name)
        except ImportError:  # a broken third-party registration is not an exact method
            continue
        if cls.exact and cls.family in ("automatic", "symbolic") and (not available_only or cls.available()):
            out.append(name)
    return out
