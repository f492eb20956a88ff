"""Speed: what a derivative costs, method by method, all timed in the same run.

(a) ``rows``: the gradient of one function (default rosenbrock) at each size n, for every
    available method: ``f_seconds`` (the plain NumPy function), ``setup_seconds`` (tracing,
    differentiating, compiling: once per shape), ``call_seconds`` (per call, median of
    repeated timings) and ``ratio = call_seconds / f_seconds``. A method whose next size is
    predicted (from its own growth so far) to take longer than the time budget is skipped
    there and beyond, and the prediction is recorded in ``skipped``; at its first size, where
    it has no growth yet, the prediction is its cost model's (:mod:`difflab.interface.cost`), which
    also skips it where the memory it would hold is over half of what is available.
    ``f_faults`` and ``call_faults``: minor page faults per call over the same timing loops.
    Everything is timed in this process's allocator state as found (difflab never changes
    it; see ``allocator``): at large n a method whose temporaries make glibc grow and trim
    its heap faults on every call while f may not, and the ratio then compares two states.
(b) ``jacobian``: difflab's forward vs reverse Jacobian of ``x -> sin(A tanh(x))``, R^n -> R^m,
    as m/n varies with n m fixed: forward mode pays per input, reverse per output, so the
    faster one changes where m/n crosses about 1 (``crossover``).
(c) ``setup``: the setup / per-call split of the methods that compile (sympy's lambdify,
    ``jax.jit``, ``tf.function``) beside the tracing ones, with how many calls the setup
    is worth.
(d) ``hessian``: Hessians by every method that has them, by size.

Adapter overhead: for the framework methods (torch, jax, tensorflow, autograd) each row of
(a) also times the framework's own gradient called directly with NumPy in and out
(:mod:`experiments.adapters`: rosenbrock in the framework's operations, any other function
on the framework's tensor) in the same run, right after difflab's, and records
``direct_seconds`` and ``adapter_overhead = call_seconds / direct_seconds``. Frameworks are
timed synchronously: every call ends in a NumPy array (which waits for the computation) and
JAX's asynchronous CPU dispatch is turned off where JAX has not started yet (``dispatch``).

Cost growth (``fit=True``, ``difflab speed --fit``): for each method, ``k`` of time ~ n^k,
least squares on log time against log n over the sizes from 1e3 to 1e6 it ran at
(``fits``: method -> k, the sizes and the seconds it was fitted to).

``run`` returns records and prints nothing. JSON: ``difflab.speed/1`` with ``function``
and ``rows`` (exactly as (a)), plus ``skipped``, ``jacobian``, ``crossover``, ``setup``,
``hessian``, ``fits``, ``dispatch``, ``repeat``, ``timer``, ``allocator`` (the state
measured), ``environment``.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Optional, Sequence

import numpy as np

from .records import (available_methods, environment, median_time, progress_noop, timed_with_faults,
                      timer_name)

SCHEMA = "difflab.speed/1"
#: What ``allocator`` says: the one state every figure of a run was measured in.
ALLOCATOR_STATE = ("this process's allocator as found (glibc defaults unless the caller changed "
                   "them; difflab does not), with whatever libraries the run had loaded; "
                   "page faults per call beside each time")
DIMS = (10, 100, 1000, 10000)
#: Sizes of ``--fit`` (time ~ n^k over n = 1e3..1e6) where no sizes are given.
FIT_DIMS = (1_000, 10_000, 100_000, 1_000_000)
FIT_RANGE = (1_000, 1_000_000)
#: Methods whose gradient is compared with the framework called directly (adapter overhead).
FRAMEWORKS = ("torch", "jax", "tensorflow", "autograd")
JACOBIAN_SIZE = 1024                      # n * m for the Jacobian study
JACOBIAN_NS = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
SETUP_METHODS = (("sympy", {}), ("jax", {"jit": True}), ("tensorflow", {"jit": True}),
                 ("jax", {}), ("tensorflow", {}), ("torch", {}), ("autograd", {}),
                 ("reverse", {}))
SETUP_DIMS = (100,)
HESSIAN_DIMS = (5, 20, 50)
HESSIAN_METHODS = ("forward", "reverse", "fd-central", "fd-complex", "sympy", "autograd",
                   "torch", "jax", "tensorflow", "fd-numdifftools", "fd-scipy",
                   "pytensor", "casadi")


# ---------------------------------------------------------------------- records
@dataclasses.dataclass
class SpeedRow:
    method: str
    dim: int
    f_seconds: float
    setup_seconds: float
    call_seconds: float
    ratio: float
    f_faults: Optional[float] = None      # minor page faults per call of f
    call_faults: Optional[float] = None   # ... and of the derivative
    direct_seconds: Optional[float] = None    # the framework's own gradient called directly
    adapter_overhead: Optional[float] = None  # call_seconds / direct_seconds


@dataclasses.dataclass
class Skipped:
    method: str
    dim: int
    reason: str
    estimate_seconds: Optional[float] = None     # predicted seconds per call, when skipped for time


@dataclasses.dataclass
class JacobianRow:
    method: str
    n: int
    m: int
    setup_seconds: float
    call_seconds: float


@dataclasses.dataclass
class SetupRow:
    method: str
    dim: int
    setup_seconds: float
    call_seconds: float
    calls_per_setup: float                        # setup_seconds / call_seconds


@dataclasses.dataclass
class HessianRow:
    method: str
    dim: int
    setup_seconds: float
    call_seconds: float
    how: str


@dataclasses.dataclass
class SpeedResult:
    function: str
    rows: list
    skipped: list
    jacobian: list
    setup: list
    hessian: list
    repeat: int
    timer: str
    environment: dict
    allocator: str = ALLOCATOR_STATE
    fits: dict = dataclasses.field(default_factory=dict)
    dispatch: str = "synchronous: every call ends in a NumPy array"

    def crossover(self) -> Optional[float]:
        """m/n where forward and reverse Jacobians cost the same (log-interpolated), or None."""
        return jacobian_crossover(self.jacobian)

    def to_dict(self) -> dict:
        as_dicts = lambda rows: [dataclasses.asdict(r) for r in rows]  # noqa: E731
        return {"schema": SCHEMA, "function": self.function, "rows": as_dicts(self.rows),
                "skipped": as_dicts(self.skipped), "jacobian": as_dicts(self.jacobian),
                "crossover": self.crossover(), "setup": as_dicts(self.setup),
                "hessian": as_dicts(self.hessian), "fits": self.fits, "dispatch": self.dispatch,
                "repeat": self.repeat, "timer": self.timer,
                "allocator": self.allocator, "environment": self.environment}


# ---------------------------------------------------------------------- helpers
def _available(name) -> bool:
    return name in available_methods()


def _prepared(method, kind, f, x, options=None):
    """``(derivative, setup seconds)`` after one warm call; raises what the method raises."""
    import difflab

    d = getattr(difflab.get(method, **(options or {})), kind)(f)
    setup = d.prepare(x)
    d(x) if kind != "jvp" else None
    return d, setup


def _label(method, options):
    return method + "".join(f" ({k}={v})" for k, v in (options or {}).items())


def _predict(history, dim) -> tuple[float, float]:
    """Predicted (setup, call) seconds at ``dim`` from ``[(dim, setup, call), ...]``.

    Through the last two points a power law (exponent clipped to [0, 3] for the setup and
    [1, 3] for calls, which at least grow with the input they read); from one point, setup
    constant and calls linear.
    """
    d1, s1, c1 = history[-1]
    if len(history) < 2:
        return s1, c1 * dim / d1
    d0, s0, c0 = history[-2]
    span = math.log(d1 / d0)

    def grow(a, b, low):
        k = min(3.0, max(low, math.log(max(b, 1e-12) / max(a, 1e-12)) / span))
        return b * (dim / d1) ** k
    return grow(s0, s1, 0.0), grow(c0, c1, 1.0)


def _modelled(method, kind, f, x, budget, repeat) -> tuple:
    """``(setup, call, why)``: a method's cost model at a size it has not run yet; ``why``
    says why it is over ``budget`` seconds (setup plus ``repeat + 2`` calls) or over the
    memory share, "" when it is not."""
    import difflab
    from difflab.interface import cost

    try:
        p = cost.probe(f, x, mp_within=budget)
    except Exception:  # noqa: BLE001 - the method's own run reports what is wrong with f
        return 0.0, 0.0, ""
    model = difflab.method_class(method).cost(kind)   # first use: paid by _warm, not here
    setup = model.setup(p)
    call = cost.estimate(model, kind, p, timed=False).seconds - setup - model.first_use
    est = cost.Estimate(setup + call * (repeat + 2), model.memory(p) + cost.result_bytes(kind, p),
                        model.basis)
    why = est.refusal(budget, cost.default_max_bytes())
    return setup, call, why.replace("--max-seconds or --force", "--budget") if why else ""


def _warm(method, function, kind="gradient", options=None):
    """One throwaway derivative at n = 2, so that importing a framework is not counted as setup."""
    try:
        f = sized(function, 2)
        x = _point(f, 2)
        _prepared(method, kind, f, x, options)
    except Exception:  # noqa: BLE001 - the real measurement reports what goes wrong
        pass


# ---------------------------------------------------------------------- (a) gradients
def gradient_rows(function, dims, methods, repeat, budget, progress, rows=None, skipped=None):
    """(a); each part appends to ``rows``/``skipped`` when given, so a caller holding them
    keeps what finished if the study is cut short."""
    import difflab

    rows, skipped = [] if rows is None else rows, [] if skipped is None else skipped
    history: dict[str, list] = {m: [] for m in methods}
    out_of_time: dict[str, float] = {}
    for method in methods:
        _warm(method, function)
    for dim in dims:
        f = sized(function, dim)
        x = _point(f, dim)
        f_seconds, f_faults = timed_with_faults(lambda: f(x), repeat=repeat)
        for method in methods:
            progress(f"speed: {method} n={dim}")
            if method in out_of_time:
                est = _predict(history[method], dim)[1] if history[method] else None
                skipped.append(Skipped(method, dim, "over the time budget at a smaller size", est))
            elif history[method] and sum(p := _predict(history[method], dim)) * (repeat + 2) > budget:
                out_of_time[method] = p[1]
                skipped.append(Skipped(method, dim, f"predicted {p[0]:.2g} s setup + {p[1]:.2g} s "
                                       f"per call exceeds the {budget:g} s budget", p[1]))
            elif not history[method] and (m := _modelled(method, "gradient", f, x, budget, repeat))[2]:
                out_of_time[method] = m[1]
                skipped.append(Skipped(method, dim, f"cost model: {m[2]}", m[1]))
            else:
                try:
                    d, setup = _prepared(method, "gradient", f, x)
                    call, faults = timed_with_faults(lambda: d(x), repeat=repeat)
                    history[method].append((dim, setup, call))
                    direct = _direct_seconds(method, function, f, x, repeat)
                    rows.append(SpeedRow(method, dim, f_seconds, setup, call, call / f_seconds,
                                         f_faults, faults, direct,
                                         None if direct is None else call / direct))
                except difflab.NotSupported as exc:
                    out_of_time[method] = math.nan
                    skipped.append(Skipped(method, dim, f"unsupported: {exc}"))
                except Exception as exc:  # noqa: BLE001 - one method failing must not stop the study
                    out_of_time[method] = math.nan
                    skipped.append(Skipped(method, dim, f"error: {type(exc).__name__}: {exc}"))
            progress(advance=1)
    return rows, skipped


def _direct_seconds(method, function, f, x, repeat) -> Optional[float]:
    """Seconds per call of the framework's own gradient called directly (adapter overhead),
    for the framework methods; None for the others or where the direct call fails."""
    if method not in FRAMEWORKS:
        return None
    from .adapters import direct_gradient

    try:
        direct = direct_gradient(method, {}, None if function == "rosenbrock" else f.fn)
        direct(x)
    except Exception:  # noqa: BLE001 - a function the framework cannot take directly: no column there
        return None
    return median_time(lambda: direct(x), repeat=repeat)


def growth_exponents(rows, low: float = FIT_RANGE[0], high: float = FIT_RANGE[1]) -> dict:
    """method -> {"k", "dims", "seconds"}: ``k`` of call time ~ n^k, least squares on
    log(seconds) against log(n) over the rows with ``low <= n <= high`` (two sizes at least)."""
    by: dict = {}
    for r in rows:
        if low <= r.dim <= high and r.call_seconds > 0:
            by.setdefault(r.method, []).append((r.dim, r.call_seconds))
    fits = {}
    for method, points in by.items():
        points.sort()
        if len({n for n, _ in points}) < 2:
            continue
        dims, seconds = zip(*points)
        k = float(np.polyfit(np.log(dims), np.log(seconds), 1)[0])
        fits[method] = {"k": k, "dims": list(dims), "seconds": list(seconds)}
    return fits


def sized(function: str, dim: int):
    """The function at ``dim`` inputs (catalogue functions scale; others must already fit)."""
    import difflab

    from .catalogue import lookup

    f = lookup(function) if fixed_dim(function) is not None else lookup(function, dim)
    if f.dim is not None and f.dim != dim:
        raise difflab.InputError(f"{function} takes {f.dim} inputs, not {dim}; change --dims")
    return f


@functools.lru_cache(maxsize=64)
def fixed_dim(function: str) -> Optional[int]:
    """The number of inputs of a function that does not scale with n (an expression, the
    classic, the logistic map, whose size is its number of terms), or None where it does."""
    import difflab

    from .catalogue import lookup

    f = lookup(function)           # an unknown name or a bad expression: its InputError
    try:
        scales = len({lookup(function, n).dim for n in (2, 3, 100)}) > 1
    except difflab.InputError:     # "a function of 1 variable; drop --dim"
        scales = False
    return None if scales or f.dim is None else f.dim


def _point(f, dim, seed=0):
    rng = np.random.default_rng(seed)
    try:
        return np.asarray(f.sample(rng, dim), dtype=np.float64)
    except Exception:  # noqa: BLE001 - no sampler of its own: a uniform point
        return rng.uniform(-1.0, 1.0, size=dim)


# ---------------------------------------------------------------------- (b) Jacobians
def jacobian_map(n: int, m: int):
    """``x -> sin(A tanh(x))`` with a fixed A of shape (m, n): R^n -> R^m."""
    import difflab

    a = np.random.default_rng(n * 7919 + m).normal(size=(m, n)) / math.sqrt(n)

    def f(x):
        xp = difflab.namespace(x)
        return xp.sin(xp.asarray(a) @ xp.tanh(x))
    f.__name__ = f"map_{n}_to_{m}"
    return difflab.Function(f, name=f"sin(A tanh(x)), R^{n} -> R^{m}", dim=n)


def jacobian_rows(ns, size, repeat, progress, methods=("forward", "reverse"), rows=None):
    rows = [] if rows is None else rows
    for n in ns:
        m = max(1, size // n)
        f = jacobian_map(n, m)
        x = np.linspace(-1.0, 1.0, n)
        for method in methods:
            progress(f"speed: {method} jacobian {n}->{m}")
            d, setup = _prepared(method, "jacobian", f, x)  # forward and reverse: a failure is a bug
            rows.append(JacobianRow(method, n, m, setup, median_time(lambda: d(x), repeat=repeat)))
            progress(advance=1)
    return rows


def jacobian_crossover(rows) -> Optional[float]:
    """The m/n at which forward/reverse time crosses 1, log-interpolated; None if it never does."""
    by = {}
    for r in rows:
        by.setdefault((r.n, r.m), {})[r.method] = r.call_seconds
    pts = sorted((m / n, math.log(t["forward"] / t["reverse"]))
                 for (n, m), t in by.items() if "forward" in t and "reverse" in t)
    for (r0, l0), (r1, l1) in zip(pts, pts[1:]):
        if l0 == 0:
            return r0
        if (l0 > 0) != (l1 > 0):
            w = l0 / (l0 - l1)
            return float(math.exp(math.log(r0) + w * (math.log(r1) - math.log(r0))))
    return None


# ---------------------------------------------------------------------- (c) setup split
def setup_rows(function, dims, repeat, progress, methods=SETUP_METHODS, rows=None, skipped=None):
    rows, skipped = [] if rows is None else rows, [] if skipped is None else skipped
    for method, options in methods:
        _warm(method, function, "gradient", options)
    for dim in dims:
        f = sized(function, dim)
        x = _point(f, dim)
        for method, options in methods:
            label = _label(method, options)
            progress(f"speed: setup {label} n={dim}")
            if not _available(method):
                skipped.append(Skipped(label, dim, "not available"))
            else:
                try:
                    d, setup = _prepared(method, "gradient", f, x, options)
                    call = median_time(lambda: d(x), repeat=repeat)
                    rows.append(SetupRow(label, dim, setup, call, setup / call))
                except Exception as exc:  # noqa: BLE001 - a method that cannot prepare is a skipped row
                    skipped.append(Skipped(label, dim, f"setup study: {type(exc).__name__}: {exc}"))
            progress(advance=1)
    return rows, skipped


# ---------------------------------------------------------------------- (d) Hessians
def hessian_rows(function, dims, repeat, budget, progress, methods=HESSIAN_METHODS,
                 rows=None, skipped=None):
    rows, skipped = [] if rows is None else rows, [] if skipped is None else skipped
    history: dict[str, list] = {m: [] for m in methods}
    dropped: set = set()
    for method in methods:
        _warm(method, function, "hessian")
    for dim in dims:
        f = sized(function, dim)
        x = _point(f, dim)
        for method in methods:
            progress(f"speed: hessian {method} n={dim}")
            label = f"{method} hessian"
            if method in dropped:
                pass
            elif not _available(method):
                dropped.add(method)
                skipped.append(Skipped(label, dim, "not available"))
            elif history[method] and sum(p := _predict(history[method], dim)) * (repeat + 2) > budget:
                dropped.add(method)
                skipped.append(Skipped(label, dim, f"predicted {p[0]:.2g} s setup + {p[1]:.2g} s "
                                       f"per call exceeds the {budget:g} s budget", p[1]))
            elif not history[method] and (m := _modelled(method, "hessian", f, x, budget, repeat))[2]:
                dropped.add(method)
                skipped.append(Skipped(label, dim, f"cost model: {m[2]}", m[1]))
            else:
                try:
                    d, setup = _prepared(method, "hessian", f, x)
                    call = median_time(lambda: d(x), repeat=repeat)
                    history[method].append((dim, setup, call))
                    rows.append(HessianRow(method, dim, setup, call, d.how))
                except Exception as exc:  # noqa: BLE001 - recorded, and the method dropped from larger sizes
                    dropped.add(method)
                    skipped.append(Skipped(label, dim, f"{type(exc).__name__}: {exc}"))
            progress(advance=1)
    return rows, skipped


# ---------------------------------------------------------------------- the study
def run(function: str = "rosenbrock", dims: Sequence[int] = DIMS,
        methods: Optional[Sequence[str]] = None, repeat: int = 5, budget: float = 3.0,
        jacobian_ns: Sequence[int] = JACOBIAN_NS, jacobian_size: int = JACOBIAN_SIZE,
        setup_dims: Sequence[int] = SETUP_DIMS, hessian_dims: Sequence[int] = HESSIAN_DIMS,
        progress=progress_noop, on_start=None, fit: bool = False) -> SpeedResult:
    """All four parts; a part with no sizes (``jacobian_ns=()``, ...) is left out.
    ``fit``: also the cost growth of each method's gradient (``fits``, see the module).

    ``budget`` is the seconds one method may spend at one size (setup plus the repeated
    calls, as predicted from the smaller sizes) before it is skipped. ``on_start`` is
    called with the result record before the timing starts; it fills in as rows finish.
    """
    import difflab

    for dim in (*dims, *setup_dims, *hessian_dims):
        sized(function, dim)          # a bad function or size: one clear error before timing
    if methods is None:
        methods = available_methods()
    else:
        for m in methods:
            difflab.method_class(m)   # unknown names: one clear error before any timing
    setup_plan = [(m, o) for m, o in SETUP_METHODS if m in methods]
    hessian_plan = [m for m in HESSIAN_METHODS if m in methods]
    total = (len(dims) * len(methods) + 2 * len(jacobian_ns) + len(setup_dims) * len(setup_plan)
             + len(hessian_dims) * len(hessian_plan))
    progress("speed", total=total)
    result = SpeedResult(function, [], [], [], [], [], repeat, timer_name(), environment())
    if "jax" in methods:
        from .adapters import synchronous_dispatch

        result.dispatch = f"jax: {synchronous_dispatch()}; the others: every call ends in a NumPy array"
    if on_start is not None:
        on_start(result)
    gradient_rows(function, dims, list(methods), repeat, budget, progress, result.rows, result.skipped)
    if fit:
        result.fits = growth_exponents(result.rows)
    jacobian_rows(jacobian_ns, jacobian_size, repeat, progress, rows=result.jacobian)
    setup_rows(function, setup_dims, repeat, progress, setup_plan, result.setup, result.skipped)
    hessian_rows(function, hessian_dims, repeat, budget, progress, hessian_plan, result.hessian,
                 result.skipped)
    return result
