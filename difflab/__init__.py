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
import importlib.abc
import importlib.util
import sys

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


#: Modules that moved when the flat top level became layered subpackages (0.2): the old path
#: still imports, as the same module object, with a DeprecationWarning naming the new one.
_MOVED = {
    "difflab.arguments": "difflab.interface.arguments",
    "difflab.boundary": "difflab.interface.boundary",
    "difflab.budget": "difflab.interface.budget",
    "difflab.cost": "difflab.interface.cost",
    "difflab.differentiator": "difflab.interface.differentiator",
    "difflab.expression": "difflab.interface.expression",
    "difflab.expression_tokens": "difflab.interface.expression_tokens",
    "difflab.formula": "difflab.interface.formula",
    "difflab.function": "difflab.interface.function",
    "difflab.method_names": "difflab.interface.method_names",
    "difflab.pytree": "difflab.interface.pytree",
    "difflab.registry": "difflab.interface.registry",
    "difflab.snapshot": "difflab.interface.snapshot",
    "difflab.transforms": "difflab.interface.transforms",
    "difflab.ops": "difflab.namespaces.ops",
    "difflab.windows": "difflab.namespaces.windows",
    "difflab.norms": "difflab.namespaces.norms",
    "difflab.precision": "difflab.namespaces.precision",
    "difflab.ad.shaped": "difflab.namespaces.shaped",
    "difflab.comparison": "difflab.analysis.comparison",
    "difflab.oracle": "difflab.analysis.oracle",
    "difflab.timing": "difflab.analysis.timing",
    "difflab.preload": "difflab.analysis.preload",
    "difflab.evaluation_trace": "difflab.analysis.evaluation_trace",
    "difflab.trace_table": "difflab.analysis.trace_table",
    "difflab.functions": "difflab.analysis.functions",
    "difflab.memory": "difflab.analysis.memory",
    "difflab.environment": "difflab.analysis.environment",
    "difflab.testing.kinks": "difflab.analysis.kinks",
    "difflab.display": "difflab.console.display",
    "difflab.table_fit": "difflab.console.table_fit",
    "difflab.quiet": "difflab.console.quiet",
    "difflab.wording": "difflab.console.wording",
    "difflab.wrapping": "difflab.console.wrapping",
    "difflab.report": "difflab.reporting.report",
    "difflab.trace_graph": "difflab.reporting.trace_graph",
}
#: Old paths that stay public without a warning.
_PUBLIC = {"difflab.functions"}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import ``difflab.<old path>`` as the module now at its new path (the same object).

    The import system stamps the old name's spec onto the module it is given; ``exec_module``
    puts the module's own identity back, so ``__name__``, ``__spec__`` and pickling are
    unchanged.
    """

    _IDENTITY = ("__name__", "__spec__", "__loader__", "__package__")

    def __init__(self):
        self._identities = {}  # old name -> the module's own identity, between create and exec

    def find_spec(self, fullname, path=None, target=None):
        if fullname in _MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = _MOVED[spec.name]
        if spec.name not in _PUBLIC:
            import warnings

            warnings.warn(f"{spec.name} moved to {new}; import it from there",
                          DeprecationWarning, stacklevel=3)
        module = importlib.import_module(new)
        self._identities[spec.name] = {key: getattr(module, key) for key in self._IDENTITY}
        return module

    def exec_module(self, module):
        for key, value in self._identities.pop(module.__spec__.name).items():
            setattr(module, key, value)


if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, _MovedModuleFinder())


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
