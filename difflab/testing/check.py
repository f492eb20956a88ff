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
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..environment import one_line
from ..errors import InputError, NotSupported, OverBudget
from ..function import Function, as_function
from ..kinds import DERIVATIVES
from ..namespaces import namespace
from . import tolerance as tol
from .kinks import one_sided
from .report import CheckReport, MethodOutcome, Row
from ..wording import count

#: Working precision of the oracle.
DIGITS = 50
#: Order of differentiation per kind (the rounding allowance grows with it).
ORDER = {"hessian": 2}
KINK_POLICIES = ("warn", "fail", "ignore")
#: At most this many failed components per method and point are examined for a kink.
MAX_KINK_CHECKS = 32
#: Spread of the extra points around x: a relative perturbation (absolute where x_i = 0).
POINT_SPREAD = 0.1


class KinkWarning(UserWarning):
    """The check point lies at a kink: the derivative does not exist there."""


# ====================================================================== the reference side
@dataclass
class Reference:
    """The exact derivative at one point, with what its tolerances need."""

    x: np.ndarray
    value: np.ndarray
    condition: Optional[np.ndarray]
    scale: float
    order: int = 1


def exact_reference(function: Function, x: np.ndarray, kind: str, condition: bool = True,
                    seed: int = 0) -> Reference:
    """The oracle's derivative at ``x``, plus what the tolerance model needs."""
    from ..oracle import reference as oracle

    f_value = _value_at(function, x)
    value = _oracle(function, x, kind, lambda: oracle(function, x, derivative=kind, digits=DIGITS))
    kappa = None
    if condition:
        signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=x.size)
        kappa = _condition(lambda y: oracle(function, y, derivative=kind, digits=DIGITS), x, value, signs)
    lower = oracle(function, x, derivative="gradient", digits=DIGITS) if kind == "hessian" else f_value
    return Reference(x, value, kappa, tol.floor_scale(value, lower, x), ORDER.get(kind, 1))


def _condition(evaluate: Callable, x: np.ndarray, value, signs) -> np.ndarray:
    """kappa: ``|r(x (1 + step sigma)) - r(x)| / step``, measured with the oracle.

    Where the moved point leaves the function's domain (arcsin next to 1) the mirrored
    move ``-sigma`` is used; per component the larger of the finite measurements counts,
    and a component neither measures gets 0.
    """
    found = []
    for direction in (signs, -signs):
        try:
            moved = np.asarray(evaluate(x * (1 + tol.CONDITION_STEP * direction)), dtype=float)
        except Exception:  # noqa: BLE001 - the moved point is outside the domain
            continue
        found.append(np.abs(moved - value) / tol.CONDITION_STEP)
        if np.all(np.isfinite(found[-1])):
            break
    if not found:
        return np.zeros_like(np.asarray(value, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN components
        kappa = np.nanmax(np.where(np.isfinite(found), found, np.nan), axis=0)
    return np.where(np.isfinite(kappa), kappa, 0.0)


def _value_at(function: Function, x: np.ndarray) -> np.ndarray:
    """``f(x)`` as floats; an InputError where it raises, is not made of numbers or not finite."""
    where = _where(x)
    try:
        with np.errstate(all="ignore"):  # a NaN or infinity is reported below, in one line
            f_value = function(x)
    except Exception as exc:  # noqa: BLE001 - the user's function fails at this point
        raise InputError(f"{function.name} fails at {where}: {one_line(exc)}") from exc
    f_value = _real_values(f_value, f"{function.name} at {where}")
    if not np.all(np.isfinite(f_value)):
        raise InputError(f"{function.name} is not finite at {where} (f = "
                         f"{np.array2string(f_value, threshold=8)}): no derivative to check there")
    return f_value


def _oracle(function: Function, x: np.ndarray, kind: str, call: Callable):
    """``call()`` (an oracle evaluation), its failures and non-finite results an InputError."""
    try:
        value = np.asarray(call(), dtype=float)
    except (InputError, NotSupported):
        raise
    except (TypeError, AttributeError) as exc:  # the function does not run on mpmath numbers
        raise InputError(f"the oracle cannot run {function.name} on mpmath numbers ({one_line(exc)}); "
                         f"write it with xp = difflab.namespace(x)") from exc
    except Exception as exc:  # noqa: BLE001 - a pole or a domain error at this point
        raise InputError(f"the oracle fails on {function.name} at {_where(x)} ({one_line(exc)}): "
                         f"the {kind} may not exist there") from exc
    if not np.all(np.isfinite(value)):
        raise InputError(f"the exact {kind} of {function.name} is not finite at {_where(x)}: "
                         f"the derivative does not exist there")
    return value


def _where(x) -> str:
    return f"x = {np.array2string(np.asarray(x), threshold=8)}"


def _real_values(values, what: str) -> np.ndarray:
    """``values`` as a float array, or an InputError naming what was returned instead."""
    arr = np.asarray(values)
    if arr.dtype == object and any(v is None for v in arr.flat):
        raise InputError(f"{what} returned {_describe(values)}, not numbers")
    if np.iscomplexobj(arr):
        raise InputError(f"{what} returned complex values; difflab checks real functions")
    try:
        return np.asarray(arr, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{what} returned {_describe(values)}, not numbers") from None


def _describe(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"a {type(value).__name__}"


class _BadOutput(ValueError):
    """A derivative of the wrong shape or not made of numbers: a result row, not a crash."""


# ====================================================================== the compared side
@dataclass
class Candidate:
    """Something whose derivative is checked: a difflab method or a user's function.

    ``evaluate(x) -> (value, error estimate or None)``; ``dtype`` sets the rounding unit.
    """

    name: str
    evaluate: Callable
    dtype: str
    family: str = "automatic"
    #: A method's exception is a row of the report; the user's own propagates to their test.
    catch: bool = True


def method_candidates(function: Function, kind: str, methods=None, dtype=None) -> list:
    """Resolve ``methods`` (None, "a,b", names or Differentiator instances) to candidates."""
    from .. import registry

    if methods is None:
        methods = list(registry.exact_methods())
        if getattr(function, kind, None) is not None:
            methods.insert(0, "manual")
    elif isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    out = []
    for m in methods:
        d = registry.get(m, dtype=dtype or "float64") if isinstance(m, str) else m
        out.append(Candidate(d.name, _method_evaluator(d, function, kind), d.dtype.name, d.family))
    if not out:
        raise InputError("no methods to check")
    return out


def _method_evaluator(d, function, kind):
    estimate = getattr(d, "estimate", None)
    if d.family == "numeric" and callable(estimate):
        def evaluate(x):
            e = estimate(function, x, kind)
            return np.asarray(e.value, dtype=float), np.asarray(e.error, dtype=float)
        return evaluate
    derivative = getattr(d, kind)(function)
    return lambda x: (derivative(x), None)


# ====================================================================== comparing
def _compare(candidate: Candidate, ref: Reference, value, error, point: int, rtol, atol) -> tuple:
    if np.iscomplexobj(value):
        raise _BadOutput("returned complex values")
    try:
        value = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise _BadOutput(f"returned {_describe(value)}, not an array of numbers") from None
    if value.shape != ref.value.shape:
        if np.squeeze(value).shape != np.squeeze(ref.value).shape:
            raise _BadOutput(f"returned shape {value.shape}, the reference has shape "
                             f"{ref.value.shape}" + (" (transposed?)" if value.shape[::-1] == ref.value.shape else ""))
        value = value.reshape(ref.value.shape)
    if candidate.family == "numeric":
        t = tol.finite_difference(candidate.dtype, error, ref.condition, ref.scale, rtol, atol, ref.order)
    else:
        t = tol.rounding(candidate.dtype, ref.condition, ref.scale, rtol, atol, ref.order)
    tolerance = t(ref.value)
    finite = np.isfinite(value)
    abs_err = np.where(finite, np.abs(np.where(finite, value, 0.0) - ref.value), np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_err = np.where(abs_err == 0, 0.0, abs_err / np.abs(ref.value))
    rows = []
    for index in np.ndindex(ref.value.shape):
        rows.append(Row(candidate.name, point, tuple(int(i) for i in index), float(value[index]),
                        float(ref.value[index]), float(abs_err[index]), float(rel_err[index]),
                        float(tolerance[index]),
                        "ok" if abs_err[index] <= tolerance[index] else "fail"))
    return rows, t.model


def _run(function: Function, kind: str, candidates: list, points: list, rtol, atol,
         kinks: str, seed: int, on_result: Optional[Callable] = None) -> CheckReport:
    if kinks not in KINK_POLICIES:
        raise InputError(f"kinks must be one of {', '.join(KINK_POLICIES)}, not {kinks!r}")
    _check_tolerances(rtol, atol)
    report = CheckReport(function.name, kind, points, f"difflab.reference, mpmath at {DIGITS} digits",
                         fail_on_kinks=kinks == "fail")
    results = {c.name: MethodOutcome(c.name, "ok", c.dtype) for c in candidates}
    refs: dict = {}
    kink_cache: dict = {}
    for p, x in enumerate(points):
        for c in candidates:
            res = results[c.name]
            if res.status in ("unsupported", "error"):
                continue
            xr = x.astype(c.dtype).astype(float)  # the point the method really sees
            key = (p, c.dtype)
            if key not in refs:
                refs[key] = exact_reference(function, xr, kind, condition=atol is None, seed=seed + p)
            try:
                value, error = c.evaluate(xr.astype(c.dtype))
                rows, res.tolerance_model = _compare(c, refs[key], value, error, p, rtol, atol)
                _classify_kinks(function, kind, refs[key].x, rows, kink_cache.setdefault(key, {}))
                report.rows.extend(rows)
            except (NotSupported, OverBudget) as exc:  # over its budget: as compare skips it
                res.status, res.message = "unsupported", str(exc)
            except InputError:
                raise
            except Exception as exc:  # noqa: BLE001 - a method that raises is a result
                if not c.catch and not isinstance(exc, _BadOutput):
                    raise
                res.status, res.message = "error", one_line(exc)
            if on_result is not None:
                on_result(c.name)
    for res in results.values():
        if res.status == "ok" and any(r.method == res.method and r.status == "fail" for r in report.rows):
            res.status = "fail"
    report.methods = list(results.values())
    return report


def _classify_kinks(function, kind, x, rows, cache: dict) -> None:
    """Failed rows at a kink become ``"kink"`` when the value lies between the two sides.

    The worst :data:`MAX_KINK_CHECKS` failures are examined (a derivative wrong everywhere
    is not explained by kinks, and each look costs five 100-digit evaluations of f).
    A gradient component i is the derivative along e_i; a Jacobian entry (i, j) is output i
    along e_j; a Hessian entry (i, j) the second difference along e_i and e_j.
    """
    failed = sorted((r for r in rows if r.status == "fail"), key=lambda r: -r.ratio)[:MAX_KINK_CHECKS]
    if not failed:
        return
    eye = np.eye(x.size)
    outputs = np.eye(int(np.size(function(x)))) if kind == "jacobian" else None
    for row in failed:
        if row.index not in cache:
            i, j = row.index[0], row.index[-1]
            direction, readout, second = {
                "gradient": (eye[i], None, None),
                "jacobian": (eye[j], None if outputs is None else outputs[i], None),
                "hessian": (eye[j], None, eye[i]),
            }[kind]
            cache[row.index] = one_sided(function.fn, x, direction, readout, second)
        _mark(row, cache[row.index])


def _mark(row: Row, sides) -> None:
    if sides is None or not sides.kink:
        return
    row.left, row.right = sides.left, sides.right
    if sides.contains(row.value, row.tolerance):
        row.status = "kink"


def _check_tolerances(rtol, atol) -> None:
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is None:
            continue
        try:
            ok = np.isfinite(float(value)) and float(value) >= 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise InputError(f"{name} must be a finite number >= 0, not {value!r}")


def _points(function: Function, x, points: int, seed: int) -> list:
    if np.iscomplexobj(x):
        raise InputError("x must be real; difflab checks real functions")
    try:
        x = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"x must be a 1-D array of numbers: {exc}") from None
    if x.ndim > 1:
        raise InputError(f"x must be a 1-D point, not an array of shape {x.shape}")
    x = x.reshape(-1)
    if not x.size:
        raise InputError("x is empty")
    if not np.all(np.isfinite(x)):
        raise InputError("x contains NaN or infinity")
    if function.dim is not None and x.size != function.dim:
        raise InputError(f"x has {count(x.size, 'value')}, {function.name} takes {function.dim}")
    if int(points) < 1:
        raise InputError(f"points must be at least 1, not {points}")
    rng = np.random.default_rng(seed)
    out = [x]
    for _ in range(int(points) - 1):
        if function.domain is not None:
            out.append(np.asarray(function.sample(rng, x.size), dtype=float))
        else:
            spread = np.where(x != 0, np.abs(x), 1.0) * POINT_SPREAD
            out.append(x + spread * rng.standard_normal(x.size))
    return out


def _dtype_of(x, dtype) -> Optional[str]:
    if dtype is not None:
        return str(np.dtype(dtype))
    return "float32" if getattr(x, "dtype", None) == np.float32 else None


def _conclude(report: CheckReport, kinks: str) -> CheckReport:
    __tracebackhide__ = True
    if not report.ok:
        raise AssertionError(report.message())
    if report.kinks and kinks == "warn":
        warnings.warn(KinkWarning(report.message()), stacklevel=3)
    return report


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
    pts = _points(function, x, points, seed)
    candidates = method_candidates(function, derivative, methods, _dtype_of(x, dtype))
    return _run(function, derivative, candidates, pts, rtol, atol, kinks, seed, on_result)


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
        method (``difflab.registry.exact_methods()``) plus ``manual`` where it applies.
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
    return _conclude(report, kinks)


# ====================================================================== the user's own derivative
def _check_user(f, fn, x, kind, rtol, atol, points, seed, dtype, kinks, directions) -> CheckReport:
    if kinks not in KINK_POLICIES:
        raise InputError(f"kinks must be one of {', '.join(KINK_POLICIES)}, not {kinks!r}")
    if not callable(fn):
        raise InputError(f"the {kind} to check must be a function, not {type(fn).__name__}")
    function = as_function(f)
    pts = _points(function, x, points, seed)
    dtype = _dtype_of(x, dtype)
    name = getattr(fn, "__name__", "<lambda>")
    name = f"your {kind}" if name == "<lambda>" else name
    if directions is not None or kind in ("jvp", "vjp"):
        report = _check_directions(function, fn, name, kind, pts, directions or 3, rtol, atol,
                                   seed, dtype, kinks)
    else:
        if dtype is None:  # the precision the user's function computes in, from its output
            dtype = "float32" if np.asarray(fn(pts[0])).dtype == np.float32 else "float64"
        candidate = Candidate(name, lambda x: (fn(x), None), dtype, "manual", catch=False)
        report = _run(function, kind, [candidate], pts, rtol, atol, kinks, seed)
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


# ====================================================================== random directions
#: kind -> (the user's output at x, u, v; its factors of u.J.v). ``fn`` gets x, u and v in
#: the precision it is checked in; the product is formed in float64 from its output.
PRODUCTS = {
    "gradient": lambda fn, x, u, v: (fn(x), lambda out: [np.reshape(out, -1), v]),
    "jacobian": lambda fn, x, u, v: (fn(x), lambda out: [u, np.reshape(out, (u.size, v.size)), v]),
    "hessian": lambda fn, x, u, v: (fn(x), lambda out: [u, np.reshape(out, (u.size, v.size)), v]),
    "jvp": lambda fn, x, u, v: (fn(x, v), lambda out: [u, np.reshape(out, -1)]),
    "vjp": lambda fn, x, u, v: (fn(x, u if u.size > 1 else u.reshape(())),
                                lambda out: [np.reshape(out, -1), v]),
}


def _product(kind, fn, x, u, v, dtype):
    """(u.J.v from the user's function, the same product of absolute values, the dtype of
    the user's output). With ``dtype`` the function gets x, u, v in that precision."""
    cast = (lambda a: a) if dtype is None else (lambda a: None if a is None else a.astype(dtype))
    out, factors = PRODUCTS[kind](fn, cast(x), cast(u), cast(v))
    if out is None or np.iscomplexobj(out):
        raise _BadOutput("returned complex values" if out is not None else "returned None")
    seen = "float32" if np.asarray(out).dtype == np.float32 else "float64"
    try:
        arrays = [np.asarray(a, dtype=float) for a in factors(out)]
        value, scale = arrays[0], np.abs(arrays[0])
        for a in arrays[1:]:
            value, scale = value @ a, scale @ np.abs(a)
        return float(value), float(scale), seen
    except (TypeError, ValueError):
        shape = getattr(out, "shape", None)
        if shape is None:
            raise _BadOutput(f"returned {_describe(out)}, not an array of numbers") from None
        n = np.size(v)
        expected = {"gradient": (n,), "vjp": (n,), "hessian": (n, n),
                    "jacobian": (np.size(u), n), "jvp": (np.size(u),)}[kind]
        raise _BadOutput(f"returned shape {tuple(shape)}, expected {expected}") from None


def _directional_reference(function, x, kind, u, v):
    """u.J.v (u.H.v for Hessians) by the oracle on a function of one or two variables."""
    from ..oracle import reference as oracle

    if kind == "hessian":
        g = Function(lambda s: function.fn(s[0] * u + s[1] * v + x), name="f(x + s u + t v)")
        return float(oracle(g, np.zeros(2), derivative="hessian", digits=DIGITS)[0, 1])

    def along(t):
        y = function.fn(t[0] * v + x)
        return y if u is None else namespace(y).sum(y * u)

    g = Function(along, name="u.f(x + t v)")
    return float(oracle(g, np.zeros(1), derivative="gradient", digits=DIGITS)[0])


def _check_directions(function, fn, name, kind, pts, directions, rtol, atol, seed, dtype, kinks):
    if int(directions) < 1:
        raise InputError(f"directions must be at least 1, not {directions}")
    _check_tolerances(rtol, atol)
    rng = np.random.default_rng(seed)
    report = CheckReport(function.name, f"{kind} (random directions u.J.v)", pts,
                         f"difflab.reference, mpmath at {DIGITS} digits, along each direction",
                         fail_on_kinks=kinks == "fail")
    result = MethodOutcome(name, "ok", dtype or "float64")
    # with a dtype, x, u and v are rounded to it: the numbers the user's function really sees
    rounded = (lambda a: a) if dtype is None else (lambda a: None if a is None else a.astype(dtype).astype(float))
    t = None
    for p, x in enumerate(pts):
        x = rounded(x)
        f_value = _value_at(function, x)
        m = None if kind in ("gradient", "hessian") else int(f_value.size)
        for k in range(int(directions)):
            v = rounded(_unit(rng, x.size))
            u = rounded(_unit(rng, x.size) if kind == "hessian" else (None if m is None else _unit(rng, m)))
            try:
                value, scale, seen = _product(kind, fn, x, u, v, dtype)
            except _BadOutput as exc:
                result.status, result.message = "error", str(exc)
                report.methods = [result]
                return report
            result.dtype = dtype or seen
            exact = float(_oracle(function, x, kind, lambda: _directional_reference(function, x, kind, u, v)))
            signs = rng.choice([-1.0, 1.0], size=x.size)
            kappa = float(_condition(lambda y: _directional_reference(function, y, kind, u, v),
                                     x, exact, signs))
            t = tol.rounding(result.dtype, kappa, scale, rtol, atol, ORDER.get(kind, 1))
            tolerance = float(t(np.array(exact)))
            err = abs(value - exact) if np.isfinite(value) else float("inf")
            rel = 0.0 if err == 0 else err / abs(exact) if exact else float("inf")
            row = Row(name, p, ("dir", k), value, exact, err, rel, tolerance,
                      "ok" if err <= tolerance else "fail")
            if row.status == "fail":
                second = u if kind == "hessian" else None
                readout = None if kind == "hessian" else u
                _mark(row, one_sided(function.fn, x, v, readout, second))
            report.rows.append(row)
    result.tolerance_model = "" if t is None else t.model + " (s: sum |u| |J| |v|)"
    if any(r.status == "fail" for r in report.rows):
        result.status = "fail"
    report.methods = [result]
    return report


def _unit(rng, n):
    v = rng.standard_normal(n)
    return v / np.linalg.norm(v)
