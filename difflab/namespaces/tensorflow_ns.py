"""TensorFlow as a difflab namespace: plain ``tf`` ops on eager or graph tensors.

Imported only when ``difflab.namespace`` meets a TensorFlow tensor, so TensorFlow is loaded
by then. Plain ops are used rather than ``tf.experimental.numpy``, whose NumPy behaviour is a
global switch (``experimental_enable_numpy_behavior``) that difflab will not flip for the
user. Names follow NumPy (``arcsin`` -> ``tf.math.asin``, ``sum`` -> ``tf.reduce_sum``);
``sigmoid``, ``softmax`` and ``logsumexp`` are TensorFlow's own.

TensorFlow converts NumPy operands to the tensor's dtype, so ``ndarray * tensor`` works;
``xp.asarray(data)`` is still the documented way to bring data in.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .precision import float_dtype_for
from ..errors import NotSupported
from .ops import Namespace, diag_shape, einsum_subscripts, pool_args, window_args
from . import indexing
from .view import ArrayView, Viewing, viewing

#: difflab op name -> TensorFlow function of one tensor.
TF_UNARY = {
    "sin": tf.math.sin, "cos": tf.math.cos, "tan": tf.math.tan, "arcsin": tf.math.asin,
    "arccos": tf.math.acos, "arctan": tf.math.atan, "sinh": tf.math.sinh, "cosh": tf.math.cosh,
    "tanh": tf.math.tanh, "exp": tf.math.exp, "expm1": tf.math.expm1, "log": tf.math.log,
    "log1p": tf.math.log1p, "sqrt": tf.math.sqrt, "abs": tf.math.abs, "square": tf.math.square,
    "sigmoid": tf.math.sigmoid, "sign": tf.math.sign,
}

#: difflab reduction -> TensorFlow reduction (``axis``, ``keepdims`` as in NumPy).
TF_REDUCTIONS = {
    "sum": tf.math.reduce_sum, "prod": tf.math.reduce_prod, "mean": tf.math.reduce_mean,
    "max": tf.math.reduce_max, "min": tf.math.reduce_min, "logsumexp": tf.math.reduce_logsumexp,
}


class TensorFlowView(ArrayView):
    """A tensor as user code sees it (:mod:`difflab.namespaces.view`): NumPy's indexing,
    array methods and ``@``; TensorFlow functions called on it directly (``tf.sin(x)``)
    convert it to the tensor by TensorFlow's ``__tf_tensor__`` protocol."""

    __slots__ = ()

    def __tf_tensor__(self, dtype=None, name=None):
        return tf.convert_to_tensor(self.raw, dtype=dtype, name=name)

    @property
    def shape(self):
        """TensorFlow's ``TensorShape`` (a tuple to compare, index and iterate), which
        TensorFlow's own code, AutoGraph's ``len`` included, reads from a tensor-like."""
        return self.raw.shape

    def is_tensor_like(self):
        """TensorFlow's mark of a tensor-like: AutoGraph (``jit=True``) then turns an ``if`` or
        ``while`` on a view into graph control flow, as it does for a tensor."""
        return True


class TensorFlowNamespace(Viewing, Namespace):
    """Plain TensorFlow with NumPy's names and argument conventions."""

    name = "tensorflow"
    view_type = TensorFlowView

    def is_raw(self, x):
        return tf.is_tensor(x) and not isinstance(x, ArrayView)

    # ------------------------------------------------------------------ indexing
    def getitem(self, x, index):
        """NumPy's ``x[index]``: TensorFlow's own slicing for ints, slices, ``None`` and
        ``...``; lists, integer arrays and boolean masks (which TensorFlow reads otherwise or
        refuses) by gathering the flat positions NumPy lists."""
        x = self.asarray(x)
        if type(index) is slice:  # the common case
            return x[index]
        index = tuple(_concrete(p) for p in indexing.normalise(index))
        shape = tuple(x.shape)
        if all(indexing.is_basic(p) or _scalar_position(p) for p in index):
            if any(type(p) is int for p in index) and not any(map(tf.is_tensor, index)):
                indexing.check(shape, index)  # TensorFlow's own error is no IndexError
            return x[index]
        flat = indexing.positions(shape, index)
        return tf.reshape(tf.gather(tf.reshape(x, [-1]), flat.reshape(-1)), flat.shape)

    def astype(self, x, dtype):
        return tf.cast(self.asarray(x), tf.as_dtype(np.dtype(dtype)))

    # ------------------------------------------------------------------ constants
    def asarray(self, data, dtype=None):
        if tf.is_tensor(data):
            return data if dtype is None else tf.cast(data, tf.as_dtype(np.dtype(dtype)))
        arr = np.asarray(data)
        dtype = dtype or float_dtype_for(arr, integers=True)  # int data as NumPy promotes it
        return tf.constant(arr if dtype is None else arr.astype(dtype))

    def zeros(self, shape):
        return tf.zeros(_shape(shape), dtype=tf.as_dtype(float_dtype_for(0.0, np.float64)))

    def ones(self, shape):
        return tf.ones(_shape(shape), dtype=tf.as_dtype(float_dtype_for(0.0, np.float64)))

    def zeros_like(self, x):
        return tf.zeros_like(self.asarray(x))

    def ones_like(self, x):
        return tf.ones_like(self.asarray(x))

    def stop_gradient(self, x):
        return tf.stop_gradient(x)

    def shape(self, x):
        return tuple(x.shape) if tf.is_tensor(x) else np.shape(x)

    # ------------------------------------------------------------------ elementwise
    def maximum(self, a, b):
        return tf.math.maximum(*self._pair(a, b))

    def minimum(self, a, b):
        return tf.math.minimum(*self._pair(a, b))

    def where(self, cond, a, b):
        a, b = self._pair(a, b)
        return tf.where(self.asarray(cond), a, b)

    def clip(self, x, lo=None, hi=None):
        x = self.asarray(x)
        if lo is not None:
            x = tf.math.maximum(x, self._like(lo, x))
        if hi is not None:
            x = tf.math.minimum(x, self._like(hi, x))
        return x

    def softmax(self, x, axis=-1):
        return tf.nn.softmax(self.asarray(x), axis=axis)

    # ------------------------------------------------------------------ structure
    def matmul(self, a, b):
        a, b = self._pair(a, b)
        if a.shape.rank >= 2 and b.shape.rank >= 2:
            return tf.linalg.matmul(a, b)
        if a.shape.rank == 0 or b.shape.rank == 0:
            raise ValueError("matmul: input operand does not have enough dimensions")
        # NumPy semantics for vectors: contract the last axis of a with the first-or-second-last of b.
        return tf.tensordot(a, b, axes=[[a.shape.rank - 1], [max(b.shape.rank - 2, 0)]])

    def dot(self, a, b):
        a, b = self._pair(a, b)
        if a.shape.rank == 0 or b.shape.rank == 0:
            return a * b
        return tf.tensordot(a, b, axes=[[a.shape.rank - 1], [max(b.shape.rank - 2, 0)]])

    def reshape(self, x, shape):
        return tf.reshape(self.asarray(x), _shape(shape))

    def transpose(self, x, axes=None):
        return tf.transpose(self.asarray(x), perm=None if axes is None else list(axes))

    def stack(self, arrays, axis=0):
        return tf.stack(self._all(arrays), axis=axis)

    def concatenate(self, arrays, axis=0):
        return tf.concat(self._all(arrays), axis=axis)

    def broadcast_to(self, x, shape):
        return tf.broadcast_to(self.asarray(x), _shape(shape))

    def einsum(self, subscripts, *operands):
        operands = self._all(operands)
        einsum_subscripts(subscripts, [o.shape.rank for o in operands],
                          shapes=[tuple(o.shape) for o in operands])
        return tf.einsum(subscripts, *operands)

    def cumsum(self, x, axis=None):
        x = self.asarray(x)
        return tf.math.cumsum(tf.reshape(x, [-1]), axis=0) if axis is None else tf.math.cumsum(x, axis=axis)

    def flip(self, x, axis=None):
        x = self.asarray(x)
        axes = list(range(x.shape.rank)) if axis is None else list((axis,) if isinstance(axis, int) else axis)
        return tf.reverse(x, axis=axes)

    def diag(self, v, k=0):
        """tf.linalg.diag / diag_part: TensorFlow's tensors take no integer-array index."""
        v = self.asarray(v)
        shape = diag_shape(v.shape)
        if len(shape) == 1:
            return tf.linalg.diag(v, k=k)
        if not -shape[0] < k < shape[1]:  # past the corner: empty, as NumPy (TensorFlow raises)
            return tf.zeros((0,), dtype=v.dtype)
        return tf.linalg.diag_part(v, k=k)

    # ------------------------------------------------------------------ sliding windows
    # TensorFlow's own ops, channels-last; its "SAME" is the padding rule difflab follows.
    def conv2d(self, x, kernel, strides=(1, 1), padding="valid"):
        strides, padding = window_args(strides, padding)
        x, kernel = self._pair(x, kernel)
        return tf.nn.conv2d(x, kernel, strides=(1,) + strides + (1,), padding=padding.upper())

    def max_pool2d(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        size, strides, padding = pool_args(pool_size, strides, padding)
        return tf.nn.max_pool2d(self.asarray(x), size, strides, padding.upper())

    def avg_pool2d(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        size, strides, padding = pool_args(pool_size, strides, padding)
        return tf.nn.avg_pool2d(self.asarray(x), size, strides, padding.upper())

    # ------------------------------------------------------------------ helpers
    def _like(self, value, ref):
        if tf.is_tensor(value):
            return value
        if tf.is_tensor(ref) and ref.dtype.is_floating and np.asarray(value).dtype.kind in "fiub":
            return tf.constant(np.asarray(value), dtype=ref.dtype)
        return self.asarray(value)

    def _pair(self, a, b):
        if tf.is_tensor(a):
            return a, self._like(b, a)
        b = self.asarray(b)
        return self._like(a, b), b

    def _all(self, arrays):
        arrays = list(arrays)
        ref = next((a for a in arrays if tf.is_tensor(a)), None)
        return [self._like(a, ref) for a in arrays]


def _scalar_position(part) -> bool:
    """A 0-d integer tensor (a loop counter under AutoGraph), which TensorFlow indexes with."""
    return tf.is_tensor(part) and part.shape.rank == 0 and part.dtype.is_integer


def _concrete(part):
    """An index tensor (a mask computed from x) as NumPy, which only an eager tensor has;
    a scalar position stays a tensor."""
    if not tf.is_tensor(part) or _scalar_position(part):
        return part
    if hasattr(part, "numpy"):
        return part.numpy()
    raise NotSupported("indexing with a tensor computed while tracing", "tensorflow",
                       "under jit=True the index must be a constant (NumPy) "
                       "array; compute it outside the function or use xp.where")


def _shape(shape):
    return [shape] if isinstance(shape, int) else [int(s) for s in shape]


def _unary(fn):
    def method(self, x):
        return fn(self.asarray(x))
    method.__name__ = fn.__name__
    return method


def _reduction(fn):
    def method(self, x, axis=None, keepdims=False):
        return fn(self.asarray(x), axis=axis, keepdims=keepdims)
    method.__name__ = fn.__name__
    return method


for _op, _fn in TF_UNARY.items():
    setattr(TensorFlowNamespace, _op, _unary(_fn))
for _op, _fn in TF_REDUCTIONS.items():
    setattr(TensorFlowNamespace, _op, _reduction(_fn))

viewing(TensorFlowNamespace)
NAMESPACE = TensorFlowNamespace()
