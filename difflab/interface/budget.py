"""Budgets of library calls: a derivative refuses, before it prepares, work estimated to take
more than ``max_seconds`` or hold more than ``max_bytes``, as ``difflab compare`` does.

The estimate is :mod:`difflab.interface.cost`'s, the one compare uses: the method's declared
:class:`~difflab.interface.cost.Cost` of the kind, on a :class:`~difflab.interface.cost.Probe` of ``f`` at ``x``.
The probe is built as cheaply as the decision allows, since it runs at every preparation:

1. the seconds of the boundary's own evaluation of ``f(x)`` (made anyway, so free) and the
   lower bounds ``8 max(n, m)`` bytes and ``n`` operations: an estimate over the budget on
   these is refused (every cost model grows with them), after timing ``f`` twice more
   where it was refused on time (a first call can be slow);
2. then the peak memory of one more evaluation (``tracemalloc``), where ``f`` is fast;
3. then, only for a model that counts operations (SymPy's setup grows with the size of the
   traced expression), one evaluation on mpmath numbers, which counts them.

Options (``difflab.get(name, max_seconds=..., max_bytes=...)``): ``max_seconds`` defaults to
compare's :data:`difflab.interface.cost.DEFAULT_SECONDS` (60 s), ``max_bytes`` to compare's share of
the memory available at the time (:func:`difflab.interface.cost.default_max_bytes`); ``None`` is no
limit and skips the estimate.
"""
from __future__ import annotations

import math
import time

import numpy as np

from . import cost
from ..errors import InputError, OverBudget
from ..namespaces.precision import computing_in

#: ``max_bytes``' default: :func:`difflab.interface.cost.default_max_bytes`, read when a derivative is
#: prepared (the memory available then, not when the method was made).
AVAILABLE = "available"
#: Above this many seconds per evaluation, ``f``'s memory is not traced (tracemalloc slows
#: allocation-heavy Python severalfold): the lower bound stands.
TRACE_BELOW_SECONDS = 0.05
#: Below this many seconds per evaluation, a refusal on time times ``f`` again first.
RETIME_BELOW_SECONDS = 1.0
#: The cost model of each kind (compare's four) and the size of its result.
MODEL_KIND = {"gradient": "gradient", "value_and_gradient": "gradient", "jacobian": "jacobian",
              "hessian": "hessian", "hvp": "hvp", "vjp": "gradient", "jvp": "gradient"}


def check_options(max_seconds, max_bytes) -> tuple:
    """The budget options as ``(seconds or None, bytes or AVAILABLE or None)``; InputError if bad."""
    return _limit("max_seconds", max_seconds), (max_bytes if max_bytes == AVAILABLE
                                                  else _limit("max_bytes", max_bytes))


def _limit(name, value):
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a positive number or None (no limit), not {value!r}")
    if not (value > 0):  # NaN too
        raise InputError(f"{name} must be a positive number or None (no limit), not {value!r}")
    return float(value)


def model_kind(differentiator, kind: str) -> str:
    """The cost model standing for ``kind``: a JVP or VJP the method forms from its whole
    Jacobian costs a Jacobian, otherwise about a gradient's sweep."""
    if kind in ("jvp", "vjp") and "Jacobian" in differentiator.how(kind):
        return "jacobian"
    return MODEL_KIND[kind]


def check(derivative, x: np.ndarray, f_seconds: float, m: int) -> None:
    """Raise :class:`OverBudget` if ``derivative`` at ``x`` is estimated over its method's
    budget; ``f_seconds`` and ``m`` are from the boundary's evaluation of ``f(x)``."""
    d = derivative.differentiator
    max_seconds, max_bytes = d.max_seconds, d.max_bytes
    if max_seconds is None and max_bytes is None:
        return
    max_seconds = math.inf if max_seconds is None else max_seconds
    max_bytes = (math.inf if max_bytes is None
                 else cost.default_max_bytes() if max_bytes == AVAILABLE else max_bytes)
    kind = model_kind(d, derivative.kind)
    model = type(d).cost(kind)
    n = int(x.size)
    p = cost.Probe(n, m, max(f_seconds, 1e-7), 8.0 * max(n, m))

    def over(p):
        estimate = cost.estimate(model, kind, p, timed=False)
        return estimate, estimate.bytes > max_bytes or estimate.seconds > max_seconds

    estimate, refused = over(p)
    if refused and estimate.bytes <= max_bytes and f_seconds < RETIME_BELOW_SECONDS:
        # refused on time: a first call can be slow (caches, lazy imports); time f again
        p = cost.Probe(n, m, min(p.f_seconds, _best_seconds(derivative, x)), p.f_bytes)
        estimate, refused = over(p)
    if not refused and p.f_seconds < TRACE_BELOW_SECONDS:
        with computing_in(d.dtype):  # f's data at the method's precision, as it will run
            traced = cost.peak_bytes(derivative.function, x)
        p = cost.Probe(n, m, p.f_seconds, max(p.f_bytes, traced))
        estimate, refused = over(p)
    if not refused and _counts_operations(model, kind, p):
        with computing_in(d.dtype):
            mp_seconds = cost.mp_seconds(derivative.function, x)
        if mp_seconds is not None:
            estimate, refused = over(cost.Probe(n, m, p.f_seconds, p.f_bytes, mp_seconds))
    if refused:
        raise OverBudget(_message(derivative, n, estimate, max_seconds, max_bytes), estimate)


def _best_seconds(derivative, x) -> float:
    """The best of two more timed evaluations of ``f`` at ``x``."""
    best = math.inf
    with computing_in(derivative.differentiator.dtype):
        for _ in range(2):
            start = time.perf_counter()
            derivative.function(x)
            best = min(best, time.perf_counter() - start)
    return best


def _counts_operations(model, kind, p) -> bool:
    """Whether ``model``'s estimate depends on the number of operations of ``f``."""
    more = cost.Probe(p.n, p.m, p.f_seconds, p.f_bytes, 1e3 * p.mp_seconds_bound)
    low, high = cost.estimate(model, kind, p, timed=False), cost.estimate(model, kind, more, timed=False)
    return (low.seconds, low.bytes) != (high.seconds, high.bytes)


def _message(derivative, n, estimate, max_seconds, max_bytes) -> str:
    d = derivative.differentiator
    what = f"{derivative.kind} of {derivative.function.name} by {d.name} at n = {n}"
    if estimate.bytes > max_bytes:
        over = (f"estimated {cost.format_bytes(estimate.bytes)} of memory > "
                f"max_bytes {cost.format_bytes(max_bytes)}")
        option = "max_bytes"
    else:
        over = (f"estimated {cost.format_duration(estimate.seconds)} > "
                f"max_seconds {cost.format_duration(max_seconds)}")
        option = "max_seconds"
    return (f"{what} refused before it started: {over} ({estimate.basis}); allow it with "
            f"difflab.get({d.name!r}, {option}=...) ({option}=None: no limit)")

