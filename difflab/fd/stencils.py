"""Stencil coefficient tables for the first derivative, and each stencil's error model.

A stencil approximates ``f'(x)`` by ``sum_k w_k f(x + o_k h) / h``. Its error at step h is

    truncation  C h^p |f^(p+1)|       (Taylor remainder; p is the order)
    rounding    R eps |f| / h         (R = sum |w_k|: how evaluation noise is amplified)

The step that minimises the sum (taking |f^(p+1)| ~ |f|, i.e. f varying on the scale of x)
is ``h* = (R eps / (p C))^(1/(p+1))``, and the error there is of order ``eps^(p/(p+1))``.

A Hessian is the stencil applied twice (the stencil's Jacobian of its own gradient). Both
levels truncate (2 C h^p) and the noise is amplified twice (R^2 eps |f| / h^2), so its step
is ``h** = (R^2 eps / (p C))^(1/(p+2))`` and its error of order ``eps^(p/(p+2))``.
"""
from __future__ import annotations

from dataclasses import dataclass


#: How many terms of a stencil's error expansion Richardson extrapolation can remove.
MAX_TERMS = 16


@dataclass(frozen=True)
class Stencil:
    """A first-derivative stencil with its error model.

    Attributes
    ----------
    name : str
    offsets : tuple of int
        Evaluation points in units of the step: ``x + o_k h``.
    weights : tuple of float
        ``f'(x) ~ sum_k w_k f(x + o_k h) / h``.
    order : int
        p: the truncation error is ``truncation * h^p * |f^(p+1)|``.
    truncation : float
        C, the leading Taylor coefficient of the error.
    symmetric : bool
        Offsets symmetric about 0, so the error expands in even powers of h only.
    """

    name: str
    offsets: tuple
    weights: tuple
    order: int
    truncation: float
    symmetric: bool

    @property
    def noise_gain(self) -> float:
        """R = sum |w_k|: evaluation noise eps|f| becomes R eps|f| / h in the derivative."""
        return float(sum(abs(w) for w in self.weights))

    @property
    def evaluations(self) -> int:
        """Function evaluations per coordinate (the centre point, if used, is shared)."""
        return sum(1 for o in self.offsets if o != 0)

    @property
    def error_exponents(self) -> tuple:
        """Powers of h in the truncation error: (2, 4, 6, ...) or (1, 2, 3, ...)."""
        step = 2 if self.symmetric else 1
        return tuple(self.order + step * k for k in range(MAX_TERMS))

    def optimal_step(self, eps: float, derivative: int = 1) -> float:
        """The error-optimal relative step for a first (1) or second (2) derivative."""
        p, c, r = self.order, self.truncation, self.noise_gain
        if derivative == 1:
            return (r * eps / (p * c)) ** (1.0 / (p + 1))
        if derivative == 2:
            return (r * r * eps / (p * c)) ** (1.0 / (p + 2))
        raise ValueError("derivative must be 1 or 2")

    def error_bound(self, h: float, eps: float, scale: float = 1.0, derivative: int = 1) -> float:
        """Model error at step h when f and its derivatives are of size ``scale``."""
        p, c, r = self.order, self.truncation, self.noise_gain
        if derivative == 1:
            return scale * (c * h ** p + r * eps / h)
        return scale * (2 * c * h ** p + r * r * eps / h ** 2)


# ---------------------------------------------------------------- the coefficient table
#: f' = (f(x+h) - f(x)) / h - h/2 f''
FORWARD = Stencil("forward", (0, 1), (-1.0, 1.0), order=1, truncation=1 / 2, symmetric=False)
#: f' = (f(x+h) - f(x-h)) / 2h - h^2/6 f'''
CENTRAL = Stencil("central", (-1, 1), (-0.5, 0.5), order=2, truncation=1 / 6, symmetric=True)
#: f' = (f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)) / 12h + h^4/30 f^(5)
FIVE_POINT = Stencil("five-point", (-2, -1, 1, 2), (1 / 12, -8 / 12, 8 / 12, -1 / 12),
                     order=4, truncation=1 / 30, symmetric=True)

STENCILS = {s.name: s for s in (FORWARD, CENTRAL, FIVE_POINT)}
