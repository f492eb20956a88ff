"""difflab's forward mode: dual numbers over arrays, in vector mode.

A :class:`Dual` carries a value of shape ``S`` and ``k`` tangents stacked as one array of
shape ``(k,) + S``; one pass with the ``n`` unit tangents gives the whole Jacobian. The
value may be a NumPy array, an object array of mpmath numbers (the oracle), or another
traced value (nested derivatives): all arithmetic goes through the value's own namespace.
"""
from __future__ import annotations

import numpy as np

from ..errors import not_scalar
from ..namespaces import namespace
from .rules import RULES, VARIADIC, batch_axis, keepdims_shape, lift, scale, shape_of
from .traced import ADNamespace, Traced, new_level, strip


class Dual(Traced):
    """A value and its tangents (leading batch axis) at one level of forward mode."""

    __slots__ = ("value", "tangent", "_level")

    def __init__(self, value, tangent, level):
        self.value, self.tangent, self._level = value, tangent, level


class ForwardNamespace(ADNamespace):
    """Forward mode: the value by the inner namespace, the tangent from the rule's partials."""

    name = "difflab-forward"
    traced_type = Dual

    def apply(self, name, args, params):
        rule = RULES[name]
        level, active, values = self.split(args)
        xp = namespace(*values)
        ans = rule.impl(xp, *values, **params)
        if rule.differentiable is not None:
            active = [i for i in active if i in rule.differentiable]
        if not active:
            return ans
        tangents = [args[i].tangent for i in active]
        tangent = _JVP[rule.kind](rule, xp, ans, values, active, tangents, params)
        return Dual(ans, tangent, level)


def _jvp_elementwise(rule, xp, ans, values, active, tangents, params):
    ndim = len(shape_of(ans))
    out = None
    for i, t in zip(active, tangents):
        term = scale(rule.partials[i](xp, ans, *values, **params), lift(namespace(t), t, ndim))
        out = term if out is None else out + term
    target = shape_of(tangents[0])[:1] + shape_of(ans)
    if shape_of(out) != target:
        out = namespace(out).broadcast_to(out, target)
    return out


def _jvp_reduction(rule, xp, ans, values, active, tangents, params):
    (x,), (t,) = values, tangents
    axis, keepdims = params.get("axis"), params.get("keepdims", False)
    ans_kd = ans if keepdims else xp.reshape(ans, keepdims_shape(shape_of(x), axis))
    term = scale(rule.partials[0](xp, ans_kd, x, **params), t)
    return namespace(term).sum(term, axis=batch_axis(axis, len(shape_of(x))), keepdims=keepdims)


def _jvp_linear(rule, xp, ans, values, active, tangents, params):
    if rule.name in VARIADIC:
        k = shape_of(tangents[0])[0]
        by_position = dict(zip(active, tangents))
        ts = [by_position.get(i, np.zeros((k,) + shape_of(v))) for i, v in enumerate(values)]
        return rule.batched(namespace(*ts), ts, ans, *values, **params)
    t = tangents[0]
    return rule.batched(namespace(t), t, ans, *values, **params)


def _jvp_custom(rule, xp, ans, values, active, tangents, params):
    return rule.jvp(xp, tangents, active, ans, *values, **params)


_JVP = {"elementwise": _jvp_elementwise, "reduction": _jvp_reduction,
        "linear": _jvp_linear, "custom": _jvp_custom}

FORWARD = ForwardNamespace()
Dual.namespace = FORWARD


# ---------------------------------------------------------------------- user-level operators
def _seed_dtype(x):
    dtype = getattr(strip(x), "dtype", None)
    return dtype if dtype is not None and dtype.kind == "f" else np.float64


def _tangent_rows(out, level, k):
    """The output's tangents as a (k, m) array; zeros where the output does not depend on x."""
    if isinstance(out, Dual) and out._level == level:
        t = out.tangent
        return namespace(t).reshape(t, (k, -1))
    return np.zeros((k, int(np.prod(np.shape(strip(out))))))


def jvp(f, x, v):
    """``(f(x), J(x) v)``, one forward pass."""
    level = new_level()
    v = v if isinstance(v, Traced) else np.asarray(v)
    out = f(Dual(x, namespace(v).reshape(v, (1,) + shape_of(v)), level))
    value = out.value if isinstance(out, Dual) and out._level == level else out
    t = _tangent_rows(out, level, 1)
    return value, namespace(t).reshape(t, np.shape(strip(value)))


def jacobian(f, x):
    """The Jacobian ``(m, n)`` of ``f`` at the 1-D ``x``: one pass with ``n`` tangents."""
    n = shape_of(x)[0]
    return tangents(f, x, np.eye(n, dtype=_seed_dtype(x)))


def tangents(f, x, seeds):
    """``J(x) @ seeds.T``, shape ``(m, k)``: one pass with the ``k`` rows of ``seeds`` (k, n)
    as tangents. The Jacobian's columns a block at a time, for a caller that bounds memory
    (k tangents of every intermediate) or reports progress (the oracle)."""
    t = tangent_rows(f, x, seeds)
    return namespace(t).transpose(t)


def tangent_rows(f, x, seeds):
    """``seeds @ J(x).T``, shape ``(k, m)``: row i the derivative of ``f`` along ``seeds[i]``
    (the tangents' batch axis leading, as the pass carries them: no transpose)."""
    level = new_level()
    out = f(Dual(x, seeds, level))
    return _tangent_rows(out, level, shape_of(seeds)[0])


def gradient(f, x):
    """The gradient of a scalar ``f``: the only row of its forward-mode Jacobian."""
    return value_and_gradient(f, x)[1]


def hessian(f, x):
    """Forward over forward: the Jacobian of the forward-mode gradient."""
    return jacobian(lambda y: gradient(f, y), x)


def hvp(f, x, v):
    """Forward over forward: the JVP of the forward-mode gradient along ``v``."""
    return jvp(lambda y: gradient(f, y), x, v)[1]


def value_and_gradient(f, x):
    """``(f(x), grad f(x))`` from one vector-mode pass."""
    n = shape_of(x)[0]
    level = new_level()
    out = f(Dual(x, np.eye(n, dtype=_seed_dtype(x)), level))
    value = out.value if isinstance(out, Dual) and out._level == level else out
    t = _tangent_rows(out, level, n)
    if shape_of(t)[1] != 1:
        raise not_scalar("gradient", _name(f), shape_of(value))
    return value, namespace(t).reshape(t, (n,))


def _name(f):
    return getattr(f, "__name__", "the function")
