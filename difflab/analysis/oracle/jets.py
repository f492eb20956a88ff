"""The oracle's numbers: jets of mpmath numbers, one first-order tangent per direction.

A :class:`Jet` is ``value + sum_k tangent[k] * eps_k`` with ``eps_k**2 = 0``: forward mode at
the level of one scalar. Arrays of jets are NumPy object arrays, so every structural
operation (indexing in any form, reshape, transpose, matmul, sums, stacking, convolution
by slices) is NumPy's own array algebra on the scalars: the oracle has no structural
derivative rules at all, and none of difflab's engines' rules. The derivative of each
scalar primitive comes from :mod:`difflab.analysis.oracle.calculus` (``sympy.diff``).

Jets nest for second derivatives: a jet whose value and tangents are jets of a lower
``level`` (forward over forward, no perturbation confusion: the higher level is the active
one and a lower-level jet is a constant to it).

The scalar functions here (``sin``, ``fabs``, ...) carry mpmath's names: they are what the
oracle's object namespace calls on each entry, on a jet or on a plain mpmath number.
"""
from __future__ import annotations

import contextlib
import operator
import threading

import mpmath
import numpy as np

from ...errors import InputError
from . import calculus


_local = threading.local()


def context() -> "mpmath.MPContext":
    """This thread's mpmath context. mpmath's global ``mp`` (and ``workdps``) is one
    precision for the whole process: two threads running the oracle would set and restore
    it under each other, and one would compute at the other's precision."""
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        ctx = _local.ctx = mpmath.MPContext()
    return ctx


@contextlib.contextmanager
def precision(digits: int):
    """This thread's working precision, ``digits`` significant decimal digits, in the block."""
    ctx = context()
    previous = ctx.dps
    ctx.dps = int(digits)
    try:
        yield ctx
    finally:
        ctx.dps = previous


def mpf(v):
    """A plain number as this thread's mpmath number (exact for floats and integers)."""
    return context().mpf(v)


class Jet:
    """A scalar with tangents in several directions (an object array ``tangent``)."""

    __slots__ = ("value", "tangent", "level")

    def __init__(self, value, tangent, level: int):
        self.value, self.tangent, self.level = value, tangent, level

    # ---------------------------------------------------------------- arithmetic
    def __add__(self, other):
        return binary("add", self, other)

    def __radd__(self, other):
        return binary("add", other, self)

    def __sub__(self, other):
        return binary("sub", self, other)

    def __rsub__(self, other):
        return binary("sub", other, self)

    def __mul__(self, other):
        return binary("mul", self, other)

    def __rmul__(self, other):
        return binary("mul", other, self)

    def __truediv__(self, other):
        return binary("truediv", self, other)

    def __rtruediv__(self, other):
        return binary("truediv", other, self)

    def __pow__(self, other):
        return power(self, other)

    def __rpow__(self, other):
        return power(other, self)

    def __neg__(self):
        return Jet(-self.value, -self.tangent, self.level)

    def __pos__(self):
        return self

    def __abs__(self):
        return fabs(self)

    # ---------------------------------------------------------------- comparisons: on values
    def __lt__(self, other):
        return real(self) < real(other)

    def __le__(self, other):
        return real(self) <= real(other)

    def __gt__(self, other):
        return real(self) > real(other)

    def __ge__(self, other):
        return real(self) >= real(other)

    def __eq__(self, other):
        return real(self) == real(other)

    def __ne__(self, other):
        return real(self) != real(other)

    __hash__ = None

    def __bool__(self):
        return bool(real(self) != 0)

    # ---------------------------------------------------------------- conversions: refused
    def _conversion(self, *_):
        raise InputError("the oracle cannot follow a conversion of a value that depends on x "
                         "(float(), int(), an index or a NumPy float array): its derivative "
                         "would be lost; keep the computation in the namespace")

    __float__ = __int__ = __index__ = __complex__ = _conversion

    def __repr__(self):
        # cheap on purpose: mpmath formats the operand it cannot convert (mpf * jet) into
        # the TypeError it then catches, once per mixed operation
        return f"<oracle jet, level {self.level}, {len(self.tangent)} directions>"


def real(v):
    """The innermost plain number of ``v`` (what comparisons and control flow decide on)."""
    while isinstance(v, Jet):
        v = v.value
    return v


def _active(a, b):
    """The active level of a binary operation and, for each operand, whether it carries it."""
    la = a.level if isinstance(a, Jet) else -1
    lb = b.level if isinstance(b, Jet) else -1
    level = max(la, lb)
    return level, la == level, lb == level


def _term(partial, args, tangent):
    """``partial(args) * tangent`` (None for a zero partial)."""
    c = partial.constant
    if c == 1:
        return tangent
    if c == -1:
        return -tangent
    if c == 0:
        return None
    p = partial.evaluate(args)
    return _MUL(tangent, p) if isinstance(p, Jet) else tangent * p  # never mpf * array: mpmath repr()s it


def _sum(terms, level):
    """The sum of the tangent terms (None where all are zero); entries of tangents above
    level 0 may be jets, summed here rather than through mpmath's failed conversion."""
    terms = [t for t in terms if t is not None]
    if not terms:
        return None
    out = terms[0]
    for t in terms[1:]:
        out = out + t if level == 0 else _ADD(out, t)
    return out


_VALUES = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv}


def binary(name, a, b):
    """``a (name) b`` where one of them is a jet."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return NotImplemented  # NumPy applies the operation entry by entry
    level, a_on, b_on = _active(a, b)
    u = a.value if a_on else a
    v = b.value if b_on else b
    du, dv = BINARY_PARTIALS[name]
    tangent = _sum([_term(du, (u, v), a.tangent) if a_on else None,
                    _term(dv, (u, v), b.tangent) if b_on else None], level)
    value = binary(name, u, v) if isinstance(u, Jet) or isinstance(v, Jet) else _VALUES[name](u, v)
    if tangent is None:
        return value
    return Jet(value, tangent, level)


def _mul(a, b):
    """``a * b`` with a jet on either side handled here, not by mpmath's failed conversion."""
    if isinstance(a, Jet) or isinstance(b, Jet):
        return binary("mul", a, b)
    return a * b


def _add(a, b):
    if isinstance(a, Jet) or isinstance(b, Jet):
        return binary("add", a, b)
    return a + b


#: Entry-by-entry products and sums of tangent arrays (whose entries may be jets).
_MUL = np.frompyfunc(_mul, 2, 1)
_ADD = np.frompyfunc(_add, 2, 1)


def power(a, b):
    """``a ** b``; a constant exponent is differentiated exactly for that exponent."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return NotImplemented
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return _plain_power(a, b)
    level, a_on, b_on = _active(a, b)
    u = a.value if a_on else a
    v = b.value if b_on else b
    value = power(u, v)
    if a_on and not b_on:
        tangent = _term(POWER_PARTIALS(v), (u,), a.tangent)
    else:
        du, dv = BINARY_PARTIALS["pow"]
        tangent = _sum([_term(du, (u, v), a.tangent) if a_on else None,
                        _term(dv, (u, v), b.tangent)], level)
    return value if tangent is None else Jet(value, tangent, level)


def _plain_power(a, b):
    if hasattr(b, "is_Rational"):  # an exact exponent from the calculus (SymPy's Rational)
        b = int(b.p) if b.q == 1 else mpf(int(b.p)) / int(b.q)
    return _mp(a) ** _mp(b)


def _mp(v):
    """A plain number as mpmath's (NumPy scalars are not mpmath's to convert)."""
    if isinstance(v, (np.integer, bool, np.bool_)):
        return int(v)
    if isinstance(v, np.floating):
        return mpf(float(v))
    if isinstance(v, float):
        return mpf(v)
    return v


def unary(name: str):
    """The scalar function ``name`` (mpmath's spelling) on jets and plain numbers."""
    def fn(x):
        if not isinstance(x, Jet):
            return getattr(context(), name)(x)
        (partial,) = UNARY_PARTIALS[name]
        return Jet(fn(x.value), _term(partial, (x.value,), x.tangent), x.level)

    fn.__name__ = name
    fn.__doc__ = f"``mpmath.{name}`` with its derivative from SymPy on a jet."
    return fn


def sign(x):
    """-1, 0 or 1 by the sign of the value: a constant (its derivative is 0 away from 0)."""
    v = real(x)
    return mpf(1) if v > 0 else mpf(-1) if v < 0 else mpf(0)


def number(p: int):
    """An integer constant of the calculus, at the working precision."""
    return mpf(p)


sin, cos, tan = unary("sin"), unary("cos"), unary("tan")
asin, acos, atan = unary("asin"), unary("acos"), unary("atan")
sinh, cosh, tanh = unary("sinh"), unary("cosh"), unary("tanh")
exp, expm1, log, log1p = unary("exp"), unary("expm1"), unary("log"), unary("log1p")
sqrt, fabs = unary("sqrt"), unary("fabs")

#: What the calculus's compiled expressions call, by SymPy's function names.
FUNCTIONS = {
    "sin": sin, "cos": cos, "tan": tan, "asin": asin, "acos": acos, "atan": atan,
    "sinh": sinh, "cosh": cosh, "tanh": tanh, "exp": exp, "expm1": expm1, "log": log,
    "log1p": log1p, "sqrt": sqrt, "Abs": fabs, "sign": sign,
    "number": number, "power": power,
}
UNARY_PARTIALS = {name: calculus.partials(expr, (calculus.U,), FUNCTIONS)
                  for name, expr in calculus.UNARY.items()}
BINARY_PARTIALS = {name: calculus.partials(expr, (calculus.U, calculus.V), FUNCTIONS)
                   for name, expr in calculus.BINARY.items()}
POWER_PARTIALS = calculus.PowerPartials(FUNCTIONS)


def seeded(x, seeds, level: int) -> np.ndarray:
    """The jets ``x[j] + sum_k seeds[k, j] eps_k``: x (n,) of numbers, seeds (k, n) of numbers."""
    seeds = as_numbers(seeds)
    out = np.empty(len(x), dtype=object)
    for j, v in enumerate(x):
        out[j] = Jet(v, seeds[:, j].copy(), level)
    return out


def as_numbers(a) -> np.ndarray:
    """An array of exact small numbers (seeds: 0, 1, floats) as mpmath numbers, so that the
    tangent arithmetic never converts a float again."""
    a = np.asarray(a)
    if a.dtype == object:
        return a
    zero, one = mpf(0), mpf(1)
    out = np.empty(a.shape, dtype=object)
    for index, v in np.ndenumerate(a):
        out[index] = zero if v == 0 else one if v == 1 else mpf(float(v))
    return out


def tangents(out, level: int, k: int) -> np.ndarray:
    """The tangents of f's flattened output as an (m, k) object array (zeros where an entry
    does not depend on x at this level)."""
    flat = np.asarray(out, dtype=object).reshape(-1)
    rows = np.empty((flat.size, k), dtype=object)
    for i, v in enumerate(flat):
        if isinstance(v, Jet) and v.level == level:
            rows[i] = v.tangent
        else:
            rows[i] = [mpf(0)] * k
    return rows


def values(out, level: int) -> np.ndarray:
    """f's flattened output with the tangents of ``level`` dropped."""
    flat = np.asarray(out, dtype=object).reshape(-1)
    return np.array([v.value if isinstance(v, Jet) and v.level == level else v for v in flat],
                    dtype=object)
