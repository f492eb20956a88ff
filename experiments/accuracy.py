"""Accuracy: finite-difference error against the step, and correct digits of every method.

Part 1, the step study: for ``fd-forward``, ``fd-central``, ``fd-five-point``, ``fd-complex``
and ``fd-richardson`` (true error, and beside it the error it *estimates*,
``fd-richardson-estimate``), in float64 and float32, the max-norm relative error of the
gradient against the oracle (``difflab.reference``) for absolute steps h = 1e-1 ... 1e-20.
Each stencil's floating-point error model gives its theoretical optimal step and error:

    truncation  C h^p |f^(p+1)|   +   rounding  R eps |f| / h
    h* = (R eps |f| / (p C |f^(p+1)|))^(1/(p+1))

(forward p=1, C=1/2, R=2; central p=2, C=1/6, R=1; five-point p=4, C=1/30, R=3/2), and
for the complex step ``h^2 |f'''| / 6 + eps |f'|``: no cancellation, so every h below
``sqrt(6 eps |f'| / |f'''|)`` is optimal. Derivatives of f for the model come from mpmath at
50 digits, along the coordinate where the gradient is largest.

Part 2, the catalogue table: correct digits (-log10 of the max relative error, 0..17) of
every available method on every catalogue function, in float64 and float32.

Part 3, error estimates (:mod:`.estimates`): fd-richardson, fd-numdifftools and fd-scipy at
their default steps on the catalogue, gradients and Hessians: the true error, the bound each
reports and the library's own estimate, and whether each covers the true error.

``run`` returns records and prints nothing. JSON: ``difflab.accuracy/1`` with ``function``,
``x``, ``curves``, ``best``, plus ``theory`` (the model optimum per stencil and dtype),
``digits`` (part 2, when run), ``estimates`` (part 3, when run: ``cells`` and ``summary``)
and ``environment``.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

import numpy as np

from .records import available_methods, correct_digits, environment, progress_noop, rel_error

SCHEMA = "difflab.accuracy/1"
FD_METHODS = ("fd-forward", "fd-central", "fd-five-point", "fd-complex", "fd-richardson")
DTYPES = ("float64", "float32")
#: h = 1e-1 ... 1e-20, four per decade.
STEPS = tuple(10.0 ** (-k / 4) for k in range(4, 81))
DEFAULT_FUNCTION = "classic"             # exp(x)/sqrt(sin(x)^3 + cos(x)^3)
DEFAULT_AT = (1.5,)

#: stencil -> (order p, truncation C, noise gain R); see the module docstring.
MODELS = {"fd-forward": (1, 0.5, 2.0), "fd-central": (2, 1.0 / 6.0, 1.0),
          "fd-five-point": (4, 1.0 / 30.0, 1.5)}


# ---------------------------------------------------------------------- records
@dataclasses.dataclass
class Curve:
    method: str
    dtype: str
    steps: list
    errors: list            # relative error per step; None where the method failed


@dataclasses.dataclass
class Best:
    method: str
    dtype: str
    step: Optional[float]
    error: Optional[float]


@dataclasses.dataclass
class Theory:
    """The error model of a stencil: optimal step and error, and the model curve."""

    method: str
    dtype: str
    step: Optional[float]      # None where the model has no optimum (see :func:`theory`)
    error: Optional[float]
    curve: list = dataclasses.field(repr=False, default_factory=list)


@dataclasses.dataclass
class DigitsCell:
    function: str
    method: str
    dtype: str
    digits: Optional[float]
    status: str                 # ok, unsupported, error
    message: str = ""


@dataclasses.dataclass
class AccuracyResult:
    function: str
    x: list
    curves: list
    best: list
    theory: list
    digits: Optional[list]
    environment: dict
    estimates: Optional[list] = None   # part 3 (experiments/estimates.py), when run

    def to_dict(self) -> dict:
        doc = {"schema": SCHEMA, "function": self.function, "x": list(self.x),
               "curves": [dataclasses.asdict(c) for c in self.curves],
               "best": [dataclasses.asdict(b) for b in self.best],
               "theory": [{"method": t.method, "dtype": t.dtype, "step": t.step, "error": t.error}
                          for t in self.theory]}
        if self.digits is not None:
            doc["digits"] = [dataclasses.asdict(d) for d in self.digits]
        if self.estimates is not None:
            from .estimates import summary

            doc["estimates"] = {"cells": [dataclasses.asdict(c) for c in self.estimates],
                                "summary": summary(self.estimates)}
        doc["environment"] = self.environment
        return doc


# ---------------------------------------------------------------------- the function
def resolve(function=None, at: Optional[Sequence[float]] = None, dim: Optional[int] = None):
    """``(Function, x)`` for a catalogue name, an expression, a callable, or the default."""
    import difflab

    from .catalogue import lookup

    if function is None:
        function = DEFAULT_FUNCTION
        at = DEFAULT_AT if at is None else at
    f = lookup(function, dim) if isinstance(function, str) else difflab.as_function(function)
    x = f.default_point() if at is None else np.asarray(at, dtype=np.float64).reshape(-1)
    if isinstance(function, str) and dim is None and f.dim is not None and f.dim != x.size:
        try:   # a catalogue function that scales takes the size of --at
            resized = lookup(function, x.size)
        except difflab.InputError:
            resized = f
        f = resized if resized.dim == x.size else f
    if (isinstance(function, str) and dim is not None and f.dim != dim
            and function not in difflab.functions.names()):   # an expression: its own size
        raise difflab.InputError(f"{function!r} has {f.dim} variable(s), not --dim {dim}")
    if f.dim is not None and f.dim != x.size:
        raise difflab.InputError(f"{f.name} takes {f.dim} inputs; --at gave {x.size}")
    return f, x


# ---------------------------------------------------------------------- part 1
def step_study(f, x, methods: Sequence[str] = FD_METHODS, dtypes: Sequence[str] = DTYPES,
               steps: Sequence[float] = STEPS, progress=progress_noop):
    """Curves of relative error against step for each FD method and dtype."""
    import difflab

    reference = difflab.reference(f, x)
    curves = []
    for dtype in dtypes:
        for method in methods:
            progress(f"accuracy: {method} {dtype}")
            errors, estimates = [], []
            for h in steps:
                err, est = _error_at(method, dtype, h, f, x, reference)
                errors.append(err)
                estimates.append(est)
            curves.append(Curve(method, dtype, list(steps), errors))
            if method == "fd-richardson":
                curves.append(Curve("fd-richardson-estimate", dtype, list(steps), estimates))
            progress(advance=1)
    return reference, curves


def _error_at(method, dtype, h, f, x, reference):
    """(relative error, relative error estimate or None) of one method at step h."""
    import difflab

    scale = max(float(np.max(np.abs(reference))), 1e-300)
    try:
        d = difflab.get(method, dtype=dtype, step=h)
        with np.errstate(all="ignore"):
            if method == "fd-richardson":
                est = d.estimate(f, x, "gradient")
                value, bound = est.value, float(np.max(est.error)) / scale
            else:
                value, bound = d.gradient(f)(x), None
        err = rel_error(value, reference)
    except (difflab.NotSupported, difflab.InputError, ArithmeticError, ValueError):
        return None, None
    return (err if math.isfinite(err) else None), (bound if bound is not None and math.isfinite(bound) else None)


def best_of(curves) -> list[Best]:
    """The step with the smallest error on each curve (the estimate curve excluded)."""
    out = []
    for c in curves:
        if c.method.endswith("-estimate"):
            continue
        pts = [(e, h) for h, e in zip(c.steps, c.errors) if e is not None]
        if not pts:
            out.append(Best(c.method, c.dtype, None, None))
            continue
        e, h = min(pts, key=lambda p: (p[0], -p[1]))
        out.append(Best(c.method, c.dtype, h, e))
    return out


def theory(f, x, reference, dtypes: Sequence[str] = DTYPES,
           steps: Sequence[float] = STEPS) -> list[Theory]:
    """Each stencil's model optimum (step, relative error) and model curve, per dtype.

    Where the model has no optimum (f = 0 at x: no rounding term; f^(p+1) = 0, a polynomial
    of low degree: no truncation term) the step and error are None and only the curve is kept.
    """
    k = int(np.argmax(np.abs(reference)))
    size = [abs(d) for d in _derivatives(f, x, k, 5)]   # |f|, |f'|, ..., |f^(5)|
    fprime = max(size[1], 1e-300)
    out = []
    for dtype in dtypes:
        eps = float(np.finfo(dtype).eps)
        for method, (p, c, r) in MODELS.items():
            dp, noise = size[p + 1], r * eps * size[0]
            model = lambda h, p=p, c=c, dp=dp, noise=noise: (c * h ** p * dp + noise / h) / fprime  # noqa: E731
            h_opt = (noise / (p * c * dp)) ** (1.0 / (p + 1)) if dp > 0 and noise > 0 else None
            out.append(Theory(method, dtype, h_opt, None if h_opt is None else model(h_opt),
                              [model(h) for h in steps]))
        d3 = size[3]
        complex_model = lambda h: (h * h * d3 / 6.0 + eps * fprime) / fprime  # noqa: E731
        h_opt = math.sqrt(6.0 * eps * fprime / d3) if d3 > 0 and size[1] > 0 else None
        out.append(Theory("fd-complex", dtype, h_opt, None if h_opt is None else eps,
                          [complex_model(h) for h in steps]))
    return out


def _derivatives(f, x, k, order):
    """f and its derivatives up to ``order`` along coordinate k, by mpmath at 50 digits."""
    import mpmath

    def along(t):
        point = np.array([mpmath.mpf(float(v)) for v in x], dtype=object)
        point[k] = t
        out = f(point)
        return out.item() if isinstance(out, np.ndarray) else out

    with mpmath.workdps(50):
        return [float(mpmath.diff(along, mpmath.mpf(float(x[k])), j)) for j in range(order + 1)]


# ---------------------------------------------------------------------- part 2
def digits_table(functions: Optional[Sequence[str]] = None, methods: Optional[Sequence[str]] = None,
                 dtypes: Sequence[str] = DTYPES, progress=progress_noop,
                 cells: Optional[list] = None) -> list[DigitsCell]:
    """Correct digits of every method on every catalogue function, per dtype (appended to
    ``cells`` when given, so a caller holding it keeps what finished)."""
    from .catalogue import default_names, lookup

    names = list(functions or default_names())
    methods = list(methods or available_methods())
    cells = [] if cells is None else cells
    progress("accuracy: catalogue", total=len(names) * len(dtypes))
    for name in names:
        f = lookup(name)
        x = f.default_point()
        for dtype in dtypes:
            progress(f"accuracy: {name} {dtype}")
            cells.extend(_digits_one(f, x, name, methods, dtype))
            progress(advance=1)
    return cells


def _digits_one(f, x, name, methods, dtype) -> list[DigitsCell]:
    """One function, one dtype: ``difflab.compare`` (timing kept to one call per method)."""
    import difflab

    doc = difflab.compare(f, x, methods=methods, derivative="gradient", dtype=dtype,
                  repeat=1, min_time=0.0).to_dict()
    return [DigitsCell(name, r["method"], dtype,
                       correct_digits(r.get("max_rel_error")) if r["status"] == "ok" else None,
                       r["status"], r.get("message") or "")
            for r in doc["results"]]


# ---------------------------------------------------------------------- the study
def run(function=None, at: Optional[Sequence[float]] = None, dim: Optional[int] = None,
        methods: Sequence[str] = FD_METHODS, dtypes: Sequence[str] = DTYPES,
        steps: Sequence[float] = STEPS, table: bool = True,
        table_functions: Optional[Sequence[str]] = None,
        table_methods: Optional[Sequence[str]] = None, progress=progress_noop,
        on_start=None, estimates: Optional[bool] = None) -> AccuracyResult:
    """The step study on one function (default exp(x)/sqrt(sin(x)^3 + cos(x)^3) at 1.5) and,
    with ``table``, the catalogue-wide digits table. ``on_start`` is called with the result
    record after the step study; its table fills in as the catalogue's cells finish.
    ``estimates`` (default: as ``table``) adds part 3, the methods that estimate their own
    error (fd-richardson, fd-numdifftools, fd-scipy) on the catalogue: true error, reported
    bound and the library's own estimate (experiments/estimates.py)."""
    import difflab

    f, x = resolve(function, at, dim)
    for m in (*methods, *(table_methods or ())):
        difflab.method_class(m)   # unknown names: one clear error before any work
    progress("accuracy", total=len(methods) * len(dtypes))
    reference, curves = step_study(f, x, methods, dtypes, steps, progress)
    models = [t for t in theory(f, x, reference, dtypes, steps) if t.method in methods]
    result = AccuracyResult(f.name, [float(v) for v in x], curves, best_of(curves), models,
                            [] if table else None, environment())
    if on_start is not None:
        on_start(result)
    if table:
        digits_table(table_functions, table_methods, dtypes, progress, result.digits)
    if table if estimates is None else estimates:
        from . import estimates as part3

        result.estimates = []
        part3.study(table_functions, dtypes=dtypes, progress=progress, cells=result.estimates)
    return result
