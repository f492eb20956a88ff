"""SciPy as the peer: ``scipy.optimize.minimize`` (BFGS, Newton-CG) fed the same prepared
gradients and Hessians, reported in difflab's result shape so the tables line up."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ._common import Run, positive

#: method name -> derivative kinds it is given.
PEER_METHODS = {"BFGS": ("gradient",), "Newton-CG": ("gradient", "hessian")}


def scipy_minimize(f, x0, method: str = "BFGS", differentiator="reverse", tol: float = 1e-8,
                   max_iter: int = 1000):
    """``scipy.optimize.minimize(f, x0, jac=..., hess=..., method=method)``.

    The gradient (and Newton-CG's Hessian) come from ``differentiator``, prepared once; the
    counts are difflab's own. ``tol`` is BFGS's ``gtol`` and Newton-CG's ``xtol``. The
    history records SciPy's iterates (their ``f`` evaluated outside the count).
    """
    from scipy.optimize import minimize

    if method not in PEER_METHODS:
        raise InputError(f"unknown SciPy peer {method!r}; choose from {', '.join(PEER_METHODS)}")
    tol, max_iter = positive("tol", tol), positive("max_iter", max_iter, integer=True)
    run = Run(f"scipy {method}", f, x0, differentiator)
    run.record(run.x0, run.first_value(counted=False))  # outside the count: nfev is SciPy's calls
    derivatives = {kind: run.prepare(kind) for kind in PEER_METHODS[method]}

    def callback(xk, *_):
        run.record(xk, run.function_value(xk))

    options = {"maxiter": max_iter, ("gtol" if method == "BFGS" else "xtol"): tol}
    with np.errstate(over="ignore", invalid="ignore"):
        out = minimize(run.f, run.x0, method=method, jac=derivatives["gradient"],
                       hess=derivatives.get("hessian"), callback=callback, options=options)
    return run.result(np.asarray(out.x), float(out.fun), out.nit, bool(out.success), str(out.message),
                      scipy_nfev=int(out.nfev), scipy_njev=int(out.get("njev", 0)),
                      scipy_nhev=int(out.get("nhev", 0)))


def scipy_least_squares(residuals, x0, differentiator="reverse", tol: float = 1e-10):
    """``scipy.optimize.least_squares`` (trust-region reflective) with the differentiator's
    Jacobian; ``tol`` is its ``gtol``, with ``ftol`` and ``xtol`` at 1e-15. The history holds
    the start and, where SciPy has ``least_squares(callback=)`` (1.16 and later), every
    iterate; with an older SciPy only the start and the answer."""
    import inspect

    from scipy.optimize import least_squares

    tol = positive("tol", tol)
    run = Run("scipy least_squares", residuals, x0, differentiator, scalar=False)
    r0 = run.first_value(counted=False)  # outside the count: nfev is SciPy's calls
    run.record(run.x0, 0.5 * float(r0 @ r0))
    jac = run.prepare("jacobian")
    extra, iterations = {}, []
    if "callback" in inspect.signature(least_squares).parameters:
        def callback(intermediate_result):
            iterations.append(1)
            run.record(np.asarray(intermediate_result.x), float(intermediate_result.cost))

        extra["callback"] = callback
    with np.errstate(over="ignore", invalid="ignore"):
        out = least_squares(run.f, run.x0, jac=jac, gtol=tol, ftol=1e-15, xtol=1e-15, **extra)
    if not np.array_equal(run.xs[-1], out.x):
        run.record(np.asarray(out.x), float(out.cost))
    # nit: SciPy's iterations (one callback each); without the callback, the accepted steps:
    # SciPy evaluates the Jacobian at the start and after each accepted step
    nit = len(iterations) if extra else max(jac.calls - 1, 0)
    return run.result(np.asarray(out.x), float(out.cost), nit, bool(out.success),
                      str(out.message), residuals=out.fun, scipy_nfev=int(out.nfev),
                      scipy_njev=int(out.njev or 0))
