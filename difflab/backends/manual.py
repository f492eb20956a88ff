"""``manual``: the hand-written derivatives attached to a :class:`difflab.Function`."""
from __future__ import annotations

import numpy as np

from ..interface import cost
from ..interface.differentiator import Differentiator
from ..errors import NotSupported


class Manual(Differentiator):
    """Calls ``Function.gradient`` / ``.jacobian`` / ``.hessian``; NotSupported when absent.

    A scalar function's gradient serves as its one-row Jacobian; JVPs and VJPs are products
    with the hand-written Jacobian.
    """

    name = "manual"
    family = "manual"
    #: hand-written formulas: a few evaluations' time and memory (measured 2 to 4), plus the result
    costs = {kind: cost.Cost(call=lambda p: 5 * p.f_seconds, memory=lambda p: 3 * p.f_bytes,
                             basis="a hand-written formula") for kind in ("gradient", "jacobian", "hessian")}
    costs["hvp"] = cost.Cost(call=lambda p: 5 * p.f_seconds + 8.0 * p.n * p.n / cost.WRITE_BYTES_PER_SECOND,
                             memory=lambda p: 3 * p.f_bytes + 8.0 * p.n * p.n,
                             basis="the hand-written Hessian, times v")
    native = frozenset({"gradient", "jacobian", "hessian", "jvp", "vjp"})

    def _build(self, kind, function, x):
        if kind in ("gradient", "hessian"):
            return self._need(function, kind)
        jac = self._jacobian(function)
        products = {
            "jacobian": jac,
            "jvp": lambda x, v: np.reshape(jac(x), (-1, x.size)) @ v,
            "vjp": lambda x, u: np.reshape(u, (-1,)) @ np.reshape(jac(x), (-1, x.size)),
        }
        return products[kind]

    @staticmethod
    def _need(function, attr):
        fn = getattr(function, attr)
        if fn is None:
            raise NotSupported(attr, "manual", f"{function.name} has no hand-written {attr}")
        return fn

    def _jacobian(self, function):
        if function.jacobian is not None:
            return function.jacobian
        gradient = self._need(function, "gradient")
        return lambda x: np.reshape(gradient(x), (1, -1))
