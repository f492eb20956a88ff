"""Turn a SymPy-parsable string into a function over any difflab namespace."""
from __future__ import annotations

import operator
from functools import reduce

from .errors import InputError

#: SymPy function class name -> difflab namespace op.
SYMPY_TO_OP = {
    "sin": "sin", "cos": "cos", "tan": "tan", "asin": "arcsin", "acos": "arccos",
    "atan": "arctan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "exp": "exp",
    "log": "log", "Abs": "abs", "Max": "maximum", "Min": "minimum",
}


def compile_expression(text: str):
    """Parse ``text``; return ``(fn, symbols, expr)`` with ``fn(x)`` evaluating it at ``x``."""
    import sympy
    from sympy.parsing.sympy_parser import (convert_xor, implicit_multiplication_application,
                                            parse_expr, standard_transformations)

    if not isinstance(text, str) or not text.strip():
        raise InputError("empty expression")
    transformations = standard_transformations + (convert_xor, implicit_multiplication_application)
    try:
        expr = parse_expr(text, transformations=transformations, evaluate=True)
    except Exception as exc:  # SymPy raises many kinds here
        raise InputError(f"cannot parse expression {text!r}: {_parse_problem(text, exc)}") from None
    if not isinstance(expr, sympy.Expr):
        raise InputError(f"{text!r} is not an expression")
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    if not symbols:
        raise InputError(f"expression {text!r} has no variables")
    index = {s: i for i, s in enumerate(symbols)}
    evaluate = _compile(expr, index)

    def fn(x):
        return evaluate(x)

    fn.__name__ = "expression"
    return fn, symbols, expr


def _compile(expr, index):
    """A closure tree evaluating ``expr`` with namespace ops; built once, called per point."""
    import sympy

    if expr in index:
        i = index[expr]
        return lambda x: x[i]
    if expr.is_Number or expr in (sympy.pi, sympy.E):
        value = float(expr)
        return lambda x: value
    children = [_compile(a, index) for a in expr.args]
    if isinstance(expr, sympy.Add):
        return lambda x: reduce(operator.add, [c(x) for c in children])
    if isinstance(expr, sympy.Mul):
        return lambda x: reduce(operator.mul, [c(x) for c in children])
    if isinstance(expr, sympy.Pow):
        base, power = children
        if expr.exp == sympy.Rational(1, 2):
            return lambda x: _call("sqrt", base(x))
        return lambda x: base(x) ** power(x)
    op = SYMPY_TO_OP.get(type(expr).__name__)
    if op is None:
        raise InputError(f"unsupported function {type(expr).__name__} in expression; "
                         f"supported: {', '.join(sorted(SYMPY_TO_OP))}")
    if op in ("maximum", "minimum") and len(children) > 2:
        return lambda x: reduce(lambda a, b: _call(op, a, b), [c(x) for c in children])
    return lambda x: _call(op, *[c(x) for c in children])


def _call(op, *args):
    from .namespaces import namespace

    return getattr(namespace(*args), op)(*args)


def _parse_problem(text: str, exc: Exception) -> str:
    """What is wrong with ``text``, in words: unbalanced brackets first, else SymPy's reason."""
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return "a ')' without its '('"
    if depth > 0:
        return f"{depth} unclosed '('"
    reason = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
