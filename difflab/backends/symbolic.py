"""The ``sympy`` method: trace the function with symbols, differentiate, CSE, compile.

1. *Trace*: call the function on a NumPy object array of real SymPy symbols;
   ``difflab.namespace`` gives the SymPy namespace, so the result is an expression.
   An ``if``/``while`` on a symbolic value cannot be decided: that is reported as
   :class:`~difflab.NotSupported` (data-dependent control flow), never guessed.
2. *Differentiate*: ``sympy.diff`` of each summand by each variable it contains (twice for
   the Hessian, upper triangle; the Hessian-vector product is the gradient of
   ``grad . v`` with ``v`` a second vector of symbols), O(n) for a sum of local terms.
3. *Eliminate common subexpressions*: ``sympy.cse`` over all derivative entries at once.
4. *Compile*: ``sympy.lambdify`` to one NumPy function returning every entry; floats are
   passed as exact rationals, so constants reach the compiled code bit for bit.

All of this happens once per function and input size (the base class caches evaluators per
shape). :meth:`Sympy.expression_sizes` reports the sizes and timings of each stage for the
expression-swell experiment. See docs/symbolic.md.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import numpy as np

from ..interface import cost
from ..interface.differentiator import Differentiator
from ..interface.boundary import check_finite, derivative_not_finite
from ..errors import InputError, NotSupported
from ..interface.function import as_function

#: The kinds the symbolic pipeline builds; jvp and vjp come from the Jacobian.
SYMBOLIC_KINDS = ("gradient", "value_and_gradient", "jacobian", "hessian", "hvp")


@dataclass
class SymbolicDerivative:
    """Every stage of one symbolic derivative: expressions, their CSE form, timings."""

    kind: str
    n: int
    outputs: list        # the traced function, one expression per output
    entries: list        # the derivative entries handed to cse (Hessian: upper triangle)
    replacements: list   # cse's (symbol, subexpression) pairs
    reduced: list        # cse's entries written with the replacements
    symbols: tuple
    trace_seconds: float
    diff_seconds: float
    cse_seconds: float
    vectors: tuple = ()  # the direction's symbols (hvp), a second argument of the compiled code
    values: int = 0      # how many leading entries are f's own outputs (checked per call)

    def compile(self):
        """One NumPy function ``x -> list of entries`` (``(x, v) ->`` for an hvp); returns it
        and the seconds it took."""
        import sympy

        start = time.perf_counter()
        exact = lambda e: e.xreplace({f: sympy.Rational(f) for f in e.atoms(sympy.Float)})  # noqa: E731
        replacements = [(s, exact(e)) for s, e in self.replacements]
        reduced = [exact(sympy.sympify(e, strict=True)) for e in self.reduced]
        arguments = [list(self.symbols)] + ([list(self.vectors)] if self.vectors else [])
        left = {a for e in reduced + [e for _, e in replacements] for a in e.atoms(sympy.Derivative, sympy.Subs)}
        if left:
            raise NotSupported(self.kind, "sympy", f"SymPy left {sorted(map(str, left))[0]} unevaluated, "
                               "which has no value to compute")
        fn = sympy.lambdify(arguments, reduced, modules=[{"select": _select, "DiracDelta": _dirac_delta}, "numpy"],
                            printer=_printer(), cse=lambda _: (replacements, reduced),
                            docstring_limit=0)
        return fn, time.perf_counter() - start


class Sympy(Differentiator):
    """Symbolic differentiation with SymPy, compiled to NumPy with ``lambdify``."""

    name = "sympy"
    family = "symbolic"
    library = "sympy"
    modules = ("sympy",)  # loaded on first use; compare imports it ahead (difflab.analysis.preload)
    exact = True
    native = frozenset(SYMBOLIC_KINDS)
    native_how = {"hvp": "the symbolic gradient of grad . v, v a vector of symbols"}
    options: dict = {}
    formulas = True  # formula(): the expressions this pipeline builds (difflab.interface.formula)
    freezes_closure = True  # closed-over data becomes constants of the traced expression
    #: setup linear in S (each summand differentiated by its own variables only): measured
    #: 2.3e-3 S (rosenbrock n = 300) to 4.1e-3 S (mlp-loss) seconds; 5e-3 S errs high
    costs = {kind: cost.Cost(call=lambda p: 2e-5 + 2e-7 * p.operations,
                             memory=lambda p: 2000.0 * p.operations,
                             setup=lambda p: 5e-3 * p.operations, first_use=0.5,
                             basis="tracing, diff and CSE, ~5 ms per operation of f")
             for kind in ("gradient", "jacobian")}
    costs["hessian"] = cost.Cost(call=lambda p: p.n * (2e-5 + 2e-7 * p.operations),
                                 memory=lambda p: 2000.0 * p.n * p.operations,
                                 setup=lambda p: 1.1e-3 * p.operations ** 1.3 * (1 + 0.1 * p.n), first_use=0.5,
                                 basis="the gradient's expressions differentiated n times")
    costs["hvp"] = costs["hessian"]  # the Hessian's triangle, multiplied out with v

    # ------------------------------------------------------------------ public extras
    def expression_sizes(self, f, n: int, kind: str = "gradient") -> dict:
        """Sizes and timings of the symbolic derivative of ``f`` at input size ``n``.

        Returns
        -------
        dict
            ``function_ops`` (``sympy.count_ops`` of the traced function),
            ``symbolic_ops`` (of the raw, unsimplified derivative entries),
            ``symbolic_cse_ops`` (after ``cse``, its replacements included),
            ``cse_replacements``, ``entries``, and the seconds spent in each stage:
            ``trace_seconds``, ``diff_seconds``, ``cse_seconds``, ``compile_seconds``.
        """
        import sympy

        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InputError(f"n must be a positive integer, not {n!r}")
        if kind not in SYMBOLIC_KINDS:
            raise InputError(f"kind must be one of {', '.join(SYMBOLIC_KINDS)}, not {kind!r}")
        function = as_function(f)
        with _too_deep(kind, function):
            sd = self._differentiate(kind, function, int(n))
            _, compile_seconds = sd.compile()
        return {
            "n": int(n), "kind": kind, "entries": len(sd.entries),
            "function_ops": int(sympy.count_ops(sd.outputs)),
            "symbolic_ops": int(sympy.count_ops(sd.entries)),
            "symbolic_cse_ops": int(sympy.count_ops([e for _, e in sd.replacements])
                                    + sympy.count_ops(sd.reduced)),
            "cse_replacements": len(sd.replacements),
            "trace_seconds": sd.trace_seconds, "diff_seconds": sd.diff_seconds,
            "cse_seconds": sd.cse_seconds, "compile_seconds": compile_seconds,
        }

    # ------------------------------------------------------------------ the interface
    def _build(self, kind, function, x):
        with _too_deep(kind, function):
            sd = self._differentiate(kind, function, x.size, with_values=True)
            fn, _ = sd.compile()
        n, dtype, m = x.size, x.dtype, sd.values
        name = function.name

        def entries(*xv):
            """The derivative's entries; f's own values come first and are checked: a
            derivative formula can be finite where f is not (1/x for log at x = -1)."""
            with np.errstate(all="ignore"):  # a NaN value is reported just below, in one line
                try:
                    out = np.asarray(fn(*xv), dtype=dtype).reshape(-1)
                except OverflowError:  # an exact constant (floats are Rationals) times x
                    check_finite(np.asarray(function(xv[0])), name)
                    raise derivative_not_finite(kind, "sympy", name) from None
            if m:
                check_finite(out[:m] if m > 1 else out[0], name)
                out = out[m:]
            return out
        if kind == "value_and_gradient":
            def value_and_gradient(x):
                out = entries(x)
                return out[0], out[1:]
            return value_and_gradient
        if kind == "hessian":
            upper = np.triu_indices(n)
            def hessian(x):
                out = np.empty((n, n), dtype=dtype)
                out[upper] = out[upper[::-1]] = entries(x)
                return out
            return hessian
        return entries

    # ------------------------------------------------------------------ the pipeline
    def _formula(self, kind, function, n):
        """The :class:`difflab.interface.formula.Formula` of ``kind``: this pipeline's own trace,
        derivative and CSE, with the function's variable names where it has them, else
        ``x1 .. xn`` as :func:`difflab.trace` names them."""
        from ..interface.formula import Formula, positions

        names = function.variables
        if names is None or len(names) != n:
            names = [f"x{i + 1}" for i in range(n)]
        with _too_deep(kind, function):
            sd = self._differentiate(kind, function, n, names=names)
            return Formula.build(function.name, self.name, kind, sd.symbols, sd.vectors,
                                 sd.outputs, positions(kind, n, len(sd.outputs)), sd.entries,
                                 sd.replacements, sd.reduced)

    def _differentiate(self, kind, function, n, with_values: bool = False,
                       names=None) -> SymbolicDerivative:
        """Trace, differentiate, CSE. ``with_values``: f's outputs go first among the entries
        (sharing the CSE), for the per-call check that f is finite where the derivative is
        evaluated; ``values`` says how many (value_and_gradient has its value already).
        ``names``: the variables' names (``x0 .. x{n-1}`` without), for showing."""
        import sympy

        names = list(names) if names is not None and len(names) == n else [f"x{i}" for i in range(n)]
        symbols = tuple(sympy.Symbol(name, real=True) for name in names)
        vectors = (tuple(sympy.Symbol(v, real=True) for v in _direction_names(names))
                   if kind in ("hvp", "jvp") else ())
        start = time.perf_counter()
        outputs = self._trace(function, symbols)
        traced = time.perf_counter()
        entries = [_sign_derivatives_zero(e) for e in
                   _derivative_entries(kind, outputs, symbols, function.name, vectors)]
        values = len(outputs) if with_values and kind != "value_and_gradient" else 0
        entries = list(outputs[:values]) + list(entries)
        differentiated = time.perf_counter()
        replacements, reduced = sympy.cse(entries, symbols=_cse_symbols(symbols + vectors))
        return SymbolicDerivative(kind, n, outputs, entries, replacements, reduced, symbols,
                                  traced - start, differentiated - traced,
                                  time.perf_counter() - differentiated, vectors, values)

    def _trace(self, function, symbols) -> list:
        import sympy

        from ..namespaces import SYMPY
        from ..namespaces.view import call_viewed, unview

        try:  # as views, which refuse an if or == on a symbol (namespaces.object_ns.SympyView)
            out = call_viewed(SYMPY, function, np.array(symbols, dtype=object))
        except TypeError as exc:
            text = str(exc)
            if "truth value" in text or "Relational" in text:
                raise NotSupported(
                    "data-dependent control flow", self.name,
                    f"{function.name} branches on a value of x (an if, while or == on a symbol: "
                    f"{text}); SymPy cannot decide it, so use AD or finite differences") from None
            raise
        entries = [unview(e) for e in np.asarray(out, dtype=object).reshape(-1)]
        if any(isinstance(e, (str, bytes)) for e in entries):  # sympify would run text as code
            raise InputError(f"{function.name} returned text under the sympy method, not an "
                             "expression of x")
        return [sympy.sympify(e, strict=True) for e in entries]


@contextlib.contextmanager
def _too_deep(kind, function):
    """SymPy's tree algorithms recurse; an expression deeper than Python allows is reported."""
    try:
        yield
    except RecursionError:
        raise NotSupported(kind, "sympy", f"the expression of {function.name} is too deep for "
                                          "SymPy's recursive algorithms") from None


def _printer():
    """NumPy's printer, printing ``Heaviside`` as ``numpy.heaviside``.

    SymPy's code printers rewrite ``Heaviside`` as a ``Piecewise``; for the derivative of a
    ``Max``/``Min`` of k arguments that rewrite nests k conditions deep and takes seconds
    to minutes to print. ``numpy.heaviside(t, 1/2)`` is the same function.
    """
    from sympy import S
    from sympy.printing.numpy import NumPyPrinter

    class Printer(NumPyPrinter):
        def _print_Heaviside(self, expr):
            at_zero = expr.args[1] if len(expr.args) > 1 else S.Half
            return (f"{self._module_format('numpy.heaviside')}"
                    f"({self._print(expr.args[0])}, {self._print(at_zero)})")

    # the settings lambdify gives its own printer
    return Printer({"fully_qualified_modules": False, "inline": True,
                    "allow_unknown_functions": True, "user_functions": {"select": "select"}})


def _sign_derivatives_zero(expr):
    """SymPy leaves ``d/dx sign(u)`` (from differentiating ``Abs`` twice) unevaluated; it is 0
    wherever it exists, and at u = 0 it is taken as 0, as :func:`_dirac_delta` is."""
    import sympy

    return expr.replace(lambda a: isinstance(a, sympy.Derivative) and isinstance(a.expr, sympy.sign),
                        lambda a: sympy.S.Zero)


def _dirac_delta(x, *order):
    """SymPy's ``DiracDelta``, which differentiating a kink (abs, Max, Min, Heaviside) leaves in a
    second derivative, evaluated as 0: the derivative wherever it exists, and at the kink
    itself the value every AD method returns there (docs/symbolic.md)."""
    return np.zeros_like(np.asarray(x, dtype=float))


def _select(condlist, choicelist, default=0):
    """``numpy.select`` for lambdified Piecewise: SymPy nests a ``select`` as a *condition*
    (from the derivative of Max/Min of several arguments), which returns 0/1 floats where
    NumPy 2 insists on booleans."""
    return np.select([np.asarray(c).astype(bool) for c in condlist], choicelist, default)


def _derivative_entries(kind, outputs, symbols, name, vectors=()) -> list:
    """The derivative's entries, row-major: gradient (n), Jacobian (m*n), Hessian (upper),
    Hessian-vector product (n, in ``symbols`` and the direction's ``vectors``).

    Each summand of an expression is differentiated only with respect to the symbols it
    contains (:func:`_partials`): the derivative of a sum of n terms of a few variables
    each costs O(n), where ``sympy.diff(f, s)`` for every s walks all of f n times, O(n^2).
    """
    if kind == "jacobian":
        return [d for f in outputs for d in _partials(f, symbols)]
    if kind == "jvp":  # J v, the zero entries of J costing nothing
        import sympy

        return [sympy.Add(*(d * v for d, v in zip(_partials(f, symbols), vectors) if d != 0))
                for f in outputs]
    if len(outputs) != 1:
        raise InputError(f"{kind} of {name}: the function must be scalar-valued, "
                         f"it has {len(outputs)} outputs")
    f = outputs[0]
    gradient = _partials(f, symbols)
    if kind == "gradient":
        return gradient
    if kind == "value_and_gradient":
        return [f] + gradient
    rows = [_partials(g, symbols[i:]) for i, g in enumerate(gradient)]  # upper triangle
    if kind == "hvp":
        return _symmetric_times(rows, vectors)
    return [d for row in rows for d in row]


def _direction_names(names) -> list:
    """The direction's components: ``v3`` for a variable ``x3``, else ``v_name`` (always
    ``v_name`` where a ``v3`` would be one of the variables)."""
    short = ["v" + s[1:] if s[:1] == "x" and s[1:].isdigit() else f"v_{s}" for s in names]
    return short if not set(short) & set(names) else [f"v_{s}" for s in names]


def _cse_symbols(taken):
    """Names for ``cse``'s replacements that no variable has: ``c0, c1, ...`` unless a
    variable is named so (then ``w0, ...``, ...), so a formula never shows two x3s."""
    import re

    import sympy

    names = {str(s) for s in taken}
    for prefix in ("c", "w", "t", "u", "z", "cse"):
        if not any(re.fullmatch(prefix + r"\d+", name) for name in names):
            return sympy.numbered_symbols(prefix)
    return sympy.numbered_symbols("_cse")  # pragma: no cover - every prefix taken


def _symmetric_times(upper, vectors) -> list:
    """``H v`` from the rows of the upper triangle of a symmetric H (``upper[i][k]`` is
    ``H[i, i + k]``); zero entries cost nothing."""
    import sympy

    n = len(upper)
    terms = [[] for _ in range(n)]
    for i, row in enumerate(upper):
        for k, h in enumerate(row):
            if h == 0:
                continue
            j = i + k
            terms[i].append(h * vectors[j])
            if j != i:
                terms[j].append(h * vectors[i])
    return [sympy.Add(*t) for t in terms]


def _partials(f, symbols) -> list:
    """``[df/ds for s in symbols]``, differentiating each summand of f only by its own symbols.

    f is split as ``c * (t_1 + ... + t_k)`` with c free of the symbols (``c`` is 1 for a
    plain sum; a single term is a sum of one); ``d t_i / ds`` is zero unless s occurs in
    ``t_i``, so only those derivatives are taken, and each entry is ``c`` times their sum:
    the same expression ``sympy.diff(f, s)`` builds, for the work of one pass over f.
    """
    import sympy

    coefficient, rest = f.as_independent(*symbols, as_Add=False) if f.is_Mul else (sympy.S.One, f)
    position = {s: i for i, s in enumerate(symbols)}
    by_symbol = [[] for _ in symbols]
    for term in sympy.Add.make_args(rest):
        for s, d in _nonzero_partials(term, position):
            by_symbol[position[s]].append(d)
    return [coefficient * sympy.Add(*terms) if terms else sympy.S.Zero for terms in by_symbol]


def _nonzero_partials(term, position):
    """``(s, d term / ds)`` for the symbols (keys of ``position``) occurring in ``term``."""
    import sympy

    present = sorted((s for s in term.free_symbols if s in position), key=position.__getitem__)
    return [(s, sympy.diff(term, s)) for s in present]
