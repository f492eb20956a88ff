"""Random-direction checks for large n: the scalar u.J.v from the user's derivative
against the oracle's directional derivative, one cheap oracle call per direction."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..interface.function import Function
from ..namespaces import namespace
from . import tolerance as tol
from .candidates import BadOutput
from .exact import DIGITS, ORDER, describe, measured_condition, oracle_value, value_at
from .kink_marks import mark
from ..analysis.kinks import one_sided
from .points import check_tolerances
from .report import CheckReport, MethodOutcome, Row


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
        raise BadOutput("returned complex values" if out is not None else "returned None")
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
            raise BadOutput(f"returned {describe(out)}, not an array of numbers") from None
        n = np.size(v)
        expected = {"gradient": (n,), "vjp": (n,), "hessian": (n, n),
                    "jacobian": (np.size(u), n), "jvp": (np.size(u),)}[kind]
        raise BadOutput(f"returned shape {tuple(shape)}, expected {expected}") from None


def _directional_reference(function, x, kind, u, v):
    """u.J.v (u.H.v for Hessians) by the oracle on a function of one or two variables."""
    from ..analysis.oracle import reference as oracle

    if kind == "hessian":
        g = Function(lambda s: function.fn(s[0] * u + s[1] * v + x), name="f(x + s u + t v)")
        return float(oracle(g, np.zeros(2), derivative="hessian", digits=DIGITS)[0, 1])

    def along(t):
        y = function.fn(t[0] * v + x)
        return y if u is None else namespace(y).sum(y * u)

    g = Function(along, name="u.f(x + t v)")
    return float(oracle(g, np.zeros(1), derivative="gradient", digits=DIGITS)[0])


def check_directions(function, fn, name, kind, pts, directions, rtol, atol, seed, dtype, kinks):
    if int(directions) < 1:
        raise InputError(f"directions must be at least 1, not {directions}")
    check_tolerances(rtol, atol)
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
        f_value = value_at(function, x)
        m = None if kind in ("gradient", "hessian") else int(f_value.size)
        for k in range(int(directions)):
            v = rounded(_unit(rng, x.size))
            u = rounded(_unit(rng, x.size) if kind == "hessian" else (None if m is None else _unit(rng, m)))
            try:
                value, scale, seen = _product(kind, fn, x, u, v, dtype)
            except BadOutput as exc:
                result.status, result.message = "error", str(exc)
                report.methods = [result]
                return report
            result.dtype = dtype or seen
            exact = float(oracle_value(function, x, kind, lambda: _directional_reference(function, x, kind, u, v)))
            signs = rng.choice([-1.0, 1.0], size=x.size)
            kappa = float(measured_condition(lambda y: _directional_reference(function, y, kind, u, v),
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
                mark(row, one_sided(function.fn, x, v, readout, second))
            report.rows.append(row)
    result.tolerance_model = "" if t is None else t.model + " (s: sum |u| |J| |v|)"
    if any(r.status == "fail" for r in report.rows):
        result.status = "fail"
    report.methods = [result]
    return report


def _unit(rng, n):
    v = rng.standard_normal(n)
    return v / np.linalg.norm(v)
