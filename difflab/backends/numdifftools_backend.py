"""The ``fd-numdifftools`` method: numdifftools' adaptive finite differences behind difflab's
interface, with numdifftools' own error estimate.

numdifftools (``numdifftools.Jacobian`` and ``numdifftools.Hessian``) evaluates central
differences at a sequence of 15 steps, from about 2 max(log(e + |x_i|), 1) down by halves
(1.6ths for second derivatives), extrapolates them (Richardson, then Wynn's epsilon) and
keeps, element by element, the estimate whose error estimate is smallest; ``full_output``
returns that estimate. A gradient or a Jacobian costs 30 n + 1 evaluations of f, a Hessian
30 n^2 + 1. Steps that leave f's domain give NaN, which numdifftools treats as outliers.

:meth:`~difflab.backends.finite_differences.FiniteDifference.estimate` keeps numdifftools'
estimate as ``library_error`` and reports as ``error`` the bound
:func:`difflab.fd.core.library_bound` makes of it (each output's largest, doubled).

Everything else of the interface (jvp as the derivative along v, hvp as central differences
of this method's gradient, vjp from the Jacobian, finite differences of a finite-difference
derivative refused) comes from the finite-difference base class.

numdifftools computes in float64: with ``dtype="float32"`` each point is rounded to float32
before f sees it, so f computes in float32 (the dtype rule); only the first
:data:`FLOAT32_STEPS` steps are taken, and the bound adds what rounding the points and f's
values to float32 does, which numdifftools' estimate does not see.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..interface import cost
from ..fd import steps
from ..fd.core import NOISE_ULPS, FDEstimate, library_bound
from .finite_differences import FiniteDifference

# Where every step gives NaN (a derivative that is infinite at x), numdifftools' choice of the
# best step warns "All-NaN slice encountered" before returning NaN, which difflab's boundary
# then refuses with one clear error (NotFinite). A filter, not catch_warnings: that one
# swaps the process-wide filters and is not thread-safe; this one matches numdifftools only.
warnings.filterwarnings("ignore", message="All-NaN slice encountered",
                        module=r"numdifftools\.")


#: In float32, numdifftools' default 15 steps reach 2^-13 of its largest, where float32 values
#: are quantised enough that neighbouring estimates agree by chance and its error estimate
#: falls below the true error (2x on mlp-loss): the first 9 steps, down to 2^-7 (1/64).
FLOAT32_STEPS = 9
#: Where every step gave NaN for an entry (numdifftools' largest steps, about 2, can leave f's
#: domain and poison its outlier test: arcsin(x tan x) at -0.827), it starts again with its
#: steps RETRY_FACTOR times smaller, at most RETRIES times ("auto" steps only).
RETRY_FACTOR = 16.0
RETRIES = 3


class CountedFunction:
    """``p -> f(p)`` as a float64 vector, ``p`` rounded to the method's dtype first; counts
    the evaluations. One per derivative computed, so threads never share one."""

    def __init__(self, function, dtype):
        self.function, self.dtype = function, dtype
        self.evaluations = 0
        self.outputs = None  # f's number of outputs, from the first call
        self.magnitude = None  # element-wise max |f| over the points evaluated

    def __call__(self, point):
        self.evaluations += 1
        value = self.function(np.asarray(point, dtype=self.dtype))
        out = np.array(value, dtype=np.float64, copy=True).reshape(-1)
        self.outputs = out.size
        with np.errstate(invalid="ignore"):  # NaN beyond f's domain: not a magnitude
            size = np.nan_to_num(np.abs(out), nan=0.0)
        self.magnitude = size if self.magnitude is None else np.fmax(self.magnitude, size)
        return out

    def component(self, k):
        """The ``k``-th output alone, as a number (numdifftools' Hessian takes scalar f)."""
        return lambda point: self(point)[k]


class Numdifftools(FiniteDifference):
    """numdifftools' Jacobian and Hessian with their error estimates.

    ``step="auto"`` is numdifftools' default step generator (15 steps down from about 2);
    a number is numdifftools' ``step`` (its base step, from which it makes its sequence).
    """

    name = "fd-numdifftools"
    library = "numdifftools"
    costs = cost.black_box(lambda n: 30 * n + 1, lambda n: 30 * n * n + 1, ("30n + 1", "30n^2 + 1"))

    def describe(self) -> dict:
        out = super().describe()
        out["steps"] = ("numdifftools' default: 15 steps from about 2 max(log(e + |x_i|), 1), "
                        "extrapolated (Richardson, Wynn)") if self.options["step"] == steps.AUTO else \
            f"numdifftools' base step {self.options['step']:g}"
        return out

    def _steps(self, numdifftools, dtype, retry):
        """numdifftools' ``step`` argument: its default (None) or, on a retry after NaN, its
        default generator started RETRY_FACTOR^retry times smaller; fewer steps in float32."""
        if self.options["step"] != steps.AUTO:
            return self.options["step"]
        if retry == 0 and dtype == np.float64:
            return None
        return numdifftools.MaxStepGenerator(base_step=2.0 / RETRY_FACTOR ** retry,
                                             num_steps=15 if dtype == np.float64 else FLOAT32_STEPS)

    @staticmethod
    def _attempt(numdifftools, counted, point, order, step):
        """(value, numdifftools' error estimate, its chosen steps): (m, n) or (m, n, n)."""
        n = point.size
        if order == 1:
            parts = [numdifftools.Jacobian(counted, step=step, full_output=True)(point)]
        else:
            parts = [numdifftools.Hessian(counted.component(0), step=step, full_output=True)(point)]
            parts += [numdifftools.Hessian(counted.component(k), step=step, full_output=True)(point)
                      for k in range(1, counted.outputs)]  # f's number of outputs is known now
        shape = (-1,) + (n,) * order
        return tuple(np.stack([np.asarray(getattr(p, key), dtype=np.float64) for p in parts]).reshape(shape)
                     for key in ("estimate", "error_estimate", "final_step"))

    def _compute(self, function, x, order, error, scale):
        import numdifftools

        counted = CountedFunction(function, x.dtype)
        auto = self.options["step"] == steps.AUTO
        point = x.astype(np.float64)
        with np.errstate(all="ignore"):  # steps outside f's domain give NaN: outliers to it
            value, bound, final = self._attempt(numdifftools, counted, point, order,
                                                self._steps(numdifftools, x.dtype, 0))
            for retry in range(1, RETRIES + 1 if auto else 1):
                failed = ~np.isfinite(value)
                if not failed.any():
                    break
                again = self._attempt(numdifftools, counted, point, order,
                                      self._steps(numdifftools, x.dtype, retry))
                value, bound, final = (np.where(failed, new, old) for new, old in zip(again, (value, bound, final)))
        m, n = value.shape[0], x.size
        used = np.max(np.abs(final).reshape(-1, n), axis=0)  # per coordinate, the largest chosen
        own = np.abs(bound)
        if not error:
            return FDEstimate(value, None, counted.evaluations, used)
        total = library_bound(own)
        if x.dtype != np.float64:
            # Rounding x_j + h to float32 moves the step by up to half an ulp of x_j, which
            # numdifftools (computing in float64) cannot see: entry (i, j) is then off by about
            # |value_ij| eps |x_j| / h_ij (and |x_i| too for a Hessian), twice that as a bound.
            eps = float(np.finfo(x.dtype).eps)
            size = np.abs(point)[None, :] if order == 1 else np.abs(point)[:, None] + np.abs(point)[None, :]
            total = total + 2 * eps * np.abs(value) * size / np.abs(final)
            # and f's own float32 rounding, NOISE_ULPS eps |f|, over those steps: numdifftools
            # compares the estimates of neighbouring steps, which quantised values can make agree
            rounding = NOISE_ULPS * eps * counted.magnitude[:m]
            total = total + rounding.reshape((m,) + (1,) * (value.ndim - 1)) / np.abs(final) ** order
        return FDEstimate(value, total, counted.evaluations, used, own)
