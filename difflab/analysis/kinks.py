"""Is the derivative there at all? One-sided derivatives at high precision.

At a kink (``abs`` or ReLU at 0, ``max`` where its arguments tie) the left and right
one-sided derivatives differ and every method returns its own convention, so a failed
comparison there is no bug. :func:`one_sided` evaluates the function on mpmath numbers at
:data:`DIGITS` digits, at steps ``h`` and ``h / 100``: on a smooth function the gap between
the two sides shrinks with the step, at a kink it stays.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..namespaces.precision import mpmath_digits

DIGITS = 100
#: Relative steps for first and second one-sided differences (far below float64's spacing).
STEP = {1: 1e-24, 2: 1e-18}
SHRINK = 100


@dataclass
class OneSided:
    """The one-sided derivatives at the smaller step, and whether they differ (a kink)."""

    left: float
    right: float
    kink: bool

    def contains(self, value: float, tol: float) -> bool:
        """Whether ``value`` lies between the two sides (within ``tol``)."""
        low, high = min(self.left, self.right), max(self.left, self.right)
        return low - tol <= value <= high + tol


def one_sided(fn, x, direction, readout=None, second=None) -> Optional[OneSided]:
    """Left and right derivatives of ``readout . fn`` at ``x`` along ``direction``.

    With ``second`` (another direction) the second derivative ``second^T H direction`` from
    the quadrant ``x + h second + h direction`` (right) and its mirror (left). Returns None
    when ``fn`` cannot run on mpmath numbers (a function not written with the namespace).
    """
    import mpmath

    order = 1 if second is None else 2
    scale = max(1.0, float(np.max(np.abs(x)))) if np.size(x) else 1.0
    with mpmath_digits(DIGITS):
        mp = lambda a: np.array([mpmath.mpf(float(v)) for v in np.reshape(a, -1)], dtype=object)  # noqa: E731
        shaped = lambda a: mp(a).reshape(np.shape(x))  # noqa: E731 - points in the shape f expects
        xm, d = shaped(x), shaped(direction)
        a = None if second is None else shaped(second)
        u = None if readout is None else mp(readout)

        def F(point):
            out = np.asarray(fn(point), dtype=object).reshape(-1)
            return out[0] if u is None else np.dot(u, out)

        def sides(h, f0):
            if order == 1:
                return (f0 - F(xm - h * d)) / h, (F(xm + h * d) - f0) / h
            right = (F(xm + h * a + h * d) - F(xm + h * a) - F(xm + h * d) + f0) / h ** 2
            left = (F(xm - h * a - h * d) - F(xm - h * a) - F(xm - h * d) + f0) / h ** 2
            return left, right

        try:
            f0 = F(xm)
            h = mpmath.mpf(STEP[order]) * scale
            l1, r1 = sides(h, f0)
            l2, r2 = sides(h / SHRINK, f0)
        except Exception:  # noqa: BLE001 - a plain-NumPy function cannot run here
            return None
        gap1, gap2 = abs(r1 - l1), abs(r2 - l2)
        floor = mpmath.mpf(10) ** (-DIGITS // 2) * (1 + abs(l2) + abs(r2) + abs(f0))
        kink = bool(gap2 > floor and gap2 > gap1 / 2)
        return OneSided(float(l2), float(r2), kink)


# ---------------------------------------------------------------------- each method's tie rule
def _maximum(x):
    from ..namespaces import namespace

    return namespace(x).maximum(x[0], x[1])


def _minimum(x):
    from ..namespaces import namespace

    return namespace(x).minimum(x[0], x[1])


def _abs(x):
    from ..namespaces import namespace

    return namespace(x).abs(x[0])


#: The kinks whose derivative each library picks by its own rule: (what is measured, the
#: function, the point; the derivative reported is the one along x[0]).
TIES = (("maximum(a, b) at a = b, d/da", _maximum, (0.0, 0.0)),
        ("minimum(a, b) at a = b, d/da", _minimum, (0.0, 0.0)),
        ("abs'(0)", _abs, (0.0,)))


@functools.cache
def tie_rules(method: str) -> tuple:
    """What ``method`` (a registry name, or ``"oracle"``) returns at each of :data:`TIES`,
    measured by running it there: one value per tie, None where it cannot say."""
    from .oracle import reference
    from ..interface.registry import get

    out = []
    for _, fn, x in TIES:
        x = np.array(x)
        try:
            g = reference(fn, x) if method == "oracle" else get(method).gradient(fn)(x)
            out.append(float(np.asarray(g).reshape(-1)[0]))
        except Exception:  # noqa: BLE001 - a method that cannot (manual has no rule of its own)
            out.append(None)
    return tuple(out)


def tie_rules_note(methods) -> str:
    """Which convention the oracle and each of ``methods`` use at a kink, measured:
    ``"... maximum(a, b) at a = b, d/da: 1/2 (oracle, reverse, torch), 1 (tensorflow); ..."``."""
    names = ["oracle", *dict.fromkeys(m for m in methods if m != "oracle")]
    rules = {name: tie_rules(name) for name in names}
    parts = []
    for k, (label, _, _) in enumerate(TIES):
        by_value: dict = {}
        for name in names:
            if rules[name][k] is not None:
                by_value.setdefault(rules[name][k], []).append(name)
        if by_value:
            parts.append(f"{label}: " + ", ".join(f"{_fraction(v)} ({', '.join(who)})" for v, who in by_value.items()))
    return "each method's rule at a tie, measured: " + "; ".join(parts) if parts else ""


def _fraction(value: float) -> str:
    return {0.5: "1/2", -0.5: "-1/2"}.get(value, f"{value:g}")
