"""PyTorch as a difflab namespace: ``torch`` functions on tensors (plain or ``torch.func``-wrapped).

Imported only when ``difflab.namespace`` meets a tensor, so torch is loaded by then. NumPy
spellings are translated (``arcsin`` -> ``torch.asin``, ``axis`` -> ``dim``, ``keepdims`` ->
``keepdim``). ``sigmoid``, ``softmax`` and ``logsumexp`` are torch's own.

PyTorch does not take NumPy arrays as operands of a differentiated tensor (``ndarray *
tensor`` raises): bring closed-over data in with ``xp.asarray(data)``.
"""
from __future__ import annotations

import numpy as np
import torch

from . import windows
from .precision import float_dtype_for
from .ops import Namespace, diag_shape, einsum_subscripts, pool_args, window_args
from . import indexing
from .view import VIEWING, ArrayView, Viewing, unview, viewing

#: difflab op name -> torch function of one tensor.
TORCH_UNARY = {
    "sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "arcsin": torch.asin,
    "arccos": torch.acos, "arctan": torch.atan, "sinh": torch.sinh, "cosh": torch.cosh,
    "tanh": torch.tanh, "exp": torch.exp, "expm1": torch.expm1, "log": torch.log,
    "log1p": torch.log1p, "sqrt": torch.sqrt, "abs": torch.abs, "square": torch.square,
    "sigmoid": torch.sigmoid, "sign": torch.sign,
}

_NUMPY_TO_TORCH = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}


#: Reductions whose call without ``dim`` reduces every axis, as NumPy's axis=None does.
_WHOLE = frozenset({torch.sum, torch.mean})


class TorchView(ArrayView):
    """A tensor as user code sees it (:mod:`difflab.namespaces.view`); torch functions
    called on it directly (``torch.sin(x)``) see the tensor."""

    __slots__ = ()

    # A Python number taken from x is a constant (no derivative flows through it): read it
    # from the detached tensor, without torch's warning about a tensor that requires grad.
    def __float__(self): return float(self.raw.detach())
    def __int__(self):   return int(self.raw.detach())

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        out = func(*unview(args), **unview(kwargs or {}))
        return NAMESPACE._view_out(out) if VIEWING.get() else out


class TorchNamespace(Viewing, Namespace):
    """``torch`` with NumPy's names and argument conventions."""

    name = "torch"
    view_type = TorchView

    def is_raw(self, x):
        return isinstance(x, torch.Tensor)

    # ------------------------------------------------------------------ indexing
    def getitem(self, x, index):
        """NumPy's ``x[index]``: torch's own indexing, but for negative slice steps (which
        torch refuses), read by gathering the flat positions NumPy lists."""
        if type(index) is slice and (index.step is None or index.step > 0):  # the common case
            return x[index]
        index = indexing.normalise(index)
        if any(isinstance(p, torch.Tensor) for p in index):  # e.g. a mask computed from x
            return x[index]
        if not indexing.has_negative_step(index):  # (torch raises NumPy's IndexError itself)
            return x[tuple(torch.as_tensor(p, device=x.device) if isinstance(p, np.ndarray) else p
                           for p in index)]
        flat = indexing.positions(tuple(x.shape), index)
        return x.reshape(-1)[torch.as_tensor(flat, device=x.device)]

    def astype(self, x, dtype):
        return self.asarray(x).to(_torch_dtype(dtype))

    # ------------------------------------------------------------------ constants
    def asarray(self, data, dtype=None):
        if isinstance(data, torch.Tensor):
            return data if dtype is None else data.to(_torch_dtype(dtype))
        arr = np.asarray(data)
        dtype = dtype or float_dtype_for(arr, integers=True)  # int data as NumPy promotes it
        return torch.as_tensor(arr, dtype=_torch_dtype(dtype) if dtype is not None else None)

    def zeros(self, shape):
        return torch.zeros(_shape(shape), dtype=_torch_dtype(float_dtype_for(0.0, np.float64)))

    def ones(self, shape):
        return torch.ones(_shape(shape), dtype=_torch_dtype(float_dtype_for(0.0, np.float64)))

    def zeros_like(self, x):
        return torch.zeros_like(self.asarray(x))

    def ones_like(self, x):
        return torch.ones_like(self.asarray(x))

    def stop_gradient(self, x):
        return x.detach() if isinstance(x, torch.Tensor) else x

    def shape(self, x):
        return tuple(x.shape) if isinstance(x, torch.Tensor) else np.shape(x)

    # ------------------------------------------------------------------ elementwise
    def maximum(self, a, b):
        a, b = self._pair(a, b)
        return torch.maximum(a, b)

    def minimum(self, a, b):
        a, b = self._pair(a, b)
        return torch.minimum(a, b)

    def where(self, cond, a, b):
        a, b = self._pair(a, b)
        return torch.where(self.asarray(cond), a, b)

    def clip(self, x, lo=None, hi=None):
        x = self.asarray(x)
        lo = lo if lo is None or isinstance(lo, (int, float)) else self._like(lo, x)
        hi = hi if hi is None or isinstance(hi, (int, float)) else self._like(hi, x)
        return torch.clamp(x, lo, hi)

    # ------------------------------------------------------------------ reductions
    def sum(self, x, axis=None, keepdims=False):
        return self._reduce(torch.sum, x, axis, keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return self._reduce(torch.mean, x, axis, keepdims)

    def max(self, x, axis=None, keepdims=False):
        return self._reduce(torch.amax, x, axis, keepdims)

    def min(self, x, axis=None, keepdims=False):
        return self._reduce(torch.amin, x, axis, keepdims)

    def logsumexp(self, x, axis=None, keepdims=False):
        return self._reduce(torch.logsumexp, x, axis, keepdims)

    def prod(self, x, axis=None, keepdims=False):
        x = self.asarray(x)
        if axis is None:
            out = torch.prod(x.reshape(-1))
            return out.reshape((1,) * x.ndim) if keepdims else out
        for a in sorted((a % x.ndim for a in _axes(axis)), reverse=True):
            x = torch.prod(x, dim=a, keepdim=keepdims)
        return x

    def softmax(self, x, axis=-1):
        return torch.softmax(self.asarray(x), dim=axis)

    # ------------------------------------------------------------------ structure
    def matmul(self, a, b):
        a, b = self._pair(a, b)
        return torch.matmul(a, b)

    def dot(self, a, b):
        a, b = self._pair(a, b)
        if a.ndim == 0 or b.ndim == 0:
            return a * b
        if b.ndim <= 2:
            return torch.matmul(a, b)
        return torch.tensordot(a, b, dims=([a.ndim - 1], [b.ndim - 2]))

    def reshape(self, x, shape):
        return torch.reshape(self.asarray(x), _shape(shape))

    def transpose(self, x, axes=None):
        x = self.asarray(x)
        return x.permute(*(reversed(range(x.ndim)) if axes is None else axes))

    def stack(self, arrays, axis=0):
        return torch.stack(self._all(arrays), dim=axis)

    def concatenate(self, arrays, axis=0):
        return torch.cat(self._all(arrays), dim=axis)

    def broadcast_to(self, x, shape):
        return torch.broadcast_to(self.asarray(x), _shape(shape))

    def einsum(self, subscripts, *operands):
        operands = self._all(operands)
        einsum_subscripts(subscripts, [o.ndim for o in operands],
                          shapes=[tuple(o.shape) for o in operands])
        return torch.einsum(subscripts, *operands)

    def cumsum(self, x, axis=None):
        x = self.asarray(x)
        return torch.cumsum(x.reshape(-1), dim=0) if axis is None else torch.cumsum(x, dim=axis)

    def flip(self, x, axis=None):
        """torch.flip: torch's slices take no negative step."""
        x = self.asarray(x)
        return torch.flip(x, dims=tuple(range(x.ndim)) if axis is None else _axes(axis))

    def diag(self, v, k=0):
        v = self.asarray(v)
        diag_shape(v.shape)
        return torch.diag(v, diagonal=k)

    # ------------------------------------------------------------------ sliding windows
    # torch.nn.functional works channels-first (NCHW, kernels (cout, cin, kh, kw)) and pads
    # symmetrically: transpose there and back, and pad "same" explicitly (TensorFlow's rule).
    def conv2d(self, x, kernel, strides=(1, 1), padding="valid"):
        import torch.nn.functional as F

        strides, padding = window_args(strides, padding)
        x, kernel = self._pair(x, kernel)
        xt = _padded_nchw(x, kernel.shape[:2], strides, padding, 0.0)
        return F.conv2d(xt, kernel.permute(3, 2, 0, 1), stride=strides).permute(0, 2, 3, 1)

    def max_pool2d(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        import torch.nn.functional as F

        size, strides, padding = pool_args(pool_size, strides, padding)
        xt = _padded_nchw(self.asarray(x), size, strides, padding, -float("inf"))
        return F.max_pool2d(xt, size, strides).permute(0, 2, 3, 1)

    def avg_pool2d(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        import torch.nn.functional as F

        size, strides, padding = pool_args(pool_size, strides, padding)
        x = self.asarray(x)
        total = F.avg_pool2d(_padded_nchw(x, size, strides, padding, 0.0), size, strides) * (size[0] * size[1])
        n = torch.as_tensor(windows.counts(tuple(x.shape[1:3]), size, strides, padding)[..., 0], dtype=x.dtype)
        return (total / n).permute(0, 2, 3, 1)

    # ------------------------------------------------------------------ helpers
    def _reduce(self, fn, x, axis, keepdims):
        if axis is None and not keepdims and type(x) is torch.Tensor and fn in _WHOLE:
            return fn(x)  # the common case, without the flattening (a third of xp.sum's cost)
        x = self.asarray(x)
        if axis is None:
            out = fn(x.reshape(-1), dim=0)
            return out.reshape((1,) * x.ndim) if keepdims else out
        return fn(x, dim=_axes(axis), keepdim=keepdims)

    def _like(self, value, ref):
        """``value`` as a tensor, floats in ``ref``'s dtype when ``ref`` is a float tensor."""
        if isinstance(value, torch.Tensor):
            return value
        if isinstance(ref, torch.Tensor) and ref.is_floating_point() and np.asarray(value).dtype.kind in "fiub":
            return torch.as_tensor(np.asarray(value), dtype=ref.dtype)
        return self.asarray(value)

    def _pair(self, a, b):
        if isinstance(a, torch.Tensor):
            return a, self._like(b, a)
        b = self.asarray(b)
        return self._like(a, b), b

    def _all(self, arrays):
        arrays = list(arrays)
        ref = next((a for a in arrays if isinstance(a, torch.Tensor)), None)
        return [self._like(a, ref) for a in arrays]


def _torch_dtype(dtype):
    if dtype is None:
        return None
    if isinstance(dtype, torch.dtype):
        return dtype
    return _NUMPY_TO_TORCH.get(np.dtype(dtype)) or torch.from_numpy(np.zeros(0, dtype=dtype)).dtype


def _padded_nchw(x, window, strides, padding, value):
    """``x`` (N, H, W, C) as NCHW, padded as TensorFlow pads ("same": extra at bottom/right)."""
    import torch.nn.functional as F

    _, ((t, b), (l, r)) = windows.geometry(tuple(x.shape[1:3]), tuple(window), strides, padding)
    xt = x.permute(0, 3, 1, 2)
    return F.pad(xt, (l, r, t, b), value=value) if t or b or l or r else xt


def _axes(axis):
    return (axis,) if isinstance(axis, int) else tuple(axis)


def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)


def _unary(fn):
    def method(self, x):
        return fn(self.asarray(x))
    method.__name__ = fn.__name__
    return method


for _op, _fn in TORCH_UNARY.items():
    setattr(TorchNamespace, _op, _unary(_fn))

viewing(TorchNamespace)
NAMESPACE = TorchNamespace()
