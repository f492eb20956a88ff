"""Gauss-Newton for nonlinear least squares, with optional Levenberg-Marquardt damping."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ._common import Run, finite, positive
from ..console.wording import count


def gauss_newton(residuals, x0, differentiator="reverse", damping=None, max_iter: int = 200,
                 tol: float = 1e-10, xtol: float = 1e-14):
    """Minimise ``0.5 ||r(x)||^2``; the Jacobian of ``r`` comes from the differentiator.

    Parameters
    ----------
    residuals : callable or Function
        ``r: R^n -> R^m`` with ``m >= n``.
    x0 : array_like
    damping : None, True or float
        ``None``: plain Gauss-Newton, the step solving ``J dx = -r`` in the least-squares sense
        (QR/SVD via ``lstsq``, never the normal equations). ``True`` or a number (the starting
        lambda, 1e-3 for ``True``): Levenberg-Marquardt, ``(J^T J + lambda diag(J^T J)) dx =
        -J^T r``, with lambda updated from the gain ratio (Nielsen's rule).
    tol : float
        Stop when ``||J^T r||_inf <= tol`` (the gradient of the cost).
    xtol : float
        ... or when the step is below ``xtol * (xtol + ||x||)``.

    Returns
    -------
    OptimizeResult
        ``fun`` is the cost ``0.5 ||r||^2`` (as ``scipy.optimize.least_squares``'s ``cost``);
        ``info["residuals"]``, ``info["lambda"]`` for the damped variant.
    """
    max_iter = positive("max_iter", max_iter, integer=True)
    tol, xtol = positive("tol", tol), positive("xtol", xtol)
    lam = _initial_lambda(damping)
    run = Run("levenberg-marquardt" if lam is not None else "gauss-newton", residuals, x0,
              differentiator, scalar=False)
    r = run.first_value()
    if r.size < run.x0.size:
        raise InputError(f"gauss_newton needs at least as many residuals as unknowns: "
                         f"{run.function.name} gives {r.size} for {run.x0.size} unknowns")
    jac = run.prepare("jacobian")
    x, cost, nu = run.x0, 0.5 * float(r @ r), 2.0
    run.record(x, cost)

    def done(k, success, message, **info):
        if lam is not None:
            info["lambda"] = lam
        return run.result(x, cost, k, success, message, residuals=r, **info)

    with np.errstate(over="ignore", invalid="ignore"):
        J = None
        for k in range(max_iter + 1):
            if J is None:
                J = jac(x)
            if not finite(r, J):
                return done(k, False, f"the residuals or the Jacobian are not finite at step {k}")
            gnorm = float(np.max(np.abs(J.T @ r)))
            if gnorm <= tol:
                return done(k, True, f"gradient norm {gnorm:.2e} <= tol {tol:g} after {count(k, 'step')}")
            if k == max_iter:
                return done(k, False, f"max_iter ({max_iter}) reached with gradient norm {gnorm:.2e}")
            dx = _step(J, r, lam)
            x_new = x + dx
            r_new = run.f(x_new)
            cost_new = 0.5 * float(r_new @ r_new)
            small_step = np.linalg.norm(dx) <= xtol * (xtol + np.linalg.norm(x))
            if lam is None:
                accepted = finite(cost_new)
                if not accepted:
                    return done(k, False, f"diverged: the residuals are not finite after step {k + 1}")
            else:
                Jdx = J @ dx
                predicted = -float(r @ Jdx) - 0.5 * float(Jdx @ Jdx)
                actual = 0.5 * float((r - r_new) @ (r + r_new))  # cost - cost_new, without cancellation
                gain = actual / predicted if predicted > 0 else -1.0
                accepted = finite(cost_new) and gain > 0
                if accepted:
                    lam *= max(1.0 / 3.0, 1.0 - (2.0 * gain - 1.0) ** 3)
                    nu = 2.0
                else:
                    lam, nu = lam * nu, 2.0 * nu
            if accepted:
                x, r, cost, J = x_new, r_new, cost_new, None
            run.record(x, cost)  # a rejected step keeps x: the history has nit + 1 rows either way
            if small_step:
                return done(k + 1, True, f"step {np.linalg.norm(dx):.2e} below xtol after {count(k + 1, 'step')} "
                            f"(gradient norm {gnorm:.2e})")
    raise AssertionError("unreachable")


def _step(J, r, lam):
    if lam is None:
        return np.linalg.lstsq(J, -r, rcond=None)[0]
    scale = np.sqrt(np.maximum(np.sum(J * J, axis=0), np.finfo(float).tiny))
    augmented = np.vstack([J, np.sqrt(lam) * np.diag(scale)])
    return np.linalg.lstsq(augmented, np.concatenate([-r, np.zeros(len(scale))]), rcond=None)[0]


def _initial_lambda(damping):
    if damping is None or damping is False:
        return None
    if damping is True:
        return 1e-3
    return positive("damping", damping)
