"""Versions for the JSON documents and the reports, read without importing heavy libraries.

Framework versions come from package metadata (``importlib.metadata``) through each method
class's :meth:`~difflab.Differentiator.version`, so asking never imports PyTorch,
TensorFlow or JAX. :func:`method_infos` is the record ``difflab list`` shows.
"""
from __future__ import annotations

import functools
import importlib.metadata
import platform
from dataclasses import dataclass
from typing import Optional

from ..interface import registry

#: Libraries every report lists, besides the frameworks the registered methods name.
CORE_LIBRARIES = ("numpy", "scipy", "sympy", "mpmath")


@dataclass(frozen=True)
class MethodInfo:
    """One registered method as ``difflab list`` shows it.

    ``family`` and ``library`` are None when the method's module cannot be loaded; then
    ``reason`` says why.
    """

    name: str
    family: Optional[str]
    available: bool
    reason: str
    library: Optional[str]
    version: Optional[str]


def method_info(name: str) -> MethodInfo:
    """Availability and version of one method, without importing its framework."""
    try:
        cls = registry.method_class(name)
    except Exception as exc:  # noqa: BLE001 - a broken or missing plug-in module is a row, not a crash
        return MethodInfo(name, None, False, f"cannot load: {one_line(exc)}", None, None)
    available, reason = cls.availability()
    if cls.library is None:  # difflab's own: the version is difflab's
        from .. import __version__
        return MethodInfo(name, cls.family, bool(available), reason, "difflab", __version__)
    return MethodInfo(name, cls.family, bool(available), reason, cls.library, cls.version())


def method_infos() -> list[MethodInfo]:
    """:func:`method_info` for every registered method, in registry order."""
    return [method_info(name) for name in registry.methods()]


def version_of(distribution: str) -> Optional[str]:
    """Installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def _environment() -> tuple:
    from .. import __version__

    env = {"python": platform.python_version(), "difflab": __version__}
    env.update({lib: version_of(lib) for lib in CORE_LIBRARIES})
    for info in method_infos():
        if info.library and info.library not in env:
            env[info.library] = info.version
    return tuple(env.items())


def environment() -> dict:
    """``{"python": ..., "difflab": ..., "numpy": ..., <each method's library>: version}``.

    A library that is not installed maps to None.
    """
    return dict(_environment())


def one_line(exc: BaseException) -> str:
    """``"TypeError: first line of the message"``."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
