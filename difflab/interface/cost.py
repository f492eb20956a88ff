"""What a derivative will cost, estimated before it runs, so that a run that would take hours
or all the memory is refused instead of started.

The model is deliberately small. A cheap :func:`probe` runs the function once in float64
(its seconds and, by ``tracemalloc``, its peak memory) and, where that is cheap enough, once
on 50-digit mpmath numbers (the oracle's arithmetic, and a count of its scalar operations).
Each method declares, per derivative kind, a :class:`Cost`: seconds per call, seconds of
setup and bytes held, as known multiples of the probe in ``n`` inputs and ``m`` outputs
(``2n`` evaluations for central differences, ``n`` tangents of every intermediate for
forward mode, ``n^2`` for an n x n Hessian, ...). The factors were measured on this
project's catalogue (docs/reliability.md) and err towards too high; an estimate is good
to a factor of a few, which is what a budget of seconds or gigabytes needs.
"""
from __future__ import annotations

import math
import os
import time
import tracemalloc
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..namespaces.precision import mpmath_digits

#: Seconds of Python bookkeeping per black-box evaluation (finite differences' sampler).
EVAL_OVERHEAD = 8e-6
#: A lower bound on seconds per scalar operation on 50-digit mpmath numbers.
MP_OP_SECONDS = 2e-6
#: Bytes of one 50-digit mpmath number in an object array (the object and its pointer).
MP_BYTES = 120
#: Bytes per second the machine writes a result array at (an n x n Hessian is memory-bound).
WRITE_BYTES_PER_SECOND = 2e9
#: The default time budget of one method (or of the oracle) in ``difflab compare``.
DEFAULT_SECONDS = 60.0
#: The share of the memory available now that one method may be estimated to hold.
MEMORY_SHARE = 0.5


@dataclass(frozen=True)
class Probe:
    """One cheap look at the function at the point.

    Attributes
    ----------
    n, m : int
        Inputs and outputs.
    f_seconds : float
        One float64 evaluation (the best of a few).
    f_bytes : float
        Peak memory of one float64 evaluation (at least the input's 8 n bytes).
    mp_seconds : float or None
        One evaluation on 50-digit mpmath numbers, when it was cheap enough to try;
        None otherwise (the estimates then use :attr:`mp_seconds_bound`).
    """

    n: int
    m: int
    f_seconds: float
    f_bytes: float
    mp_seconds: Optional[float] = None

    @property
    def mp_seconds_bound(self) -> float:
        """``mp_seconds``, or a lower bound on it: at least one operation per input."""
        return self.mp_seconds if self.mp_seconds is not None else self.n * MP_OP_SECONDS

    @property
    def operations(self) -> float:
        """Scalar operations in one evaluation (from the mpmath run, else at least n)."""
        return max(float(self.n), self.mp_seconds_bound / MP_OP_SECONDS)


@dataclass(frozen=True)
class Estimate:
    """What one derivative is expected to take: seconds (setup plus every call compare makes)
    and the peak bytes of one call; ``basis`` says how, in words."""

    seconds: float
    bytes: float
    basis: str

    def refusal(self, max_seconds: float, max_bytes: float) -> str:
        """Why this is over the budget ("" when it is not): one line naming the flags. Memory
        first: more time can be allowed, memory that is not there cannot."""
        if self.bytes > max_bytes:
            return (f"estimated {format_bytes(self.bytes)} of memory > "
                    f"{format_bytes(max_bytes)} available ({self.basis}); --force")
        if self.seconds > max_seconds:
            return (f"estimated {format_duration(self.seconds)} > budget "
                    f"{format_duration(max_seconds)} ({self.basis}); --max-seconds or --force")
        return ""


def _zero(p: Probe) -> float:
    return 0.0


@dataclass(frozen=True)
class Cost:
    """A method's cost for one derivative kind, as functions of the :class:`Probe`.

    ``call`` and ``setup`` in seconds, ``memory`` in bytes held beyond the result (which
    :func:`estimate` adds: 8 n, 8 m n or 8 n^2), ``basis`` the model in words,
    ``first_use`` the seconds of the method's first use in a process (importing its
    framework), paid once, on top of the setup.
    """

    call: Callable[[Probe], float]
    memory: Callable[[Probe], float]
    basis: str
    setup: Callable[[Probe], float] = _zero
    first_use: float = 0.0


# ---------------------------------------------------------------------- model shorthands
def evaluations(count: Callable[[int, int], float], basis: str, per_eval: float = 1.0) -> Cost:
    """A black box evaluated ``count(n, m)`` times (each ``per_eval`` plain evaluations);
    one evaluation's memory at a time, plus the result."""
    return Cost(call=lambda p: count(p.n, p.m) * (per_eval * p.f_seconds + EVAL_OVERHEAD),
                memory=lambda p: 2 * p.f_bytes, basis=basis)


def black_box(gradient: Callable[[int], float], hessian: Callable[[int], float],
              counts: tuple, per_eval: float = 1.0) -> dict:
    """Finite differences: ``gradient(n)`` evaluations for a gradient or a Jacobian (each
    evaluation gives every output), ``hessian(n)`` for a Hessian; ``counts`` names them
    (``("2n", "2n^2")``)."""
    first = evaluations(lambda n, m: gradient(n), f"{counts[0]} evaluations of f", per_eval)
    return {"gradient": first, "jacobian": first,
            "hessian": evaluations(lambda n, m: hessian(n), f"{counts[1]} evaluations of f", per_eval),
            "hvp": evaluations(lambda n, m: 2 * gradient(n), f"2 x {counts[0]} evaluations of f "
                               "(two gradients)", per_eval)}


def reverse_mode(factor: float, overhead: float = 0.0, first_use: float = 0.0,
                 tape: float = 6.0) -> dict:
    """A tape of the function swept backwards: a gradient for ``factor`` evaluations plus
    ``overhead`` seconds, holding ``tape`` copies of the evaluation's memory; a Jacobian one
    sweep per output (or per input, whichever is fewer); a Hessian the same again per input
    (n tangents through the sweep, n of everything held); a Hessian-vector product one
    tangent through a sweep (about three sweeps' work, twice the memory)."""
    def sweep(p):
        return overhead + factor * p.f_seconds
    return {"gradient": Cost(call=sweep, memory=lambda p: tape * p.f_bytes,
                             basis=f"a tape, ~{factor:g} evaluations", first_use=first_use),
            "jacobian": Cost(call=lambda p: min(p.n, p.m) * sweep(p),
                             memory=lambda p: tape * p.f_bytes * min(p.n, p.m),
                             basis="one sweep per output", first_use=first_use),
            "hessian": Cost(call=lambda p: (1 + p.n) * sweep(p),
                            memory=lambda p: tape * p.f_bytes * (1 + p.n),
                            basis="n sweeps of n tangents", first_use=first_use),
            "hvp": Cost(call=lambda p: 3 * sweep(p), memory=lambda p: 2 * tape * p.f_bytes,
                        basis="one tangent through a sweep", first_use=first_use)}


def result_bytes(kind: str, p: Probe) -> float:
    """Bytes of the derivative itself (float64)."""
    return 8.0 * {"gradient": p.n, "jacobian": p.m * p.n, "hessian": p.n * p.n}.get(kind, p.n)


def timed_seconds(setup: float, call: float, repeat: int = 5, min_time: float = 0.05,
                  max_time: float = 2.0) -> float:
    """Seconds compare spends on a method: setup, one checked call, then
    :func:`difflab.analysis.timing.measure` (``repeat`` samples, at least ``min_time``, stopping past
    ``max_time``)."""
    timing = min(max(repeat * call, min_time), max_time + call)
    return setup + call + timing


def estimate(cost: Cost, kind: str, p: Probe, timed: bool = True, repeat: int = 5,
             min_time: float = 0.05) -> Estimate:
    """The :class:`Estimate` of ``cost`` for ``kind`` on probe ``p`` in a fresh process
    (first use, setup) and one call, plus, when ``timed``, the repeated calls that time it
    as compare does."""
    result = result_bytes(kind, p)
    call = cost.call(p) + result / WRITE_BYTES_PER_SECOND
    setup = cost.first_use + cost.setup(p)
    seconds = timed_seconds(setup, call, repeat, min_time) if timed else setup + call
    basis = cost.basis if result < 1e8 else f"{cost.basis}; the result alone is {format_bytes(result)}"
    return Estimate(seconds, cost.memory(p) + result, basis)


# ---------------------------------------------------------------------- the probe
def probe(function, x: np.ndarray, mp_within: float = DEFAULT_SECONDS) -> Probe:
    """Time ``function`` at ``x`` in float64 and measure its peak memory; then, if a lower
    bound on the oracle's time (about n^2 mpmath operations) is within ``mp_within``
    seconds, time one evaluation on mpmath numbers too (about the oracle's cost per tangent).

    Errors of the function propagate: the methods will report them row by row.
    """
    n = int(x.size)
    out = function(x)
    seconds, calls, spent = math.inf, 0, 0.0
    while calls < 3 and spent < 0.5:
        start = time.perf_counter()
        out = function(x)
        took = time.perf_counter() - start
        seconds, calls, spent = min(seconds, took), calls + 1, spent + took
    m = int(np.size(out))
    del out
    # tracing allocations slows allocation-heavy Python severalfold: a slow f is not traced
    traced = peak_bytes(function, x) if seconds < 1.0 else 32.0 * max(n, m)
    f_bytes = max(traced, 8.0 * max(n, m))
    p = Probe(n, m, max(seconds, 1e-7), f_bytes)
    if oracle_bound(p) <= mp_within:
        p = Probe(n, m, p.f_seconds, f_bytes, mp_seconds(function, x))
    return p


def oracle_bound(p: Probe) -> float:
    """A lower bound on the oracle's gradient seconds: n tangents of at least n operations
    (the factor is :data:`difflab.analysis.oracle.COSTS`')."""
    return 1.0 * p.n * p.n * MP_OP_SECONDS


def peak_bytes(function, x) -> float:
    """Peak memory one evaluation allocates (``tracemalloc`` sees NumPy's buffers)."""
    if tracemalloc.is_tracing():  # someone else is tracing: do not disturb their figures
        return 0.0
    tracemalloc.start()
    try:
        function(x)
        return float(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def mp_seconds(function, x) -> Optional[float]:
    """One evaluation on 50-digit mpmath numbers; None if the function cannot take them."""
    import mpmath

    try:
        with mpmath_digits(50):
            xm = np.array([mpmath.mpf(float(v)) for v in np.reshape(x, -1)], dtype=object).reshape(np.shape(x))
            best = math.inf
            while best == math.inf or best < 0.1:  # the first run pays for warming caches
                start = time.perf_counter()
                function(xm)
                took = time.perf_counter() - start
                if took >= best:
                    break
                best = took
            return best
    except Exception:  # noqa: BLE001 - the oracle itself will say what goes wrong
        return None


# ---------------------------------------------------------------------- budgets
def available_bytes() -> float:
    """Memory available now (Linux ``MemAvailable``), else the machine's physical memory,
    else infinity (no memory refusals where it cannot be known)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return math.inf


def default_max_bytes() -> float:
    return MEMORY_SHARE * available_bytes()


def format_duration(seconds: float) -> str:
    """``240`` -> ``"4 min"``; ``7200`` -> ``"2 h"``; ``3e9`` -> ``"95 years"``."""
    for unit, size in (("years", 365.25 * 86400.0), ("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 2 * size:
            return f"{_short(seconds / size)} {unit}"
    return f"{_short(seconds)} s"


def format_bytes(count: float) -> str:
    """``3.2e9`` -> ``"3.2 GB"``; ``2.4e11`` -> ``"240 GB"``."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{_short(count / size)} {unit}"
    return f"{count:.0f} B"


def _short(value: float) -> str:
    """Two significant digits, without an exponent below 1000."""
    return f"{value:.2g}" if value < 100 else f"{value:.0f}" if value < 1000 else f"{value:.1e}"
