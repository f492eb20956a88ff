"""difflab: compare ways of differentiating a program behind one interface.

>>> import difflab
>>> def rosenbrock(x):
...     xp = difflab.namespace(x)
...     return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
>>> difflab.get("reverse").gradient(rosenbrock)([1.0, 1.0])
array([0., 0.])

``import difflab`` is light: TensorFlow, PyTorch and JAX load only when a method uses them.
"""
from __future__ import annotations

import importlib

from .differentiator import KINDS, Derivative, Differentiator
from .errors import InputError, NotSupported
from .function import Function, as_function
from .namespaces import namespace, register_namespace
from .ops import OPS
from .registry import get, method_class, methods, register

__version__ = "0.1.0"

__all__ = ["namespace", "register_namespace", "NotSupported", "InputError", "Function",
           "as_function", "get", "methods", "method_class", "register", "Differentiator",
           "Derivative", "KINDS", "OPS", "reference", "compare", "functions", "testing",
           "solvers", "__version__"]

#: Lazily loaded attributes: name -> (module, attribute or None for the module itself).
_LAZY = {
    "reference": (".oracle", "reference"),
    "compare": (".comparison", "compare"),
    "Comparison": (".comparison", "Comparison"),
    "functions": (".functions", None),
    "testing": (".testing", None),
    "solvers": (".solvers", None),
}


def __getattr__(name):
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        module = importlib.import_module(module_name, __name__)
        value = module if attr is None else getattr(module, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'difflab' has no attribute {name!r}")
