"""Sliding-window operations: 2-D convolution and pooling on channels-last arrays.

Layouts are Keras's: inputs ``(N, H, W, C)``, kernels ``(kh, kw, cin, cout)``, and the
convolution is a cross-correlation (the kernel is not flipped). Padding ``"valid"`` uses
only whole windows, ``floor((n - k) / s) + 1`` outputs per axis; ``"same"`` gives
``ceil(n / s)`` outputs and pads ``max((out - 1) s + k - n, 0)`` in all, half before and the
odd one after (TensorFlow's rule: the extra row and column go at the bottom and right).

Two families of implementations live here, both used by :mod:`difflab.namespaces.ops`' namespaces:

- ``numpy_*``: the fast NumPy path, windows by ``sliding_window_view`` contracted with
  ``tensordot`` (im2col without copying before the contraction);
- ``composed_*``: written with the namespace's own ops (slicing, ``matmul``, ``stack``,
  ``scatter``) and a Python loop over the kh*kw kernel positions (never over pixels), so
  they run on object arrays (mpmath, SymPy) and on autograd's boxes.

The transposes the reverse rules need (:func:`conv2d_transpose`, ``conv2d_kernel_grad``, the
pools' scatters) are operations of their own, with rules of their own in
:mod:`difflab.ad.rules`, so nested derivatives (Hessians) go through them too.

Max pooling's derivative goes to the *first* maximum of each window in row-major order, as
PyTorch (its saved indices), TensorFlow (``MaxPoolGrad``) and JAX (``select_and_scatter``
with ``>=``) all do; see :func:`window_argmax`.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import InputError

PADDINGS = ("valid", "same")


# ---------------------------------------------------------------------- arguments and geometry
def pair(value, what) -> tuple:
    """``3`` or ``(3, 3)`` as ``(3, 3)`` of positive ints; InputError otherwise."""
    items = (value, value) if isinstance(value, (int, np.integer)) else tuple(value) \
        if isinstance(value, (tuple, list)) else None
    if items is None or len(items) != 2 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in items):
        raise InputError(f"{what} must be a positive integer or a pair of them, got {value!r}")
    return (int(items[0]), int(items[1]))


def padding_mode(padding) -> str:
    mode = str(padding).lower() if isinstance(padding, str) else None
    if mode not in PADDINGS:
        raise InputError(f"padding must be 'valid' or 'same', got {padding!r}")
    return mode


def output_size(n: int, k: int, s: int, padding: str) -> tuple[int, int, int]:
    """``(outputs, pad before, pad after)`` along one axis of size ``n``, window ``k``, stride ``s``."""
    if padding == "same":
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        return out, total // 2, total - total // 2
    if n < k:
        raise InputError(f"a window of {k} does not fit in {n} with padding 'valid'")
    return (n - k) // s + 1, 0, 0


def geometry(hw, window, strides, padding):
    """``((Ho, Wo), ((top, bottom), (left, right)))`` for an input of spatial size ``hw``."""
    (ho, t, b), (wo, l, r) = (output_size(n, k, s, padding) for n, k, s in zip(hw, window, strides))
    return (ho, wo), ((t, b), (l, r))


def _spatial(shape):
    if len(shape) != 4:
        raise InputError(f"expected a channels-last batch (N, H, W, C), got shape {tuple(shape)}")
    return tuple(shape[1:3])


def position(i, j, out, strides, lead=0):
    """The index of the inputs that kernel position (i, j) meets, over all outputs."""
    (ho, wo), (sh, sw) = out, strides
    return (slice(None),) * (lead + 1) + (slice(i, i + sh * (ho - 1) + 1, sh),
                                          slice(j, j + sw * (wo - 1) + 1, sw), slice(None))


def counts(hw, window, strides, padding):
    """How many real (not padded) inputs each output window covers, ``(Ho, Wo, 1)``."""
    out, pads = geometry(hw, window, strides, padding)
    ones = np.pad(np.ones((1,) + tuple(hw) + (1,)), ((0, 0),) + pads + ((0, 0),))
    return numpy_window_sum(ones, window, strides, out)[0]


# ---------------------------------------------------------------------- NumPy fast path
def numpy_windows(x, window, strides, out):
    """(..., N, Ho, Wo, C, kh, kw): a strided view of every window of the padded ``x``."""
    view = np.lib.stride_tricks.sliding_window_view(x, window, axis=(-3, -2))
    return view[..., ::strides[0], ::strides[1], :, :, :][..., :out[0], :out[1], :, :, :]


def numpy_window_sum(xp_padded, window, strides, out):
    return numpy_windows(xp_padded, window, strides, out).sum(axis=(-2, -1))


def _pad_numpy(x, pads, value=0.0):
    widths = ((0, 0),) * (np.ndim(x) - 3) + tuple(pads) + ((0, 0),)
    return np.pad(x, widths, constant_values=value) if any(sum(p) for p in pads) else x


def numpy_conv2d(x, kernel, strides, padding):
    x, kernel = np.asarray(x), np.asarray(kernel)
    out, pads = geometry(_spatial(x.shape), kernel.shape[:2], strides, padding)
    win = numpy_windows(_pad_numpy(x, pads), kernel.shape[:2], strides, out)   # (N,Ho,Wo,C,kh,kw)
    return np.tensordot(win, kernel, axes=((4, 5, 3), (0, 1, 2)))


def numpy_conv2d_kernel_grad(x, g, kernel_size, strides, padding):
    x, g = np.asarray(x), np.asarray(g)
    out, pads = geometry(_spatial(x.shape), kernel_size, strides, padding)
    win = numpy_windows(_pad_numpy(x, pads), kernel_size, strides, out)
    return np.tensordot(win, g, axes=((0, 1, 2), (0, 1, 2))).transpose(1, 2, 0, 3)


def numpy_conv2d_transpose(g, kernel, input_size, strides, padding):
    g, kernel = np.asarray(g), np.asarray(kernel)
    (kh, kw, cin, _), n = kernel.shape, g.shape[0]
    out, ((t, b), (l, r)) = geometry(input_size, (kh, kw), strides, padding)
    cols = np.tensordot(g, kernel, axes=((3,), (3,)))                          # (N,Ho,Wo,kh,kw,cin)
    total = np.zeros((n, input_size[0] + t + b, input_size[1] + l + r, cin), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            total[position(i, j, out, strides)] += cols[:, :, :, i, j, :]
    return total[:, t:t + input_size[0], l:l + input_size[1], :]


def numpy_max_pool2d(x, pool_size, strides, padding):
    x = np.asarray(x)
    out, pads = geometry(_spatial(x.shape), pool_size, strides, padding)
    return numpy_windows(_pad_numpy(x, pads, -np.inf), pool_size, strides, out).max(axis=(-2, -1))


def numpy_avg_pool2d(x, pool_size, strides, padding):
    x = np.asarray(x)
    hw = _spatial(x.shape)
    out, pads = geometry(hw, pool_size, strides, padding)
    total = numpy_window_sum(_pad_numpy(x, pads), pool_size, strides, out)
    return total / counts(hw, pool_size, strides, padding)


# ---------------------------------------------------------------------- composed, any namespace
def pad(xp, x, pads, value=0.0):
    """``x`` with ``pads`` rows/columns of ``value`` around its two spatial axes (the last
    but one and last but two), by concatenation: differentiable in every namespace."""
    for axis, (before, after) in zip((-3, -2), pads):
        if not (before or after):
            continue
        shape = list(xp.shape(x))
        parts = []
        for count in (before, after):
            shape[axis] = count
            block = xp.zeros(tuple(shape)) if count else None
            parts.append(block + value if count and value != 0.0 else block)
        x = xp.concatenate([p for p in (parts[0], x, parts[1]) if p is not None], axis=len(shape) + axis)
    return x


def composed_conv2d(xp, x, kernel, strides, padding):
    n, h, w, cin = xp.shape(x)
    kh, kw, _, cout = xp.shape(kernel)
    out, pads = geometry((h, w), (kh, kw), strides, padding)
    xpad = pad(xp, x, pads)
    total = None
    for i in range(kh):
        for j in range(kw):
            part = xp.reshape(xpad[position(i, j, out, strides)], (-1, cin))
            term = xp.matmul(part, kernel[i, j])
            total = term if total is None else total + term
    return xp.reshape(total, (n,) + out + (cout,))


def composed_conv2d_transpose(xp, g, kernel, input_size, strides, padding):
    n, ho, wo, cout = xp.shape(g)
    kh, kw, cin, _ = xp.shape(kernel)
    out, ((t, b), (l, r)) = geometry(input_size, (kh, kw), strides, padding)
    padded = (n, input_size[0] + t + b, input_size[1] + l + r, cin)
    g2 = xp.reshape(g, (-1, cout))
    total = None
    for i in range(kh):
        for j in range(kw):
            cols = xp.reshape(xp.matmul(g2, xp.transpose(kernel[i, j])), (n, ho, wo, cin))
            term = xp.scatter(cols, position(i, j, out, strides), padded)
            total = term if total is None else total + term
    return total[:, t:t + input_size[0], l:l + input_size[1], :]


def composed_conv2d_kernel_grad(xp, x, g, kernel_size, strides, padding):
    _, h, w, cin = xp.shape(x)
    cout = xp.shape(g)[-1]
    out, pads = geometry((h, w), kernel_size, strides, padding)
    xpad = pad(xp, x, pads)
    g2 = xp.reshape(g, (-1, cout))
    rows = [xp.matmul(xp.transpose(xp.reshape(xpad[position(i, j, out, strides)], (-1, cin))), g2)
            for i in range(kernel_size[0]) for j in range(kernel_size[1])]
    return xp.reshape(xp.stack(rows, axis=0), tuple(kernel_size) + (cin, cout))


def pool_parts(xp, x, pool_size, strides, padding, value):
    """The (ph*pw) strided slices of the padded ``x``, one per window position, and the geometry."""
    lead = len(xp.shape(x)) - 4
    out, pads = geometry(xp.shape(x)[-3:-1], pool_size, strides, padding)
    xpad = pad(xp, x, pads, value)
    parts = [xpad[position(i, j, out, strides, lead)] for i in range(pool_size[0]) for j in range(pool_size[1])]
    return parts, out, pads


def composed_max_pool2d(xp, x, pool_size, strides, padding):
    parts, _, _ = pool_parts(xp, x, pool_size, strides, padding, -math.inf)
    return xp.max(xp.stack(parts, axis=-1), axis=-1)


def composed_avg_pool2d(xp, x, pool_size, strides, padding):
    parts, _, _ = pool_parts(xp, x, pool_size, strides, padding, 0.0)
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total * (1.0 / counts(xp.shape(x)[-3:-1], pool_size, strides, padding))


def composed_avg_pool2d_transpose(xp, g, input_size, pool_size, strides, padding):
    shape = xp.shape(g)
    out, ((t, b), (l, r)) = geometry(input_size, pool_size, strides, padding)
    padded = tuple(shape[:-3]) + (input_size[0] + t + b, input_size[1] + l + r, shape[-1])
    share = g * (1.0 / counts(input_size, pool_size, strides, padding))
    lead = len(shape) - 4
    total = None
    for i in range(pool_size[0]):
        for j in range(pool_size[1]):
            term = xp.scatter(share, position(i, j, out, strides, lead), padded)
            total = term if total is None else total + term
    return total[..., t:t + input_size[0], l:l + input_size[1], :]


def window_argmax(x, pool_size, strides, padding):
    """For each output of the max pool of the plain array ``x``: the position ``i * pw + j``
    of the first maximum of its window (row-major), ``(N, Ho, Wo, C)`` ints."""
    while hasattr(x, "_level"):  # a value traced at a lower level: decide on its numbers
        x = x.value
    x = np.asarray(x)
    out, pads = geometry(_spatial(x.shape), pool_size, strides, padding)
    if x.dtype.kind == "f":
        win = numpy_windows(_pad_numpy(x, pads, -np.inf), pool_size, strides, out)
        return win.reshape(win.shape[:4] + (-1,)).argmax(axis=-1)
    parts = [_pad_numpy(x, pads, -math.inf)[position(i, j, out, strides)]
             for i in range(pool_size[0]) for j in range(pool_size[1])]
    return np.argmax(np.stack(parts, axis=-1), axis=-1)  # object arrays: compares the numbers


def max_pool2d_gather(xp, t, x, pool_size, strides, padding):
    """``t`` (any leading axes, then x's shape) at each window's first argmax of ``x``."""
    hit = window_argmax(x, pool_size, strides, padding)
    parts, _, _ = pool_parts(xp, t, pool_size, strides, padding, 0.0)
    total = None
    for k, part in enumerate(parts):
        term = xp.where(hit == k, part, 0.0)
        total = term if total is None else total + term
    return total


def max_pool2d_scatter(xp, g, x, pool_size, strides, padding):
    """The transpose of :func:`max_pool2d_gather`: each output's ``g`` sent to its argmax."""
    hit = window_argmax(x, pool_size, strides, padding)
    shape = xp.shape(g)
    hw = tuple(np.shape(x))[1:3]
    out, ((t, b), (l, r)) = geometry(hw, pool_size, strides, padding)
    padded = tuple(shape[:-3]) + (hw[0] + t + b, hw[1] + l + r, shape[-1])
    lead = len(shape) - 4
    total = None
    for k in range(pool_size[0] * pool_size[1]):
        i, j = divmod(k, pool_size[1])
        term = xp.scatter(xp.where(hit == k, g, 0.0), position(i, j, out, strides, lead), padded)
        total = term if total is None else total + term
    return total[..., t:t + hw[0], l:l + hw[1], :]
