"""difflab: compare ways of differentiating a program behind one interface.

>>> import difflab
>>> def rosenbrock(x):
...     xp = difflab.namespace(x)
...     return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
>>> difflab.get("reverse").gradient(rosenbrock)([1.0, 1.0])
array([0., 0.])

``import difflab`` is light: every public name loads on first use (PEP 562), so importing
the package (or the pytest plugin, :mod:`difflab.testing.plugin`) imports no NumPy, and
TensorFlow, PyTorch and JAX load only when a method uses them.
"""
from __future__ import annotations

import importlib

from .errors import InputError, NotSupported, OverBudget

__version__ = "0.1.0"

#: Public name -> (module, attribute, or None for the module itself), loaded on first use.
_LAZY = {
    "namespace": (".namespaces", "namespace"),
    "register_namespace": (".namespaces", "register_namespace"),
    "Function": (".interface.function", "Function"),
    "as_function": (".interface.function", "as_function"),
    "get": (".interface.registry", "get"),
    "methods": (".interface.registry", "methods"),
    "method_class": (".interface.registry", "method_class"),
    "register": (".interface.registry", "register"),
    "Differentiator": (".interface.differentiator", "Differentiator"),
    "Derivative": (".interface.derivative", "Derivative"),
    "KINDS": (".interface.kinds", "KINDS"),
    "OPS": (".namespaces.ops", "OPS"),
    "reference": (".analysis.oracle", "reference"),
    "ravel": (".interface.pytree", "ravel"),
    "compare": (".analysis.comparison", "compare"),
    "trace": (".analysis.evaluation_trace", "trace"),
    "Comparison": (".analysis.comparison", "Comparison"),
    "functions": (".analysis.functions", None),
    "testing": (".testing", None),
    "solvers": (".solvers", None),
}

__all__ = ["namespace", "register_namespace", "NotSupported", "InputError", "OverBudget", "Function",
           "as_function", "get", "methods", "method_class", "register", "Differentiator",
           "Derivative", "KINDS", "OPS", "reference", "ravel", "compare", "trace", "functions", "testing",
           "solvers", "__version__"]


def __getattr__(name):
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        module = importlib.import_module(module_name, __name__)
        value = module if attr is None else getattr(module, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'difflab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
