"""The derivative rules of difflab's own engines: one table, one line per primitive.

Both modes read the same rows. A row gives the *partials* (elementwise and reduction rules)
or the *linear map* (structural rules); forward mode multiplies the partials by the tangent,
reverse mode by the cotangent. Adding a primitive is a one-place change here.

Rule shapes (the constructors below):

``elementwise(impl, *partials)``
    ``partial_i(xp, ans, *args, **params)`` is the derivative of the output with respect to
    argument i, broadcastable to the output. ``ONE``/``MINUS_ONE`` skip a multiplication;
    ``None`` marks an argument that carries no derivative (a condition, a bound).
``reduction(impl, partial)``
    ``partial(xp, ans_keepdims, x, **params)`` has the shape of ``x``; forward mode sums
    ``partial * tangent`` over the reduced axes, reverse mode broadcasts the cotangent back.
``linear(impl, batched, transpose)``
    For ops linear in their (first) array argument: forward mode applies ``batched`` (the op
    on a tangent carrying a leading batch axis), reverse mode applies ``transpose``.

Partials are written with the namespace ``xp`` of the values, so they work over NumPy,
mpmath (the oracle), and over difflab's own traced values (nested derivatives).
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..errors import NotSupported

ONE = "one"              # the partial is 1: pass the tangent/cotangent through
MINUS_ONE = "minus one"  # the partial is -1: negate it


@dataclass(frozen=True)
class Rule:
    """One primitive: how to compute it and how to differentiate it."""

    name: str
    impl: Callable                       # impl(xp, *args, **params) -> value
    kind: str                            # "elementwise" | "reduction" | "linear" | "custom"
    partials: tuple = ()                 # elementwise: per-argument partials; reduction: (partial,)
    batched: Optional[Callable] = None   # linear: batched(xp, t, ans, *args, **params)
    transpose: Optional[Callable] = None  # linear: transpose(xp, g, i, ans, *args, **params)
    jvp: Optional[Callable] = None       # custom: jvp(xp, tangents, active, ans, *args, **params)
    vjp: Optional[Callable] = None       # custom: vjp(xp, g, i, ans, *args, **params)
    differentiable: Optional[tuple] = None  # positions that carry derivatives (None: all)


def op(name):
    """impl calling the namespace method ``name``."""
    return lambda xp, *args, **params: getattr(xp, name)(*args, **params)


def elementwise(name, impl, *partials):
    with_derivative = tuple(i for i, p in enumerate(partials) if p is not None)
    return Rule(name, impl, "elementwise", partials=partials,
                differentiable=None if len(with_derivative) == len(partials) else with_derivative)


def reduction(name, partial):
    return Rule(name, op(name), "reduction", partials=(partial,))


def linear(name, impl, batched, transpose, differentiable=None):
    return Rule(name, impl, "linear", batched=batched, transpose=transpose, differentiable=differentiable)


# ---------------------------------------------------------------------- helpers on shapes
def shape_of(v):
    if type(v) is np.ndarray:  # the common case, on every recorded operation
        return v.shape
    return tuple(getattr(v, "shape", ()))


def keepdims_shape(shape, axis):
    """The shape a reduction over ``axis`` leaves with ``keepdims=True``."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def batch_axis(axis, ndim):
    """``axis`` of an unbatched array of ``ndim`` dims, for the batched one (leading batch axis)."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, int):
        return axis % ndim + 1
    return tuple(a % ndim + 1 for a in axis)


def unbroadcast(xp, g, shape):
    """Sum ``g`` down to ``shape``: the transpose of broadcasting."""
    gshape = shape_of(g)
    if gshape == tuple(shape):
        return g
    extra = len(gshape) - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, s in enumerate(shape)
                                       if s == 1 and gshape[extra + i] != 1)
    if axes:
        g = xp.sum(g, axis=axes)
    return xp.reshape(g, tuple(shape))


def _sign(xp, x):
    return np.where(_plain(x > 0), 1.0, 0.0) - np.where(_plain(x < 0), 1.0, 0.0)


def _plain(mask):
    return np.asarray(mask, dtype=bool)


def _half_on_ties(a, b):
    """d max(a, b) / da: 1 where a > b, 1/2 on ties (the symmetric subgradient), else 0."""
    return np.where(_plain(a > b), 1.0, np.where(_plain(a == b), 0.5, 0.0))


def _pow_dx(xp, ans, x, y):
    if isinstance(y, (int, float)) and y == 2:  # the common square: skip a power
        return 2.0 * x
    return y * x ** (y - 1)


def _pow_dy(xp, ans, x, y):
    return ans * xp.log(x)


def _clip_mask(xp, ans, x, lo, hi):
    inside = np.ones(shape_of(x), dtype=bool)
    if lo is not None:
        inside &= _plain(x >= lo)
    if hi is not None:
        inside &= _plain(x <= hi)
    return np.where(inside, 1.0, 0.0)


def _extreme_partial(xp, ans, x, axis=None, keepdims=False):
    """Split the derivative equally among the entries that attain the max (or min)."""
    hit = np.where(_plain(x == ans), 1.0, 0.0)
    return hit / np.sum(hit, axis=axis, keepdims=True)


def _prod_partial(xp, ans, x, axis=None, keepdims=False):
    """prod over j != i of x_j: ans / x_i where no factor is zero, by exclusion otherwise."""
    if not np.any(_plain(x == 0)):
        return ans / x
    if axis is not None and len(shape_of(x)) > 1:
        raise NotSupported("prod with a zero factor along an axis", "difflab AD",
                           "use axis=None or avoid exact zeros")
    flat = xp.reshape(x, (-1,))
    n = shape_of(flat)[0]
    eye = np.eye(n, dtype=bool)
    others = xp.where(eye, 1.0, xp.reshape(flat, (1, n)))
    return xp.reshape(xp.prod(others, axis=1), shape_of(x))


def _logsumexp_partial(xp, ans, x, axis=None, keepdims=False):
    return xp.exp(x - ans)


# ---------------------------------------------------------------------- structural rules
def _index_batched(xp, t, ans, x, index):
    shape = tuple(shape_of(x))
    if not _split_advanced(index):
        return t[(slice(None),) + _as_tuple(index)]
    k, flat = shape_of(t)[0], _flat_positions(shape, index)
    return xp.reshape(t, (k, int(np.prod(shape, dtype=np.int64))))[(slice(None), flat)]


def _index_transpose(xp, g, i, ans, x, index):
    return xp.scatter(g, index, shape_of(x))


def _scatter_batched(xp, t, ans, g, index, shape):
    k = shape_of(t)[0]
    if not _split_advanced(index):
        return xp.scatter(t, (slice(None),) + _as_tuple(index), (k,) + tuple(shape))
    size = int(np.prod(shape, dtype=np.int64))
    out = xp.scatter(t, (slice(None), _flat_positions(tuple(shape), index)), (k, size))
    return xp.reshape(out, (k,) + tuple(shape))


def _as_tuple(index):
    return index if isinstance(index, tuple) else (index,)


def _split_advanced(index) -> bool:
    """Whether ``index`` has advanced parts (arrays, with the ints beside them) separated by
    slices, ``None`` or ``...``: NumPy then puts their axes first, so a leading batch slice
    would not stay in front, and a batch reads the flat positions instead."""
    parts = _as_tuple(index)
    if not any(isinstance(p, (list, np.ndarray)) for p in parts):
        return False
    where = [i for i, p in enumerate(parts) if isinstance(p, (list, np.ndarray, int, np.integer))]
    return where[-1] - where[0] + 1 != len(where)


def _flat_positions(shape, index):
    """The flat positions of the entries ``x[index]`` reads, laid out as NumPy returns them."""
    return np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)[index]


def _scatter_transpose(xp, g, i, ans, x, index, shape):
    return g[index]


def _reshape_batched(xp, t, ans, x, shape):
    return xp.reshape(t, shape_of(t)[:1] + shape_of(ans))


def _reshape_transpose(xp, g, i, ans, x, shape):
    return xp.reshape(g, shape_of(x))


def _axes_or_reversed(axes, ndim):
    return tuple(range(ndim))[::-1] if axes is None else tuple(a % ndim for a in axes)


def _transpose_batched(xp, t, ans, x, axes=None):
    perm = _axes_or_reversed(axes, len(shape_of(x)))
    return xp.transpose(t, (0,) + tuple(a + 1 for a in perm))


def _transpose_transpose(xp, g, i, ans, x, axes=None):
    perm = _axes_or_reversed(axes, len(shape_of(x)))
    return xp.transpose(g, tuple(np.argsort(perm)))


def _broadcast_batched(xp, t, ans, x, shape):
    lifted = lift(xp, t, len(shape))
    return xp.broadcast_to(lifted, shape_of(t)[:1] + tuple(shape))


def _broadcast_transpose(xp, g, i, ans, x, shape):
    return unbroadcast(xp, g, shape_of(x))


def _stack_batched(xp, ts, ans, *arrays, axis=0):
    return xp.stack(ts, axis=axis % (len(shape_of(ans))) + 1)


def _stack_transpose(xp, g, i, ans, *arrays, axis=0):
    axis = axis % len(shape_of(ans))
    return g[(slice(None),) * axis + (i,)]


def _concatenate_batched(xp, ts, ans, *arrays, axis=0):
    return xp.concatenate(ts, axis=axis % len(shape_of(ans)) + 1)


def _concatenate_transpose(xp, g, i, ans, *arrays, axis=0):
    axis = axis % len(shape_of(ans))
    start = sum(shape_of(a)[axis] for a in arrays[:i])
    stop = start + shape_of(arrays[i])[axis]
    return g[(slice(None),) * axis + (slice(start, stop),)]


def _cumsum_batched(xp, t, ans, x, axis=None):
    if axis is None:  # NumPy's: the running sum of the flattened array
        return xp.cumsum(xp.reshape(t, shape_of(t)[:1] + (-1,)), axis=1)
    return xp.cumsum(t, axis=axis % len(shape_of(x)) + 1)


def _cumsum_transpose(xp, g, i, ans, x, axis=None):
    """The running sum taken from the end: flip, cumsum, flip (slices, so it nests)."""
    a = 0 if axis is None else axis % len(shape_of(x))
    backwards = (slice(None),) * a + (slice(None, None, -1),)
    out = xp.cumsum(g[backwards], axis=a)[backwards]
    return out if axis is not None else xp.reshape(out, shape_of(x))


def _einsum_terms(subscripts):
    inputs, _, output = subscripts.partition("->")
    return inputs.split(","), output


def _einsum_jvp(xp, tangents, active, ans, *operands, subscripts):
    """Multilinear: the op with each active operand replaced by its tangent (one more letter
    for the batch axis), summed."""
    terms, output = _einsum_terms(subscripts)
    batch = next(c for c in string.ascii_letters[::-1] if c not in subscripts)
    out = None
    for t, i in zip(tangents, active):
        spec = ",".join(batch + s if j == i else s for j, s in enumerate(terms)) + "->" + batch + output
        args = list(operands)
        args[i] = t
        term = _ns(*args).einsum(spec, *args)
        out = term if out is None else out + term
    return out


def _einsum_vjp(xp, g, i, ans, *operands, subscripts):
    """The cotangent contracted with the other operands onto operand i's letters. A letter
    only operand i has (summed away by the op) comes back as a broadcast; a letter operand i
    repeats (a diagonal, ``"ii"``) as the 0/1 mask of equal indices."""
    terms, output = _einsum_terms(subscripts)
    term = terms[i]
    others = [s for j, s in enumerate(terms) if j != i]
    seen = set(output).union(*others)
    kept = "".join(c for c in dict.fromkeys(term) if c in seen)
    args = [g] + [a for j, a in enumerate(operands) if j != i]
    out = xp.einsum(",".join([output] + others) + "->" + kept, *args)
    if kept == term:
        return out
    shape = shape_of(operands[i])
    out = xp.reshape(out, tuple(n if c in seen and term.index(c) == p else 1
                                for p, (c, n) in enumerate(zip(term, shape))))
    if shape_of(out) != shape:
        out = xp.broadcast_to(out, shape)
    repeated = [c for c in dict.fromkeys(term) if term.count(c) > 1]
    return out * _diagonal_mask(term, shape, repeated, getattr(out, "dtype", None)) if repeated else out


def _diagonal_mask(term, shape, letters, dtype):
    """1 where every axis named by the same letter has the same index, else 0 (constants)."""
    mask = np.ones((1,) * len(shape))
    for c in letters:
        places = [p for p, d in enumerate(term) if d == c]
        n = shape[places[0]]
        eye = np.zeros((n,) * len(places))
        eye[(np.arange(n),) * len(places)] = 1.0
        mask = mask * eye.reshape(tuple(n if p in places else 1 for p in range(len(shape))))
    return mask.astype(dtype) if dtype is not None and np.dtype(dtype).kind in "fc" else mask


def _as_matrix(xp, v, left):
    """A 1-D operand of ``@`` as the matrix NumPy treats it as: a row on the left, a column on the right."""
    shape = shape_of(v)
    if len(shape) >= 2:
        return v
    return xp.reshape(v, (1,) + shape if left else shape + (1,))


def _swap_last(xp, v):
    d = len(shape_of(v))
    return xp.transpose(v, tuple(range(d - 2)) + (d - 1, d - 2))


def _matmul_jvp(xp, tangents, active, ans, a, b):
    """d(a @ b) = da @ b + a @ db, on tangents with a leading batch axis."""
    a2, b2 = _as_matrix(xp, a, True), _as_matrix(xp, b, False)
    ndim = max(len(shape_of(a2)), len(shape_of(b2)))
    out = None
    for t, i in zip(tangents, active):
        operand = a2 if i == 0 else b2
        # keep the tangent's batch axis clear of the operands' own batch axes
        lifted = _ns(t).reshape(t, shape_of(t)[:1] + (1,) * (ndim - len(shape_of(operand)))
                                + shape_of(operand))
        term = lifted @ b2 if i == 0 else a2 @ lifted
        term = _ns(term).reshape(term, shape_of(t)[:1] + shape_of(ans))
        out = term if out is None else out + term
    return out


def _matmul_vjp(xp, g, i, ans, a, b):
    """The cotangent of a @ b sent to a (g @ b^T) or b (a^T @ g), summed over broadcast batches."""
    if len(shape_of(a)) == 2 and len(shape_of(b)) == 2:  # plain matrices: no batches, no reshapes
        return g @ _swap_last(xp, b) if i == 0 else _swap_last(xp, a) @ g
    a2, b2 = _as_matrix(xp, a, True), _as_matrix(xp, b, False)
    batch = np.broadcast_shapes(shape_of(a2)[:-2], shape_of(b2)[:-2])
    g2 = xp.reshape(g, batch + (shape_of(a2)[-2], shape_of(b2)[-1]))
    if i == 0:
        return xp.reshape(unbroadcast(xp, g2 @ _swap_last(xp, b2), shape_of(a2)), shape_of(a))
    return xp.reshape(unbroadcast(xp, _swap_last(xp, a2) @ g2, shape_of(b2)), shape_of(b))


def _check_matmul(xp, a, b):
    if not shape_of(a) or not shape_of(b):
        raise NotSupported("matmul with a 0-d operand", "difflab AD", "use * for scalars")
    return a @ b


def _ns(*values):
    from ..namespaces import namespace

    return namespace(*values)


# ---------------------------------------------------------------------- sliding windows
# conv2d and its two transposes are bilinear: each is linear in either argument, so its
# tangent is the op itself with the tangent's batch axis folded into an axis the op keeps
# apart (the batch N or a channel axis) and unfolded from the output afterwards.
def _fold(xp, t, axis):
    """A tangent ``(K, *shape)`` as one array of ``shape`` with ``axis`` K times longer (K major)."""
    shape = shape_of(t)
    k, rest = shape[0], shape[1:]
    if axis:
        t = xp.transpose(t, tuple(range(1, axis + 1)) + (0,) + tuple(range(axis + 1, len(shape))))
    return xp.reshape(t, rest[:axis] + (k * rest[axis],) + rest[axis + 1:])


def _unfold(xp, y, axis, k):
    """The inverse of :func:`_fold` on an output: ``axis`` split into (K, rest), K brought first."""
    shape = shape_of(y)
    y = xp.reshape(y, shape[:axis] + (k, shape[axis] // k) + shape[axis + 1:])
    if axis:
        y = xp.transpose(y, (axis,) + tuple(range(axis)) + tuple(range(axis + 1, len(shape) + 1)))
    return y


def _bilinear_jvp(name, fold_axes, out_axes):
    """The tangent of the bilinear op ``name``: the op on each folded tangent, summed."""
    def jvp(xp, tangents, active, ans, *args, **params):
        out = None
        for t, i in zip(tangents, active):
            k = shape_of(t)[0]
            operands = list(args)
            operands[i] = _fold(_ns(t), t, fold_axes[i])
            y = getattr(_ns(*operands), name)(*operands, **params)
            term = _unfold(_ns(y), y, out_axes[i], k)
            out = term if out is None else out + term
        return out
    return jvp


def _conv2d_vjp(xp, g, i, ans, x, kernel, strides, padding):
    if i == 0:
        return xp.conv2d_transpose(g, kernel, input_size=shape_of(x)[1:3], strides=strides, padding=padding)
    return xp.conv2d_kernel_grad(x, g, kernel_size=shape_of(kernel)[:2], strides=strides, padding=padding)


def _conv2d_transpose_vjp(xp, c, i, ans, g, kernel, input_size, strides, padding):
    """y = conv2d_transpose(g, k) is the adjoint of conv2d in x: <y, c> = <g, conv2d(c, k)>."""
    if i == 0:
        return xp.conv2d(c, kernel, strides=strides, padding=padding)
    return xp.conv2d_kernel_grad(c, g, kernel_size=shape_of(kernel)[:2], strides=strides, padding=padding)


def _conv2d_kernel_grad_vjp(xp, c, i, ans, x, g, kernel_size, strides, padding):
    """K = kernel_grad(x, g) is the adjoint of conv2d in k: <K, c> = <g, conv2d(x, c)> = <x, T(g, c)>."""
    if i == 0:
        return xp.conv2d_transpose(g, c, input_size=shape_of(x)[1:3], strides=strides, padding=padding)
    return xp.conv2d(x, c, strides=strides, padding=padding)


def _max_pool_jvp(xp, tangents, active, ans, x, **params):
    (t,) = tangents  # (K, N, H, W, C): the gather keeps leading axes
    return _ns(t, x).max_pool2d_gather(t, x, **params)


def _max_pool_vjp(xp, g, i, ans, x, **params):
    return xp.max_pool2d_scatter(g, x, **params)


def _gather_batched(xp, t, ans, g, x, **params):
    return xp.max_pool2d_gather(t, x, **params)


def _gather_transpose(xp, c, i, ans, t, x, **params):
    return xp.max_pool2d_scatter(c, x, **params)


def _scatter_pool_batched(xp, t, ans, g, x, **params):
    return xp.max_pool2d_scatter(t, x, **params)


def _scatter_pool_transpose(xp, c, i, ans, g, x, **params):
    return xp.max_pool2d_gather(c, x, **params)


def _per_sample(name):
    """``batched`` of an op linear in a (N, ...) batch: the tangents folded into N."""
    def batched(xp, t, ans, x, *rest, **params):
        k = shape_of(t)[0]
        y = getattr(xp, name)(_fold(xp, t, 0), *rest, **params)
        return _unfold(xp, y, 0, k)
    return batched


def _avg_pool_transpose(xp, g, i, ans, x, **params):
    return xp.avg_pool2d_transpose(g, shape_of(x)[1:3], **params)


def _avg_pool_transpose_transpose(xp, c, i, ans, g, input_size, **params):
    return xp.avg_pool2d(c, **params)


# ---------------------------------------------------------------------- the table
RULES: dict[str, Rule] = {r.name: r for r in [
    # ---- arithmetic ------------------------------------------------------------------
    elementwise("neg",  lambda xp, x: -x,    lambda xp, ans, x: MINUS_ONE),
    elementwise("add",  lambda xp, x, y: x + y, lambda xp, ans, x, y: ONE, lambda xp, ans, x, y: ONE),
    elementwise("sub",  lambda xp, x, y: x - y, lambda xp, ans, x, y: ONE, lambda xp, ans, x, y: MINUS_ONE),
    elementwise("mul",  lambda xp, x, y: x * y, lambda xp, ans, x, y: y, lambda xp, ans, x, y: x),
    elementwise("div",  lambda xp, x, y: x / y, lambda xp, ans, x, y: 1.0 / y, lambda xp, ans, x, y: -ans / y),
    elementwise("pow",  lambda xp, x, y: x ** y, _pow_dx, _pow_dy),
    # ---- elementwise functions ---------------------------------------------------------
    elementwise("sin",     op("sin"),     lambda xp, ans, x: xp.cos(x)),
    elementwise("cos",     op("cos"),     lambda xp, ans, x: -xp.sin(x)),
    elementwise("tan",     op("tan"),     lambda xp, ans, x: 1.0 + ans * ans),
    elementwise("arcsin",  op("arcsin"),  lambda xp, ans, x: 1.0 / xp.sqrt(1.0 - x * x)),
    elementwise("arccos",  op("arccos"),  lambda xp, ans, x: -1.0 / xp.sqrt(1.0 - x * x)),
    elementwise("arctan",  op("arctan"),  lambda xp, ans, x: 1.0 / (1.0 + x * x)),
    elementwise("sinh",    op("sinh"),    lambda xp, ans, x: xp.cosh(x)),
    elementwise("cosh",    op("cosh"),    lambda xp, ans, x: xp.sinh(x)),
    elementwise("tanh",    op("tanh"),    lambda xp, ans, x: 1.0 - ans * ans),
    elementwise("exp",     op("exp"),     lambda xp, ans, x: ans),
    elementwise("expm1",   op("expm1"),   lambda xp, ans, x: ans + 1.0),
    elementwise("log",     op("log"),     lambda xp, ans, x: 1.0 / x),
    elementwise("log1p",   op("log1p"),   lambda xp, ans, x: 1.0 / (1.0 + x)),
    elementwise("sqrt",    op("sqrt"),    lambda xp, ans, x: 0.5 / ans),
    elementwise("square",  op("square"),  lambda xp, ans, x: 2.0 * x),
    elementwise("abs",     op("abs"),     lambda xp, ans, x: _sign(xp, x)),
    elementwise("sigmoid", op("sigmoid"), lambda xp, ans, x: ans * xp.sigmoid(-x)),  # not 1 - ans: it
                                          # would round to 0 for x > 37, where s'(x) = s(x) s(-x) does not
    elementwise("maximum", op("maximum"), lambda xp, ans, a, b: _half_on_ties(a, b),
                                          lambda xp, ans, a, b: _half_on_ties(b, a)),
    elementwise("minimum", op("minimum"), lambda xp, ans, a, b: _half_on_ties(b, a),
                                          lambda xp, ans, a, b: _half_on_ties(a, b)),
    elementwise("where",   op("where"),   None,
                                          lambda xp, ans, c, a, b: np.where(_plain(c), 1.0, 0.0),
                                          lambda xp, ans, c, a, b: np.where(_plain(c), 0.0, 1.0)),
    elementwise("clip",    op("clip"),    _clip_mask, None, None),
    # ---- reductions ------------------------------------------------------------------
    reduction("sum",       lambda xp, ans, x, **_: ONE),
    reduction("prod",      _prod_partial),
    reduction("max",       _extreme_partial),
    reduction("min",       _extreme_partial),
    reduction("logsumexp", _logsumexp_partial),
    # ---- structure (linear) ------------------------------------------------------------
    linear("getitem",      lambda xp, x, index: x[index], _index_batched, _index_transpose),
    linear("scatter",      op("scatter"), _scatter_batched, _scatter_transpose),
    linear("reshape",      op("reshape"), _reshape_batched, _reshape_transpose),
    linear("transpose",    op("transpose"), _transpose_batched, _transpose_transpose),
    linear("broadcast_to", op("broadcast_to"), _broadcast_batched, _broadcast_transpose),
    linear("stack",        lambda xp, *arrays, axis=0: xp.stack(arrays, axis=axis),
           _stack_batched, _stack_transpose, differentiable=None),
    linear("concatenate",  lambda xp, *arrays, axis=0: xp.concatenate(arrays, axis=axis),
           _concatenate_batched, _concatenate_transpose, differentiable=None),
    linear("cumsum",       op("cumsum"), _cumsum_batched, _cumsum_transpose),
    # ---- bilinear ----------------------------------------------------------------------
    Rule("matmul", lambda xp, a, b: _check_matmul(xp, a, b), "custom",
         jvp=_matmul_jvp, vjp=_matmul_vjp),
    # explicit subscripts without "..." nor size-1 broadcasting (difflab.namespaces.ops.einsum_subscripts)
    Rule("einsum", lambda xp, *operands, subscripts: xp.einsum(subscripts, *operands), "custom",
         jvp=_einsum_jvp, vjp=_einsum_vjp),
    # ---- sliding windows (difflab.namespaces.windows): bilinear convolutions, linear pools ---------
    Rule("conv2d", op("conv2d"), "custom",
         jvp=_bilinear_jvp("conv2d", (0, 3), (0, 3)), vjp=_conv2d_vjp),
    Rule("conv2d_transpose", op("conv2d_transpose"), "custom",
         jvp=_bilinear_jvp("conv2d_transpose", (0, 2), (0, 3)), vjp=_conv2d_transpose_vjp),
    Rule("conv2d_kernel_grad", op("conv2d_kernel_grad"), "custom",
         jvp=_bilinear_jvp("conv2d_kernel_grad", (3, 3), (2, 3)), vjp=_conv2d_kernel_grad_vjp),
    # the derivative of a max pool goes to the first maximum of each window (row-major)
    Rule("max_pool2d", op("max_pool2d"), "custom", jvp=_max_pool_jvp, vjp=_max_pool_vjp),
    linear("max_pool2d_gather", op("max_pool2d_gather"), _gather_batched, _gather_transpose,
           differentiable=(0,)),
    linear("max_pool2d_scatter", op("max_pool2d_scatter"), _scatter_pool_batched,
           _scatter_pool_transpose, differentiable=(0,)),
    linear("avg_pool2d", op("avg_pool2d"), _per_sample("avg_pool2d"), _avg_pool_transpose),
    linear("avg_pool2d_transpose", op("avg_pool2d_transpose"), _per_sample("avg_pool2d_transpose"),
           _avg_pool_transpose_transpose),
]}

#: Multi-argument linear rules whose every argument is an array (stack, concatenate).
VARIADIC = frozenset({"stack", "concatenate"})


def lift(xp, t, ndim):
    """Insert singleton axes after the batch axis so ``t`` broadcasts against ``ndim`` dims."""
    tshape = shape_of(t)
    missing = ndim - (len(tshape) - 1)
    if missing <= 0:
        return t
    return xp.reshape(t, tshape[:1] + (1,) * missing + tshape[1:])


def scale(partial, t):
    """``partial * t`` with the ONE/MINUS_ONE shortcuts."""
    if partial is ONE:
        return t
    if partial is MINUS_ONE:
        return -t
    return partial * t
