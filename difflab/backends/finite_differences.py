"""Finite-difference methods: ``fd-forward``, ``fd-central``, ``fd-five-point``,
``fd-complex`` and ``fd-richardson``.

Thin adapters over :mod:`difflab.fd`: each method says how it computes a first derivative
(a Jacobian, shape (m, n)) and a second one (a Hessian, (m, n, n)) with an error estimate,
in :meth:`FiniteDifference._compute`; gradients, Jacobians, Hessians, JVPs and
:meth:`FiniteDifference.estimate` are all built on that. A JVP is the derivative of the
one-variable function ``t -> f(x + t v)`` at 0, so it costs one stencil, not n; a
Hessian-vector product is the central difference of the method's own gradient along ``v``
(two gradients), at the step that balances its truncation against the gradient's noise.
See docs/finite-differences.md for the error models and costs.
"""
from __future__ import annotations

import numpy as np

from ..interface import cost
from ..interface.boundary import check_value
from ..interface.differentiator import Differentiator
from ..errors import InputError
from ..fd import core, richardson, steps
from ..fd.core import FDEstimate, Sampler
from ..fd.stencils import CENTRAL, FIVE_POINT, FORWARD, MAX_TERMS, Stencil
from ..namespaces.precision import computing_in

#: Derivative kinds :meth:`FiniteDifference.estimate` answers, and their order.
ESTIMATE_KINDS = {"gradient": 1, "jacobian": 1, "hessian": 2}


class FiniteDifference(Differentiator):
    """Base of the finite-difference methods (family ``numeric``, not exact).

    Subclasses implement :meth:`_compute`; everything else is shared.
    """

    family = "numeric"
    exact = False
    native = frozenset({"gradient", "jacobian", "hessian", "jvp", "hvp"})
    native_how = {"hvp": "central difference of this method's gradient along v"}
    options = {"step": "auto"}

    def __init__(self, dtype: str = "float64", **options):
        super().__init__(dtype, **options)
        self.options["step"] = steps.check_step(self.options["step"], dtype=self.dtype)

    # ------------------------------------------------------------------ public extras
    def estimate(self, f, x, kind: str = "gradient") -> FDEstimate:
        """The derivative with an error estimate and the evaluations it took.

        Parameters
        ----------
        f : callable or difflab.Function
        x : array_like, 1-D
        kind : {"gradient", "jacobian", "hessian"}

        Returns
        -------
        FDEstimate
            ``value`` shaped as the derivative kind returns it (float64), ``error`` an
            element-wise bound on ``|value - exact|`` (float64), ``evaluations``, ``step``.
            Plain stencils estimate truncation from a second evaluation at half the step
            (so they spend about twice the evaluations ``gradient`` does) and add the
            rounding bound of their error model; ``fd-richardson`` reports its
            extrapolation's error; ``fd-complex`` its rounding model;
            ``fd-numdifftools`` and ``fd-scipy`` the library's own estimate (kept as
            ``library_error``) made a bound by :func:`difflab.fd.core.library_bound`.
        """
        if kind not in ESTIMATE_KINDS:
            raise InputError(f"estimate: kind must be one of {', '.join(ESTIMATE_KINDS)}, not {kind!r}")
        derivative = self._derivative(kind, f)
        x = derivative._check_x(x)
        derivative.prepare(x)  # the boundary's check of f(x), once per shape
        with computing_in(self.dtype):
            est = self._derive(derivative.function, x, ESTIMATE_KINDS[kind], error=True)
        if kind != "jacobian" and est.value.shape[0] != 1:
            raise InputError(f"estimate: the {kind} needs a scalar function; "
                             f"{derivative.function.name} has {est.value.shape[0]} outputs")
        shape = {"gradient": (x.size,), "hessian": (x.size, x.size)}.get(kind, (-1, x.size))
        as64 = lambda a: np.asarray(a, dtype=np.float64).reshape(shape)  # noqa: E731
        own = None if est.library_error is None else as64(est.library_error)
        return FDEstimate(as64(est.value), as64(est.error), est.evaluations,
                          np.asarray(est.step, dtype=np.float64), own)

    # ------------------------------------------------------------------ the interface
    def _build(self, kind, function, x):
        order = 2 if kind == "hessian" else 1
        if kind == "jvp":
            return lambda x, v: self._jvp(function, x, v)
        if kind == "hvp":
            return self._hvp(function, x)
        return lambda x: self._derive(function, x, order, error=False).value

    def _derive(self, function, x, order, error, scale=None) -> FDEstimate:
        est = self._compute(function, x, order, error, steps.scale(x) if scale is None else scale)
        if order == 2:
            est.value = core.symmetrise(est.value)
            est.error = None if est.error is None else core.symmetrise(est.error)
            if est.library_error is not None:
                est.library_error = core.symmetrise(est.library_error)
        return est

    def _jvp(self, function, x, v):
        size = float(np.max(np.abs(v)))
        if size == 0.0:
            return 0.0 * np.asarray(function(x), dtype=x.dtype).reshape(-1)
        unit = (v / size).astype(x.dtype)  # so that a numeric step is the largest move in x
        along = lambda t: function(x + t[0] * unit)  # noqa: E731
        scale = np.full(1, max(1.0, float(np.max(np.abs(x)))), dtype=x.dtype)
        t0 = np.zeros(1, dtype=x.dtype)
        return size * self._derive(along, t0, 1, error=False, scale=scale).value[:, 0]

    def _hvp(self, function, x):
        """``(x, v) -> (g(x + h v) - g(x - h v)) / 2h`` with ``g`` this method's gradient.

        The relative step is the central stencil's optimum for an input as noisy as the
        gradient (:meth:`_gradient_noise`), on the scale of max(|x|, 1), along ``v``
        normalised to a largest entry of 1.
        """
        gradient = self._evaluator("gradient", function, x)
        rel = CENTRAL.optimal_step(self._gradient_noise(float(np.finfo(x.dtype).eps)))

        def hvp(x, v):
            size = float(np.max(np.abs(v)))
            if size == 0.0:
                return np.zeros_like(x)
            unit = (v / size).astype(x.dtype)
            h = x.dtype.type(rel * max(1.0, float(np.max(np.abs(x)))))
            ahead = np.asarray(gradient(x + h * unit), dtype=x.dtype).reshape(-1)
            behind = np.asarray(gradient(x - h * unit), dtype=x.dtype).reshape(-1)
            return size * (ahead - behind) / (2 * h)
        return hvp

    def _gradient_noise(self, eps: float) -> float:
        """The relative error of this method's gradient, as its error model predicts."""
        return core.NOISE_ULPS * eps  # complex step and Richardson: rounding-level

    def _compute(self, function, x, order, error, scale) -> FDEstimate:
        """Derivative of ``order`` 1 (m, n) or 2 (m, n, n) at ``x``; steps scaled by ``scale``."""
        raise NotImplementedError


class StencilDifference(FiniteDifference):
    """A fixed stencil at its error-optimal step ("auto") or a given absolute step."""

    stencil: Stencil = CENTRAL

    def _gradient_noise(self, eps):
        return self.stencil.error_bound(self.stencil.optimal_step(eps), eps)

    def _compute(self, function, x, order, error, scale):
        eps = float(np.finfo(x.dtype).eps)
        rel = self.stencil.optimal_step(eps, derivative=order)
        h = steps.representable(x, steps.steps(self.options["step"], rel, scale, x.dtype),
                                self.stencil.symmetric)
        if not error:
            sample = Sampler(function, x, h, memo=order == 2)
            return FDEstimate(core.differentiate(sample, self.stencil, order), None,
                              sample.evaluations, h)
        # Truncation from a second estimate at h/2 (nearer the asymptotic regime than 2h):
        # halving_error is the error left at h/2; at h it is 2^p times that.
        sample = Sampler(function, x, h / 2, memo=True)
        value = core.differentiate(sample, self.stencil, order, mult=2)
        fine = core.differentiate(sample, self.stencil, order, mult=1)
        truncation = richardson.halving_error(value, fine, 2.0, self.stencil.order) * 2 ** self.stencil.order
        rounding = core.rounding_bound(sample, self.stencil, order, mult=2,
                                       jacobian=value if order == 1 else None)
        error = core.TRUNCATION_SAFETY * truncation + rounding
        return FDEstimate(value, error, sample.evaluations, h)


class ForwardDifference(StencilDifference):
    """``(f(x+h) - f(x)) / h``: n + 1 evaluations, error ~ sqrt(eps)."""

    name = "fd-forward"
    stencil = FORWARD
    costs = cost.black_box(lambda n: n + 1, lambda n: n * n / 2 + 2 * n, ("n + 1", "n^2/2"))


class CentralDifference(StencilDifference):
    """``(f(x+h) - f(x-h)) / 2h``: 2n evaluations, error ~ eps^(2/3)."""

    name = "fd-central"
    stencil = CENTRAL
    costs = cost.black_box(lambda n: 2 * n, lambda n: 2 * n * n + 2 * n, ("2n", "2n^2"))


class FivePointDifference(StencilDifference):
    """Fourth-order central stencil: 4n evaluations, error ~ eps^(4/5)."""

    name = "fd-five-point"
    stencil = FIVE_POINT
    costs = cost.black_box(lambda n: 4 * n, lambda n: 8 * n * n + 4 * n, ("4n", "8n^2"))


class ComplexStep(FiniteDifference):
    """``Im f(x + i h e_j) / h``: n complex evaluations, no subtraction, error ~ eps, and
    one real evaluation of f(x), which checks that x is in f's real domain.

    The Hessian is the central difference of complex-step gradients (2n^2 complex
    evaluations), at the central stencil's first-derivative step, error ~ eps^(2/3).
    """

    name = "fd-complex"
    #: complex arithmetic costs about three real evaluations
    costs = cost.black_box(lambda n: n, lambda n: 2 * n * n, ("n complex", "2n^2 complex"), per_eval=3.0)
    #: Imaginary step per unit of max(|x_i|, 1), per dtype: tiny, but far from underflow.
    TINY = {"float64": 1e-200, "float32": 1e-20}

    def _derive(self, function, x, order, error, scale=None) -> FDEstimate:
        # Complex arithmetic is defined where the real function is not (log(-1) = i pi), and
        # Im f(x + ih) / h is then a huge, wrong number: one real evaluation checks that x is
        # in f's real domain (difflab.interface.boundary).
        with np.errstate(all="ignore"):  # a NaN is reported, not warned about
            value = function(x)
        check_value(value, "jacobian", getattr(function, "name", "the function"))
        return super()._derive(function, x, order, error, scale)

    def _compute(self, function, x, order, error, scale):
        if order == 2:
            return self._hessian(function, x, error, scale)
        eps = float(np.finfo(x.dtype).eps)
        h = steps.steps(self.options["step"], self.TINY[x.dtype.name], scale, x.dtype)
        value, evaluations, magnitude = core.complex_step_jacobian(function, x, h)
        bound = None
        if error:  # no cancellation: rounding of the derivative itself, and h^2 f'''/6
            typical = magnitude.astype(np.float64)[:, None] / scale.astype(np.float64)[None, :]
            bound = core.NOISE_ULPS * eps * (np.abs(value) + typical) + h.astype(np.float64) ** 2 * typical
        return FDEstimate(value, bound, evaluations, h)

    def _hessian(self, function, x, error, scale):
        count = [0]

        def gradient(p):
            est = self._compute(function, p, 1, False, scale)
            count[0] += est.evaluations
            return est.value

        inner = CentralDifference(dtype=x.dtype.name)._compute(gradient, x, 1, error, scale)
        m = inner.value.shape[0] // x.size
        value = inner.value.reshape(m, x.size, x.size)
        bound = None if inner.error is None else inner.error.reshape(m, x.size, x.size)
        return FDEstimate(value, bound, count[0], inner.step)


class Richardson(FiniteDifference):
    """Central differences at h, h/2, ..., h/2^(levels-1), extrapolated (Neville tableau).

    Evaluations: 2 n levels for a gradient, about 2 n^2 levels for a Hessian. The
    extrapolation's own error estimate comes back from :meth:`estimate`.
    """

    name = "fd-richardson"
    options = {"step": "auto", "levels": 6}
    costs = cost.black_box(lambda n: 12 * n, lambda n: 12 * n * n, ("12n", "12n^2"))  # 6 levels
    #: The largest step per unit of max(|x_i|, 1); the smallest is this / 2^(levels - 1).
    LARGEST_STEP = 2.0 ** -3

    def __init__(self, dtype: str = "float64", **options):
        super().__init__(dtype, **options)
        # one error term removed per level after the first; past a dozen levels the steps
        # are 2^-levels smaller and the noise the eliminations amplify wins anyway
        self.options["levels"] = steps.check_count(self.options["levels"], "levels", low=3,
                                                   high=MAX_TERMS + 1)

    def _compute(self, function, x, order, error, scale):
        levels = self.options["levels"]
        top = 2 ** (levels - 1)
        largest = steps.steps(self.options["step"], self.LARGEST_STEP, scale, x.dtype)
        h = steps.representable(x, largest / top, symmetric=True)
        sample = Sampler(function, x, h, memo=True)
        mults = [2 ** (levels - 1 - k) for k in range(levels)]
        with np.errstate(all="ignore"):  # large steps may leave f's domain: NaN, skipped
            estimates = [core.differentiate(sample, CENTRAL, order, mult=m) for m in mults]
            jac = estimates[-1] if order == 1 else None
            noise = [core.rounding_bound(sample, CENTRAL, order, m, jacobian=jac) for m in mults]
            best = richardson.extrapolate(estimates, noise, 2.0, CENTRAL.error_exponents)
        error = core.TRUNCATION_SAFETY * best.truncation + best.rounding
        return FDEstimate(best.value, error, sample.evaluations, h * top)
