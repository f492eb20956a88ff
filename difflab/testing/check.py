"""Gradient checks against the oracle, for users' test suites.

Two entry points share one comparison:

- :func:`check_methods` / :func:`assert_gradients_agree` run difflab's methods (by default
  every available exact method, plus ``manual`` when the Function has a hand-written
  derivative) on the user's function;
- :func:`check_gradient`, :func:`check_jacobian`, :func:`check_hessian`, :func:`check_jvp`,
  :func:`check_vjp` check a derivative the user wrote themselves, in full or, for large n,
  along random directions (``directions=k``: the scalar u.J.v from the user's function
  against the oracle's directional derivative, one cheap oracle call per direction).

Every number is compared with ``difflab.reference`` (mpmath at 50 digits), never with
another method under test; the tolerances come from :mod:`difflab.testing.tolerance`.
The work is in :mod:`~difflab.testing.exact` (the oracle's side),
:mod:`~difflab.testing.candidates` (the compared side), :mod:`~difflab.testing.points`,
:mod:`~difflab.testing.kink_marks` and :mod:`~difflab.testing.directions`.
"""
from __future__ import annotations

import warnings
from typing import Callable, Optional

import numpy as np

from ..errors import InputError
from ..interface.function import as_function
from ..interface.kinds import DERIVATIVES
from .candidates import Candidate, method_candidates, run
from .directions import check_directions
from .exact import DIGITS, Reference, exact_reference  # noqa: F401 (the checker's names)
from .kink_marks import KinkWarning, check_policy, conclude
from .points import dtype_of, sample_points
from .report import CheckReport


# ====================================================================== methods vs the oracle
def check_methods(f, x, methods=None, derivative: str = "gradient", rtol=None, atol=None,
                  points: int = 1, seed: int = 0, *, dtype=None, kinks: str = "warn",
                  on_result: Optional[Callable] = None) -> CheckReport:
    """Compare difflab methods on ``f`` with the oracle; return the :class:`CheckReport`.

    The arguments are those of :func:`assert_gradients_agree`, which raises where this
    returns; ``on_result(method name)`` is called after each method at each point.
    """
    if derivative not in DERIVATIVES:
        raise InputError(f"derivative must be one of {', '.join(DERIVATIVES)}, not {derivative!r}")
    function = as_function(f)
    pts = sample_points(function, x, points, seed)
    candidates = method_candidates(function, derivative, methods, dtype_of(x, dtype))
    return run(function, derivative, candidates, pts, rtol, atol, kinks, seed, on_result)


def assert_gradients_agree(f, x, methods=None, derivative: str = "gradient", rtol=None, atol=None,
                           points: int = 1, seed: int = 0, *, dtype=None,
                           kinks: str = "warn") -> CheckReport:
    """Assert that every chosen method's derivative of ``f`` agrees with the oracle.

    Parameters
    ----------
    f : callable or difflab.Function
        Written against ``difflab.namespace``; a Function's hand-written derivative is
        checked too (as the ``manual`` method).
    x : array_like
        The point. A float32 array runs the methods in float32 (with float32 tolerances).
    methods : None, str or list
        Registry names or Differentiator instances; None means every available exact
        method (``difflab.interface.registry.exact_methods()``) plus ``manual`` where it applies.
    derivative : {"gradient", "jacobian", "hessian"}
    rtol, atol : float, optional
        Override the error model: ``|value - reference| <= atol + rtol * |reference|``.
        Each defaults to the method's own model (see :mod:`difflab.testing.tolerance`).
    points : int
        How many points: ``x`` and ``points - 1`` more, drawn from the Function's domain
        or around ``x`` (relative spread 0.1), seeded by ``seed``.
    dtype : {"float64", "float32"}, optional
        Precision of the methods named by string (default: from ``x``).
    kinks : {"warn", "fail", "ignore"}
        At a kink (one-sided derivatives differ) a value between the two sides is accepted
        with a :class:`KinkWarning` ("warn"), silently ("ignore") or fails ("fail").

    Returns
    -------
    CheckReport
        When everything agrees. Otherwise raises ``AssertionError`` whose message is a table
        of the worst components: method, index, value (the method's), reference (the
        oracle's), absolute and relative error, tolerance.
    """
    __tracebackhide__ = True
    report = check_methods(f, x, methods, derivative, rtol, atol, points, seed, dtype=dtype, kinks=kinks)
    return conclude(report, kinks)


# ====================================================================== the user's own derivative
def _check_user(f, fn, x, kind, rtol, atol, points, seed, dtype, kinks, directions) -> CheckReport:
    check_policy(kinks)
    if not callable(fn):
        raise InputError(f"the {kind} to check must be a function, not {type(fn).__name__}")
    function = as_function(f)
    pts = sample_points(function, x, points, seed)
    dtype = dtype_of(x, dtype)
    name = getattr(fn, "__name__", "<lambda>")
    name = f"your {kind}" if name == "<lambda>" else name
    if directions is not None or kind in ("jvp", "vjp"):
        report = check_directions(function, fn, name, kind, pts, directions or 3, rtol, atol,
                                   seed, dtype, kinks)
    else:
        if dtype is None:  # the precision the user's function computes in, from its output
            dtype = "float32" if np.asarray(fn(pts[0])).dtype == np.float32 else "float64"
        candidate = Candidate(name, lambda x: (fn(x), None), dtype, "manual", catch=False)
        report = run(function, kind, [candidate], pts, rtol, atol, kinks, seed)
    if report.kinks and kinks == "warn":  # as assert_gradients_agree does
        warnings.warn(KinkWarning(report.message()), stacklevel=3)
    return report


def check_gradient(f, grad, x, *, rtol=None, atol=None, points: int = 1, seed: int = 0,
                   directions: Optional[int] = None, dtype=None, kinks: str = "warn") -> CheckReport:
    """Check a user-supplied gradient ``grad(x)`` of ``f: R^n -> R`` against the oracle.

    Parameters
    ----------
    f : callable or difflab.Function
        The function, written against ``difflab.namespace`` (the oracle runs it on mpmath).
    grad : callable
        ``grad(x) -> (n,)``, written any way (NumPy, a framework, by hand).
    x : array_like
        The point; with ``points > 1`` more points as in :func:`assert_gradients_agree`.
    directions : int, optional
        Random-direction mode for large n: compare ``grad(x) . v`` with the oracle's
        directional derivative for ``directions`` random unit vectors v, each one cheap
        oracle call, instead of all n components.
    dtype : optional
        The precision ``grad`` computes in; default from its output (float32 or float64).

    Returns
    -------
    CheckReport
        ``ok``, ``max_abs_error``, ``max_rel_error``, ``worst_index``, ``rows``; ``str()``
        gives the table. It does not raise on disagreement; ``assert report.ok, report``.
    """
    return _check_user(f, grad, x, "gradient", rtol, atol, points, seed, dtype, kinks, directions)


def check_jacobian(f, jac, x, *, rtol=None, atol=None, points: int = 1, seed: int = 0,
                   directions: Optional[int] = None, dtype=None, kinks: str = "warn") -> CheckReport:
    """Check ``jac(x) -> (m, n)`` of ``f: R^n -> R^m``; ``directions``: compare u.J.v."""
    return _check_user(f, jac, x, "jacobian", rtol, atol, points, seed, dtype, kinks, directions)


def check_hessian(f, hess, x, *, rtol=None, atol=None, points: int = 1, seed: int = 0,
                  directions: Optional[int] = None, dtype=None, kinks: str = "warn") -> CheckReport:
    """Check ``hess(x) -> (n, n)`` of ``f: R^n -> R``; ``directions``: compare u.H.v."""
    return _check_user(f, hess, x, "hessian", rtol, atol, points, seed, dtype, kinks, directions)


def check_jvp(f, jvp, x, *, directions: int = 3, rtol=None, atol=None, points: int = 1,
              seed: int = 0, dtype=None, kinks: str = "warn") -> CheckReport:
    """Check a Jacobian-vector product ``jvp(x, v) -> (m,)``: u . jvp(x, v) against u.J.v."""
    return _check_user(f, jvp, x, "jvp", rtol, atol, points, seed, dtype, kinks, directions)


def check_vjp(f, vjp, x, *, directions: int = 3, rtol=None, atol=None, points: int = 1,
              seed: int = 0, dtype=None, kinks: str = "warn") -> CheckReport:
    """Check a vector-Jacobian product ``vjp(x, u) -> (n,)``: vjp(x, u) . v against u.J.v."""
    return _check_user(f, vjp, x, "vjp", rtol, atol, points, seed, dtype, kinks, directions)


