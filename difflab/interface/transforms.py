"""JAX's everyday options over the prepared derivative of any method (docs/api.md).

Implemented once, above :class:`difflab.Derivative`, so every method has them alike:

- ``has_aux=True``: ``f`` returns ``(output, aux)``. The method differentiates ``output``
  only (the aux part is dropped from what it traces); ``aux`` is ``f``'s second part
  evaluated at ``x`` with NumPy values (one more evaluation of ``f`` per call), never a
  traced value, and comes back as JAX returns it.
- ``with_value=True`` (jvp, vjp): ``f(x)`` with the derivative, as ``jax.jvp`` returns its
  primal output; ``pullback`` returns ``f(x)`` and a vjp function to call many times.
- ``in_axes`` (``batched=True``): which positional arguments are mapped along which axis
  (``None``: broadcast), as ``jax.vmap``'s ``in_axes``.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import boundary, pytree
from ..errors import InputError, NotSupported
from ..namespaces.precision import computing_in


def normalise_in_axes(in_axes):
    """``in_axes`` as given (None, an int, or a tuple of ints and Nones), checked, hashable."""
    if in_axes is None:
        return None
    if isinstance(in_axes, (int, np.integer)) and not isinstance(in_axes, bool):
        return int(in_axes)
    if isinstance(in_axes, (tuple, list)) and in_axes and all(
            a is None or (isinstance(a, (int, np.integer)) and not isinstance(a, bool)) for a in in_axes):
        if all(a is None for a in in_axes):
            raise InputError("in_axes maps no argument: give at least one axis (0 maps rows)")
        return tuple(None if a is None else int(a) for a in in_axes)
    raise InputError(f"in_axes must be an int or a tuple of ints and None (one per positional "
                     f"argument), not {in_axes!r}")


def without_aux(fn, name):
    """``f`` returning ``(output, aux)`` as a function returning ``output`` (what is traced)."""
    def output(*args, **kwargs):
        return _pair(fn(*args, **kwargs), name)[0]
    return output


def _pair(out, name):
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        what = f"a {type(out).__name__} of length {len(out)}" if isinstance(out, (tuple, list)) \
            else type(out).__name__
        raise InputError(f"has_aux=True: {name} must return a pair (output, aux), got {what}")
    return out


class Transformed:
    """A derivative with ``has_aux``, ``with_value`` or ``in_axes``: call it as the derivative.

    Attributes ``kind``, ``how``, ``setup_seconds`` are those of the derivative it wraps.
    """

    def __init__(self, derivative_class, differentiator, kind, function, argnums, batched,
                 has_aux=False, with_value=False, in_axes=None):
        # difflab.Derivative is passed in: this module sits below difflab.interface.differentiator
        self.differentiator, self.kind, self.argnums, self.batched = differentiator, kind, argnums, batched
        self.has_aux, self.with_value, self.in_axes = has_aux, with_value, in_axes
        self.user_function = function
        self.function = (dataclasses.replace(function, fn=without_aux(function.fn, function.name))
                         if has_aux else function)
        how = differentiator.how(kind)
        self.derivative = derivative_class(differentiator, kind, self.function, how, argnums=argnums,
                                     batched=batched)
        self._looped = False  # a batch went through the loop over points (in_axes)
        self._single = (derivative_class(differentiator, kind, self.function, how, argnums=argnums)
                        if batched else self.derivative)

    def __repr__(self):
        opts = [o for o, on in (("has_aux", self.has_aux), ("with_value", self.with_value),
                                ("in_axes", self.in_axes is not None)) if on]
        return f"{self.derivative!r:.{len(repr(self.derivative)) - 1}}; {', '.join(opts)}>"

    @property
    def how(self):
        if self._looped:
            return f"{self._single.how}; batched: a loop over points (in_axes maps more than the points)"
        return self.derivative.how

    @property
    def setup_seconds(self):
        return self.derivative.setup_seconds

    def prepare(self, x) -> float:
        return self._single.prepare(x)

    # ------------------------------------------------------------------ calls
    def __call__(self, *args, **kwargs):
        if not args:
            raise InputError(f"{self.kind} takes x first")
        if self.batched:
            return self._batch(args, kwargs)
        return self._one(self.derivative, args, kwargs)

    def _one(self, derivative, args, kwargs):
        result = derivative(*args, **kwargs)
        if not (self.has_aux or self.with_value):
            return result
        y, aux = evaluate_at(self, args, kwargs)
        return self._assemble(result, y, aux)

    def _assemble(self, result, y, aux):
        if self.kind == "value_and_gradient":
            value, grad = result
            return ((value, aux), grad) if self.has_aux else result
        if self.with_value:
            if self.kind == "jvp":
                result = _like(result, y)
            return (y, result, aux) if self.has_aux else (y, result)
        return result, aux

    # ------------------------------------------------------------------ batches
    def _batch(self, args, kwargs):
        nums = self.argnums
        axes = self._axes(args)
        fast = (axes is None or (isinstance(nums, int) and axes[nums % len(args)] == 0
                                 and sum(a is not None for a in axes) == 1
                                 and isinstance(args[nums % len(args)], np.ndarray)))
        if fast:
            result = self.derivative(*args, **kwargs)
            if not self.has_aux:
                return result
            x = args[nums % len(args)] if isinstance(nums, int) else None
            if x is None:
                raise InputError("batched=True with argnums=(...): give in_axes")
            points = [_with(args, nums % len(args), row) for row in np.asarray(x)]
            aux = pytree.tree_stack([evaluate_at(self, p, kwargs)[1] for p in points])
            return self._assemble(result, None, aux)
        count = _count(args, axes)
        self._looped = True
        results = [self._one(self._single, _slice(args, axes, i), kwargs) for i in range(count)]
        return pytree.tree_stack(results)

    def _axes(self, args):
        if self.in_axes is None:
            return None
        if isinstance(self.in_axes, int):
            return (self.in_axes,) * len(args)
        if len(self.in_axes) != len(args):
            raise InputError(f"in_axes={self.in_axes} has {len(self.in_axes)} entries, but "
                             f"{self.function.name} was given {len(args)} positional arguments")
        return self.in_axes


def evaluate_at(transformed, args, kwargs):
    """``(f(x), aux)`` by NumPy at the arguments the call was given (``aux`` None without
    ``has_aux``): the differentiated arguments as the methods see them, in the method's dtype."""
    t = transformed
    args = list(args)
    if t.kind in ("jvp", "vjp", "hvp"):
        del args[1]  # the vector
    nums = (t.argnums,) if isinstance(t.argnums, int) else t.argnums
    dtype = t.differentiator.dtype
    flat_call = t.derivative._flat_call(args[0], len(args) - 1, kwargs) and not t.batched
    for i in nums:
        i %= len(args)
        _refuse_traced(t, args[i])
        if flat_call:
            args[i] = boundary.check_x(args[i], dtype)
        else:
            args[i] = pytree.unflatten(*reversed(pytree.flatten(args[i], dtype)))
    with computing_in(dtype), np.errstate(all="ignore"):
        out = t.user_function.fn(*args, **kwargs)
    y, aux = _pair(out, t.user_function.name) if t.has_aux else (out, None)
    return pytree.tree_map(_number, y), aux


def _refuse_traced(t, arg):
    """has_aux and with_value evaluate f by NumPy: not at values another differentiation traces."""
    try:
        leaves = pytree.leaves(arg, pytree.structure(arg))
    except InputError:
        return  # the derivative itself says what is wrong with the argument
    if any(boundary.traced(leaf) is not None for leaf in leaves if not isinstance(leaf, np.ndarray)):
        raise NotSupported(t.kind, t.differentiator.name,
                           "has_aux, with_value and pullback evaluate f with NumPy values, not "
                           "inside another differentiation: return the aux part from the outer "
                           "function instead")


def _number(leaf):
    arr = np.asarray(leaf)
    if arr.dtype.kind not in "fiub":
        raise InputError(f"f returned {type(leaf).__name__}, not numbers")
    return float(arr) if arr.ndim == 0 else np.array(arr, dtype=np.float64)  # as derivatives are


def _like(tangent, y):
    """A jvp's tangent in the shape of ``y`` (a tree was already rebuilt by the derivative)."""
    if isinstance(y, float):
        return float(np.asarray(tangent).reshape(()))
    if isinstance(y, np.ndarray):
        return np.asarray(tangent).reshape(y.shape)
    return tangent


def _with(args, i, value):
    args = list(args)
    args[i] = value
    return tuple(args)


def _count(args, axes):
    """How many points the mapped arguments hold (all must agree)."""
    counts = {}
    for i, (arg, axis) in enumerate(zip(args, axes)):
        if axis is None:
            continue
        try:
            treedef = pytree.structure(arg)
        except InputError:
            raise InputError(f"in_axes maps argument {i}, which holds no arrays") from None
        for leaf in pytree.leaves(arg, treedef):
            shape = np.shape(leaf)
            if not -len(shape) <= axis < len(shape):
                raise InputError(f"in_axes: argument {i} has a leaf of shape {shape}, no axis {axis}")
            counts.setdefault(shape[axis], i)
    if len(counts) != 1:
        raise InputError("in_axes: the mapped arguments disagree on the number of points: "
                         + ", ".join(f"{n} (argument {i})" for n, i in counts.items()))
    count = next(iter(counts))
    if count == 0:
        raise InputError("the batch is empty: it needs at least one point")
    return count


def _slice(args, axes, i):
    return tuple(a if axis is None else
                 pytree.tree_map(lambda leaf, axis=axis: np.take(np.asarray(leaf), i, axis=axis), a)
                 for a, axis in zip(args, axes))


# ---------------------------------------------------------------------- pullbacks
class Pullback:
    """``pullback(f)(x, *rest) -> (f(x), vjp_fn)``: ``vjp_fn(u)`` is the vjp at that ``x``,
    called as often as wanted (JAX's ``jax.vjp``); with ``has_aux``, ``(f(x), vjp_fn, aux)``."""

    def __init__(self, transformed):
        self._t = transformed
        self.kind = "pullback"

    @property
    def how(self):
        return self._t.how

    def __repr__(self):
        return f"<pullback of {self._t.user_function.name} by {self._t.differentiator.name}>"

    def __call__(self, x, *rest, **kwargs):
        t = self._t
        args = (x, None, *rest)
        y, aux = evaluate_at(t, args, kwargs)
        frozen = [pytree.tree_map(_copy, a) for a in (x, *rest)]
        kw = {k: pytree.tree_map(_copy, v) for k, v in kwargs.items()}

        def vjp_fn(u):
            """The vector-Jacobian product ``u J`` at the point the pullback was made at."""
            return t.derivative(frozen[0], u, *frozen[1:], **kw)

        vjp_fn.__name__ = f"pullback_of_{t.user_function.name}"
        return (y, vjp_fn, aux) if t.has_aux else (y, vjp_fn)


def _copy(leaf):
    return leaf.copy() if isinstance(leaf, np.ndarray) else leaf
