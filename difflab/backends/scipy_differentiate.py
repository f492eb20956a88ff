"""The ``fd-scipy`` method: ``scipy.differentiate.jacobian`` and ``hessian`` behind difflab's
interface, with SciPy's own error estimate.

``scipy.differentiate`` refines an order-8 central difference (order 2 in float32,
:data:`ORDER`), halving its step each
iteration (at most 10), until its error estimate (the change between the last two
iterations) falls below ``sqrt(eps) |df|``; it returns the estimate and that error. Its
Hessian is the Jacobian of its Jacobian, the inner one to a 100x tighter tolerance.

SciPy calls f *vectorised*: with points along extra trailing axes (``x`` of shape
``(n, n, k)`` for a Jacobian) and expects outputs along the same axes. A function written
against ``difflab.namespace`` is not written so (``xp.sum(x)`` sums the batch too, and
SciPy then refuses the shape), so :class:`Columns` calls f once per point, on a 1-D x, and
stacks the outputs: correct for every function, at a Python loop's cost per point.

The step: SciPy's default first step, 0.5 absolute, leaves the domain of ``log`` at 0.3
and gives NaN; ``"auto"`` starts at 1/8 of max(|x_i|, 1) (as fd-richardson's largest step)
and, for entries that still meet a NaN or an infinity, starts again 16 times smaller (at
most three times). A number is the first step itself. SciPy computes in x's dtype: float32
points for ``dtype="float32"``, where the Hessian is central differences of SciPy's
gradient (:meth:`ScipyDifferentiate._hessian_of_gradient`: SciPy's own Hessian does not
converge in float32).

:meth:`~difflab.backends.finite_differences.FiniteDifference.estimate` keeps SciPy's
``error`` as ``library_error`` and reports as ``error`` the bound
:func:`difflab.fd.core.library_bound` makes of it (each output's largest, doubled).
"""
from __future__ import annotations

import importlib.metadata

import numpy as np

from ..interface import cost
from ..fd import steps
from ..fd.core import NOISE_ULPS, FDEstimate, library_bound
from ..fd.stencils import CENTRAL
from .finite_differences import CentralDifference, FiniteDifference

#: The first step per unit of max(|x_i|, 1) ("auto"), and how much smaller each retry is.
LARGEST_STEP = 2.0 ** -3
RETRY_FACTOR = 16.0
RETRIES = 3
#: The stencil's order per dtype: SciPy's default, 8, in float64. In float32 order 8 amplifies
#: float32's rounding past SciPy's tolerance (statuses -1/-2); measured on logsumexp (n = 10):
#: 5e-3 / 7e-4 / 4e-5 relative error at order 8 / 4 / 2 (float64, order 8: 6e-14).
ORDER = {"float64": 8, "float32": 2}
#: SciPy's status for "a non-finite value was encountered".
NON_FINITE = -3
#: The noise of SciPy's float32 gradient, relative to sqrt(eps) (its tolerance), that sets the
#: float32 Hessian's step. Measured on Rosenbrock (n = 5), tests/test_dtype.py's function and
#: logsumexp (n = 4): 0.01 / 0.1 / 1 / 10 give 3e-2 / 4e-3 / 2e-2 / 1e-2 relative error on
#: Rosenbrock (the worst of the three each time), each within the reported bound.
GRADIENT_NOISE = 0.1
#: The first SciPy with scipy.differentiate.
FIRST_VERSION = (1, 15)


class Columns:
    """f over SciPy's batch: ``xi`` of shape (n, *batch) -> (m, *batch), one call of f per
    point on a 1-D array of the method's dtype; counts the calls. One per derivative
    computed, so threads never share one."""

    def __init__(self, function, dtype, outputs: int):
        self.function, self.dtype, self.outputs = function, dtype, outputs
        self.evaluations = 0
        self.magnitude = np.zeros(outputs)  # per output, the largest finite |f| seen

    def __call__(self, xi):
        n, batch = xi.shape[0], xi.shape[1:]
        points = np.reshape(xi, (n, -1))
        out = np.empty((self.outputs, points.shape[1]), dtype=self.dtype)
        for k in range(points.shape[1]):
            value = self.function(np.array(points[:, k], dtype=self.dtype))
            out[:, k] = np.asarray(value, dtype=self.dtype).reshape(-1)
        self.evaluations += points.shape[1]
        if out.size:
            size = np.where(np.isfinite(out), np.abs(out), 0.0).max(axis=1)
            self.magnitude = np.fmax(self.magnitude, size)
        return out.reshape((self.outputs,) + batch)

    def component(self, k):
        """The ``k``-th output alone (SciPy's Hessian takes a scalar f)."""
        return lambda xi: self(xi)[k]


class ScipyDifferentiate(FiniteDifference):
    """``scipy.differentiate.jacobian``/``hessian`` (order 8, SciPy's default tolerances)."""

    name = "fd-scipy"
    library = "scipy"
    #: per entry at most 9 + 2 x 9 points (10 iterations); the Hessian measured ~300 n^2
    costs = cost.black_box(lambda n: 27 * n + 1, lambda n: 300 * n * n, ("27n + 1", "~300n^2"))

    @classmethod
    def availability(cls):
        ok, why = super().availability()
        if not ok:
            return ok, why
        version = importlib.metadata.version("scipy")
        parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
        if parts < FIRST_VERSION:
            return False, f"scipy {version} has no scipy.differentiate (SciPy >= 1.15)"
        return True, ""

    def describe(self) -> dict:
        out = super().describe()
        out["steps"] = (f"first step {LARGEST_STEP:g} max(|x_i|, 1), halved each iteration"
                        if self.options["step"] == steps.AUTO else
                        f"first step {self.options['step']:g}, halved each iteration")
        return out

    def _compute(self, function, x, order, error, scale):
        from scipy import differentiate

        if order == 2 and x.dtype != np.float64:
            return self._hessian_of_gradient(function, x, error, scale)
        m = np.asarray(function(x)).size
        columns = Columns(function, x.dtype, m)
        first = steps.steps(self.options["step"], LARGEST_STEP, scale, x.dtype)

        def attempt(step):
            if order == 1:
                found = differentiate.jacobian(columns, x, initial_step=step, order=ORDER[x.dtype.name])
                return np.reshape(found.df, (m, x.size)), np.reshape(found.error, (m, x.size)), \
                    np.reshape(found.status, (m, x.size))
            # the Hessian broadcasts its step against the inner Jacobian's batch: one number
            parts = [differentiate.hessian(columns.component(k), x, initial_step=np.min(step))
                     for k in range(m)]
            return tuple(np.stack([np.reshape(getattr(p, key), (x.size, x.size)) for p in parts])
                         for key in ("ddf", "error", "status"))

        with np.errstate(all="ignore"):  # points outside f's domain give NaN: retried below
            value, bound, status = attempt(first)
            step = first
            for _ in range(RETRIES if self.options["step"] == steps.AUTO else 0):
                failed = status == NON_FINITE
                if not failed.any():
                    break
                step = (step / RETRY_FACTOR).astype(x.dtype)
                again = attempt(step)
                value, bound, status = (np.where(failed, new, old) for new, old in zip(again, (value, bound, status)))
        own = np.abs(bound)
        if not error:
            return FDEstimate(value, None, columns.evaluations + 1, first)
        # SciPy's estimate is the change between its last two iterations, which can fall below
        # f's own rounding (x^1.5 + x: 3x under its Hessian's); that rounding over the first,
        # largest step is a floor no answer beats
        eps = float(np.finfo(x.dtype).eps)
        floor = NOISE_ULPS * eps * columns.magnitude / float(np.min(step)) ** order
        total = library_bound(own) + floor.reshape((m,) + (1,) * order)
        return FDEstimate(value, total, columns.evaluations + 1, first, own)

    def _gradient_noise(self, eps):
        """In float32 (order 2) SciPy's gradient is as noisy as its tolerance, sqrt(eps), and
        the hvp's step (central differences of this gradient) is set for that noise
        (:data:`GRADIENT_NOISE`); in float64 its order-8 gradient is near rounding (measured:
        the hvp 5e-10 off at rounding's step, 1e-6 at sqrt(eps)'s)."""
        if eps > float(np.finfo(np.float64).eps):
            return GRADIENT_NOISE * eps ** 0.5
        return super()._gradient_noise(eps)

    def _hessian_of_gradient(self, function, x, error, scale):
        """Central differences (fd-central's stencil, step and error bound) of this method's
        gradient: the float32 Hessian. SciPy's own asks its inner Jacobian for rtol
        sqrt(eps) / 100, 3.5e-6 in float32, which float32 differences cannot reach; its steps
        shrink until noise wins (measured: -53 for 0.42 on tests/test_dtype.py's function,
        22x the size of Rosenbrock's Hessian at n = 5, status -1 "error increased")."""
        count = [0]

        def gradient(p):
            est = self._compute(function, p, 1, False, scale)
            count[0] += est.evaluations
            return est.value

        # fd-central's step is optimal for an f that rounds at eps; SciPy's gradient is as
        # noisy as its tolerance, sqrt(eps): the step optimal for that, by scaling x's scale
        eps = float(np.finfo(x.dtype).eps)
        wider = CENTRAL.optimal_step(GRADIENT_NOISE * eps ** 0.5) / CENTRAL.optimal_step(eps)
        inner = CentralDifference(dtype=x.dtype.name)._compute(gradient, x, 1, error,
                                                               (scale * wider).astype(x.dtype))
        m = inner.value.shape[0] // x.size
        value = inner.value.reshape(m, x.size, x.size)
        # each entry's bound is fd-central's (truncation from h/2, f's rounding) and misses the
        # noise of SciPy's gradient that every entry shares: spread as library_bound does
        bound = None if inner.error is None else library_bound(inner.error.reshape(m, x.size, x.size))
        return FDEstimate(value, bound, count[0], inner.step)
