"""The general call of a derivative: several arguments, keywords, pytrees, shaped arrays, batches.

``d.gradient(f)(params, data, scale=2.0)`` differentiates ``f`` with respect to ``params``
(``argnums=0``) and passes ``data`` and ``scale`` through; ``argnums=(0, 1)`` differentiates
several arguments (a tuple back). Every method sees one function of one flat vector,

    x_flat -> f(*args with the differentiated ones unflatten(x_flat), **kwargs)

prepared (a flat :class:`difflab.Derivative`) once per tree structure and per shapes of the
other arguments, and its derivative is unflattened into the structure of the input
(:mod:`difflab.interface.pytree`). The other arguments are data read at every call: a method that
freezes what it prepared from (``sympy``, ``jit=True``) is prepared again when they change
(compared by value, as :mod:`difflab.interface.snapshot` compares closed-over data).

``batched=True`` takes an array of points ``X (points, n)`` and returns one derivative per
point, with the framework's ``vmap`` where the method has one (:meth:`Differentiator._vectorised`)
and a loop over points otherwise.
"""
from __future__ import annotations

import dataclasses
import functools
import threading
from collections import OrderedDict

import numpy as np

from . import boundary, pytree
from ..errors import InputError, NotFinite, NotSupported
from .kinds import BATCHED_KINDS, VECTOR_KINDS

#: Prepared flat derivatives kept per derivative (tree structures x shapes of the data).
INNER_CACHE = 8


def normalise_argnums(argnums):
    """``argnums`` as given (an int, or a tuple of distinct ints), checked."""
    if isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool):
        return int(argnums)
    if isinstance(argnums, (tuple, list)) and argnums and all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in argnums):
        nums = tuple(int(i) for i in argnums)
        if len(set(nums)) != len(nums):
            raise InputError(f"argnums repeats an argument: {argnums}")
        return nums
    raise InputError(f"argnums must be an int or a non-empty tuple of ints, not {argnums!r}")


class Arguments:
    """The general-call state of one :class:`difflab.Derivative`."""

    def __init__(self, derivative):
        self.derivative = derivative
        self._inner: OrderedDict = OrderedDict()  # (treedef, data signature) -> _Prepared
        self._lock = threading.Lock()
        self._current = threading.local()  # the call's arguments, read by the flat function

    # ------------------------------------------------------------------ the call
    def call(self, args, kwargs):
        d = self.derivative
        nums = d.argnums
        if d.batched and d.kind not in BATCHED_KINDS:
            raise InputError(f"batched=True is for {', '.join(BATCHED_KINDS)}, not {d.kind}")
        vectors = ()
        if d.kind in VECTOR_KINDS:
            if len(args) < 2:
                raise InputError(f"{d.kind} takes (x, vector, *other arguments)")
            vectors, args = (args[1],), (args[0],) + tuple(args[2:])
        positions = (nums,) if isinstance(nums, int) else nums
        for i in positions:
            if not -len(args) <= i < len(args):
                raise InputError(f"argnums={nums} but {d.function.name} was given {len(args)} "
                                 f"positional argument{'s' if len(args) != 1 else ''}")
        positions = tuple(i % len(args) for i in positions)
        tree = args[positions[0]] if isinstance(nums, int) else tuple(args[i] for i in positions)
        rest = tuple(None if i in positions else a for i, a in enumerate(args))
        self._refuse_traced_data(rest, kwargs)
        if d.batched:
            return self._batched(tree, nums, positions, rest, kwargs)
        x, treedef = self._flatten(tree)
        prepared = self._prepared(treedef, nums, positions, rest, kwargs)
        vectors = [self._vector(v, treedef) for v in vectors]
        self._current.value = (rest, kwargs)
        try:
            result = prepared.flat(x, *vectors)
        finally:
            self._current.value = None
        d.setup_seconds = prepared.flat.setup_seconds
        shaped = self._shape(result, treedef, nums)
        tree = prepared.flat.output_tree((treedef.size,))
        if tree is not None and d.kind != "vjp" and boundary.traced(result) is None:
            return pytree.split_outputs(tree, shaped, d.kind)
        return shaped

    def _flatten(self, tree):
        """The flat vector of the differentiated arguments (traced values: see boundary.py)."""
        d = self.derivative
        treedef = pytree.structure(tree)
        leaves = pytree.leaves(tree, treedef)
        traced = [boundary.traced(leaf) for leaf in leaves if not isinstance(leaf, np.ndarray)]
        ns = next((t for t in traced if t is not None), None)
        if ns is None:
            x, _ = pytree.flatten(tree, d.differentiator.dtype)
            return x, treedef
        from ..ad.traced import ADNamespace

        if not (d.differentiator.composes and isinstance(ns, ADNamespace)):
            raise boundary.refused_trace(d, ns)
        return ns.concatenate([ns.reshape(ns.asarray(leaf), (-1,)) for leaf in leaves]), treedef

    def _refuse_traced_data(self, rest, kwargs):
        """Data another differentiation traces would be a constant here: refused, never zero."""
        for value in (*rest, *kwargs.values()):
            if value is None or isinstance(value, (str, bytes, bool, int, float)) or callable(value):
                continue
            try:
                treedef = pytree.structure(value)
            except InputError:
                continue  # not numbers: passed through untouched
            for leaf in pytree.leaves(value, treedef):
                ns = boundary.traced(leaf) if not isinstance(leaf, np.ndarray) else None
                if ns is not None:
                    raise InputError(
                        f"{self.derivative.kind} by {self.derivative.differentiator.name}: an argument "
                        f"that is not differentiated holds a {ns.name} value another differentiation "
                        f"traces; it would be taken as a constant: differentiate it (argnums) or "
                        f"differentiate the whole function with one method")

    def _vector(self, v, treedef):
        d = self.derivative
        if d.kind == "vjp":
            return v  # one entry per output of f: the flat derivative checks it
        vdef = pytree.structure(v)
        if vdef != treedef and not (vdef.size == treedef.size and vdef.kind == treedef.kind == "leaf"):
            raise InputError(f"{d.kind}: v is {vdef.describe()}, x is {treedef.describe()}")
        return pytree.flatten(v, d.differentiator.dtype)[0]

    def _shape(self, result, treedef, nums):
        """The flat derivative in the structure of the input."""
        d = self.derivative
        if boundary.traced(result) is not None and not isinstance(result, (tuple, np.ndarray)):
            return self._shape_traced(result, treedef)
        if d.kind in ("gradient", "vjp", "hvp"):
            return pytree.unflatten(treedef, result)
        if d.kind == "value_and_gradient":
            return result[0], pytree.unflatten(treedef, result[1])
        if d.kind == "jacobian":
            return pytree.unflatten(treedef, result, lead=(result.shape[0],))
        if d.kind == "hessian":
            if treedef.kind != "leaf":
                raise InputError(self._hessian_of_tree(treedef))
            if treedef.meta is None:
                return boundary.scalar_in(result, result.dtype)
            return result.reshape(treedef.meta + treedef.meta)  # a 0-d x: a 0-d Hessian
        return result  # jvp: one entry per output of f

    def _shape_traced(self, result, treedef):
        d = self.derivative
        if d.kind in ("gradient", "vjp", "hvp"):
            return pytree.unflatten(treedef, result)
        if d.kind == "hessian" and treedef.kind == "leaf" and treedef.meta:
            from ..namespaces import namespace

            return namespace(result).reshape(result, treedef.meta + treedef.meta)
        if d.kind in ("jvp",) or (treedef.kind == "leaf" and treedef.meta is not None and len(treedef.meta) == 1):
            return result
        raise InputError(f"{d.kind} of {treedef.describe()} inside another differentiation: "
                         "pass a 1-D array there")

    def _hessian_of_tree(self, treedef) -> str:
        return (f"hessian of {treedef.describe()}: a Hessian has no pytree form here; take it of the "
                f"flat vector: flat, unravel = difflab.ravel(params); "
                f"d.hessian(lambda v: f(unravel(v), ...))(flat), or use hessian-vector products")

    # ------------------------------------------------------------------ preparation
    def _prepared(self, treedef, nums, positions, rest, kwargs):
        """The flat derivative for this structure and these data shapes (prepared again when
        a method that freezes its preparation sees the data change)."""
        d = self.derivative
        key = (treedef, _signature(rest), _signature(kwargs))
        freezes = bool(getattr(d.differentiator, "freezes_closure", False))
        with self._lock:
            prepared = self._inner.get(key)
            if prepared is not None:
                self._inner.move_to_end(key)
                if not freezes or prepared.data_is(rest, kwargs):
                    return prepared
        fn = functools.partial(_apply, d.user_function.fn, self._current, treedef, nums, positions)
        function = dataclasses.replace(d.user_function, fn=fn)
        flat = type(d)(d.differentiator, d.kind, function, d.differentiator.how(d.kind))
        flat._defer_outputs = True  # trees of outputs are rebuilt after the input structure
        prepared = _Prepared(flat, _record(rest, kwargs) if freezes else None)
        with self._lock:
            self._inner[key] = prepared
            self._inner.move_to_end(key)
            while len(self._inner) > INNER_CACHE:
                self._inner.popitem(last=False)
        return prepared

    # ------------------------------------------------------------------ batches
    def _batched(self, X, nums, positions, rest, kwargs):
        d = self.derivative
        if not isinstance(nums, int):
            raise InputError("batched=True differentiates one argument: an array of points (points, n)")
        X = _points(X if isinstance(X, np.ndarray) else _array_or_none(X), d.differentiator.dtype)
        if not getattr(d, "axes_given", False):
            _refuse_ambiguous_data(X.shape[0], rest, kwargs)
        treedef = pytree.TreeDef("leaf", (X.shape[1],))
        prepared = self._prepared(treedef, nums, positions, rest, kwargs)
        self._current.value = (rest, kwargs)
        try:
            if prepared.vectorised is None:
                prepared.vectorised = self._vectorise(prepared, X[0])
            if prepared.vectorised is not False:
                try:
                    return self._finish_batch(prepared, X, prepared.vectorised(X))
                except NotSupported:
                    prepared.vectorised = False  # the function cannot be vmapped: loop
                    d.how = _batched_how(d, prepared)
            results = [prepared.flat(row) for row in X]
        finally:
            self._current.value = None
        if d.kind == "value_and_gradient":
            return np.array([r[0] for r in results]), np.stack([r[1] for r in results])
        return self._batch_outputs(prepared, X, np.stack(results))

    def _batch_outputs(self, prepared, X, out):
        """A batch of Jacobians in f's output structure where f returns a tree."""
        tree = prepared.flat.output_tree(X.shape[1:])
        return out if tree is None else pytree.split_outputs(tree, out, "jacobian", axis=1)

    def _vectorise(self, prepared, x0):
        d = self.derivative
        prepared.flat.prepare(x0)  # the boundary checks at the first point, and the flat setup
        vectorised = d.differentiator._vectorised(d.kind, prepared.flat._traceable(), x0)
        prepared.vectorised = vectorised or False
        d.how = _batched_how(d, prepared)
        return prepared.vectorised

    def _finish_batch(self, prepared, X, out):
        """Results of a vmap in the method's dtype, with f's finiteness checked at every point."""
        d = self.derivative
        dtype = d.differentiator.dtype
        points, n = X.shape
        if d.kind in ("gradient", "value_and_gradient"):  # vectorised as (values, gradients)
            values, grads = out
            values = np.asarray(values, dtype=dtype).reshape(points)
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                raise NotFinite(f"at point {bad[0]} of the batch: {boundary.not_finite(d.function.name)}")
            grads = np.asarray(grads, dtype=dtype).reshape(points, n)
            return grads if d.kind == "gradient" else (values, grads)
        shape = {"gradient": (points, n), "hessian": (points, n, n)}.get(d.kind, (points, -1, n))
        result = np.asarray(out, dtype=dtype).reshape(shape)
        finite = np.isfinite(result.reshape(points, -1)).all(axis=1)
        for i in np.flatnonzero(~finite):  # a non-finite derivative only where f is finite
            prepared.flat._check_f_at(X[i])
        return self._batch_outputs(prepared, X, result)


class _Prepared:
    """A flat derivative, the data it was prepared with (for methods that freeze it), and its
    vectorised form for batches (None: not built yet; False: none, loop)."""

    def __init__(self, flat, record):
        self.flat, self.record, self.vectorised = flat, record, None

    def data_is(self, rest, kwargs) -> bool:
        return self.record is not None and _same(self.record, _record(rest, kwargs))


def _apply(fn, current, treedef, nums, positions, x_flat):
    """``f`` at the flat vector: the differentiated arguments rebuilt, the others as given."""
    rest, kwargs = current.value
    tree = pytree.unflatten(treedef, x_flat)
    args = list(rest)
    if isinstance(nums, int):
        args[positions[0]] = tree
    else:
        for i, part in zip(positions, tree):
            args[i] = part
    return fn(*args, **kwargs)


def _batched_how(d, prepared) -> str:
    base = d.differentiator.how(d.kind)
    if prepared.vectorised:
        return f"{base}; batched: vectorised with {d.differentiator.vmap_name}"
    return f"{base}; batched: a loop over points"


def _refuse_ambiguous_data(points, rest, kwargs):
    """Data with one row per point would be broadcast whole to every point, silently: refused
    unless ``in_axes`` says whether it is mapped or broadcast."""
    named = [(f"argument {i}", v) for i, v in enumerate(rest) if v is not None]
    named += [(f"keyword {k!r}", v) for k, v in kwargs.items()]
    for name, value in named:
        if value is None or isinstance(value, (str, bytes)) or callable(value):
            continue
        try:
            treedef = pytree.structure(value)
        except InputError:
            continue
        if any(len(np.shape(leaf)) >= 1 and np.shape(leaf)[0] == points
               for leaf in pytree.leaves(value, treedef)):
            raise InputError(
                f"batched=True over {points} points, and {name} has {points} rows too: is it "
                f"per-point data (mapped) or shared (broadcast)? Say it with in_axes, one entry "
                f"per positional argument: in_axes=(0, 0) maps its rows with the points, "
                f"in_axes=(0, None) passes it whole to every point (keywords are always passed whole)")


def _array_or_none(X):
    try:
        return np.asarray(X)
    except (TypeError, ValueError):
        return None


def _points(X, dtype):
    if not isinstance(X, np.ndarray) or X.dtype.kind not in "fiu":
        raise InputError("batched=True takes an array of points of shape (points, n)")
    if X.ndim != 2:
        raise InputError(f"batched=True takes an array of points of shape (points, n), got shape {X.shape}")
    if X.size == 0:
        raise InputError("the batch is empty: it needs at least one point of at least one input")
    X = np.asarray(X, dtype=dtype)
    if not np.isfinite(X).all():
        raise InputError("x contains NaN or infinity")
    return X


# ---------------------------------------------------------------------- data (not differentiated)
def _signature(value):
    """What a prepared derivative may depend on besides values: structure, shapes, types."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted((repr(k), _signature(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_signature(v) for v in value))
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str)
    return ("object", type(value).__name__)


def _record(rest, kwargs):
    """The data as it is now (arrays copied), for a method that freezes it."""
    def copy(value):
        if isinstance(value, dict):
            return {k: copy(v) for k, v in value.items()}
        if pytree.is_namedtuple(value):
            return type(value)(*(copy(v) for v in value))
        if isinstance(value, (list, tuple)):
            if type(value) in (list, tuple):
                return type(value)(copy(v) for v in value)
            return _Tag(("object", id(value)))
        if isinstance(value, np.ndarray):
            return _Tag(("array", value.shape, value.dtype.str, value.tobytes()))
        if isinstance(value, (int, float, complex, str, bytes, np.number, type(None))):
            return _Tag(("value", type(value).__name__, value))
        return _Tag(("object", id(value)))  # anything else by identity (see docs/api.md)
    return copy((rest, kwargs))


class _Tag(tuple):
    """A recorded leaf of the data (never confused with a user's tuple)."""


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if not isinstance(a, _Tag):
        return len(a) == len(b) and all(map(_same, a, b))
    if a[0] == "value":
        return a[1] == b[1] and (a[2] == b[2] or (a[2] != a[2] and b[2] != b[2]))
    return a == b
