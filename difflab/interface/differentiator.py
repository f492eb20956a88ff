"""The one interface every method sits behind.

``d.gradient(f)`` *prepares* and returns a :class:`Derivative`; calling it *evaluates*.
Shape-specific work (tracing, symbolic differentiation, compiling) happens once per input
shape and is timed separately, so reports can split setup from per-call cost.

A method implements the derivative kinds it has natively in :meth:`Differentiator._build`
and lists them in ``native``; the others are derived here (a Jacobian from JVPs, a JVP from
the Jacobian, ...) and :meth:`Differentiator.how` says how each kind was obtained.
"""
from __future__ import annotations

import dataclasses
import importlib.metadata
import threading
from collections import OrderedDict
from typing import Callable

import numpy as np

from . import boundary, budget
from .arguments import normalise_argnums
from .cost import DEFAULT_SECONDS, Cost, reverse_mode
from .derivative import Derivative
from ..errors import InputError, NotSupported
from .function import Function, as_function
from .kinds import KINDS
from ..namespaces import namespace

FAMILIES = ("manual", "numeric", "symbolic", "automatic")
DTYPES = ("float64", "float32")
#: Prepared derivatives a method keeps (the last ones asked for): each holds its function
#: and whatever the function closes over, so the cache is bounded (16 closures over 1 GB
#: each would still be 16 GB: keep the Derivative yourself and drop the closure when done).
CACHE_SIZE = 16
#: Why a method of each family has no formula (``Differentiator.formula``), and where to look.
NO_FORMULA = {
    "automatic": "no closed-form expression; see difflab.trace for its evaluation trace",
    "numeric": "no closed-form expression: it evaluates f at nearby points; "
               "difflab.get('sympy').formula gives one",
    "manual": "its derivatives are hand-written code, not expressions; "
              "difflab.get('sympy').formula gives one",
}

#: kind -> ways to derive it from a native kind: (needed native kind, how, builder name).
DERIVATIONS = {
    "gradient": [("value_and_gradient", "second part of value_and_gradient", "_grad_from_vg"),
                 ("jacobian", "the only row of the Jacobian", "_grad_from_jac")],
    "value_and_gradient": [("gradient", "f(x) and the gradient, separately", "_vg_from_grad")],
    "jacobian": [("jvp", "one JVP per input (columns)", "_jac_from_jvp"),
                 ("vjp", "one VJP per output (rows)", "_jac_from_vjp")],
    "hessian": [("gradient", "Jacobian of the gradient, both by this method", "_hess_from_grad")],
    "jvp": [("jacobian", "Jacobian times vector", "_jvp_from_jac")],
    "vjp": [("jacobian", "vector times Jacobian", "_vjp_from_jac")],
    "hvp": [("hessian", "Hessian times vector", "_hvp_from_hess")],
}


class Differentiator:
    """Base class of all methods. Subclasses set the class attributes and ``_build``.

    Attributes
    ----------
    name : str
        Registry name (``"reverse"``).
    family : str
        ``manual``, ``numeric``, ``symbolic`` or ``automatic``.
    library : str or None
        Distribution whose version :meth:`describe` reports (``"torch"``).
    native : frozenset
        Derivative kinds :meth:`_build` computes directly.
    exact : bool
        True when errors are rounding only (AD, symbolic); False for finite differences.
    options : dict
        Default options; ``difflab.get(name, **options)`` overrides them.
    native_how : dict
        kind -> how a native kind is computed, where that is worth saying
        (``{"hvp": "forward over reverse"}``); :meth:`how` reports ``"native (...)"``.
    costs : dict
        Derivative kind -> :class:`difflab.interface.cost.Cost`: what a call costs in multiples of one
        evaluation of the function, so that ``difflab compare``, and every derivative before
        it prepares, can refuse a run that would take hours or all the memory before starting
        it. The default is a cautious reverse-mode model for methods that declare none.
    max_seconds, max_bytes : float, "available" or None
        The budget of one derivative's preparation and call (``difflab.get(name,
        max_seconds=..., max_bytes=...)``; :mod:`difflab.interface.budget`): 60 s and half the memory
        available by default, None for no limit. Over it, :class:`difflab.OverBudget`.
    """

    name = ""
    family = ""
    library: str | None = None
    native: frozenset = frozenset()
    exact = True
    options: dict = {}
    native_how: dict = {}
    #: Hessians derived as the Jacobian of the gradient only where the method's Jacobian
    #: can take a numeric black box (finite differences); AD methods implement it natively.
    hessian_of_black_box = False
    #: True for methods whose prepared evaluators keep the data the function closed over at
    #: preparation (a trace, a compiled graph); difflab then re-prepares when it changes.
    freezes_closure = False
    costs: dict = reverse_mode(factor=60.0, overhead=1e-3, first_use=2.0)
    #: Its derivatives may be called on values difflab's own engines trace (nested modes).
    composes = False
    #: Whether :meth:`formula` can give the derivative as expressions (symbolic methods).
    formulas = False

    def __init__(self, dtype: str = "float64", max_seconds=DEFAULT_SECONDS,
                 max_bytes=budget.AVAILABLE, **options):
        if str(dtype) not in DTYPES:
            raise InputError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
        self.dtype = np.dtype(str(dtype))
        # the budget of each preparation (difflab/budget.py); None: no limit
        self.max_seconds, self.max_bytes = budget.check_options(max_seconds, max_bytes)
        unknown = set(options) - set(type(self).options)
        if unknown:
            raise InputError(f"{self.name}: unknown option(s) {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(sorted(type(self).options)) or 'none'}")
        self.options = {**type(self).options, **options}
        self._derivatives: OrderedDict = OrderedDict()  # (kind, f) -> Derivative, LRU
        self._derivatives_lock = threading.Lock()

    # ------------------------------------------------------------------ metadata
    @classmethod
    def availability(cls) -> tuple[bool, str]:
        """(available, reason if not), answered without importing the library."""
        if cls.library is None:
            return True, ""
        try:
            importlib.metadata.version(cls.library)
        except importlib.metadata.PackageNotFoundError:
            return False, f"{cls.library} is not installed"
        return True, ""

    @classmethod
    def available(cls) -> bool:
        return cls.availability()[0]

    @classmethod
    def version(cls) -> str | None:
        if cls.library is None:
            return None
        try:
            return importlib.metadata.version(cls.library)
        except importlib.metadata.PackageNotFoundError:
            return None

    def describe(self) -> dict:
        """Library and version, dtype, options, and how each derivative kind is obtained."""
        return {"name": self.name, "family": self.family, "library": self.library,
                "version": self.version(), "dtype": self.dtype.name, "exact": self.exact,
                "options": dict(self.options), "kinds": {k: self.how(k) for k in KINDS},
                "budget": {"max_seconds": self.max_seconds, "max_bytes": self.max_bytes}}

    @classmethod
    def cost(cls, kind: str) -> Cost:
        """The cost model of ``kind`` (gradient, jacobian, hessian, hvp) for this method."""
        return cls.costs.get(kind) or Differentiator.costs[kind]

    def how(self, kind: str) -> str:
        """'native' (with how, where ``native_how`` says) or the derivation used for ``kind``;
        raises NotSupported if neither."""
        how = self._plan(kind)[0]
        if how == "native" and kind in self.native_how:
            return f"native ({self.native_how[kind]})"
        return how

    def __repr__(self):
        budgets = {"max_seconds": (self.max_seconds, DEFAULT_SECONDS),
                   "max_bytes": (self.max_bytes, budget.AVAILABLE)}
        opts = ", ".join([f"{k}={v!r}" for k, v in self.options.items()]
                         + [f"{k}={v!r}" for k, (v, default) in budgets.items() if v != default])
        return f"difflab.get({self.name!r}, dtype={self.dtype.name!r}{', ' + opts if opts else ''})"

    # ------------------------------------------------------------------ public operators
    def gradient(self, f, argnums=0, batched=False, *, has_aux=False, in_axes=None) -> "Derivative":
        """``f: R^n -> R`` -> callable ``x -> ndarray (n,)`` (pytrees, several arguments,
        batches of points, ``has_aux`` and ``in_axes``: docs/api.md)."""
        return self._derivative("gradient", f, argnums, batched, has_aux=has_aux, in_axes=in_axes)

    def value_and_gradient(self, f, argnums=0, batched=False, *, has_aux=False,
                           in_axes=None) -> "Derivative":
        """``f: R^n -> R`` -> callable ``x -> (float, ndarray (n,))``; with ``has_aux``,
        ``((value, aux), gradient)``."""
        return self._derivative("value_and_gradient", f, argnums, batched, has_aux=has_aux,
                                in_axes=in_axes)

    def jacobian(self, f, argnums=0, batched=False, *, has_aux=False, in_axes=None) -> "Derivative":
        """``f: R^n -> R^m`` -> callable ``x -> ndarray (m, n)``; ``f`` returning a dict
        (any tree) of arrays gives the dict of their Jacobians."""
        return self._derivative("jacobian", f, argnums, batched, has_aux=has_aux, in_axes=in_axes)

    def hessian(self, f, argnums=0, batched=False, *, has_aux=False, in_axes=None) -> "Derivative":
        """``f: R^n -> R`` -> callable ``x -> ndarray (n, n)``."""
        return self._derivative("hessian", f, argnums, batched, has_aux=has_aux, in_axes=in_axes)

    def jvp(self, f, argnums=0, *, has_aux=False, with_value=False) -> "Derivative":
        """``f: R^n -> R^m`` -> callable ``(x, v) -> ndarray (m,)``; ``with_value=True``:
        ``(f(x), J v)`` with ``J v`` in the shape of ``f(x)``, as ``jax.jvp``."""
        return self._derivative("jvp", f, argnums, has_aux=has_aux, with_value=with_value)

    def vjp(self, f, argnums=0, *, has_aux=False, with_value=False) -> "Derivative":
        """``f: R^n -> R^m`` -> callable ``(x, u) -> ndarray (n,)``; ``with_value=True``:
        ``(f(x), u J)``. For one point and many ``u``, see :meth:`pullback`."""
        return self._derivative("vjp", f, argnums, has_aux=has_aux, with_value=with_value)

    def hvp(self, f, argnums=0, *, has_aux=False) -> "Derivative":
        """``f: R^n -> R`` -> callable ``(x, v) -> ndarray (n,)``: the Hessian times ``v``
        without forming the Hessian (where the method can); ``v`` and the result have the
        structure of ``x`` (a pytree: ``H v`` of the flattened parameters, unflattened)."""
        return self._derivative("hvp", f, argnums, has_aux=has_aux)

    def pullback(self, f, argnums=0, *, has_aux=False):
        """``f`` -> callable ``(x, *rest) -> (f(x), vjp_fn)`` where ``vjp_fn(u)`` is ``u J`` at
        that ``x``, to call with many ``u`` (``jax.vjp``); with ``has_aux``, ``(f(x), vjp_fn,
        aux)``. Each ``vjp_fn(u)`` is one vjp by the method (no tape is kept between calls)."""
        from .transforms import Pullback, Transformed

        argnums = normalise_argnums(argnums)
        self.how("vjp")  # NotSupported early
        return Pullback(Transformed(Derivative, self, "vjp", as_function(f), argnums, False, has_aux=bool(has_aux)))

    def _derivative(self, kind: str, f, argnums=0, batched=False, has_aux=False,
                    with_value=False, in_axes=None) -> "Derivative":
        """The prepared operator for ``f``, cached per (kind, f, argnums, options) for the last
        :data:`CACHE_SIZE` of them: asked for again, preparation is not repeated."""
        from .transforms import normalise_in_axes

        argnums, batched = normalise_argnums(argnums), bool(batched)
        has_aux, with_value, in_axes = bool(has_aux), bool(with_value), normalise_in_axes(in_axes)
        if in_axes is not None and not batched:
            raise InputError("in_axes says how a batch is mapped: it goes with batched=True")
        key = (kind, f, argnums, batched, has_aux, with_value, in_axes)
        try:
            with self._derivatives_lock:
                cached = self._derivatives.get(key)
                if cached is not None:
                    self._derivatives.move_to_end(key)
                    return cached
        except TypeError:  # an unhashable callable: prepare afresh
            key = None
        function = as_function(f)
        how = self.how(kind)  # raises NotSupported early, before any timing
        if has_aux or with_value or in_axes is not None:
            from .transforms import Transformed

            d = Transformed(Derivative, self, kind, function, argnums, batched, has_aux=has_aux,
                            with_value=with_value, in_axes=in_axes)
            d.derivative.axes_given = in_axes is not None
        else:
            d = Derivative(self, kind, function, how, argnums=argnums, batched=batched)
        if key is not None:
            with self._derivatives_lock:
                d = self._derivatives.setdefault(key, d)  # another thread may have been first
                self._derivatives.move_to_end(key)
                while len(self._derivatives) > CACHE_SIZE:
                    self._derivatives.popitem(last=False)
        return d

    def formula(self, f, x_or_n=None, kind: str = "gradient"):
        """The derivative of ``f`` as expressions: a :class:`difflab.interface.formula.Formula` with
        the raw entries, their CSE form and the operation counts of both (docs/symbolic.md).

        ``x_or_n``: the input size, or a point (its size; ``f`` must be finite there);
        default: the function's ``dim``. ``kind``: gradient, jacobian, hessian, hvp or jvp.
        Only a symbolic method has formulas; the others raise :class:`NotSupported` saying
        where to look instead.
        """
        from .formula import FORMULA_KINDS

        if not self.formulas:
            raise NotSupported("formula", self.name,
                               NO_FORMULA.get(self.family, "no closed-form expression"))
        if kind not in FORMULA_KINDS:
            raise InputError(f"formula kind must be one of {', '.join(FORMULA_KINDS)}, not {kind!r}")
        function = as_function(f)
        n = self._formula_size(function, x_or_n, kind)
        # traced as the derivatives trace it: guarded against functions written with NumPy
        fn = boundary.guarded(function.fn, self.name, function.name)
        return self._formula(kind, dataclasses.replace(function, fn=fn), n)

    def _formula_size(self, function, x_or_n, kind) -> int:
        """The input size a formula is built for, from ``n``, a point or the function."""
        if x_or_n is None:
            if function.dim is None:
                raise InputError(f"formula of {function.name}: give the input size n or a point x")
            return int(function.dim)
        if isinstance(x_or_n, (bool, np.bool_)):
            raise InputError(f"n must be a positive integer, not {x_or_n!r}")
        if isinstance(x_or_n, (int, np.integer)):
            if x_or_n < 1:
                raise InputError(f"n must be a positive integer, not {x_or_n!r}")
            n, x = int(x_or_n), None
        else:
            x = boundary.check_x(x_or_n, np.dtype("float64"))
            n = x.size
        if function.dim is not None and n != function.dim:
            raise InputError(f"formula of {function.name}: it takes {function.dim} inputs, not {n}")
        if x is not None:
            with np.errstate(all="ignore"):  # NaN is reported, in one line
                boundary.check_value(function(x), kind, function.name)
        return n

    def _formula(self, kind: str, function: Function, n: int):
        """The :class:`difflab.interface.formula.Formula` of ``kind`` at input size ``n``."""
        raise NotSupported("formula", self.name)

    # ------------------------------------------------------------------ subclass hook
    def _build(self, kind: str, function: Function, x: np.ndarray) -> Callable:
        """Return an evaluator for a native ``kind`` at inputs shaped like ``x``.

        ``gradient``/``hessian``/``jacobian`` evaluators take ``x``; ``jvp``/``vjp``/``hvp``
        take ``(x, vector)``; ``value_and_gradient`` returns ``(value, gradient)``. Inputs arrive
        as 1-D arrays of ``self.dtype``; outputs may be any array-like of the right shape.
        """
        raise NotSupported(kind, self.name)

    #: The framework transform ``batched=True`` vectorises with (``_vectorised``), for ``how``.
    vmap_name = ""

    def _vectorised(self, kind: str, function: Function, x: np.ndarray):
        """An evaluator of ``kind`` at a batch of points ``X (points, n)``, or None: then
        ``batched=True`` loops over the points. Frameworks with a ``vmap`` override it."""

    # ------------------------------------------------------------------ derivations
    def _plan(self, kind: str):
        if kind not in KINDS:
            raise InputError(f"unknown derivative kind {kind!r}; choose from {', '.join(KINDS)}")
        if kind in self.native:
            return "native", None
        for need, how, builder in DERIVATIONS[kind]:
            if kind == "hessian" and not self.hessian_of_black_box:
                continue
            if need in self.native or (need != kind and self._derivable(need, kind)):
                return how, builder
        raise NotSupported(kind, self.name, "the method has no way to compute it")

    def _derivable(self, need, target):
        if need == "hessian" and not self.hessian_of_black_box:
            return False  # see _plan: only a black-box Jacobian derives a Hessian
        return any(n in self.native for n, _, _ in DERIVATIONS.get(need, []) if n != target)

    def _evaluator(self, kind, function, x):
        how, builder = self._plan(kind)
        if builder is None:
            return self._build(kind, function, x)
        return getattr(self, builder)(function, x)

    def _grad_from_vg(self, function, x):
        vg = self._evaluator("value_and_gradient", function, x)
        return lambda x: vg(x)[1]

    def _grad_from_jac(self, function, x):
        jac = self._evaluator("jacobian", function, x)
        return lambda x: np.reshape(jac(x), (-1,))

    def _vg_from_grad(self, function, x):
        grad = self._evaluator("gradient", function, x)
        return lambda x: (function(x), grad(x))

    def _jac_from_jvp(self, function, x):
        jvp = self._evaluator("jvp", function, x)
        eye = np.eye(x.size, dtype=x.dtype)
        return lambda x: np.stack([np.reshape(jvp(x, e), (-1,)) for e in eye], axis=1)

    def _jac_from_vjp(self, function, x):
        vjp = self._evaluator("vjp", function, x)
        m = np.size(function(x))
        eye = np.eye(m, dtype=x.dtype)
        return lambda x: np.stack([np.reshape(vjp(x, e if m > 1 else e.reshape(())), (-1,))
                                   for e in eye], axis=0)

    def _hess_from_grad(self, function, x):
        grad = self._evaluator("gradient", function, x)
        inner = Function(grad, name=f"gradient of {function.name}")
        return self._evaluator("jacobian", inner, x)

    def _jvp_from_jac(self, function, x):
        jac = self._evaluator("jacobian", function, x)

        def jvp(x, v):
            J = jac(x)
            return namespace(J).reshape(J, (-1, x.size)) @ v
        return jvp

    def _vjp_from_jac(self, function, x):
        jac = self._evaluator("jacobian", function, x)

        def vjp(x, u):
            J = jac(x)
            return namespace(u).reshape(u, (-1,)) @ namespace(J).reshape(J, (-1, x.size))
        return vjp

    def _hvp_from_hess(self, function, x):
        hess = self._evaluator("hessian", function, x)
        return lambda x, v: np.reshape(hess(x), (x.size, x.size)) @ v
