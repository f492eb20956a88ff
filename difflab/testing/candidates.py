"""The compared side of a gradient check: candidates (difflab methods or the user's own
derivative), each compared component by component with the exact reference."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..analysis.environment import one_line
from ..errors import InputError, NotSupported, OverBudget
from ..interface.function import Function
from . import tolerance as tol
from .exact import DIGITS, Reference, describe, exact_reference
from .kink_marks import check_policy, classify_kinks
from .points import check_tolerances
from .report import CheckReport, MethodOutcome, Row


class BadOutput(ValueError):
    """A derivative of the wrong shape or not made of numbers: a result row, not a crash."""


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
    from ..interface import registry

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
def compare_rows(candidate: Candidate, ref: Reference, value, error, point: int, rtol, atol) -> tuple:
    if np.iscomplexobj(value):
        raise BadOutput("returned complex values")
    try:
        value = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise BadOutput(f"returned {describe(value)}, not an array of numbers") from None
    if value.shape != ref.value.shape:
        if np.squeeze(value).shape != np.squeeze(ref.value).shape:
            raise BadOutput(f"returned shape {value.shape}, the reference has shape "
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


def run(function: Function, kind: str, candidates: list, points: list, rtol, atol,
         kinks: str, seed: int, on_result: Optional[Callable] = None) -> CheckReport:
    check_policy(kinks)
    check_tolerances(rtol, atol)
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
                rows, res.tolerance_model = compare_rows(c, refs[key], value, error, p, rtol, atol)
                classify_kinks(function, kind, refs[key].x, rows, kink_cache.setdefault(key, {}))
                report.rows.extend(rows)
            except (NotSupported, OverBudget) as exc:  # over its budget: as compare skips it
                res.status, res.message = "unsupported", str(exc)
            except InputError:
                raise
            except Exception as exc:  # noqa: BLE001 - a method that raises is a result
                if not c.catch and not isinstance(exc, BadOutput):
                    raise
                res.status, res.message = "error", one_line(exc)
            if on_result is not None:
                on_result(c.name)
    for res in results.values():
        if res.status == "ok" and any(r.method == res.method and r.status == "fail" for r in report.rows):
            res.status = "fail"
    report.methods = list(results.values())
    return report
