"""A prepared derivative: what ``Differentiator.gradient(f)`` and its siblings return.

Calling it evaluates: the plain call (one 1-D x) goes straight to the method's evaluator for
x's shape, prepared once and timed as setup; other arguments, keywords, pytrees and batches
go through :class:`difflab.interface.arguments.Arguments`. It reads its method only through the
instance it is given, so this module sits below :mod:`difflab.interface.differentiator`.
"""
from __future__ import annotations

import dataclasses
import math
import threading
import time

import numpy as np

from . import boundary, budget, pytree
from .arguments import Arguments
from ..errors import InputError, NotSupported
from .function import Function
from .kinds import OUTPUT_TREE_KINDS, SCALAR_KINDS, VECTOR_KINDS
from ..namespaces import namespace
from ..namespaces.precision import computing_in
from .snapshot import closure_snapshot


class Derivative:
    """A prepared derivative operator: call it with ``x`` (and ``v``/``u`` for jvp/vjp/hvp).

    Attributes
    ----------
    differentiator : difflab.Differentiator
        The method that prepared it.
    kind : str
    how : str
        ``"native"`` or how the kind was derived.
    setup_seconds : float
        Time spent preparing for the last new input shape (tracing, compiling).
    """

    def __init__(self, differentiator, kind: str, function: Function, how: str,
                 argnums=0, batched=False):
        self.differentiator, self.kind, self.how = differentiator, kind, how
        #: f as given; ``function`` is what the method differentiates: for jacobian, jvp and
        #: vjp, f with a tree of outputs (a dict of arrays) flattened to one vector.
        self.user_function = function
        self.function = (dataclasses.replace(function, fn=pytree.flat_outputs(function.fn))
                         if kind in OUTPUT_TREE_KINDS else function)
        self._output_trees: dict = {}  # input shape -> TreeDef of f's outputs, or None (an array)
        self.argnums, self.batched = argnums, batched
        self._arguments = None  # the general call (arguments.py), made on first use
        self._evaluators: dict = {}
        self._closure = None  # what the evaluators froze, for methods that freeze (snapshot.py)
        self._output_sizes: dict = {}  # input shape -> number of outputs of f (from _check_f_at)
        self.setup_seconds = 0.0
        self._prepare_lock = threading.RLock()  # one preparation at a time (threads)

    def __repr__(self):
        return f"<{self.kind} of {self.function.name} by {self.differentiator.name} ({self.how})>"

    def prepare(self, x) -> float:
        """Do the shape-specific preparation for ``x`` now; return the seconds it took."""
        x = self._check_x(x)
        self._evaluator_for(x)
        return self.setup_seconds

    def _evaluator_for(self, x):
        """The evaluator for ``x``'s shape, prepared on first use (and again when the data a
        freezing method froze has changed). Safe from any number of threads: a prepared
        evaluator is found without a lock; preparing takes this derivative's lock, so threads
        that need the same shape at once prepare it once."""
        closure = self._closure
        if closure is None or not closure.changed():
            ev = self._evaluators.get(x.shape)
            if ev is not None:
                return ev
        with self._prepare_lock:
            return self._prepared_for(x)

    def _prepared_for(self, x):
        if self._closure is not None and self._closure.changed():
            self._evaluators.clear()  # prepared from data the function no longer sees
            self._closure = None
        ev = self._evaluators.get(x.shape)
        if ev is None:
            start = time.perf_counter()
            self._check_f_at(x)  # the boundary contract, before any method runs f its own way
            # the budget, before the preparation and any allocation (difflab/budget.py)
            budget.check(self, x, time.perf_counter() - start, self._output_sizes[x.shape])
            start = time.perf_counter()
            with computing_in(self.differentiator.dtype):
                ev = self.differentiator._evaluator(self.kind, self._traceable(), x)
            self.setup_seconds = time.perf_counter() - start
            if not self._evaluators:  # recorded after the trace, which may append to a log
                self._closure = closure_snapshot(self.differentiator, self.user_function)
            self._evaluators[x.shape] = ev
        return ev

    def _traceable(self):
        """The function as the method sees it: for the methods that trace it, guarded against
        functions written with NumPy (difflab.interface.boundary.guarded); for a scalar kind, a
        one-element output (shape (1,), a one-element list) as the scalar it holds and a list as
        the vector it stacks, so every method follows one rule (difflab.interface.boundary.as_output)."""
        if self.differentiator.family not in ("automatic", "symbolic"):
            return self.function  # they take f's numbers with np.asarray, any such output
        fn = boundary.guarded(self.function.fn, self.differentiator.name, self.function.name)
        fn = boundary.as_output(fn, scalar=self.kind in SCALAR_KINDS)
        return dataclasses.replace(self.function, fn=fn)

    def __call__(self, x, *args, **kwargs):
        """``x`` (and ``v``/``u`` for jvp/vjp/hvp); other arguments, keywords, pytrees, shaped
        arrays and batches go through :class:`difflab.interface.arguments.Arguments`."""
        if type(x) is np.ndarray and not kwargs:  # the plain call of a prepared flat program
            out = self._call_prepared(x, args)
            if out is not None:
                return out
        wants = 1 if self.kind in VECTOR_KINDS else 0
        if not self._flat_call(x, len(args) - wants, kwargs):
            if self._arguments is None:
                with self._prepare_lock:  # one, whichever thread asks first
                    if self._arguments is None:
                        self._arguments = Arguments(self)
            return self._arguments.call((x, *args), kwargs)
        return self._call_flat(x, *args)

    def _call_prepared(self, x, args):
        """``_call_plain`` and ``_finish`` inlined for an evaluator that says it returns the
        kind's array for ``x``, new and of the method's dtype (``evaluator.returns_fresh``:
        the compiled tape's gradient, hvp and Hessian), or None for the general path. The same checks
        (x finite, the closure unchanged, the result finite) without the general path's
        dispatch and copy, which were half of the compiled tape's call at n = 10 (issue 24)."""
        dtype = self.differentiator.dtype
        if (x.dtype != dtype or x.ndim != 1 or self.argnums != 0 or self.batched
                or len(args) != (self.kind == "hvp")):
            return None
        closure = self._closure
        ev = self._evaluators.get(x.shape) if closure is None or not closure.changed() else None
        if ev is None or not getattr(ev, "returns_fresh", False):
            return None
        if not math.isfinite(x.dot(x)) and not np.isfinite(x).all():
            return None  # the general path says which
        if args:
            v = args[0]
            if not (type(v) is np.ndarray and v.dtype == dtype and v.shape == x.shape):
                return None
            out = ev(x, v)
        else:
            out = ev(x)
        flat = out.reshape(-1)  # a view (the Hessian's (n, n) too): one dot product
        if not math.isfinite(flat.dot(flat)):
            return self._finite(out, x)  # NotFinite, or an overflowing square: the full check
        return out

    def _flat_call(self, x, extra_args, kwargs) -> bool:
        """Is this the plain call (one 1-D x, nothing else), taken without the general call?
        A number or a 0-d array is the general call's, so its derivative is 0-d too."""
        return (not kwargs and extra_args == 0 and self.argnums == 0 and not self.batched
                and pytree.is_flat(x) and not _zero_d(x))

    def _call_flat(self, x, *vectors):
        ns = boundary.traced(x, vectors)
        if ns is not None:  # called inside another differentiation
            return self._call_traced(ns, x, vectors)
        if self.differentiator.family == "numeric":
            with _numeric_nesting(self):  # finite differences of finite differences: refused
                return self._call_plain(x, vectors)
        return self._call_plain(x, vectors)

    def _call_plain(self, x, vectors):
        x = self._check_x(x)
        wants = 1 if self.kind in VECTOR_KINDS else 0
        if len(vectors) != wants:
            raise InputError(f"{self.kind} takes {'(x, vector)' if wants else '(x)'}")
        if self.kind != "vjp":
            vectors = [np.asarray(v, dtype=self.differentiator.dtype) for v in vectors]
        if self.kind in ("jvp", "hvp") and vectors[0].shape != x.shape:
            raise InputError(f"{self.kind}: v has shape {vectors[0].shape}, x has {x.shape}")
        evaluate = self._evaluator_for(x)
        if self.kind == "vjp":
            vectors = [self._cotangent(vectors[0], x)]
        if self.kind == "vjp" and vectors[0].size != self._output_sizes[x.shape]:
            raise InputError(f"vjp: u has {vectors[0].size} entries, "
                             f"f has {self._output_sizes[x.shape]} outputs")
        if getattr(evaluate, "sets_precision", False):  # a compiled program sets it when tracing
            result = evaluate(x, *vectors)
        else:
            with computing_in(self.differentiator.dtype):  # closed-over float data follows dtype
                result = evaluate(x, *vectors)
        return self._finish(result, x)

    def _check_x(self, x):
        return boundary.check_x(x, self.differentiator.dtype)

    def _check_f_at(self, x):
        """``f(x)`` by NumPy must be finite numbers (one for a scalar kind): InputError if not."""
        with computing_in(self.differentiator.dtype), np.errstate(all="ignore"):  # NaN is reported
            value = self.user_function(x)
        tree = pytree.output_structure(value) if self.kind in OUTPUT_TREE_KINDS else None
        if tree is not None:
            self._output_trees[x.shape] = tree
            value = pytree.flat_outputs(lambda: value)()
        self._output_sizes[x.shape] = boundary.check_value(value, self.kind, self.function.name).size

    def output_tree(self, x_shape):
        """The TreeDef of f's outputs at inputs of ``x_shape`` (a dict of arrays, say), or None
        where f returns an array (known once the derivative was prepared for that shape)."""
        return self._output_trees.get(x_shape)

    def _cotangent(self, u, x):
        """``u`` of a vjp as one vector: of f's output structure where f returns a tree."""
        tree = self._output_trees.get(x.shape)
        if tree is not None and not (type(u) is np.ndarray and u.ndim == 1):
            udef = pytree.structure(u)
            if udef != tree:
                raise InputError(f"vjp: u is {udef.describe()}, f returns {tree.describe()}")
            return pytree.flatten(u, self.differentiator.dtype)[0]
        return np.asarray(u, dtype=self.differentiator.dtype)

    def _call_traced(self, ns, x, vectors):
        """Evaluate on values another differentiation traces: difflab's own engines nest
        (each call opens a higher level), every other pairing is refused."""
        from ..ad.traced import ADNamespace, strip

        if not (self.differentiator.composes and isinstance(ns, ADNamespace)):
            raise boundary.refused_trace(self, ns)
        wants = self.kind in VECTOR_KINDS
        if len(vectors) != wants:
            raise InputError(f"{self.kind} takes {'(x, vector)' if wants else '(x)'}")
        if isinstance(x, (list, tuple)):
            x = ns.stack(list(x))
        plain = self._check_x(strip(x))
        if x.shape != plain.shape:  # a 0-d x, as a 1-vector
            x = ns.reshape(x, plain.shape)
        evaluate = self._evaluator_for(plain)
        with computing_in(self.differentiator.dtype):
            result = evaluate(x, *vectors)
        if self.kind in ("jvp", "jacobian"):
            return namespace(result).reshape(result, (-1,) if self.kind == "jvp" else (-1, plain.size))
        return result

    def _finish(self, result, x):
        """The result at the boundary, in the method's dtype (docs/reliability.md, dtype)."""
        n = x.size
        if self.kind == "value_and_gradient":
            value, grad = result
            boundary.check_finite(value, self.function.name)
            value = np.real(np.asarray(value)).reshape(-1)[0]  # a one-element f: its number
            return (boundary.scalar_in(value, self.differentiator.dtype),
                    self._finite(_in_dtype(grad, (n,), self), x))
        shape = {"gradient": (n,), "hessian": (n, n), "vjp": (n,), "hvp": (n,)}.get(self.kind)
        if self.kind == "jacobian":
            out = np.asarray(_in_dtype(result, None, self))
            return self._outputs(self._finite(out.reshape(-1, n), x), x.shape)
        if self.kind == "jvp":
            return self._outputs(self._finite(_in_dtype(result, None, self).reshape(-1), x), x.shape)
        return self._finite(_in_dtype(result, shape, self), x)

    def _outputs(self, out, x_shape):
        """A Jacobian's rows (a jvp's entries) in f's output structure where f returns a tree:
        each output leaf gets the rows of its entries (what ``jacobian`` of that leaf alone
        gives); an array f: unchanged. Called by the general call after its own shaping."""
        tree = self._output_trees.get(x_shape)
        if tree is None or getattr(self, "_defer_outputs", False):
            return out
        return pytree.split_outputs(tree, out, self.kind)

    def _finite(self, out, x):
        """A derivative with NaN or infinity is never returned: NotFinite, saying whether f
        itself is not finite at x or f is finite and its derivative is not (sqrt at 0)."""
        flat = out.ravel()
        # one dot product tells finite from not (an overflowing square falls through to isfinite)
        if not math.isfinite(np.dot(flat, flat)) and not np.isfinite(flat).all():
            self._check_f_at(x)  # NotFinite naming f(x) where f itself is not finite
            raise boundary.derivative_not_finite(self.kind, self.differentiator.name,
                                                 self.function.name)
        return out


def _zero_d(x) -> bool:
    """A plain number or 0-d array (not a traced value: those nest through _call_traced)."""
    return (isinstance(x, (float, int, np.generic, np.ndarray)) and not isinstance(x, (bool, np.bool_))
            and np.ndim(x) == 0)


_numeric = threading.local()


class _numeric_nesting:
    """Marks this thread as evaluating a finite-difference derivative; one called while
    another is evaluating (the Hessian as fd-forward of an fd-forward gradient) is refused:
    the inner derivative's error, about sqrt(eps) relative, is divided by the outer step,
    and H v came out 12-14% off with no warning. The methods' own hessian and hvp
    balance the two steps (docs/reliability.md, the last silent answers at the boundary)."""

    def __init__(self, derivative):
        self.derivative = derivative

    def __enter__(self):
        outer = getattr(_numeric, "active", None)
        if outer is not None:
            d = self.derivative
            raise NotSupported(
                "finite differences of a finite-difference derivative", d.differentiator.name,
                f"the {d.kind} of {d.function.name} was called while the {outer.kind} by "
                f"{outer.differentiator.name} evaluates its function: the outer step would "
                f"divide the inner derivative's error (about 1e-8 relative for fd-forward), "
                f"which no estimate carries; use {outer.differentiator.name}'s own hessian or "
                f"hvp (they balance the two steps) or an exact method for the inner derivative")
        _numeric.active = self.derivative

    def __exit__(self, *exc):
        _numeric.active = None


def _in_dtype(value, shape, derivative):
    """A method's result as a fresh array of the differentiator's dtype and the kind's shape:
    the one place every result crosses the boundary, so every method returns the dtype it
    computed in (float32 for ``dtype="float32"``, as JAX and PyTorch do)."""
    out = np.array(value, dtype=derivative.differentiator.dtype, copy=True)
    if shape is not None and out.shape != shape:
        if out.size == int(np.prod(shape)):
            return out.reshape(shape)
        raise InputError(f"{derivative.kind} of {derivative.function.name}: expected shape {shape}, "
                         f"got {out.shape}" + ("; is the function scalar-valued?" if out.size > np.prod(shape) else ""))
    return out
