"""The built-in method table and the registered names, with the standard library only.

:mod:`difflab.interface.registry` loads methods from this table; the pytest plugin
(:mod:`difflab.testing.plugin`) reads it to check ``--difflab-methods`` at start-up without
importing NumPy. Keep this module free of imports from difflab or any third-party package.
"""
from __future__ import annotations

import difflib
import importlib.metadata

ENTRY_POINT_GROUP = "difflab.differentiators"

#: Registry name -> "module:Class", in the order reports list methods.
BUILTIN_METHODS = {
    "manual": "difflab.backends.manual:Manual",
    "fd-forward": "difflab.backends.finite_differences:ForwardDifference",
    "fd-central": "difflab.backends.finite_differences:CentralDifference",
    "fd-five-point": "difflab.backends.finite_differences:FivePointDifference",
    "fd-complex": "difflab.backends.finite_differences:ComplexStep",
    "fd-richardson": "difflab.backends.finite_differences:Richardson",
    "fd-numdifftools": "difflab.backends.numdifftools_backend:Numdifftools",
    "fd-scipy": "difflab.backends.scipy_differentiate:ScipyDifferentiate",
    "sympy": "difflab.backends.symbolic:Sympy",
    "pytensor": "difflab.backends.pytensor_backend:Pytensor",
    "casadi": "difflab.backends.casadi_backend:Casadi",
    "forward": "difflab.backends.own_ad:Forward",
    "reverse": "difflab.backends.own_ad:Reverse",
    "autograd": "difflab.backends.autograd_backend:Autograd",
    "tensorflow": "difflab.backends.tensorflow_backend:TensorFlow",
    "torch": "difflab.backends.torch_backend:Torch",
    "jax": "difflab.backends.jax_backend:Jax",
}


def entry_point_methods() -> dict[str, str]:
    """Methods that installed packages register (entry-point group ``difflab.differentiators``)."""
    found = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def unknown_method(name, known) -> str:
    """The message for a method name that is not in ``known``, with the close matches."""
    close = difflib.get_close_matches(str(name), list(known), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"
    return f"unknown method {name!r}{hint}"
