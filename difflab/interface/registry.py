"""The method registry: name -> Differentiator class, imported only when asked for.

Built-in methods are listed in :data:`BUILTIN_METHODS` (in :mod:`difflab.interface.method_names`,
which the pytest plugin reads without importing difflab); third-party packages add theirs
through the entry-point group ``difflab.differentiators`` (``name = "pkg.module:Class"``).
Loading a method module is light: frameworks are imported only when a derivative is built.
"""
from __future__ import annotations

import importlib

from ..errors import InputError
from .method_names import ENTRY_POINT_GROUP, BUILTIN_METHODS, entry_point_methods, unknown_method  # noqa: F401 (ENTRY_POINT_GROUP: public)

_extra: dict[str, str] = {}
_classes: dict[str, type] = {}


def register(name: str, target) -> None:
    """Register a method: ``target`` is a Differentiator subclass or a "module:Class" string."""
    if isinstance(target, str):
        _extra[name] = target
    else:
        _classes[name] = target
        _extra[name] = f"{target.__module__}:{target.__qualname__}"


def _table() -> dict[str, str]:
    return {**BUILTIN_METHODS, **entry_point_methods(), **_extra}


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
        raise InputError(unknown_method(name, table))
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
