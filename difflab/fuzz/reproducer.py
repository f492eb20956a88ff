"""A finding as something to paste: a one-line Python program, and a difflab expression.

The Python line builds the program as a lambda over ``difflab.namespace(x)`` and prints the
method's answer minus the oracle's, so whoever runs it sees the disagreement at once.
"""
from __future__ import annotations

from . import program
from .generate import Case
from .run import VARIANTS


def _array(values) -> str:
    return f"np.array([{', '.join(repr(float(v)) for v in values)}])"


def method_call(label: str) -> str:
    """``difflab.get("reverse", jit=True)`` for a method label."""
    name, options = VARIANTS.get(label, (label, {}))
    extra = "".join(f", {k}={v!r}" for k, v in options.items())
    return f"difflab.get({name!r}{extra})"


def python_line(case: Case, label: str, kind: str) -> str:
    """One line of Python printing ``method - oracle`` for this case and kind."""
    body = program.python_source(case.tree)
    head = (f"import difflab, numpy as np; f = lambda x: (lambda xp: {body})(difflab.namespace(x)); "
            f"x = {_array(case.x)}")
    v, u = _array(case.v), _array(case.u) if case.outputs > 1 else repr(float(case.u[0]))
    call, ref = {
        "gradient": ("gradient(f)(x)", 'difflab.reference(f, x, "gradient")'),
        "jacobian": ("jacobian(f)(x)", 'difflab.reference(f, x, "jacobian")'),
        "hessian": ("hessian(f)(x)", 'difflab.reference(f, x, "hessian")'),
        "jvp": (f"jvp(f)(x, {v})", f'difflab.reference(f, x, "jacobian") @ {v}'),
        "vjp": (f"vjp(f)(x, np.array({u}))", f'np.array({u}) @ difflab.reference(f, x, "jacobian")'),
        "hvp": (f"hvp(f)(x, {v})", f'difflab.reference(f, x, "hvp", vector={v})'),
    }[kind]
    return f"{head}; print({method_call(label)}.{call} - {ref})"


def expression(case: Case) -> str | None:
    """The program in difflab's expression grammar, or None where it cannot be written so."""
    return program.expression_text(case.tree)


def compare_line(case: Case, label: str, kind: str) -> str | None:
    """``difflab compare 'EXPR' --at ...`` where the program is an expression and the kind and
    method are ones compare takes; None otherwise."""
    text = expression(case)
    if text is None or label in VARIANTS or kind not in ("gradient", "jacobian", "hessian"):
        return None
    used = program.variables(case.tree)
    at = ",".join(repr(case.x[i]) for i in used)
    return f"difflab compare '{text}' --at {at} --derivative {kind} --methods {label}"
