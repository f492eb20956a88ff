"""difflab's reverse mode: a tape of array operations, swept backwards once per cotangent.

Each operation on a :class:`Node` appends a node to its :class:`Tape` holding the rule, the
inputs and the output. The backward sweep multiplies the cotangent by the same partials the
forward mode uses (one rule table) and sums it back to each input's shape. Exact Hessians
come from nesting: forward mode over this sweep.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import not_scalar
from ..namespaces import NUMPY, namespace
from . import forward
from .rules import RULES, keepdims_shape, scale, shape_of, unbroadcast
from ..namespaces.numpy_ns import _is_basic
from .traced import ADNamespace, Traced, new_level, strip


class Node(Traced):
    """A value recorded on a tape, with what is needed to send its cotangent back."""

    __slots__ = ("value", "_level", "tape", "rule", "args", "params", "parents", "grad")

    def __init__(self, value, level, tape, rule=None, args=(), params=None, parents=()):
        self.value, self._level, self.tape = value, level, tape
        self.rule, self.args, self.params, self.parents = rule, args, params, parents
        self.grad = None


class Tape(list):
    """The recorded operations, in execution order. ``len(tape)`` counts them."""

    def close(self) -> None:
        """Drop the nodes: nodes point at their tape, so this breaks the reference cycle and
        frees the recorded arrays at once instead of at the next garbage collection."""
        self.clear()
        self.inputs = None

    def backward(self, output: Node, seed, release: bool = False) -> None:
        """Send ``seed`` (the cotangent of ``output``) to every node, in reverse order.

        With ``release=True`` each node drops its arrays once swept, so the sweep reuses
        their memory (a tape swept once, as for a gradient).
        """
        output.grad = seed
        owned = _Owned()
        for node in reversed(self):
            g = node.grad
            if g is None:
                continue
            node.grad = None
            owned.release(g)  # g may now be handed on as-is: nobody owns it any more
            if node.rule is _GETITEM and type(g) is np.ndarray:
                owned.add_at(node.parents[0][1], node.params["index"], g, shape_of(node.args[0]))
                if release:
                    node.args = node.value = None
                continue
            xp = namespace(node.value, g)
            vjp = _VJP[node.rule.kind]
            for i, parent in node.parents:
                owned.accumulate(parent, vjp(node, xp, g, i), g)
            if release:
                node.args = node.value = None


class _Owned:
    """Cotangent arrays this sweep allocated and no one else holds: safe to add into in place.

    Accumulating in place (and scattering an indexed cotangent straight into its target)
    saves an allocation and a full pass per fan-out, which is most of the backward cost on
    large arrays. Anything that may be shared (a pass-through cotangent, a view, a traced
    value) is never written into.
    """

    __slots__ = ("arrays",)

    def __init__(self):
        self.arrays = {}

    def release(self, a):
        self.arrays.pop(id(a), None)

    def _owns(self, a):
        return a is not None and self.arrays.get(id(a)) is a

    def _take(self, a):
        self.arrays[id(a)] = a

    def accumulate(self, parent, c, g):
        current = parent.grad
        if current is None:
            parent.grad = c
            if c is not g and type(c) is np.ndarray and c.base is None:
                self._take(c)
        elif (self._owns(current) and type(c) is np.ndarray and c.shape == current.shape
              and np.can_cast(c.dtype, current.dtype)):
            current += c
        else:
            parent.grad = current + c
            if type(parent.grad) is np.ndarray:
                self._take(parent.grad)

    def add_at(self, parent, index, g, shape):
        """The transpose of ``x[index]``, written straight into the parent's cotangent."""
        current = parent.grad
        if current is not None and type(current) is not np.ndarray:
            # a traced cotangent (nested modes) already arrived: add, never write into it
            parent.grad = current + NUMPY.scatter(g, index, shape)
            return
        if not (self._owns(current) and np.can_cast(g.dtype, current.dtype)):
            fresh = np.zeros(shape, dtype=np.result_type(g.dtype, np.float32))
            if current is not None:
                fresh += current
            parent.grad = current = fresh
            self._take(fresh)
        if _is_basic(index):
            current[index] += g
        else:
            np.add.at(current, index, g)


class ReverseNamespace(ADNamespace):
    """Reverse mode: compute the value with the inner namespace and record it."""

    name = "difflab-reverse"
    traced_type = Node

    def constant(self, ans, name, values, params):
        """The result of an operation on constants only: nothing to record (the compiled
        tape's tracer overrides this to keep track of data-derived constants)."""
        return ans

    def apply(self, name, args, params):
        rule = RULES[name]
        cls = self.traced_type
        if len(args) == 1 and type(args[0]) is cls and rule.differentiable is None:  # nothing to split
            (arg,) = args
            values = (arg.value,)
            ans = rule.impl(namespace(arg.value), arg.value, **params)
            node = cls(ans, arg._level, arg.tape, rule, values, params, ((0, arg),))
            arg.tape.append(node)
            return node
        level, active, values = self.split(args)
        ans = rule.impl(namespace(*values), *values, **params)
        if rule.differentiable is not None:
            active = [i for i in active if i in rule.differentiable]
        if not active:
            return self.constant(ans, name, values, params)
        tape = args[active[0]].tape
        node = cls(ans, level, tape, rule, values, params, [(i, args[i]) for i in active])
        tape.append(node)
        return node


def _vjp_elementwise(node, xp, g, i):
    partial = node.rule.partials[i](xp, node.value, *node.args, **node.params)
    return unbroadcast(xp, scale(partial, g), shape_of(node.args[i]))


def _vjp_reduction(node, xp, g, i):
    (x,) = node.args
    axis, keepdims = node.params.get("axis"), node.params.get("keepdims", False)
    kd = keepdims_shape(shape_of(x), axis)
    g_kd = g if keepdims else xp.reshape(g, kd)
    ans_kd = node.value if keepdims else xp.reshape(node.value, kd)
    partial = node.rule.partials[0](xp, ans_kd, x, **node.params)
    out = scale(partial, g_kd)
    return out if shape_of(out) == shape_of(x) else _expand(xp, out, shape_of(x))


#: Below this many elements a broadcast cotangent is materialised: a copy is cheaper than
#: building NumPy's broadcast view, and the copy can be accumulated into in place.
SMALL_BROADCAST = 4096


def _expand(xp, g, shape):
    """``g`` broadcast to ``shape``: a fresh array when small and plain, else a view."""
    if type(g) is np.ndarray and math.prod(shape) <= SMALL_BROADCAST:
        out = np.empty(shape, dtype=g.dtype)
        out[...] = g
        return out
    return xp.broadcast_to(g, shape)


def _vjp_linear(node, xp, g, i):
    return node.rule.transpose(xp, g, i, node.value, *node.args, **node.params)


def _vjp_custom(node, xp, g, i):
    return node.rule.vjp(xp, g, i, node.value, *node.args, **node.params)


_VJP = {"elementwise": _vjp_elementwise, "reduction": _vjp_reduction,
        "linear": _vjp_linear, "custom": _vjp_custom}

_GETITEM = RULES["getitem"]
REVERSE = ReverseNamespace()
Node.namespace = REVERSE


# ---------------------------------------------------------------------- user-level operators
def record(f, x):
    """Run ``f`` on ``x`` while recording: returns ``(output, tape)``; ``tape.inputs`` holds the input node."""
    tape = Tape()
    leaf = Node(x, new_level(), tape)
    tape.inputs = leaf
    return f(leaf), tape


def _is_recorded(out, tape):
    return isinstance(out, Node) and out.tape is tape


def vjp(f, x):
    """``(f(x), pullback)`` where ``pullback(u)`` is ``u^T J(x)``; the tape is reused per call."""
    out, tape = record(f, x)
    leaf = tape.inputs
    value = out.value if _is_recorded(out, tape) else out

    def pullback(u, last=False):
        """``u^T J``; with ``last=True`` the sweep frees the tape as it goes (no more calls)."""
        if not _is_recorded(out, tape):
            return np.zeros(shape_of(x))
        seed = u if shape_of(u) == shape_of(value) else namespace(u).reshape(u, shape_of(value))
        leaf.grad = None
        tape.backward(out, seed, release=last)
        grad = leaf.grad
        if last:
            tape.close()
        return grad if grad is not None else np.zeros(shape_of(x))

    return value, pullback


def value_and_gradient(f, x):
    """``(f(x), grad f(x))`` for a scalar ``f``: one recording, one backward sweep."""
    value, pullback = vjp(f, x)
    if len(shape_of(value)) and math.prod(shape_of(value)) != 1:
        raise not_scalar("gradient", getattr(f, "__name__", "the function"), shape_of(value))
    return value, pullback(np.ones(shape_of(value), dtype=_dtype(value)), last=True)


def gradient(f, x):
    return value_and_gradient(f, x)[1]


def jacobian(f, x):
    """One recording, one backward sweep per output: ``(m, n)``."""
    value, pullback = vjp(f, x)
    m = math.prod(shape_of(value))
    eye = np.eye(m, dtype=_dtype(value)).reshape((m,) + shape_of(value))
    rows = [pullback(e, last=i == m - 1) for i, e in enumerate(eye)]
    return namespace(*rows).stack(rows, axis=0) if rows else np.zeros((0, shape_of(x)[0]))


def hessian(f, x):
    """Forward over reverse: the forward-mode Jacobian of the reverse-mode gradient."""
    return forward.jacobian(lambda y: gradient(f, y), x)


def hvp(f, x, v):
    """Forward over reverse: the JVP of the reverse-mode gradient along ``v``, ``H(x) v``.

    One forward-mode pass with a single tangent through the recording and the backward
    sweep, so it costs a small multiple of the gradient at any n (the Hessian costs n).
    """
    return forward.jvp(lambda y: gradient(f, y), x, v)[1]


def _dtype(value):
    dtype = getattr(strip(value), "dtype", None)
    return dtype if dtype is not None and dtype.kind == "f" else np.float64
