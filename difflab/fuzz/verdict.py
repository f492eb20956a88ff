"""One method's answer on one case, held to the error that method can honestly promise.

The reference is difflab's 50-digit oracle (:func:`difflab.reference`). The bound on
component i of a derivative r in float64 (``eps`` = 2.2e-16) is, for an exact method
(AD, symbolic)::

    bound_i = 64 * order * eps * (|r_i| + sqrt(N) * kappa_i + s)

the rounding model of :mod:`difflab.testing.tolerance`, with the condition term measured on
the program itself: ``kappa_i = |r_i(tau) - r_i| / tau`` where ``r(tau)`` is the oracle's
derivative of the program with its rounding made explicit (:func:`_perturbation`): the
result of every one of its N operations times ``1 + tau sigma_k``, every partial derivative
an operation hands on times ``1 + tau pi_kj``, and an absolute ``tau rho_k`` on the partials
of the rules that cancel (``1 - tanh^2``); ``tau`` = 1e-7 and sigma, pi, rho standard normal,
seeded by the case. That is the first-order effect of a relative error in every
intermediate and every partial at once, which is what rounding does to an AD engine;
``sqrt(N)`` turns the random-weight sum (about the root of the sum of squares of the N
terms) into a bound on the sum of their sizes. ``s`` is the derivative's natural unit
(:func:`difflab.testing.tolerance.floor_scale`: the largest ``|r_j|``, or the next lower
derivative over ``max(1, |x|)``; for a Hessian that lower derivative is the gradient with
its own rounding term, ``|g| + sqrt(N) kappa_g``, since a Hessian's terms are the
gradient's terms differentiated once more).

A finite-difference method is held to ``10 x`` the error estimate it reports
(``method.estimate``) plus the bound above. Its jvp, vjp and hvp have no estimate of their
own: the estimate of its Jacobian (or Hessian) times ``|v|`` (or ``|u|``) stands in.

Verdicts: ``agree`` (error <= bound in every component), ``disagree``, ``refused``
(NotSupported, with its reason), ``crashed`` (any other exception: type and message) and
``timeout`` (over the per-call bound).
"""
from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..errors import DerivativeNotFinite, NotSupported
from ..interface.kinds import FUZZ_KINDS, SCALAR_KINDS
from ..namespaces import namespace
from ..testing import tolerance as tol
from . import program
from .generate import Case

#: The kinds a campaign checks; those in SCALAR_KINDS need a scalar program.
KINDS = FUZZ_KINDS
VERDICTS = ("agree", "disagree", "refused", "crashed", "timeout")
#: Relative move of every intermediate when measuring the condition term.
TAU = 1e-7
DIGITS = 50
ORDER = {"hessian": 2, "hvp": 2}
#: Elementwise functions whose derivative rule, in difflab's rule table and in the
#: frameworks, is computed from the rounded result with a cancellation (``1 - tanh(a)^2``,
#: ``expm1(a) + 1`` where expm1(a) is near -1,
#: ``s (1 - s)`` for the sigmoid): an absolute error of about eps however small the exact
#: derivative is. The condition estimate moves their partials by an absolute amount.
CANCELLING = ("tanh", "sigmoid", "expm1")
#: Default bound on one method call, in seconds.
CALL_SECONDS = 60.0


@dataclass
class Reference:
    """The oracle's derivative of one kind at one case, with its condition term."""

    value: np.ndarray
    kappa: np.ndarray
    scale: float
    order: int
    seconds: float = 0.0


@dataclass
class Outcome:
    """One method x kind on one case."""

    method: str
    kind: str
    verdict: str
    error: float = math.nan     # max |answer - reference|
    bound: float = math.nan     # the bound at the component where error/bound is worst
    ratio: float = math.nan     # max over components of error / bound
    message: str = ""
    seconds: float = 0.0


def applicable(case: Case, kinds) -> list:
    """The kinds that apply to ``case``: gradient, hessian and hvp need a scalar program."""
    return [k for k in kinds if case.scalar or k not in SCALAR_KINDS]


# ---------------------------------------------------------------------- the reference side
class References:
    """The oracle's derivatives of one case, each computed once and shared by all methods."""

    def __init__(self, case: Case, fn=None):
        self.case = case
        self.fn = fn or case.function()
        self.x = case.point()
        self._cache: dict = {}
        self.seconds = 0.0

    def __getitem__(self, kind) -> Reference:
        if kind not in self._cache:
            start = time.perf_counter()
            self._cache[kind] = self._compute(kind)
            spent = time.perf_counter() - start
            self._cache[kind].seconds = spent
            self.seconds += spent
        return self._cache[kind]

    def _oracle(self, fn, kind):
        from ..analysis.oracle import reference

        vector = np.array(self.case.v) if kind == "hvp" else None
        return np.asarray(reference(fn, self.x, derivative=kind, digits=DIGITS, vector=vector),
                          dtype=np.float64)

    def _compute(self, kind) -> Reference:
        case = self.case
        if kind in ("jvp", "vjp"):
            jac = self["jacobian"]
            v, u = np.array(case.v), np.array(case.u)
            if kind == "jvp":
                return Reference(jac.value @ v, jac.kappa @ np.abs(v), jac.scale * np.abs(v).sum(), 1)
            return Reference(u @ jac.value, np.abs(u) @ jac.kappa, jac.scale * np.abs(u).sum(), 1)
        value = self._oracle(self.fn, kind)
        rng = np.random.default_rng([case.seed, case.index, 1])
        size = case.tree.size()
        signs, absolute = rng.standard_normal((2, size))
        partials = rng.standard_normal((size, 3))
        moved = self._oracle(program.build(case.tree, _perturbation(signs, partials, absolute)), kind)
        kappa = np.abs(moved - value) / TAU
        kappa = np.where(np.isfinite(kappa), kappa, 0.0)
        if kind in ("hessian", "hvp"):  # the gradient with the size of its rounding
            grad = self["gradient"]
            lower = np.abs(grad.value) + math.sqrt(operations(case)) * grad.kappa
        else:
            with np.errstate(all="ignore"):
                lower = np.asarray(self.fn(self.x), dtype=np.float64)
        return Reference(value, kappa, tol.floor_scale(value, lower, self.x), ORDER.get(kind, 1))


def _perturbation(signs, partials, absolute):
    """The program with rounding made explicit, to first order in ``tau``:

    - every result times ``1 + tau sigma_k`` (the rounding of the value);
    - every partial derivative a node hands on, times ``1 + tau pi_kj``: the node adds
      ``tau pi_kj (phi(.., a_j, ..) - phi(.., stop_gradient(a_j), ..))``, zero in value
      but ``tau pi_kj dphi/da_j`` in every derivative (the rounding of the derivative
      rule, independent of the value's: it is what makes ``(c / x) |x|`` not exactly
      constant to an AD engine);
    - at the functions in :data:`CANCELLING`, ``tau rho_k (d + d^2 / 2)`` with
      ``d = a - stop_gradient(a)``: an absolute move of the first and second partials.
    """
    def perturb(number, node, values, result):
        out = result * (1.0 + TAU * signs[number])
        if not values:  # an ``if``: it hands its branch on unchanged
            return out
        apply = program.operation(node)
        for j, a in enumerate(values):
            if isinstance(a, (float, int)) or node.op == "where" and j == 0:
                continue
            held = list(values)
            held[j] = namespace(a).stop_gradient(a)
            out = out + (TAU * partials[number, j]) * (result - apply(*held))
        if node.op in CANCELLING:
            a = values[0]
            d = a - namespace(a).stop_gradient(a)
            out = out + (TAU * absolute[number]) * (d + 0.5 * d * d)
        return out
    return perturb


def operations(case: Case) -> int:
    """N: the program's operations (nodes that are not leaves)."""
    return sum(1 for n in case.tree.walk() if n.args)


def bound(ref: Reference, case: Case, numeric: bool, estimate=None) -> np.ndarray:
    """The per-component bound of the module docstring."""
    condition = math.sqrt(max(operations(case), 1)) * ref.kappa
    if numeric:
        t = tol.finite_difference("float64", estimate, condition, ref.scale, order=ref.order)
    else:
        t = tol.rounding("float64", condition, ref.scale, order=ref.order)
    return np.asarray(t(ref.value), dtype=np.float64)


# ---------------------------------------------------------------------- the method side
class Timeout(Exception):
    """A method call ran past its bound."""


@contextmanager
def deadline(seconds: float):
    """Interrupt the block after ``seconds`` where a signal can (the main thread of a Unix
    process); elsewhere (a Dask worker's thread) the time is checked when the call returns."""
    usable = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
              and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None))
    start = time.perf_counter()
    if usable:
        def ring(signum, frame):
            raise Timeout()
        signal.signal(signal.SIGALRM, ring)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
    if time.perf_counter() - start > seconds:
        raise Timeout()


def answer(method, case: Case, fn, kind: str):
    """``(value, error estimate or None)`` of ``method`` (a Differentiator) on the case."""
    x = case.point()
    v, u = np.array(case.v), np.array(case.u)
    estimate = getattr(method, "estimate", None)
    if method.family == "numeric" and callable(estimate):
        if kind in ("gradient", "jacobian", "hessian"):
            e = estimate(fn, x, kind)
            return e.value, e.error
        if kind in ("jvp", "vjp"):
            e = estimate(fn, x, "jacobian")
            if kind == "jvp":
                return method.jvp(fn)(x, v), np.abs(e.error) @ np.abs(v)
            return method.vjp(fn)(x, u if case.outputs > 1 else u.reshape(())), np.abs(u) @ np.abs(e.error)
        e = estimate(fn, x, "hessian")
        return method.hvp(fn)(x, v), np.abs(e.error) @ np.abs(v)
    if kind == "jvp":
        return method.jvp(fn)(x, v), None
    if kind == "vjp":
        return method.vjp(fn)(x, u if case.outputs > 1 else u.reshape(())), None
    if kind == "hvp":
        return method.hvp(fn)(x, v), None
    return getattr(method, kind)(fn)(x), None


def judge(method, label: str, case: Case, fn, kind: str, refs: References,
          seconds: float = CALL_SECONDS) -> Outcome:
    """The verdict of ``method`` (shown as ``label``) on ``kind`` of ``case``."""
    start = time.perf_counter()
    try:
        method.how(kind)  # a kind the method has no way to compute: refused, before any work
        with deadline(seconds):
            value, estimate = answer(method, case, fn, kind)
    except NotSupported as exc:
        return Outcome(label, kind, "refused", message=str(exc), seconds=time.perf_counter() - start)
    except DerivativeNotFinite:  # the boundary refused to return a NaN or infinite derivative:
        value, estimate = np.full(refs[kind].value.shape, np.nan), None  # judged as that answer
    except Timeout:
        return Outcome(label, kind, "timeout", message=f"over {seconds:g} s",
                       seconds=time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - a method that raises is a finding
        return Outcome(label, kind, "crashed", message=_one_line(exc), seconds=time.perf_counter() - start)
    spent = time.perf_counter() - start
    ref = refs[kind]
    return compare(label, kind, value, estimate, ref, case, method.family == "numeric", spent)


def compare(label, kind, value, estimate, ref: Reference, case: Case, numeric: bool,
            seconds: float = 0.0) -> Outcome:
    """The verdict of an answer ``value`` against the reference."""
    try:
        value = np.asarray(value, dtype=np.float64).reshape(ref.value.shape)
    except (TypeError, ValueError) as exc:
        return Outcome(label, kind, "crashed", message=f"returned an unusable value: {_one_line(exc)}",
                       seconds=seconds)
    b = bound(ref, case, numeric, None if estimate is None else np.asarray(estimate, dtype=np.float64).reshape(ref.value.shape))
    err = np.abs(value - ref.value)
    err = np.where(np.isfinite(err), err, math.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(err == 0, 0.0, err / b)
    worst = int(np.argmax(ratios)) if ratios.size else 0
    ratio = float(ratios.flat[worst]) if ratios.size else 0.0
    verdict = "agree" if ratio <= 1.0 else "disagree"
    return Outcome(label, kind, verdict, float(np.max(err)) if err.size else 0.0,
                   float(b.flat[worst]) if b.size else 0.0, ratio, seconds=seconds)


def _one_line(exc) -> str:
    from ..analysis.environment import one_line

    return one_line(exc)
