"""What a new primitive still lacks: the op list (:mod:`difflab.namespaces.ops`) against every namespace
and the rule table (:data:`difflab.ad.rules.RULES`).

Adding a primitive is one row in ``ops`` (its name and, for an elementwise op, its domain),
one row in ``ad/rules.py`` where difflab's engines cannot compose it from other ops, and its
implementation in each namespace that has it natively; :func:`gaps` names what is missing,
and ``tests/test_ops_conformance.py`` fails with those lines.
"""
from __future__ import annotations

import importlib
import importlib.util

from ..namespaces import ops
from ..errors import NotSupported


def own_namespaces() -> dict:
    """name -> namespace of the array types difflab computes with itself (no framework)."""
    from ..ad.forward import FORWARD
    from ..ad.reverse import REVERSE
    from ..ad.tracing import TRACING
    from ..namespaces import COMPLEX_STEP, MPMATH, NUMPY, SYMPY
    from .oracle.namespace import ORACLE

    return {"numpy": NUMPY, "complex-step": COMPLEX_STEP, "mpmath": MPMATH, "sympy": SYMPY,
            "forward": FORWARD, "reverse": REVERSE, "compiled tracing": TRACING, "oracle": ORACLE}


def framework_namespaces() -> dict:
    """name -> namespace of each installed framework (importing it: for tests, not at run time)."""
    from ..namespaces import LAZY_NAMESPACES

    out = {}
    for library, module in LAZY_NAMESPACES.items():
        if module not in out.values() and importlib.util.find_spec(library) is not None:
            out[library] = module
    return {library: importlib.import_module(module).NAMESPACE for library, module in out.items()}


def missing(ns, names=None) -> list:
    """The operations of ``names`` (the op list and the windows' transposes) ``ns`` has no
    implementation of, composed or native."""
    found = []
    for op in names or ops.OPS + ops.WINDOW_TRANSPOSES:
        try:
            target = ns
            for part in op.split("."):  # "linalg.norm"
                target = getattr(target, part)
        except NotSupported:
            found.append(op)
    return found


def _is_traced(ns) -> bool:
    from ..ad.traced import ADNamespace

    return isinstance(ns, ADNamespace)


def gaps(namespaces=None) -> list:
    """One line per place that lacks an op: empty when the op list is covered everywhere."""
    lines = []
    for name, ns in (namespaces if namespaces is not None else own_namespaces()).items():
        lacking = missing(ns)
        if lacking:
            where = ("no row in difflab/ad/rules.py RULES and no composed default in difflab/ops.py"
                     if _is_traced(ns) else f"add it to {type(ns).__module__}")
            lines.append(f"namespace {name} lacks {', '.join(lacking)} ({where})")
    undomained = [op for op in ops.UNARY if ops.UNARY_DOMAINS.get(op) is None]
    if undomained:
        lines.append(f"difflab/ops.py UNARY_DOMAINS has no domain for {', '.join(undomained)}")
    return lines
