"""JAX as a difflab namespace: ``jax.numpy`` on arrays and tracers.

Imported only when ``difflab.namespace`` meets a JAX array or tracer, so JAX is loaded by
then. ``jax.numpy`` follows NumPy, so nearly every op is the function of the same name;
``sigmoid``, ``softmax`` and ``logsumexp`` are ``jax.nn``'s own.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from . import windows
from ..errors import NotSupported
from .precision import float_dtype_for
from .ops import Namespace, diag_shape, einsum_subscripts, pool_args, window_args
from . import indexing
from .view import ArrayView, Viewing, viewing

#: difflab op name -> jax.numpy (or jax.nn) function.
JAX_FUNCTIONS = {
    "sin": jnp.sin, "cos": jnp.cos, "tan": jnp.tan, "arcsin": jnp.arcsin, "arccos": jnp.arccos,
    "arctan": jnp.arctan, "sinh": jnp.sinh, "cosh": jnp.cosh, "tanh": jnp.tanh, "exp": jnp.exp,
    "expm1": jnp.expm1, "log": jnp.log, "log1p": jnp.log1p, "sqrt": jnp.sqrt, "abs": jnp.abs,
    "square": jnp.square, "maximum": jnp.maximum, "minimum": jnp.minimum, "sum": jnp.sum,
    "prod": jnp.prod, "mean": jnp.mean, "max": jnp.max, "min": jnp.min, "matmul": jnp.matmul,
    "dot": jnp.dot, "where": jnp.where, "broadcast_to": jnp.broadcast_to,
    "sigmoid": jax.nn.sigmoid, "logsumexp": jax.nn.logsumexp, "softmax": jax.nn.softmax,
    "stop_gradient": jax.lax.stop_gradient, "sign": jnp.sign, "cumsum": jnp.cumsum,
    "flip": jnp.flip,
}


class JaxView(ArrayView):
    """A JAX array or tracer as user code sees it (:mod:`difflab.namespaces.view`);
    ``jax.numpy`` functions called on it directly see the array."""

    __slots__ = ()

    def __jax_array__(self):
        return self.raw


class JaxNamespace(Viewing, Namespace):
    """``jax.numpy`` with NumPy's argument conventions."""

    name = "jax"
    view_type = JaxView

    def is_raw(self, x):
        return isinstance(x, jax.Array)

    def getitem(self, x, index):
        """NumPy's ``x[index]``: lists read as arrays (JAX refuses a bare list), and an index
        out of range an IndexError (JAX clamps it)."""
        if type(index) is slice:  # the common case
            return x[index]
        index = indexing.normalise(index)
        if any(type(p) is int or isinstance(p, np.ndarray) for p in index):
            indexing.check(jnp.shape(x), index)
        try:
            return x[index]
        except jax.errors.NonConcreteBooleanIndexError:
            raise NotSupported("indexing with a boolean mask computed while tracing", "jax",
                               "under jit=True a mask must be a constant (NumPy) "
                               "array, since it sets the result's shape; compute it outside the "
                               "function or use xp.where") from None

    def astype(self, x, dtype):
        return jnp.asarray(x).astype(dtype)

    def asarray(self, data, dtype=None):
        if isinstance(data, jax.Array):
            return data if dtype is None else data.astype(dtype)
        arr = np.asarray(data)
        return jnp.asarray(arr, dtype=dtype or float_dtype_for(arr))

    def zeros(self, shape):
        return jnp.zeros(shape, dtype=float_dtype_for(0.0))

    def ones(self, shape):
        return jnp.ones(shape, dtype=float_dtype_for(0.0))

    def zeros_like(self, x):
        return jnp.zeros_like(x)

    def ones_like(self, x):
        return jnp.ones_like(x)

    def clip(self, x, lo=None, hi=None):
        return jnp.clip(x, lo, hi)

    def reshape(self, x, shape):
        return jnp.reshape(x, shape)

    def transpose(self, x, axes=None):
        return jnp.transpose(x, axes)

    def stack(self, arrays, axis=0):
        return jnp.stack(list(arrays), axis=axis)

    def concatenate(self, arrays, axis=0):
        return jnp.concatenate(list(arrays), axis=axis)

    def shape(self, x):
        return tuple(jnp.shape(x))

    def diag(self, v, k=0):
        diag_shape(jnp.shape(v))
        return jnp.diag(v, k)

    def einsum(self, subscripts, *operands):
        einsum_subscripts(subscripts, [jnp.ndim(o) for o in operands],
                          shapes=[jnp.shape(o) for o in operands])
        return jnp.einsum(subscripts, *operands, precision=jax.lax.Precision.HIGHEST)

    # ------------------------------------------------------------------ sliding windows
    def conv2d(self, x, kernel, strides=(1, 1), padding="valid"):
        strides, padding = window_args(strides, padding)
        _, pads = windows.geometry(jnp.shape(x)[1:3], jnp.shape(kernel)[:2], strides, padding)
        return jax.lax.conv_general_dilated(x, kernel, strides, pads,
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                            precision=jax.lax.Precision.HIGHEST)

    def max_pool2d(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        return _reduce_window(x, jax.lax.max, -jnp.inf, *pool_args(pool_size, strides, padding))

    def avg_pool2d(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        size, strides, padding = pool_args(pool_size, strides, padding)
        total = _reduce_window(x, jax.lax.add, 0.0, size, strides, padding)
        return total / windows.counts(jnp.shape(x)[1:3], size, strides, padding)


def _reduce_window(x, op, init, size, strides, padding):
    x = jnp.asarray(x)
    _, pads = windows.geometry(x.shape[1:3], size, strides, padding)
    return jax.lax.reduce_window(x, np.asarray(init, x.dtype), op, (1,) + size + (1,),
                                 (1,) + strides + (1,), ((0, 0),) + pads + ((0, 0),))


for _op, _fn in JAX_FUNCTIONS.items():
    setattr(JaxNamespace, _op, staticmethod(_fn))

viewing(JaxNamespace)
NAMESPACE = JaxNamespace()
