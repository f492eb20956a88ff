"""``forward`` and ``reverse``: difflab's own AD engines behind the common interface."""
from __future__ import annotations

from ..interface import cost
from ..ad import forward, fusion, reverse
from ..interface.boundary import check_finite
from ..interface.differentiator import Differentiator
from ..errors import InputError


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
    #: n tangents of every intermediate (and the n x n identity that seeds them); a Hessian
    #: n^2 of them. Measured on rosenbrock: 2n evaluations' time for a gradient at n = 1000.
    costs = {kind: cost.Cost(call=lambda p: (20 + 2 * p.n) * p.f_seconds,
                             memory=lambda p: p.n * p.f_bytes + 8.0 * p.n * p.n,
                             basis="n tangents of every value") for kind in ("gradient", "jacobian")}
    costs["hessian"] = cost.Cost(call=lambda p: (20 + p.n * p.n) * p.f_seconds,
                                 memory=lambda p: p.n * p.n * p.f_bytes,
                                 basis="n^2 tangents of every value")
    costs["hvp"] = cost.Cost(call=lambda p: (20 + 4 * p.n) * p.f_seconds,
                             memory=lambda p: 2 * p.n * p.f_bytes + 8.0 * p.n * p.n,
                             basis="a tangent over n tangents of every value")
    native = frozenset({"gradient", "value_and_gradient", "jacobian", "hessian", "jvp", "hvp"})
    native_how = {"hvp": "forward over forward: a JVP of the forward-mode gradient"}


class Reverse(_OwnAD):
    """A tape of NumPy array operations swept backwards: a gradient for a few times the function.

    One backward sweep per output, so a Jacobian costs m sweeps. Hessians exactly, by forward
    mode over the backward sweep; a Hessian-vector product by one directional forward pass
    over one backward sweep (a small constant times the function, at any n).

    With ``jit=True`` (the compiled tape, :mod:`difflab.ad.compiled`) the gradient,
    value-and-gradient, VJP, Jacobian, hvp and Hessian are traced once per input shape and run
    as one generated flat NumPy function (the Hessian, and the Jacobian of m >= n outputs:
    forward mode with the directions as one batch of tangents),
    guarded by the branch decisions the trace took; elementwise chains run as numba kernels
    with ``jit="numba"``, or ``jit=True`` where numba imports (``jit="numpy"``: never). The
    JVP is the Jacobian times v; :meth:`how` says how each kind runs.
    """

    name = "reverse"
    engine = reverse
    #: measured on rosenbrock: 5 (n = 10^6) to 25 (n <= 10^3) evaluations, a tape of 4
    costs = cost.reverse_mode(factor=25.0)
    native = frozenset({"gradient", "value_and_gradient", "jacobian", "hessian", "vjp", "hvp"})
    native_how = {"hvp": "forward over reverse: a JVP of the reverse-mode gradient"}
    options = {"jit": False, "check_closure": True}

    def __init__(self, dtype: str = "float64", **options):
        super().__init__(dtype, **options)
        jit = self.options["jit"]
        if self.options["check_closure"] not in (True, False):
            raise InputError(f"reverse: check_closure must be True or False, "
                             f"not {self.options['check_closure']!r}")
        if jit not in (True, False, "numba", "numpy"):
            raise InputError(f"reverse: jit must be True, False, 'numba' or 'numpy', not {jit!r}")
        if jit == "numba" and not fusion.available():
            raise InputError("reverse: jit='numba' (fused kernels) needs numba "
                             "(pip install 'difflab[fusion]'); jit=True runs NumPy without it")

    @property
    def freezes_closure(self) -> bool:
        """The compiled tape reads closed-over arrays that reach ``xp.asarray`` afresh at each
        call, but keeps as constants what it cannot follow: closed-over Python numbers and
        arrays made from data by plain NumPy before ``xp.asarray``. So, as for sympy and the
        frameworks' jit, :mod:`difflab.interface.snapshot` checks the closure before each call and the
        program is traced again when anything changed. ``check_closure=False`` skips that
        check, for code known to bring all of its data in with ``xp.asarray`` (nets' loss)."""
        return bool(self.options["jit"]) and self.options["check_closure"]

    @property
    def fused(self) -> bool:
        """Whether compiled programs run their elementwise chains as numba kernels:
        ``jit="numba"``, or ``jit=True`` where numba imports (:mod:`difflab.ad.fusion`)."""
        jit = self.options["jit"]
        return jit == "numba" or (jit is True and fusion.available())

    def how(self, kind: str) -> str:
        how = super().how(kind)
        if not self.options["jit"] or not how.startswith("native"):
            return how
        from ..ad.compiled import COMPILED_KINDS

        if kind == "hvp":
            return "native, compiled tape (reverse over reverse: the gradient of grad f . v)"
        if kind == "hessian":
            return "native, compiled tape (forward over reverse, all directions as one batch)"
        return "native, compiled tape" if kind in COMPILED_KINDS else f"{how}, tape engine (not compiled)"

    def _build(self, kind, function, x):
        if self.options["jit"]:
            from ..ad import compiled

            if kind in compiled.COMPILED_KINDS:
                return compiled.build(function.fn, kind, x, name=function.name, fused=self.fused)
        return super()._build(kind, function, x)
