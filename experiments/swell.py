"""Expression swell: how big a symbolic derivative gets, against difflab's reverse tape.

Each case is a family of functions indexed by a size n. For each n the function is traced
over a NumPy object array of SymPy symbols (``difflab.namespace`` gives the SymPy namespace
for those), differentiated with ``sympy.diff`` (the gradient), and measured:

- ``function_ops``     ``sympy.count_ops`` of f itself;
- ``symbolic_ops``     ``count_ops`` of the raw gradient, unsimplified (summed over components);
- ``symbolic_cse_ops`` after ``sympy.cse``: the replacements' right-hand sides plus the
  reduced expressions;
- ``simplified_ops``   after ``sympy.simplify`` of each component, within a time cap (None
  when the cap was hit);
- ``ad_tape_ops``      entries on difflab's reverse tape for the same gradient
  (``difflab.ad.reverse.record(f, x)``), i.e. what reverse mode stores instead of an expression;
- ``diff_seconds``     ``sympy.diff`` time; ``compile_seconds`` ``lambdify(..., cse=True)``
  time; ``eval_seconds`` per call of the compiled symbolic gradient; ``reverse_seconds``
  per call of ``difflab.get("reverse").gradient`` at the same point.

The growth of each count with n is fitted (log-log slope and ratio per step) by
:func:`growth`. ``run`` returns records and prints nothing.
"""
from __future__ import annotations

import dataclasses
import signal
import threading
from typing import Callable, Optional, Sequence

import numpy as np

from .records import Growth, environment, fit_growth, median_time, progress_noop, stopwatch

SCHEMA = "difflab.swell/1"

#: The counts whose growth the report fits.
COUNTS = ("function_ops", "symbolic_ops", "symbolic_cse_ops", "simplified_ops", "ad_tape_ops")


# ---------------------------------------------------------------------- the cases
def logistic_map(n: int) -> Callable:
    """l_1 = x, l_{k+1} = 4 l_k (1 - l_k); returns l_n (x in R^1)."""
    def f(x):
        l = x[0]
        for _ in range(n - 1):
            l = 4.0 * l * (1.0 - l)
        return l
    f.__name__ = f"logistic_map_{n}"
    return f


def nested(n: int) -> Callable:
    """sin(exp(sin(exp(... x)))) with n functions applied (x in R^1)."""
    def f(x):
        import difflab

        xp = difflab.namespace(x)
        v = x[0]
        for k in range(n):
            v = xp.exp(v) if k % 2 else xp.sin(v)
        return v
    f.__name__ = f"nested_{n}"
    return f


def product(n: int) -> Callable:
    """x_1 x_2 ... x_n, written as a loop of products (x in R^n)."""
    def f(x):
        p = x[0]
        for i in range(1, n):
            p = p * x[i]
        return p
    f.__name__ = f"product_{n}"
    return f


def mlp_loss(width: int, depth: int, samples: int = 3, inputs: int = 2) -> tuple[Callable, int]:
    """Squared-error loss of a tanh MLP (``depth`` hidden layers of ``width``) as a function
    of its flattened parameters, on fixed data. Returns ``(f, number of parameters)``."""
    rng = np.random.default_rng(1)
    data = rng.normal(size=(samples, inputs))
    target = rng.normal(size=(samples, 1))
    sizes = [inputs] + [width] * depth + [1]
    shapes = [(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
    count = sum(a * b + b for a, b in shapes)

    def f(theta):
        import difflab

        xp = difflab.namespace(theta)
        h = xp.asarray(data)
        at = 0
        for k, (a, b) in enumerate(shapes):
            w = xp.reshape(theta[at:at + a * b], (a, b))
            at += a * b
            bias = theta[at:at + b]
            at += b
            h = h @ w + bias
            if k < len(shapes) - 1:
                h = xp.tanh(h)
        r = h - xp.asarray(target)
        return xp.sum(r * r) / samples
    f.__name__ = f"mlp_w{width}_d{depth}"
    return f, count


@dataclasses.dataclass(frozen=True)
class Case:
    """A family of functions: ``build(n) -> (f, dim)`` and a test point per n."""

    name: str
    description: str
    build: Callable[[int], tuple]
    point: Callable[[int], np.ndarray]
    sizes: tuple


def _scalar_point(value):
    return lambda dim: np.full(dim, value)


CASES = {
    "logistic-map": Case("logistic-map", "l_1 = x, l_{k+1} = 4 l_k (1 - l_k); d l_n / dx",
                         lambda n: (logistic_map(n), 1), _scalar_point(0.3), tuple(range(1, 11))),
    "nested": Case("nested", "sin(exp(sin(...(x)))), n functions deep; d/dx",
                   lambda n: (nested(n), 1), _scalar_point(0.5), tuple(range(1, 11))),
    "product": Case("product", "x_1 x_2 ... x_n; the gradient",
                    lambda n: (product(n), n),
                    lambda dim: np.linspace(0.5, 1.5, dim), (2, 4, 8, 16, 32)),
    "mlp-width": Case("mlp-width", "tanh MLP loss, 1 hidden layer of width n; gradient in the weights",
                      lambda n: mlp_loss(n, 1), lambda dim: 0.5 * np.sin(np.arange(1, dim + 1)),
                      (1, 2, 3, 4, 6)),
    "mlp-depth": Case("mlp-depth", "tanh MLP loss, n hidden layers of width 2; gradient in the weights",
                      lambda n: mlp_loss(2, n), lambda dim: 0.5 * np.sin(np.arange(1, dim + 1)),
                      (1, 2, 3, 4, 5)),
}

#: Small sizes for tests and quick looks.
QUICK_SIZES = {"logistic-map": (1, 2, 3, 4), "nested": (1, 2, 3), "product": (2, 3, 4),
               "mlp-width": (1, 2), "mlp-depth": (1, 2)}


# ---------------------------------------------------------------------- records
@dataclasses.dataclass
class SwellRow:
    n: int
    function_ops: int
    symbolic_ops: int
    symbolic_cse_ops: int
    simplified_ops: Optional[int]
    ad_tape_ops: Optional[int]
    diff_seconds: float
    compile_seconds: float
    eval_seconds: Optional[float]
    reverse_seconds: Optional[float]


@dataclasses.dataclass
class SwellCase:
    name: str
    description: str
    rows: list

    def growth(self) -> list[Growth]:
        ns = [r.n for r in self.rows]
        return [fit_growth(q, ns, [getattr(r, q) for r in self.rows]) for q in COUNTS]

    def to_dict(self) -> dict:
        return {"name": self.name, "rows": [dataclasses.asdict(r) for r in self.rows]}


@dataclasses.dataclass
class SwellResult:
    cases: list
    simplify_cap: float
    environment: dict

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "cases": [c.to_dict() for c in self.cases],
                "environment": self.environment}


# ---------------------------------------------------------------------- measuring
def sympy_gradient(f: Callable, dim: int):
    """Trace ``f`` over ``dim`` symbols: ``(symbols, f expression, gradient list, diff seconds)``."""
    import sympy
    from sympy.core.cache import clear_cache

    clear_cache()   # SymPy caches derivatives: without this, a repeated case times a lookup
    symbols = sympy.symbols(f"x0:{dim}")
    traced = f(np.array(symbols, dtype=object))
    expr = sympy.sympify(traced.item() if isinstance(traced, np.ndarray) else traced)
    grads, seconds = stopwatch(lambda: [sympy.diff(expr, s) for s in symbols])
    return symbols, expr, grads, seconds


def cse_ops(expressions) -> int:
    """count_ops after common-subexpression elimination, replacements included."""
    import sympy

    replacements, reduced = sympy.cse(expressions)
    return int(sympy.count_ops([rhs for _, rhs in replacements]) + sympy.count_ops(reduced))


class _Timeout(BaseException):
    """Not an Exception: SymPy's own ``except Exception`` clauses must not swallow the alarm."""


def simplified_ops(expressions, cap: float) -> Optional[int]:
    """count_ops after ``sympy.simplify`` of each expression, or None past ``cap`` seconds
    (or where no timer can interrupt: outside the main thread)."""
    import sympy

    if not cap > 0 or threading.current_thread() is not threading.main_thread():
        return None

    def on_alarm(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, cap)
    try:
        return int(sympy.count_ops([sympy.simplify(e) for e in expressions]))
    except _Timeout:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def tape_ops(f: Callable, x: np.ndarray) -> Optional[int]:
    """Entries on difflab's reverse tape when recording ``f`` at ``x`` (None without one)."""
    try:
        from difflab.ad.reverse import record
    except ImportError:
        return None
    _, tape = record(f, np.asarray(x, dtype=np.float64))
    return len(tape)


def measure(f: Callable, dim: int, x: np.ndarray, n: int, simplify_cap: float = 2.0,
            repeat: int = 5) -> SwellRow:
    """One row: the counts and timings for ``f`` at size ``n`` (``dim`` inputs)."""
    import sympy

    symbols, expr, grads, diff_seconds = sympy_gradient(f, dim)
    compiled, compile_seconds = stopwatch(lambda: sympy.lambdify(symbols, grads, "numpy", cse=True))
    x = np.asarray(x, dtype=np.float64)
    eval_seconds = median_time(lambda: compiled(*x), repeat=repeat)
    return SwellRow(
        n=n, function_ops=int(sympy.count_ops(expr)), symbolic_ops=int(sympy.count_ops(grads)),
        symbolic_cse_ops=cse_ops(grads), simplified_ops=simplified_ops(grads, simplify_cap),
        ad_tape_ops=tape_ops(f, x), diff_seconds=diff_seconds, compile_seconds=compile_seconds,
        eval_seconds=eval_seconds, reverse_seconds=_reverse_seconds(f, x, repeat))


def _reverse_seconds(f, x, repeat) -> Optional[float]:
    import difflab

    try:
        grad = difflab.get("reverse").gradient(f)
        grad(x)
    except Exception:  # noqa: BLE001 - reverse not available yet or cannot do it: leave the cell empty
        return None
    return median_time(lambda: grad(x), repeat=repeat)


def run(cases: Optional[Sequence[str]] = None, sizes: Optional[dict] = None,
        simplify_cap: float = 2.0, repeat: int = 5, progress=progress_noop,
        on_start=None) -> SwellResult:
    """Measure every case at every size.

    Parameters
    ----------
    cases : names from :data:`CASES` (default: all).
    sizes : optional ``{case: sizes}`` overriding each case's default sizes
        (:data:`QUICK_SIZES` for a fast run).
    simplify_cap : seconds allowed to ``sympy.simplify`` per row (0 skips it).
    repeat : timing repetitions (median).
    progress : ``progress(description, advance=, total=)`` callback, e.g. a rich bar.
    on_start : called with the result record before the first measurement; it fills in
        as rows finish (a case appears with its first row).
    """
    from difflab.errors import InputError

    names = list(cases or CASES)
    unknown = [c for c in names if c not in CASES]
    if unknown:
        raise InputError(f"unknown swell case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    sizes = sizes or {}
    plan = [(CASES[c], tuple(sizes.get(c, CASES[c].sizes))) for c in names]
    progress("swell", total=sum(len(s) for _, s in plan))
    result = SwellResult([], simplify_cap, environment())
    if on_start is not None:
        on_start(result)
    for case, ns in plan:
        rows, capped_at = [], None
        record = SwellCase(case.name, case.description, rows)
        if not ns:
            result.cases.append(record)
        for n in ns:
            progress(f"swell: {case.name} n={n}")
            f, dim = case.build(n)
            # capped at a smaller size: a larger one would only spend the cap again
            cap = 0.0 if capped_at is not None and n >= capped_at else simplify_cap
            rows.append(measure(f, dim, case.point(dim), n, cap, repeat))
            if len(rows) == 1:
                result.cases.append(record)
            if rows[-1].simplified_ops is None and cap > 0:
                capped_at = n if capped_at is None else min(capped_at, n)
            progress(advance=1)
    return result


# ---------------------------------------------------------------------- one depth, shown
def show(case: str, n: int, max_rows: int = 1000):
    """``(case, formula, trace)`` for ``difflab swell --show n``: the case's symbolic
    gradient at size n (:meth:`difflab.backends.symbolic.Sympy.formula`: raw and after CSE)
    and difflab's reverse tape of f at the case's point (:func:`difflab.trace`), so that the
    swell is seen, not only counted. Sizes go up to the case's largest measured one."""
    import difflab
    from difflab.errors import InputError

    if case not in CASES:
        raise InputError(f"unknown swell case {case!r}; known: {', '.join(CASES)}")
    chosen = CASES[case]
    largest = max(chosen.sizes)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= largest:
        raise InputError(f"--show takes a size from 1 to {largest} for {case} (its largest "
                         f"measured size), not {n!r}")
    f, dim = chosen.build(int(n))
    formula = difflab.get("sympy").formula(f, dim, kind="gradient")
    return chosen, formula, difflab.trace(f, chosen.point(dim), max_rows=max_rows)


def growth_table(result: SwellResult) -> list[tuple[str, Growth]]:
    """(case, growth) for every case and count, in report order."""
    return [(c.name, g) for c in result.cases for g in c.growth()]
