"""``difflab.compare``: every method on one function at one point, against the oracle.

The records here (:class:`Comparison`, :class:`MethodResult`) are what the CLI tables
(:mod:`difflab.reporting.report`), the JSON (``difflab compare --json``, schema ``difflab.compare/1``)
and the experiments are built from.

Error measures
--------------
For a method's derivative ``d`` and the oracle's ``r`` (same shape, all entries):

- ``max_abs_error = max |d - r|``
- ``max_rel_error = max |d - r| / max(max |r|, tiny)``: *normwise* relative error, scaled by
  the largest entry of the reference (``tiny`` is the smallest normal float64), so a
  component that happens to be near zero does not blow the figure up. Where the whole
  reference is zero any nonzero error counts as huge (zero correct digits).
- correct digits ``= -log10(max_rel_error)``, clipped to ``[0, 16]``; an exact result has 16.

Bounded work
------------
Given ``max_seconds`` or ``max_bytes``, :func:`compare` first probes the function
(:func:`difflab.interface.cost.probe`) and estimates each method's cost and the oracle's from their
cost models (:mod:`difflab.interface.cost`); one over the budget is not run: its row is ``skipped``
with the estimate and the flag that allows it, and without the oracle there are no error
figures. ``MemoryError`` and ``KeyboardInterrupt`` are not a method's row: they stop the
comparison, and ``on_start``'s record holds the rows finished so far.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from ..interface import boundary, cost, registry
from ..interface.differentiator import DTYPES
from ..console.display import Tabular
from .environment import environment, one_line
from ..errors import InputError, NotSupported
from ..interface.function import Function, as_function
from ..console.json_numbers import jsonable
from ..console.json_numbers import number as _number
from ..interface.kinds import DERIVATIVES
from .timing import measure
from ..console.wording import count

SCHEMA = "difflab.compare/1"
#: Seed of the direction an hvp is compared along when none is given (see hvp_vector).
HVP_SEED = 0
STATUSES = ("ok", "unsupported", "error", "skipped")
#: Correct digits reported for an exact match (float64 carries about 16).
MAX_DIGITS = 16.0
REFERENCE_DIGITS = 50
_TINY = float(np.finfo(np.float64).tiny)


def hvp_vector(n: int) -> np.ndarray:
    """The direction compare takes for an hvp unless given one: n standard normal numbers
    from ``numpy.random.default_rng(HVP_SEED)``, the same in every run (and in the JSON)."""
    return np.random.default_rng(HVP_SEED).standard_normal(n)


def correct_digits(rel_error: Optional[float]) -> Optional[float]:
    """``-log10(rel_error)`` clipped to ``[0, 16]``; 16 for 0; None when unknown or NaN."""
    if rel_error is None or math.isnan(rel_error):
        return None
    if rel_error <= 0:
        return MAX_DIGITS
    return float(min(MAX_DIGITS, max(0.0, -math.log10(rel_error))))


def errors(value: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """``(max_abs_error, max_rel_error)`` as defined in the module docstring."""
    diff = np.abs(np.asarray(value, dtype=np.float64) - reference)
    if diff.size == 0:
        return 0.0, 0.0
    abs_error = float(np.max(diff)) if not np.isnan(diff).any() else math.nan
    scale = max(float(np.max(np.abs(reference))), _TINY)
    return abs_error, abs_error / scale


@dataclass
class MethodResult:
    """One method's outcome in a :class:`Comparison`.

    Attributes
    ----------
    method, family : str
    status : str
        ``ok``, ``unsupported`` (the method said it cannot, or is not installed),
        ``error`` (it raised, or returned NaN or a wrong shape) or ``skipped`` (its
        estimated cost was over the budget; the message gives the estimate).
    value : ndarray or None
        The derivative, float64.
    max_abs_error, max_rel_error : float or None
        Against the oracle; None when there is no value or no reference.
    setup_seconds : float or None
        Building the method and preparing the derivative for this input shape (tracing,
        symbolic differentiation, compiling). The framework's first import is not included
        when :func:`compare` preloaded it: that is ``import_seconds``.
    call_seconds : float or None
        Median seconds per call over repeated calls (:func:`difflab.analysis.timing.measure`).
    message : str
        Why not, for ``unsupported``/``error``; how the derivative was obtained when the
        method derived it (``"Jacobian of the gradient, both by this method"``).
    import_seconds : float or None
        Importing the method's framework (:mod:`difflab.analysis.preload`): 0.0 when it was loaded
        before, None for a method without one (or when nothing was preloaded).
    """

    method: str
    family: str
    status: str
    value: Optional[np.ndarray] = None
    max_abs_error: Optional[float] = None
    max_rel_error: Optional[float] = None
    setup_seconds: Optional[float] = None
    call_seconds: Optional[float] = None
    message: str = ""
    import_seconds: Optional[float] = None

    @property
    def digits(self) -> Optional[float]:
        """Correct digits, ``-log10(max_rel_error)`` in ``[0, 16]``; None without an error figure."""
        return correct_digits(self.max_rel_error) if self.status == "ok" else None

    def to_dict(self) -> dict:
        """The ``results`` entry of ``difflab.compare/1``; NaN and infinity become null."""
        return {"method": self.method, "family": self.family, "status": self.status,
                "value": None if self.value is None else _jsonable(self.value),
                "max_abs_error": _number(self.max_abs_error),
                "max_rel_error": _number(self.max_rel_error),
                "setup_seconds": _number(self.setup_seconds),
                "call_seconds": _number(self.call_seconds),
                "import_seconds": _number(self.import_seconds),
                "message": self.message}


@dataclass(repr=False)
class Comparison(Tabular):
    """Every method on one function at one point (:func:`compare`'s result).

    ``reference`` is None when the oracle could not compute the derivative;
    ``reference_message`` then says why. ``vector`` is the direction of an hvp (None for
    the other kinds). Shown as a one-line summary in a REPL, as the table by ``str()`` and
    in Jupyter; ``to_records()`` gives one dict per method (pandas).
    """

    function: str
    derivative: str
    dtype: str
    x: np.ndarray
    reference: Optional[np.ndarray]
    results: list = field(default_factory=list)
    reference_digits: int = REFERENCE_DIGITS
    reference_message: str = ""
    #: For a function typed as an expression: its variables in ``x`` order and the formula
    #: as parsed (None for other functions).
    variables: Optional[tuple] = None
    expression: Optional[str] = None
    vector: Optional[np.ndarray] = None
    #: Set when some method disagrees with the oracle and ``x`` sits on a kink of ``f`` (the
    #: one-sided derivatives differ there): where, and each method's measured tie rule.
    kink: Optional[str] = None

    @property
    def dim(self) -> int:
        return int(self.x.size)

    def result(self, method: str) -> MethodResult:
        for r in self.results:
            if r.method == method:
                return r
        raise KeyError(method)

    def summary(self) -> str:
        """``Comparison gradient of rosenbrock n=10: 11 ok, 2 unsupported; best reverse 16.0 digits``."""
        from collections import Counter

        counts = Counter(r.status for r in self.results)
        tally = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]) or "no methods"
        scored = [r for r in self.results if r.digits is not None]
        best = max(scored, key=lambda r: r.digits, default=None)
        tail = f"; best {best.method} {best.digits:.1f} digits" if best else ""
        if self.reference is None:
            tail += "; no reference"
        return f"Comparison {self.derivative} of {self.function} n={self.dim}: {tally}{tail}"

    def to_records(self) -> list:
        """One flat dict per method: the JSON row without the value, plus function,
        derivative, n, dtype and digits (``pandas.DataFrame(c.to_records())``)."""
        head = {"function": self.function, "derivative": self.derivative, "n": self.dim,
                "dtype": self.dtype}
        records = []
        for r in self.results:
            row = {k: v for k, v in r.to_dict().items() if k != "value"}
            records.append({**head, **row, "digits": r.digits})
        return records

    def to_dict(self) -> dict:
        """The ``difflab compare --json`` document (DESIGN.md §6)."""
        return {"schema": SCHEMA, "function": self.function, "derivative": self.derivative,
                "dim": self.dim, "dtype": self.dtype, "x": _jsonable(self.x),
                "variables": None if self.variables is None else list(self.variables),
                "expression": self.expression,
                "vector": None if self.vector is None else _jsonable(self.vector),
                "reference": {"method": "oracle", "digits": self.reference_digits},
                "results": [r.to_dict() for r in self.results],
                "kink": self.kink,
                "environment": environment()}


def comparisons_to_dict(comparisons: Sequence[Comparison]) -> dict:
    """Several functions: ``{"schema": ..., "comparisons": [each Comparison.to_dict()]}``."""
    return {"schema": SCHEMA, "comparisons": [c.to_dict() for c in comparisons]}


class Observer:
    """What :func:`compare` tells its caller while it works (progress bars, a partial table).

    Subclass it and override the hooks you need (each does nothing here), or pass any object
    with some of these methods. ``compare`` also
    takes the hooks one by one as keywords (``on_result=...``), as it always has.
    """

    def on_start(self, comparison: Comparison) -> None:
        """The record, once the oracle is done and before the methods run; it fills in as
        they finish (what an interrupted caller can still show)."""

    def on_oracle(self, done: int, total: int) -> None:
        """The oracle's progress: ``done`` of ``total`` columns."""

    def on_import(self, module: str, seconds: Optional[float]) -> None:
        """A framework starts loading (``seconds`` None) or is loaded (the seconds it took);
        called from the import thread (:mod:`difflab.analysis.preload`)."""

    def on_result(self, result: MethodResult) -> None:
        """Each :class:`MethodResult` as it is done."""


HOOKS = ("on_start", "on_oracle", "on_import", "on_result")


class _Hooks(Observer):
    """An observer made of the hooks given as keywords (each optional)."""

    def __init__(self, observer: Optional[Observer], hooks: dict):
        unknown = set(hooks) - set(HOOKS)
        if unknown:
            raise TypeError(f"compare() got an unexpected keyword argument {sorted(unknown)[0]!r}")
        if observer is not None and any(h is not None for h in hooks.values()):
            raise InputError("compare takes an observer or on_* callbacks, not both")
        for name in HOOKS:
            hook = hooks.get(name) or getattr(observer, name, None)  # an observer may have a few
            if hook is not None:
                setattr(self, name, hook)


def compare(f, x, methods: Optional[Sequence[str]] = None, derivative: str = "gradient",
            dtype: str = "float64", repeat: int = 5, min_time: float = 0.05,
            max_seconds: Optional[float] = None, max_bytes: Optional[float] = None,
            preload: bool = True, vector=None, observer: Optional[Observer] = None,
            **hooks) -> Comparison:
    """Run each method on ``f`` at ``x`` and measure it against the oracle.

    Parameters
    ----------
    f : callable, difflab.Function or str
        The function (a string is parsed with :meth:`difflab.Function.from_expression`).
    x : array_like
        The point, an array of any shape, as f and the methods take it; its size must
        match ``f.dim`` where the function has one.
    methods : sequence of str, optional
        Registry names; default every registered method (those not installed are reported
        ``unsupported``).
    derivative : {"gradient", "jacobian", "hessian", "hvp"}
    dtype : {"float64", "float32"}
        The methods' working precision; the oracle is always exact to float64.
    repeat, min_time : int, float
        Timing: at least ``repeat`` samples and ``min_time`` seconds per method
        (:func:`difflab.analysis.timing.measure`).
    max_seconds, max_bytes : float, optional
        Budget of one method (setup and timed calls) and of the oracle, in estimated seconds
        and peak bytes (module docstring); None: no limit, nothing estimated.
    preload : bool
        Import the frameworks of the methods to run in a background thread from the start
        (:mod:`difflab.analysis.preload`), so the other methods run meanwhile; each framework's
        import time is its row's ``import_seconds``, not part of ``setup_seconds``; rows
        run while an import held the interpreter are run again (:class:`difflab.analysis.preload.Rows`).
    vector : array_like, optional
        The direction of an hvp, shape (n,); default :func:`hvp_vector` (n). Only for hvp.
    observer : Observer, optional
        Told of the progress (:class:`Observer`'s hooks).
    on_start, on_oracle, on_import, on_result : callable, optional
        The :class:`Observer` hooks one by one, instead of an observer.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        Unknown method or derivative kind, a bad point, or a derivative the function's
        shape does not allow (the gradient of a vector-valued function).
    """
    observer = _Hooks(observer, hooks)
    function = as_function(f)
    x = _check_point(function, x)
    if derivative not in DERIVATIVES:
        raise InputError(f"derivative must be one of {', '.join(DERIVATIVES)}, not {derivative!r}")
    if str(dtype) not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    names = list(registry.methods() if methods is None else methods)
    check_method_names(names)
    vector = _check_vector(derivative, vector, x)

    from .oracle import COSTS as oracle_costs
    from .preload import Rows

    budget = _Budget(function, x, derivative, max_seconds, max_bytes, repeat, min_time)
    refusals = {name: budget.method_refusal(name) for name in names}
    rows = Rows([n for n in names if not refusals[n]], observer.on_import, preload)
    refusal = budget.refusal(oracle_costs[derivative], timed=False)
    outside = _not_finite(function, x)
    if outside:
        reference, reference_message = None, outside
    elif refusal:
        reference, reference_message = None, f"oracle skipped: {refusal}"
    else:
        reference, reference_message = _reference(function, x, derivative, observer.on_oracle, vector)
    comparison = Comparison(function.name, derivative, str(dtype), x, reference,
                            reference_message=reference_message, variables=function.variables,
                            expression=None if function.expression is None else str(function.expression),
                            vector=vector)
    observer.on_start(comparison)

    def run(name):
        return _checked(run_method(name, function, x, derivative, str(dtype), reference,
                                   reference_message, repeat=repeat, min_time=min_time,
                                   vector=vector), outside)

    def rerun(index):
        comparison.results[index] = run(comparison.results[index].method)

    for name in names:
        refusal = refusals[name]
        if refusal:
            result = MethodResult(name, registry.method_class(name).family, "skipped", message=refusal)
        else:
            imported = rows.start(name, rerun)
            result = run(name)
            result.import_seconds = imported
            rows.end(len(comparison.results))
        comparison.results.append(_checked(result, outside))
        observer.on_result(result)
    rows.finish(rerun)
    comparison.kink = _kink_note(function, comparison)
    return comparison


#: Past this many coordinates no kink is looked for (two 100-digit evaluations per coordinate).
KINK_SEARCH_MAX_DIM = 32
#: A method this far from the oracle (relative) sends compare looking for a kink.
KINK_SUSPICION = 1e-6


def _kink_note(function, comparison: Comparison) -> Optional[str]:
    """Where some ``ok`` method of a gradient disagrees with the oracle, whether ``x`` is on a
    kink (:func:`difflab.analysis.kinks.one_sided` along each coordinate), and if so the note:
    which coordinates, their one-sided derivatives, and each method's tie rule, measured."""
    if comparison.derivative != "gradient" or comparison.reference is None or comparison.dim > KINK_SEARCH_MAX_DIM:
        return None
    suspects = [r for r in comparison.results if r.status == "ok" and r.max_rel_error is not None
                and not r.max_rel_error <= KINK_SUSPICION]
    if not suspects:
        return None
    from .kinks import one_sided, tie_rules_note

    kinks = []
    for i in range(comparison.dim):
        sides = one_sided(function, comparison.x, np.eye(comparison.dim)[i].reshape(comparison.x.shape))
        if sides is not None and sides.kink:
            name = comparison.variables[i] if comparison.variables else f"x[{i}]"
            kinks.append(f"{name} (left {sides.left:.6g}, right {sides.right:.6g})")
    if not kinks:
        return None
    rules = tie_rules_note([r.method for r in comparison.results if r.status == "ok"])
    return (f"x is on a kink of f along {', '.join(kinks)}: the derivative does not exist there "
            f"and each method returns its own convention" + (f"; {rules}" if rules else ""))


def _checked(result: MethodResult, outside: str) -> MethodResult:
    """A number where f(x) itself is not finite is an error, not a derivative."""
    if outside and result.status == "ok":
        result.status, result.message = "error", f"{outside}, yet it returned a number"
    return result


class _Budget:
    """The estimates against the budget; no probe, and no refusal, without a budget."""

    def __init__(self, function, x, derivative, max_seconds, max_bytes, repeat, min_time):
        self.derivative, self.repeat, self.min_time = derivative, repeat, min_time
        self.max_seconds = math.inf if max_seconds is None else float(max_seconds)
        self.max_bytes = math.inf if max_bytes is None else float(max_bytes)
        self.probe = None
        if max_seconds is not None or max_bytes is not None:
            try:
                self.probe = cost.probe(function, x, mp_within=min(self.max_seconds, 3600.0))
            except Exception:  # noqa: BLE001 - f fails at x: no estimate; each method reports the failure
                self.probe = None

    def refusal(self, model: cost.Cost, timed: bool = True) -> str:
        """Why ``model`` is over the budget, or ""."""
        if self.probe is None:
            return ""
        estimate = cost.estimate(model, self.derivative, self.probe, timed=timed,
                                 repeat=self.repeat, min_time=self.min_time)
        return estimate.refusal(self.max_seconds, self.max_bytes)

    def method_refusal(self, name: str) -> str:
        if self.probe is None:
            return ""
        try:
            cls = registry.method_class(name)
        except Exception:  # noqa: BLE001 - run_method reports it
            return ""
        return self.refusal(cls.cost(self.derivative)) if cls.availability()[0] else ""


def check_method_names(names: Sequence[str]) -> None:
    """Raise InputError (with a did-you-mean) for a name the registry does not know."""
    known = set(registry.methods())
    for name in names:
        if name not in known:
            registry.method_class(name)  # raises InputError naming the close matches


def run_method(name: str, function: Function, x: np.ndarray, derivative: str, dtype: str,
               reference: Optional[np.ndarray], reference_message: str = "",
               repeat: int = 5, min_time: float = 0.05, vector=None) -> MethodResult:
    """One row of a comparison: build, prepare, call, check against ``reference``, time.
    ``vector``: the direction of an hvp (the operator is called as ``op(x, vector)``)."""
    try:
        cls = registry.method_class(name)
    except Exception as exc:  # noqa: BLE001 - a method that cannot load is a row of the report
        return MethodResult(name, "", "error", message=f"cannot load the method: {one_line(exc)}")
    family = cls.family
    available, why = cls.availability()
    if not available:
        return MethodResult(name, family, "unsupported", message=why)
    try:
        start = time.perf_counter()
        # compare's own budget (_Budget) decided already: the method's is off
        op = getattr(registry.get(name, dtype=dtype, max_seconds=None, max_bytes=None),
                     derivative)(function)
        args = (x,) if vector is None else (x, vector)
        if x.ndim == 1:
            op.prepare(x)
        else:  # a shaped point goes through the general call: its setup includes one call
            op(*args)
        setup = time.perf_counter() - start
        value = np.asarray(op(*args), dtype=np.float64)
        call = measure(op, *args, repeat=repeat, min_time=min_time, warmup=0).median
    except NotSupported as exc:
        return MethodResult(name, family, "unsupported", message=exc.reason or str(exc))
    except MemoryError:  # not a row: the run stops here, the caller keeps the rows so far
        raise
    except Exception as exc:  # noqa: BLE001 - the method's own failure is a row of the report
        return MethodResult(name, family, "error", message=one_line(exc))
    result = MethodResult(name, family, "ok", value, setup_seconds=setup, call_seconds=call,
                          message="" if op.how == "native" else op.how)
    _check_against(result, reference, reference_message)
    return result


def _check_against(result: MethodResult, reference, reference_message: str) -> None:
    """Fill in the errors; NaN, infinity or a wrong shape turn the row into an error."""
    value = result.value
    if not np.all(np.isfinite(value)):
        result.status, result.message = "error", "NaN or infinity in the result"
    elif reference is None:
        result.message = f"no reference: {reference_message}"
    elif value.shape != reference.shape:
        result.status = "error"
        result.message = f"shape {value.shape}, the reference's is {reference.shape}"
    if reference is not None and value.shape == reference.shape:
        result.max_abs_error, result.max_rel_error = errors(value, reference)


def _reference(function: Function, x: np.ndarray, derivative: str, progress=None, vector=None):
    """``(reference, "")`` or ``(None, why)``; InputError (a bad request) and MemoryError
    propagate."""
    from .oracle import reference

    try:
        ref = np.asarray(reference(function, x, derivative=derivative,
                                   digits=REFERENCE_DIGITS, progress=progress, vector=vector),
                         dtype=np.float64)
    except (InputError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - the oracle's failure is the comparison's note
        return None, f"the oracle failed: {one_line(exc)}"
    if not np.all(np.isfinite(ref)):
        return None, f"the exact {derivative} is not finite at this point"
    return ref, ""


def _check_vector(derivative: str, vector, x: np.ndarray) -> Optional[np.ndarray]:
    """The hvp's direction as float64 (n,), the default one where none is given; None otherwise."""
    if derivative != "hvp":
        if vector is not None:
            raise InputError(f"a vector is only for the hvp, not the {derivative}")
        return None
    if vector is None:
        return hvp_vector(x.size).reshape(x.shape)
    try:
        v = np.asarray(vector, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"the vector must be numbers: {exc}") from None
    if v.size != x.size or not np.all(np.isfinite(v)):
        raise InputError(f"the vector must be {x.size} finite numbers, like the point")
    return v.reshape(x.shape)


def _not_finite(function: Function, x: np.ndarray) -> str:
    """Why no derivative at ``x`` means anything ("" if f is finite there): f(x) is NaN or
    infinite, as ``log`` of a negative number. A function that raises is left to the methods."""
    try:
        with np.errstate(all="ignore"):
            value = np.asarray(function(x), dtype=np.float64)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception:  # noqa: BLE001 - f fails at x: no note, each method reports it
        return ""
    if np.all(np.isfinite(value)):
        return ""
    shown = f"{value.item()}" if value.size == 1 else "not finite"
    return f"f(x) is {shown} at this point (outside the function's domain?)"


def _check_point(function: Function, x) -> np.ndarray:
    """The point as float64 in the shape f expects (any shape, as the methods take it)."""
    if isinstance(x, dict) or (isinstance(x, (list, tuple)) and any(
            isinstance(item, (dict, list, tuple, np.ndarray)) for item in x)
            and len({np.shape(item) for item in x}) > 1):
        raise InputError("compare takes one array as the point; for a pytree of parameters "
                         "compare lambda v: f(unravel(v)) at flat, where flat, unravel = "
                         "difflab.ravel(params)")
    arr = boundary.check_point(x, np.float64, "the point", flat=False)
    if function.dim is not None and arr.size != function.dim:
        raise InputError(f"{function.name} takes {count(function.dim, 'input')}, the point has {arr.size}")
    return arr


def _jsonable(array) -> list:
    """A float array as nested lists; NaN and infinity become None."""
    return jsonable(np.asarray(array, dtype=np.float64))
