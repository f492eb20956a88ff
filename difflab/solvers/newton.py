"""Newton's method: for minimisation (Hessian from the differentiator, backtracking line
search, a shifted Hessian where it is not positive definite) and for roots of equations."""
from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ._common import Run, finite, positive
from ..console.wording import count

#: Armijo's sufficient-decrease constant and the backtracking factor.
ARMIJO, BACKTRACK, MAX_HALVINGS = 1e-4, 0.5, 60


def newton(f, x0, differentiator="reverse", max_iter: int = 100, tol: float = 1e-8):
    """Minimise ``f`` with Newton steps ``H p = -g`` and a backtracking line search.

    Where the Hessian is not positive definite (Cholesky fails) a multiple of the identity is
    added until it is (Nocedal and Wright, Algorithm 3.3), so every step is a descent
    direction; ``info["modified_steps"]`` counts those steps. On a quadratic with a positive
    definite Hessian the first full step lands on the minimum.

    Parameters
    ----------
    f : callable or Function
    x0 : array_like
    differentiator : str or Differentiator
        Must give a Hessian (natively or as the Jacobian of its gradient).
    max_iter : int
    tol : float
        Stop when ``||grad f(x)||_2 <= tol``.
    """
    max_iter, tol = positive("max_iter", max_iter, integer=True), positive("tol", tol)
    run = Run("newton", f, x0, differentiator)
    x = run.x0
    fx = run.first_value()
    grad, hess = run.prepare("gradient"), run.prepare("hessian")
    run.record(x, fx)
    modified, halvings, shift = 0, 0, 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(max_iter + 1):
            g = grad(x)
            gnorm = float(np.linalg.norm(g))
            info = dict(grad_norm=gnorm, modified_steps=modified, halvings=halvings)
            if not finite(fx, g):
                return run.result(x, fx, k, False, f"f or its gradient is not finite at step {k}", **info)
            if gnorm <= tol:
                message = f"gradient norm {gnorm:.2e} <= tol {tol:g} after {count(k, 'step')}"
                if shift > 0:  # the last Hessian seen was indefinite: a stationary point, maybe no minimum
                    message += ("; but the last Hessian was not positive definite (shifted by "
                                f"{shift:.2e}): x may be a saddle point, not a minimum")
                return run.result(x, fx, k, True, message, last_hessian_shift=shift, **info)
            if k == max_iter:
                return run.result(x, fx, k, False, f"max_iter ({max_iter}) reached with gradient "
                                  f"norm {gnorm:.2e} > tol {tol:g}", **info)
            H = hess(x)
            if not finite(H):
                return run.result(x, fx, k, False, f"the Hessian is not finite at step {k}", **info)
            p, shift = descent_direction(H, g)
            modified += shift > 0
            decrement = -float(g @ p)  # the Newton decrement squared: twice the predicted decrease
            t = 1.0
            while True:
                x_new = x + t * p
                f_new = run.f(x_new)
                if finite(f_new) and f_new <= fx - ARMIJO * t * decrement:
                    break
                halvings += 1
                t *= BACKTRACK
                if t < BACKTRACK ** MAX_HALVINGS:
                    info.update(modified_steps=modified, halvings=halvings)
                    if decrement <= 1e-14 * max(1.0, abs(fx)):
                        return run.result(x, fx, k, True, "no step decreases f, and the predicted "
                                          f"decrease {decrement / 2:.1e} is at rounding level after "
                                          f"{count(k, 'step')} (gradient norm {gnorm:.2e})", **info)
                    return run.result(x, fx, k, False, f"line search failed at step {k + 1}: no "
                                      f"step along the Newton direction decreases f", **info)
            x, fx = x_new, f_new
            run.record(x, fx)
    raise AssertionError("unreachable")


def descent_direction(H, g):
    """``(p, shift)`` with ``(H + shift I) p = -g`` and ``H + shift I`` positive definite."""
    H = 0.5 * (H + H.T)
    n = len(g)
    shift = 0.0
    smallest = float(np.min(np.diag(H)))
    scale = max(float(np.max(np.abs(H))), 1.0)
    while True:
        try:
            L = np.linalg.cholesky(H + shift * np.eye(n))
            break
        except np.linalg.LinAlgError:
            shift = max(2.0 * shift, 1e-3 * scale, -smallest + 1e-3 * scale)
    y = np.linalg.solve(L, -g)
    return np.linalg.solve(L.T, y), shift


def newton_root(g, x0, differentiator="reverse", tol: float = 1e-12, max_iter: int = 100):
    """Solve ``g(x) = 0`` by Newton's iteration ``J dx = -g`` (Jacobian from the differentiator).

    Parameters
    ----------
    g : callable or Function
        ``R -> R`` (pass a scalar ``x0``) or ``R^n -> R^n``.
    x0 : float or array_like
    tol : float
        Stop when ``||g(x)||_2 <= tol`` or the step is below ``tol * (1 + ||x||)``.

    Returns
    -------
    OptimizeResult
        ``x`` a float for a scalar ``x0``; ``fun`` the residual. ``info["convergence"]`` is
        ``"quadratic"``, ``"superlinear"`` or ``"linear"`` as measured from the last steps;
        at a multiple root Newton converges only linearly (step ratio (m-1)/m), and the
        message reports the ratio and the multiplicity it implies rather than hiding it.
    """
    max_iter, tol = positive("max_iter", max_iter, integer=True), positive("tol", tol)
    scalar = np.ndim(x0) == 0
    run = Run("newton root", g, x0, differentiator, scalar=False)
    r = run.first_value()
    if r.shape != run.x0.shape:
        raise InputError(f"newton_root needs as many equations as unknowns: {run.function.name} "
                         f"maps {run.x0.size} inputs to {r.size} outputs (use gauss_newton for "
                         "least squares)")
    jac = run.prepare("jacobian")
    x, steps = run.x0, []

    def done(success, message, k):
        info = convergence(steps)
        if success and info["convergence"] == "linear":
            m = info["multiplicity"]
            message += (f"; converged only linearly (step ratio {info['ratio']:.2f}): a multiple root, "
                        f"multiplicity about {m:.1f}, where x is accurate only to about |g|^(1/{m:.0f}), "
                        "not to the residual")
        out = run.result(x, r, k, success, message, **info)
        if scalar:
            out.x, out.fun = float(x[0]), float(r[0])
        return out

    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(max_iter + 1):
            rnorm = float(np.linalg.norm(r))
            run.record(x, rnorm)
            if not finite(r):
                return done(False, f"the residual is not finite at step {k}", k)
            if rnorm <= tol:
                return done(True, f"residual norm {rnorm:.2e} <= tol {tol:g} after {count(k, 'step')}", k)
            if k == max_iter:
                return done(False, f"max_iter ({max_iter}) reached with residual norm {rnorm:.2e}", k)
            J = jac(x)
            try:
                dx = np.linalg.solve(J, -r)
            except np.linalg.LinAlgError:
                return done(False, f"the Jacobian is singular at step {k} (x = {x})", k)
            if not finite(dx):
                return done(False, f"the Newton step is not finite at step {k}", k)
            x = x + dx
            steps.append(float(np.linalg.norm(dx)))
            r = run.f(x)
            if steps[-1] <= tol * (1.0 + float(np.linalg.norm(x))):
                run.record(x, float(np.linalg.norm(r)))
                return done(True, f"step {steps[-1]:.2e} below tol after {count(k + 1, 'step')}", k + 1)
    raise AssertionError("unreachable")


def convergence(steps) -> dict:
    """The convergence seen in the last step lengths: kind, ratio, order, multiplicity."""
    s = [v for v in steps if v > 0]
    if len(s) < 4:
        return {"convergence": "too few steps to tell", "ratio": None, "order": None, "multiplicity": None}
    ratios = [b / a for a, b in zip(s[-4:-1], s[-3:])]
    ratio = float(np.median(ratios))
    a, b, c = s[-3:]
    order = math.log(c / b) / math.log(b / a) if b != a and a > 0 and b / a != 1.0 else float("nan")
    if 0.05 < ratio < 0.98 and max(ratios) - min(ratios) < 0.1:
        kind = "linear"
    elif order >= 1.7:
        kind = "quadratic"
    else:
        kind = "superlinear"
    return {"convergence": kind, "ratio": ratio, "order": order,
            "multiplicity": 1.0 / (1.0 - ratio) if kind == "linear" else 1.0}
