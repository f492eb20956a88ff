"""``forward`` and ``reverse``: difflab's own AD engines behind the common interface."""
from __future__ import annotations

from ..ad import forward, reverse
from ..differentiator import Differentiator
from ..errors import InputError


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

    With ``jit=True`` (the compiled tape, :mod:`difflab.ad.compiled`) the gradient,
    value-and-gradient, VJP and Jacobian are traced once per input shape and run as one
    generated flat NumPy function, guarded by the branch decisions the trace took; the
    Hessian and the JVP stay on the tape engine, and :meth:`how` says so.
    """

    name = "reverse"
    engine = reverse
    native = frozenset({"gradient", "value_and_gradient", "jacobian", "hessian", "vjp"})
    options = {"jit": False}

    def __init__(self, dtype: str = "float64", **options):
        super().__init__(dtype, **options)
        jit = self.options["jit"]
        if jit == "numba":
            raise InputError("reverse: jit='numba' (fused loops) is not available in this build; "
                             "use jit=True")
        if jit not in (True, False):
            raise InputError(f"reverse: jit must be True or False, not {jit!r}")

    def how(self, kind: str) -> str:
        how = super().how(kind)
        if not self.options["jit"] or how != "native":
            return how
        from ..ad.compiled import COMPILED_KINDS

        return "native, compiled tape" if kind in COMPILED_KINDS else "native, tape engine (not compiled)"

    def _build(self, kind, function, x):
        if self.options["jit"]:
            from ..ad import compiled

            if kind in compiled.COMPILED_KINDS:
                return compiled.build(function.fn, kind, x)
        return super()._build(kind, function, x)
