"""What every solver shares: resolving the differentiator, preparing derivatives once,
counting evaluations, recording the history, and building the result."""
from __future__ import annotations

import time

import numpy as np

from ..interface.boundary import check_point
from ..interface.differentiator import DTYPES, Differentiator
from ..errors import InputError, NotFinite, NotSupported
from ..interface.function import as_function
from ..namespaces.precision import computing_in
from ..interface.registry import get
from .result import OptimizeResult


def solver_dtype(dtype) -> np.dtype:
    """The iterates' dtype: ``"float64"`` (the default) or ``"float32"``; InputError otherwise."""
    if str(dtype) not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    return np.dtype(str(dtype))


def resolve(differentiator, dtype="float64") -> Differentiator:
    """A Differentiator from a registry name (created to compute in ``dtype``) or an instance
    (which must compute in ``dtype`` already)."""
    dtype = solver_dtype(dtype)
    if isinstance(differentiator, Differentiator):
        if differentiator.dtype != dtype:
            raise InputError(f"the differentiator computes in {differentiator.dtype.name} but the solver "
                             f"was asked for dtype={dtype.name!r}; create it with "
                             f"difflab.get({differentiator.name!r}, dtype={dtype.name!r})")
        return differentiator
    if isinstance(differentiator, str):
        return get(differentiator, dtype=dtype.name)
    raise InputError("differentiator must be a registry name (see 'difflab list') or a "
                     f"difflab.Differentiator, not {type(differentiator).__name__}")


def start_point(x0, name: str = "x0", dtype=np.float64) -> np.ndarray:
    """``x0`` as a finite 1-D array of ``dtype`` (float64 unless told; a scalar becomes one element)."""
    return np.array(check_point(x0, dtype, name))  # a copy: the solvers update it in place


def positive(name: str, value, integer: bool = False):
    """``value`` as a positive float (or int); InputError otherwise."""
    try:
        out = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a positive number, got {value!r}") from None
    if not (np.isfinite(out) and out > 0) or (integer and out != value):
        raise InputError(f"{name} must be a positive {'integer' if integer else 'number'}, got {value!r}")
    return out


class Counted:
    """A callable that counts its calls (the honest nfev / njev / nhev).

    Where f itself is not finite a derivative refuses (:class:`difflab.errors.NotFinite`);
    to the solvers that is NaN, which each reports as the run diverging.
    """

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args):
        self.calls += 1
        try:
            return self.fn(*args)
        except NotFinite:
            return float("nan")


class Run:
    """One solve: the differentiator, the prepared derivatives, the clock and the history.

    Derivatives are prepared here, once, before the loop (``prepare``); the loop only
    evaluates them, and each evaluation is counted.

    With ``dtype="float32"`` the iterates are float32: x0, the derivatives (the method computes
    in float32 and returns float32, docs/reliability.md, dtype), and f, evaluated
    with its closed-over data in float32 as the methods do; the solver's update arithmetic on
    them stays in float32.
    """

    def __init__(self, solver: str, f, x0, differentiator=None, scalar: bool = True, dtype="float64"):
        self.start = time.perf_counter()
        self.solver = solver
        self.function = as_function(f)
        self.dtype = solver_dtype(dtype)
        self.x0 = start_point(x0, dtype=self.dtype)
        self.d = resolve(differentiator, self.dtype) if differentiator is not None else None
        self.setup_seconds = 0.0
        self.scalar = scalar
        self.f = Counted(self._value)
        self.derivatives: dict[str, Counted] = {}
        self.xs, self.funs = [], []
        self.info: dict = {}

    # ------------------------------------------------------------------ evaluation
    def _value(self, x):
        with computing_in(self.dtype):
            out = np.asarray(self.function(x), dtype=np.float64)
        if self.scalar:
            if out.size != 1:
                raise InputError(f"{self.solver}: {self.function.name} must return a scalar, "
                                 f"got shape {out.shape}")
            return float(out.reshape(()))
        return out.reshape(-1)

    def first_value(self, counted: bool = True):
        """``f(x0)`` (counted unless told), before any derivative is prepared: a function that
        cannot be evaluated at ``x0`` (most often an ``x0`` of the wrong size) is bad input,
        said in one line rather than as a traceback from deep inside the solver."""
        try:
            return self.f(self.x0) if counted else self.function_value(self.x0)
        except InputError:
            raise
        except (ValueError, IndexError) as exc:
            dim = getattr(self.function, "dim", None)
            hint = f"; it was built for {dim} inputs" if dim and dim != self.x0.size else ""
            raise InputError(f"{self.solver}: {self.function.name} cannot be evaluated at x0 "
                             f"(size {self.x0.size}{hint}): {exc}") from exc

    def function_value(self, x):
        """``f(x)`` outside the count (for histories a peer's callback asks for)."""
        return self._value(np.asarray(x, dtype=self.dtype))

    def derivative(self, kind: str, function=None):
        """``kind`` (gradient, hessian, jacobian) of ``function`` (default: the solver's),
        prepared now at x0's shape; the time it takes here goes to ``setup_seconds`` (nothing
        when the differentiator had it prepared already)."""
        function = self.function if function is None else function
        start = time.perf_counter()
        try:
            derivative = getattr(self.d, kind)(function)
            derivative.prepare(self.x0)
        except NotSupported as exc:
            raise InputError(f"{self.solver} needs the {kind} of {function.name}, and "
                             f"differentiator {self.d.name!r} cannot give it: {exc}") from exc
        self.setup_seconds += time.perf_counter() - start
        return derivative

    def prepare(self, kind: str) -> Counted:
        """The solver's ``kind``, prepared before the loop and counted in it (in ``dtype``)."""
        counted = Counted(self.in_dtype(self.derivative(kind)))
        self.derivatives[kind] = counted
        return counted

    def in_dtype(self, derivative):
        """``derivative`` with its output as ``self.dtype`` (a method given with another dtype
        is brought to it), which keeps the solver's arithmetic there."""
        if self.dtype == np.float64:
            return derivative
        return lambda *args: np.asarray(derivative(*args), dtype=self.dtype)

    def record(self, x, fun):
        self.xs.append(np.array(x, dtype=np.float64))
        self.funs.append(fun)

    # ------------------------------------------------------------------ result
    def result(self, x, fun, nit, success, message, **info) -> OptimizeResult:
        calls = {k: c.calls for k, c in self.derivatives.items()}
        history = {"x": np.array(self.xs), "fun": np.array(self.funs)}
        return OptimizeResult(
            x=x, fun=fun, nit=int(nit), nfev=self.f.calls,
            njev=sum(n for k, n in calls.items() if k != "hessian"), nhev=calls.get("hessian", 0),
            success=bool(success), message=message, history=history, method=self.solver,
            differentiator=self.d.name if self.d is not None else "",
            seconds=time.perf_counter() - self.start, setup_seconds=self.setup_seconds,
            info={**self.info, **info})


def finite(*values) -> bool:
    """True when every value is finite (scalars or arrays)."""
    return all(np.all(np.isfinite(v)) for v in values)
