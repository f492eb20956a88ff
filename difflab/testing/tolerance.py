"""Default tolerances: what error each method may have, from its own error model.

Exact methods (AD, symbolic, hand-written derivatives) have rounding errors only. For
component i of a derivative r computed in a dtype with machine epsilon eps::

    tol_i = C * eps * (|r_i| + kappa_i + s),   C = 64 per order of differentiation

- ``|r_i|``: the relative rounding of the result itself;
- ``kappa_i``: the condition term, how much the exact derivative moves when every input
  moves by one relative unit (``|d r_i / d x . (x * sigma)|`` for random signs sigma, measured with
  the oracle). It covers cancellation between terms that grow with x, the usual reason an
  exact method loses digits;
- ``s``: a norm-wise scale, the largest ``|r_j|`` or, if larger, the derivative's natural
  unit ``|f(x)| / max(1, |x|)`` (``|grad f(x)| / max(1, |x|)`` for a Hessian), so that
  rounding noise on components that are small because large terms cancel is not called a
  bug (the Hessian of a peaked softmax, the gradient of sin^2 + cos^2).

Finite differences carry their own error estimate ``e_i`` (``method.estimate``); their
tolerance is ``FD_SAFETY * e_i`` on top of the rounding tolerance above.

``rtol``/``atol`` given by the user replace the model: ``tol_i = atol + rtol * |r_i|``, each
part the model's where not given.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Rounding-error multiplier C per order of differentiation: how many units of eps an exact
#: method may be off (gradients in float32: C * eps = 7.6e-6; float64: 1.4e-14).
ROUNDING_FACTOR = 64.0
#: Multiplier on a finite-difference method's own error estimate.
FD_SAFETY = 10.0
#: Relative step for measuring the condition term with the oracle.
CONDITION_STEP = 1e-7


@dataclass
class Tolerance:
    """``tol = atol + rtol * |reference|``, with ``atol`` per component; ``model`` says why."""

    atol: np.ndarray
    rtol: float
    model: str

    def __call__(self, reference: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.atol + self.rtol * np.abs(reference), np.shape(reference))


def eps_of(dtype) -> float:
    return float(np.finfo(np.dtype(dtype)).eps)


def rounding(dtype, condition, scale, rtol=None, atol=None, order: int = 1) -> Tolerance:
    """The tolerance of a method whose only errors are rounding, in ``dtype``.

    ``condition`` is kappa (per component, or None where not measured) and ``scale`` is s,
    both as in the module docstring; ``order`` is 2 for Hessians.
    """
    factor = ROUNDING_FACTOR * order
    c = factor * eps_of(dtype)
    model_atol = c * (_kappa(condition) + scale)
    model = f"rounding: {factor:g} eps({np.dtype(dtype).name}) (|ref| + kappa + s)"
    return _override(model_atol, c, rtol, atol, model)


def finite_difference(dtype, error, condition, scale, rtol=None, atol=None, order: int = 1) -> Tolerance:
    """A finite-difference method's tolerance: its own error estimate on top of rounding.

    Without an estimate (``error`` None, a third-party method) the classic sqrt(eps) of a
    first-order difference stands in for it.
    """
    if error is None:
        root = eps_of(dtype) ** 0.5
        return _override(root * (_kappa(condition) + scale), root, rtol, atol,
                         "no error estimate: sqrt(eps) (|ref| + kappa + s)")
    base = rounding(dtype, condition, scale, order=order)
    model = f"{FD_SAFETY:g} x its error estimate + rounding"
    return _override(base.atol + FD_SAFETY * np.abs(error), base.rtol, rtol, atol, model)


def _kappa(condition):
    return 0.0 if condition is None else np.abs(condition)


def _override(model_atol, model_rtol, rtol, atol, model) -> Tolerance:
    if rtol is None and atol is None:
        return Tolerance(np.asarray(model_atol, dtype=float), model_rtol, model)
    given = ", ".join(f"{k}={v:g}" for k, v in (("rtol", rtol), ("atol", atol)) if v is not None)
    return Tolerance(np.asarray(model_atol if atol is None else float(atol), dtype=float),
                     model_rtol if rtol is None else float(rtol), f"given: {given}")


def floor_scale(reference, lower, x) -> float:
    """``s``: the largest |component|, or the derivative's natural unit if that is larger.

    The natural unit is the next lower derivative over the size of x (``|f(x)| / max(1,
    |x|)`` for gradients and Jacobians, ``|grad f| / max(1, |x|)`` for Hessians): rounding
    errors scale with the terms a derivative is computed from, which can be far larger than
    the result when they cancel (a peaked softmax's Hessian, 1 - p with p near 1).
    """
    largest = float(np.max(np.abs(reference))) if np.size(reference) else 0.0
    size = max(1.0, float(np.max(np.abs(x)))) if np.size(x) else 1.0
    lower = np.abs(np.asarray(lower, dtype=float))
    unit = float(np.max(lower)) / size if lower.size and np.all(np.isfinite(lower)) else 0.0
    return max(largest, unit)
