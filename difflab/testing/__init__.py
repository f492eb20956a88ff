"""Gradient checking for test suites: does a derivative agree with the oracle?

>>> import numpy as np, difflab
>>> from difflab.testing import assert_gradients_agree, check_gradient
>>> def f(x):
...     xp = difflab.namespace(x)
...     return xp.sum(xp.sin(x) * x)
>>> report = assert_gradients_agree(f, np.array([0.5, 1.5]), methods=["reverse", "forward"])
>>> report.ok
True
>>> check_gradient(f, lambda x: np.sin(x) + x * np.cos(x), [0.5, 1.5]).ok
True

Everything is compared with ``difflab.reference`` (mpmath at 50 digits), with tolerances
from each method's own error model (:mod:`difflab.testing.tolerance`). The pytest plugin
(:mod:`difflab.testing.plugin`, which imports no NumPy when pytest loads it) gives the same
as a fixture, ``gradcheck``, and loads the checker when a test first uses it.

The names load on first use, so ``import difflab.testing`` costs no more than ``import difflab``.
"""
from __future__ import annotations

import importlib

#: Public name -> submodule that defines it.
_EXPORTS = {
    "assert_gradients_agree": "check", "check_methods": "check", "check_gradient": "check",
    "check_jacobian": "check", "check_hessian": "check", "check_jvp": "check",
    "check_vjp": "check", "KinkWarning": "check",
    "CheckReport": "report", "Row": "report", "MethodOutcome": "report",
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'difflab.testing' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
