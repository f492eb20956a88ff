"""``forward`` and ``reverse``: difflab's own AD engines behind the common interface."""
from __future__ import annotations

from ..ad import forward, reverse
from ..differentiator import Differentiator


class _OwnAD(Differentiator):
    family = "automatic"
    engine = None

    def _build(self, kind, function, x):
        fn, e = function.fn, self.engine
        evaluators = {
            "gradient": lambda x: e.gradient(fn, x),
            "value_and_gradient": lambda x: e.value_and_gradient(fn, x),
            "jacobian": lambda x: e.jacobian(fn, x),
            "hessian": lambda x: e.hessian(fn, x),
            "jvp": lambda x, v: e.jvp(fn, x, v)[1],
            "vjp": lambda x, u: e.vjp(fn, x)[1](u),
            "hvp": lambda x, v: e.hvp(fn, x, v),
        }
        return evaluators[kind]


class Forward(_OwnAD):
    """Dual numbers over NumPy arrays in vector mode: the Jacobian in one pass of n tangents.

    Cost: about n times the function for a gradient, the same for a whole Jacobian of any
    number of outputs. Hessians by forward over forward; a Hessian-vector product by one
    directional forward pass over the vector-mode gradient (about 2n times the function).
    """

    name = "forward"
    engine = forward
    native = frozenset({"gradient", "value_and_gradient", "jacobian", "hessian", "jvp", "hvp"})
    native_how = {"hvp": "forward over forward: a JVP of the forward-mode gradient"}


class Reverse(_OwnAD):
    """A tape of NumPy array operations swept backwards: a gradient for a few times the function.

    One backward sweep per output, so a Jacobian costs m sweeps. Hessians exactly, by forward
    mode over the backward sweep; a Hessian-vector product by one directional forward pass
    over one backward sweep (a small constant times the function, at any n).
    """

    name = "reverse"
    engine = reverse
    native = frozenset({"gradient", "value_and_gradient", "jacobian", "hessian", "vjp", "hvp"})
    native_how = {"hvp": "forward over reverse: a JVP of the reverse-mode gradient"}
