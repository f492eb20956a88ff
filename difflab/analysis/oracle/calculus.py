"""The oracle's calculus: each primitive's partial derivatives, taken by ``sympy.diff``.

This table is the oracle's own and shares nothing with :mod:`difflab.ad.rules` (the rows the
engines under test read): a wrong row there must show up as a disagreement with the oracle,
which it could not if the oracle read the same rows. Each primitive is written once as a
SymPy expression in the symbols ``u`` (and ``v``); its partials come from ``sympy.diff`` and
are compiled into small closures over the oracle's scalar functions, so they evaluate on
mpmath numbers and, for second derivatives, on the oracle's own jets
(:mod:`difflab.analysis.oracle.jets`).

The expressions are difflab's own, fixed below; no user text is parsed here.
"""
from __future__ import annotations

import functools
import operator
import threading
from typing import Callable

import numpy as np
import sympy
from sympy.codegen.cfunctions import expm1, log1p

U, V = sympy.symbols("u v", real=True)

#: Unary primitives (by mpmath's function name, as the object namespace calls them) as SymPy
#: expressions in ``u``.
UNARY = {
    "sin": sympy.sin(U), "cos": sympy.cos(U), "tan": sympy.tan(U),
    "asin": sympy.asin(U), "acos": sympy.acos(U), "atan": sympy.atan(U),
    "sinh": sympy.sinh(U), "cosh": sympy.cosh(U), "tanh": sympy.tanh(U),
    "exp": sympy.exp(U), "expm1": expm1(U), "log": sympy.log(U), "log1p": log1p(U),
    "sqrt": sympy.sqrt(U), "fabs": sympy.Abs(U),
}
#: Binary arithmetic as SymPy expressions in ``u`` and ``v``. ``pow`` with a constant
#: exponent is differentiated per exponent (:func:`power_partial`), so that ``u**2`` gives
#: ``2*u`` (exact at u = 0) rather than the general form ``v*u**v/u``.
BINARY = {
    "add": U + V, "sub": U - V, "mul": U * V, "truediv": U / V, "pow": U ** V,
}


class Partial:
    """One partial derivative: its SymPy expression, compiled, and whether it is an integer
    constant (``1`` and ``-1`` skip a multiplication, ``0`` the whole term)."""

    __slots__ = ("expr", "evaluate", "constant")

    def __init__(self, expr, symbols, functions):
        self.expr = expr
        self.constant = int(expr) if expr.is_Integer else None
        self.evaluate = compile_expression(expr, symbols, functions)

    def __repr__(self):
        return f"Partial({self.expr})"


def partials(expr, symbols, functions) -> tuple:
    """``(d expr/d s for s in symbols)``, by ``sympy.diff``, compiled over ``functions``."""
    return tuple(Partial(sympy.powsimp(sympy.diff(expr, s), force=True), symbols, functions)
                 for s in symbols)


class PowerPartials:
    """d/du u**c for constant exponents c, each differentiated by SymPy once and cached
    (thread-safe: the oracle may run in several threads)."""

    def __init__(self, functions, size: int = 256):
        self._functions = functions
        self._lock = threading.Lock()
        self._cache: dict = {}
        self._size = size

    def __call__(self, exponent) -> Partial:
        c = exact(exponent)
        with self._lock:
            partial = self._cache.get(c)
        if partial is None:
            partial = Partial(sympy.diff(U ** c, U), (U,), self._functions)
            with self._lock:
                if len(self._cache) >= self._size:
                    self._cache.clear()
                self._cache[c] = partial
        return partial


def exact(c) -> sympy.Expr:
    """A constant exponent as an exact SymPy number (floats and mpmath numbers are dyadic)."""
    if isinstance(c, sympy.Basic):
        return c
    if isinstance(c, (int, np.integer)):
        return sympy.Integer(int(c))
    man_exp = getattr(c, "man_exp", None)  # an mpmath mpf: exactly man * 2**exp
    if man_exp is not None:
        man, e = man_exp
        return sympy.Integer(int(man)) * sympy.Integer(2) ** int(e)
    p, q = float(c).as_integer_ratio()
    return sympy.Rational(p, q)


# ---------------------------------------------------------------------- compiling expressions
def compile_expression(expr, symbols, functions) -> Callable:
    """A closure ``f(args)`` evaluating ``expr`` at ``args`` (one value per symbol).

    ``functions`` maps SymPy function names (``sin``, ``Abs``, ``sign``, ...) and the keys
    ``"number"`` (an integer at the working precision) and ``"power"`` to the scalar functions
    to call, so the same expression evaluates on mpmath numbers and on the oracle's jets.
    Numbers are made at call time, in the caller's working precision, so that ``1/3`` is a
    third at 50 digits, not a float64.
    """
    number, power = functions["number"], functions["power"]
    index = {s: i for i, s in enumerate(symbols)}

    def build(e):
        if e in index:
            i = index[e]
            return lambda args: args[i]
        if e.is_Rational:
            p, q = int(e.p), int(e.q)
            return (lambda args: number(p)) if q == 1 else (lambda args: number(p) / q)
        if e.is_Add or e.is_Mul:
            parts = [build(a) for a in e.args]
            combine = operator.add if e.is_Add else operator.mul
            return lambda args: functools.reduce(combine, (part(args) for part in parts))
        if e.is_Pow:
            base = build(e.base)
            if e.exp.is_Rational:  # a constant exponent, kept exact for the power's own partial
                c = e.exp
                return lambda args: power(base(args), c)
            exponent = build(e.exp)
            return lambda args: power(base(args), exponent(args))
        name = type(e).__name__
        if name in functions and len(e.args) == 1:
            fn, arg = functions[name], build(e.args[0])
            return lambda args: fn(arg(args))
        raise TypeError(f"the oracle's calculus cannot evaluate {e!r}")  # difflab's own table

    return build(expr)
