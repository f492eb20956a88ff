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
  per call of ``difflab.get("reverse").gradient`` at the same point, and
  ``reverse_setup_seconds`` its preparation (the first call, recording included);
- the same gradient as a *graph*, where sharing is kept: ``pytensor_graph_nodes`` (apply
  nodes of the graph ``pytensor.grad`` builds), ``pytensor_nodes`` (apply nodes of the
  compiled ``pytensor.function`` after PyTensor's FAST_RUN rewrites), ``pytensor_scalar_nodes``
  (a fused elementwise node counted by the scalar operations inside it), ``casadi_nodes``
  (``n_nodes`` of the CasADi SX gradient ``Function``), each method with ``*_setup_seconds``
  (trace, differentiate, rewrite/compile) and ``*_eval_seconds`` (per call). PyTensor is
  compiled with its Python linker (the rewrites are FAST_RUN's; no backend compilation, whose
  minutes on a loaded machine would measure Numba), and its rewrites get ``graph_cap`` seconds
  per size (None past it: its algebraic canonicalisation multiplies the logistic map's
  products out). None throughout where the library is not installed (``difflab[graph]``).

The growth of each count with n is fitted (log-log slope and ratio per step) by
:func:`growth`. ``run`` returns records and prints nothing.
"""
from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
from typing import Callable, Optional, Sequence

import numpy as np

from .records import Growth, environment, fit_growth, median_time, progress_noop, stopwatch

SCHEMA = "difflab.swell/1"

#: The counts whose growth the report fits.
COUNTS = ("function_ops", "symbolic_ops", "symbolic_cse_ops", "simplified_ops", "ad_tape_ops",
          "pytensor_graph_nodes", "pytensor_scalar_nodes", "casadi_nodes")
#: The graph-symbolic methods measured beside SymPy: row-field prefix -> (method, options).
GRAPHS = {"pytensor": ("pytensor", {}), "casadi": ("casadi", {"graph": "sx"})}
#: Seconds PyTensor's rewrites get per size (see the module docstring).
GRAPH_CAP = 10.0


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
    reverse_setup_seconds: Optional[float] = None
    pytensor_graph_nodes: Optional[int] = None
    pytensor_nodes: Optional[int] = None
    pytensor_scalar_nodes: Optional[int] = None
    pytensor_setup_seconds: Optional[float] = None
    pytensor_eval_seconds: Optional[float] = None
    casadi_nodes: Optional[int] = None
    casadi_setup_seconds: Optional[float] = None
    casadi_eval_seconds: Optional[float] = None


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


@contextlib.contextmanager
def _alarm(cap: float):
    """Within the block, :class:`_Timeout` is raised after ``cap`` seconds; yields False
    (and arms nothing) where no timer can interrupt: a cap of 0, outside the main thread."""
    if not cap > 0 or threading.current_thread() is not threading.main_thread():
        yield False
        return

    def on_alarm(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, cap)
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def simplified_ops(expressions, cap: float) -> Optional[int]:
    """count_ops after ``sympy.simplify`` of each expression, or None past ``cap`` seconds
    (or where no timer can interrupt: outside the main thread)."""
    import sympy

    with _alarm(cap) as armed:
        if not armed:
            return None
        try:
            return int(sympy.count_ops([sympy.simplify(e) for e in expressions]))
        except _Timeout:
            return None


def tape_ops(f: Callable, x: np.ndarray) -> Optional[int]:
    """Entries on difflab's reverse tape when recording ``f`` at ``x`` (None without one)."""
    try:
        from difflab.ad.reverse import record
    except ImportError:
        return None
    _, tape = record(f, np.asarray(x, dtype=np.float64))
    return len(tape)


def measure(f: Callable, dim: int, x: np.ndarray, n: int, simplify_cap: float = 2.0,
            repeat: int = 5, graph_cap: float = GRAPH_CAP) -> SwellRow:
    """One row: the counts and timings for ``f`` at size ``n`` (``dim`` inputs)."""
    import sympy

    symbols, expr, grads, diff_seconds = sympy_gradient(f, dim)
    compiled, compile_seconds = stopwatch(lambda: sympy.lambdify(symbols, grads, "numpy", cse=True))
    x = np.asarray(x, dtype=np.float64)
    eval_seconds = median_time(lambda: compiled(*x), repeat=repeat)
    reverse_setup, reverse_seconds = _reverse_seconds(f, x, repeat)
    graphs = {}
    for prefix in GRAPHS:
        graphs.update(graph_columns(prefix, f, x, repeat, graph_cap))
    return SwellRow(
        n=n, function_ops=int(sympy.count_ops(expr)), symbolic_ops=int(sympy.count_ops(grads)),
        symbolic_cse_ops=cse_ops(grads), simplified_ops=simplified_ops(grads, simplify_cap),
        ad_tape_ops=tape_ops(f, x), diff_seconds=diff_seconds, compile_seconds=compile_seconds,
        eval_seconds=eval_seconds, reverse_seconds=reverse_seconds,
        reverse_setup_seconds=reverse_setup, **graphs)


def _reverse_seconds(f, x, repeat) -> tuple:
    """(preparation seconds, median seconds per call) of difflab's reverse gradient."""
    import difflab

    try:
        grad = difflab.get("reverse").gradient(f)
        setup = grad.prepare(x)
        grad(x)
    except Exception:  # noqa: BLE001 - reverse not available yet or cannot do it: leave the cells empty
        return None, None
    return setup, median_time(lambda: grad(x), repeat=repeat)


def gradient_program(prefix: str, f: Callable, x: np.ndarray, cap: float = GRAPH_CAP):
    """The graph method's gradient of ``f`` at ``x`` (a
    :class:`difflab.backends._framework.GraphProgram`), or None where it is not installed.
    PyTensor's is compiled with its Python linker within ``cap`` seconds (uncompiled past
    it, or where the cap is 0: only ``graph_nodes``)."""
    import difflab

    name, options = GRAPHS[prefix]
    if not difflab.method_class(name).available():
        return None
    method = difflab.get(name, **options)
    if prefix != "pytensor":
        return method.gradient_program(f, x)
    from pytensor.compile.mode import Mode

    with _alarm(cap) as armed:
        if armed:
            try:
                return method.gradient_program(f, x, mode=Mode(linker="py", optimizer="fast_run"))
            except _Timeout:
                pass
    return method.gradient_program(f, x, compiled=False)


def graph_columns(prefix: str, f: Callable, x: np.ndarray, repeat: int, cap: float = GRAPH_CAP) -> dict:
    """The row's columns for one graph method: sizes, setup and per-call seconds (none
    where the library is not installed; PyTensor's compiled ones none past ``cap``)."""
    program = gradient_program(prefix, f, x, cap)
    if program is None:
        return {}
    out = {f"{prefix}_nodes": program.nodes, f"{prefix}_setup_seconds": program.setup_seconds}
    if prefix == "pytensor":
        out.update(pytensor_scalar_nodes=program.scalar_nodes, pytensor_graph_nodes=program.graph_nodes)
    if program.evaluate is not None:
        try:
            program.evaluate(x)
        except Exception:  # noqa: BLE001 - PyTensor 3.0's Python linker cannot run some fused
            return out     # nodes ('Scratchpad' has no 'ufunc'): the sizes stand, no call time
        out[f"{prefix}_eval_seconds"] = median_time(lambda: program.evaluate(x), repeat=repeat)
    return out


def run(cases: Optional[Sequence[str]] = None, sizes: Optional[dict] = None,
        simplify_cap: float = 2.0, repeat: int = 5, progress=progress_noop,
        on_start=None, graph_cap: float = GRAPH_CAP) -> SwellResult:
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
    graph_cap : seconds allowed to PyTensor's rewrites per size (0: not compiled).
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
        rows, capped_at, graph_capped_at = [], None, None
        record = SwellCase(case.name, case.description, rows)
        if not ns:
            result.cases.append(record)
        for n in ns:
            progress(f"swell: {case.name} n={n}")
            f, dim = case.build(n)
            # capped at a smaller size: a larger one would only spend the cap again
            cap = 0.0 if capped_at is not None and n >= capped_at else simplify_cap
            gcap = 0.0 if graph_capped_at is not None and n >= graph_capped_at else graph_cap
            rows.append(measure(f, dim, case.point(dim), n, cap, repeat, gcap))
            if rows[-1].pytensor_graph_nodes is not None and rows[-1].pytensor_nodes is None and gcap > 0:
                graph_capped_at = n if graph_capped_at is None else min(graph_capped_at, n)
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
    swell is seen, not only counted. Sizes go up to the case's largest measured one.
    :func:`show_graphs` gives the same gradient as PyTensor's and CasADi's graphs."""
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


def show_graphs(case: str, n: int) -> dict:
    """``{method: (nodes, text)}`` for ``swell --show n``: PyTensor's ``debugprint`` of its
    compiled gradient and CasADi's SX gradient expression, for the installed ones."""
    chosen = CASES[case]
    f, dim = chosen.build(int(n))
    out = {}
    for prefix in GRAPHS:
        program = gradient_program(prefix, f, chosen.point(dim))
        if program is not None:  # PyTensor past its cap: the graph before the rewrites
            out[prefix] = (program.nodes if program.nodes is not None else program.graph_nodes,
                           program.text)
    return out


def growth_table(result: SwellResult) -> list[tuple[str, Growth]]:
    """(case, growth) for every case and count, in report order."""
    return [(c.name, g) for c in result.cases for g in c.growth()]
