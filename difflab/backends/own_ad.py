"""``forward`` and ``reverse``: difflab's own AD engines behind the common interface."""
from __future__ import annotations

from ..ad import forward, reverse
from ..boundary import check_finite
from ..differentiator import Differentiator


class _OwnAD(Differentiator):
    """The engines nest (each differentiation opens a higher level), so their derivatives
    may be called inside a function another of them differentiates."""

    family = "automatic"
    engine = None
    composes = True

    def _build(self, kind, function, x):
        fn, e = function.fn, self.engine

        def gradient(x):
            value, grad = e.value_and_gradient(fn, x)
            check_finite(value, function.name)  # f(x) comes with the gradient: check it
            return grad

        evaluators = {
            "gradient": gradient,
            "value_and_gradient": lambda x: e.value_and_gradient(fn, x),
            "jacobian": lambda x: e.jacobian(fn, x),
            "hessian": lambda x: e.hessian(fn, x),
            "jvp": lambda x, v: e.jvp(fn, x, v)[1],
            "vjp": lambda x, u: e.vjp(fn, x)[1](u),
        }
        return evaluators[kind]


class Forward(_OwnAD):
    """Dual numbers over NumPy arrays in vector mode: the Jacobian in one pass of n tangents.

    Cost: about n times the function for a gradient, the same for a whole Jacobian of any
    number of outputs. Hessians by forward over forward.
    """

    name = "forward"
    engine = forward
    native = frozenset({"gradient", "value_and_gradient", "jacobian", "hessian", "jvp"})


class Reverse(_OwnAD):
    """A tape of NumPy array operations swept backwards: a gradient for a few times the function.

    One backward sweep per output, so a Jacobian costs m sweeps. Hessians exactly, by forward
    mode over the backward sweep.
    """

    name = "reverse"
    engine = reverse
    native = frozenset({"gradient", "value_and_gradient", "jacobian", "hessian", "vjp"})
