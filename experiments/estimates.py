"""Accuracy, part 3: the finite-difference methods that estimate their own error, side by side.

``fd-richardson`` (difflab's Richardson tableau), ``fd-numdifftools`` (numdifftools' adaptive
Richardson/Wynn extrapolation) and ``fd-scipy`` (``scipy.differentiate``, order-8 stencils
refined until converged), each at its default step, on the catalogue's scalar functions, for
gradients and Hessians, in float64 and float32. Per cell: the true error against the oracle
(``difflab.reference``), the bound the method reports (``estimate().error``), the library's own
estimate as it gave it (``estimate().library_error``; numdifftools' ``error_estimate``,
SciPy's ``error``), whether each covers the true error entry by entry, and the evaluations of
f spent. Errors and estimates are max-norm, relative to the largest entry of the exact value.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

import numpy as np

from .records import progress_noop

METHODS = ("fd-richardson", "fd-numdifftools", "fd-scipy")
KINDS = ("gradient", "hessian")


@dataclasses.dataclass
class EstimateCell:
    function: str
    method: str
    dtype: str
    kind: str
    status: str                       # ok, unsupported, error
    error: Optional[float] = None     # true relative error (max-norm)
    bound: Optional[float] = None     # what the method reports (estimate().error), relative
    library: Optional[float] = None   # the library's own estimate, relative (None: difflab's)
    bounds: Optional[bool] = None     # every entry's true error <= its reported bound
    library_bounds: Optional[bool] = None  # ... <= the library's own estimate
    evaluations: Optional[int] = None
    message: str = ""


def _relative(array, scale) -> Optional[float]:
    if array is None:
        return None
    value = float(np.max(np.abs(array))) / scale
    return value if math.isfinite(value) else None


def one(f, x, name: str, method: str, dtype: str, kind: str, reference) -> EstimateCell:
    """One cell: ``method``'s estimate of ``kind`` of ``f`` at ``x`` in ``dtype``."""
    import difflab

    cls = difflab.method_class(method)
    available, why = cls.availability()
    if not available:
        return EstimateCell(name, method, dtype, kind, "unsupported", message=why)
    try:
        with np.errstate(all="ignore"):
            est = difflab.get(method, dtype=dtype).estimate(f, x, kind)
    except difflab.NotSupported as exc:
        return EstimateCell(name, method, dtype, kind, "unsupported", message=str(exc))
    except (difflab.InputError, ArithmeticError, ValueError) as exc:
        return EstimateCell(name, method, dtype, kind, "error", message=str(exc).splitlines()[0])
    scale = max(float(np.max(np.abs(reference))), 1e-300)
    wrong = np.abs(est.value - reference)
    return EstimateCell(
        name, method, dtype, kind, "ok", _relative(wrong, scale), _relative(est.error, scale),
        _relative(est.library_error, scale), bool(np.all(wrong <= est.error)),
        None if est.library_error is None else bool(np.all(wrong <= est.library_error)),
        int(est.evaluations))


def study(functions: Optional[Sequence[str]] = None, methods: Sequence[str] = METHODS,
          dtypes: Sequence[str] = ("float64", "float32"), kinds: Sequence[str] = KINDS,
          progress=progress_noop, cells: Optional[list] = None) -> list[EstimateCell]:
    """Every cell, functions x kinds x dtypes x methods (appended to ``cells`` when given)."""
    import difflab

    from .catalogue import default_names, lookup

    names = list(functions or default_names())
    cells = [] if cells is None else cells
    progress("accuracy: error estimates", total=len(names) * len(kinds))
    for name in names:
        f = lookup(name)
        x = f.default_point()
        for kind in kinds:
            progress(f"accuracy: estimates, {name} {kind}")
            reference = difflab.reference(f, x, kind)
            for dtype in dtypes:
                cells.extend(one(f, x, name, m, dtype, kind, reference) for m in methods)
            progress(advance=1)
    return cells


def summary(cells) -> list[dict]:
    """Per method, dtype and kind: cells, the median true error and reported bound, how often
    the bound (and the library's own estimate) covered the true error, median evaluations."""
    rows = {}
    for c in cells:
        if c.status != "ok":
            continue
        rows.setdefault((c.method, c.dtype, c.kind), []).append(c)
    out = []
    for (method, dtype, kind), group in rows.items():
        def median(values):
            values = [v for v in values if v is not None]
            return float(np.median(values)) if values else None
        own = [c.library_bounds for c in group if c.library_bounds is not None]
        out.append({"method": method, "dtype": dtype, "kind": kind, "cells": len(group),
                    "median_error": median([c.error for c in group]),
                    "median_bound": median([c.bound for c in group]),
                    "median_library": median([c.library for c in group]),
                    "bounded": sum(bool(c.bounds) for c in group),
                    "library_bounded": sum(own) if own else None,
                    "median_evaluations": median([c.evaluations for c in group])})
    return out
