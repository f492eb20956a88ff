"""The operation list: what a function written against ``difflab.namespace(x)`` may use.

Every namespace (NumPy, mpmath, SymPy, difflab's dual numbers and tape nodes, and the
frameworks) implements the names in :data:`OPS`. Python operators (``+ - * / ** @``, unary
minus, comparisons, basic indexing and slicing) work on the arrays themselves.

:class:`Namespace` gives each operation a default written with the others, so a backend
only writes what it has natively. An operation a backend cannot do raises
:class:`~difflab.errors.NotSupported` naming the operation and the backend.
"""
from __future__ import annotations

from . import windows
from .errors import NotSupported

#: Elementwise functions of one array.
UNARY = ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
         "exp", "expm1", "log", "log1p", "sqrt", "abs", "square", "sigmoid")
#: Elementwise functions of two arrays, with broadcasting.
BINARY = ("maximum", "minimum")
#: Reductions, each taking ``axis=None, keepdims=False``.
REDUCTIONS = ("sum", "prod", "mean", "max", "min", "logsumexp")
#: Shape and linear-algebra operations.
STRUCTURE = ("matmul", "dot", "reshape", "transpose", "stack", "concatenate")
#: Selection.
SELECTION = ("where", "clip", "softmax")
#: Sliding windows on channels-last (N, H, W, C) arrays (:mod:`difflab.windows`).
WINDOWS = ("conv2d", "max_pool2d", "avg_pool2d")
#: The transposes the reverse rules of :data:`WINDOWS` need: operations of every engine's
#: namespace (so nested derivatives go through them) but not of the user-facing list.
WINDOW_TRANSPOSES = ("conv2d_transpose", "conv2d_kernel_grad", "max_pool2d_gather",
                     "max_pool2d_scatter", "avg_pool2d_transpose")
#: Constructors: constants that carry no derivative.
CONSTRUCTORS = ("asarray", "zeros", "ones", "zeros_like", "ones_like")
#: Python operators every array type supports.
OPERATORS = ("+", "-", "*", "/", "**", "@", "unary -", "comparisons", "indexing and slicing")

#: The whole documented list, in the order the docs show it.
OPS = UNARY + BINARY + REDUCTIONS + STRUCTURE + SELECTION + WINDOWS + CONSTRUCTORS


class Namespace:
    """Base class of the array namespaces: composed defaults for the derived operations.

    A subclass sets :attr:`name` and implements the primitives; everything here is written
    with other operations of the same namespace, so it differentiates in every engine.
    """

    name = "abstract"

    # ------------------------------------------------------------------ composed ops
    def square(self, x):
        return x * x

    def mean(self, x, axis=None, keepdims=False):
        total = self.sum(x, axis=axis, keepdims=keepdims)
        return total / (_size(self.shape(x), axis))

    def dot(self, a, b):
        return self.matmul(a, b)

    def sigmoid(self, x):
        """1 / (1 + exp(-x)) with relative accuracy everywhere: ``e = exp(-|x|)`` never
        overflows, and the branch for x < 0, ``e / (1 + e)``, keeps the tiny values that
        ``0.5 (1 + tanh(x / 2))`` rounds to 0 below x = -37. ``-|x|`` is written as a ``where``
        so that the derivative at 0 is the smooth one (abs'(0) is a convention)."""
        e = self.exp(self.where(x >= 0, -x, x))
        return self.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    def softmax(self, x, axis=-1):
        return self.exp(x - self.logsumexp(x, axis=axis, keepdims=True))

    def logsumexp(self, x, axis=None, keepdims=False):
        shift = self.stop_gradient(self.max(x, axis=axis, keepdims=True))
        out = self.log(self.sum(self.exp(x - shift), axis=axis, keepdims=True)) + shift
        if keepdims:
            return out
        return self.reshape(out, _reduced_shape(self.shape(x), axis))

    def clip(self, x, lo, hi):
        return self.minimum(self.maximum(x, lo), hi)

    def zeros_like(self, x):
        return self.zeros(self.shape(x))

    def ones_like(self, x):
        return self.ones(self.shape(x))

    def stop_gradient(self, x):
        """``x`` as a constant (used by composed ops whose shift cancels exactly)."""
        return x

    def shape(self, x):
        return tuple(getattr(x, "shape", ()))

    # ------------------------------------------------------------------ sliding windows
    # Composed from slicing, matmul, stack and scatter with a loop over the kh*kw window
    # positions (difflab.windows); NumPy and the frameworks override them with native ops.
    def conv2d(self, x, kernel, strides=(1, 1), padding="valid"):
        """Keras's 2-D cross-correlation: x (N, H, W, cin), kernel (kh, kw, cin, cout)."""
        return windows.composed_conv2d(self, x, kernel, *window_args(strides, padding))

    def max_pool2d(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        """The maximum of each window (strides default to the pool size, as Keras's)."""
        return windows.composed_max_pool2d(self, x, *pool_args(pool_size, strides, padding))

    def avg_pool2d(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        """The mean of each window's real inputs ("same" padding is not counted, as TensorFlow)."""
        return windows.composed_avg_pool2d(self, x, *pool_args(pool_size, strides, padding))

    def conv2d_transpose(self, g, kernel, input_size, strides=(1, 1), padding="valid"):
        """The transpose of ``conv2d`` in x: the cotangent of an input of spatial size ``input_size``."""
        return windows.composed_conv2d_transpose(self, g, kernel, tuple(input_size),
                                                 *window_args(strides, padding))

    def conv2d_kernel_grad(self, x, g, kernel_size, strides=(1, 1), padding="valid"):
        """The transpose of ``conv2d`` in the kernel: x correlated with the output cotangent."""
        return windows.composed_conv2d_kernel_grad(self, x, g, tuple(kernel_size),
                                                   *window_args(strides, padding))

    def max_pool2d_gather(self, t, x, pool_size=(2, 2), strides=None, padding="valid"):
        return windows.max_pool2d_gather(self, t, x, *pool_args(pool_size, strides, padding))

    def max_pool2d_scatter(self, g, x, pool_size=(2, 2), strides=None, padding="valid"):
        return windows.max_pool2d_scatter(self, g, x, *pool_args(pool_size, strides, padding))

    def avg_pool2d_transpose(self, g, input_size, pool_size=(2, 2), strides=None, padding="valid"):
        return windows.composed_avg_pool2d_transpose(self, g, tuple(input_size),
                                                     *pool_args(pool_size, strides, padding))

    # ------------------------------------------------------------------ missing ops
    def __getattr__(self, op):
        if op in OPS or op in WINDOW_TRANSPOSES:
            raise NotSupported(op, self.name, "this namespace has no implementation of it")
        raise AttributeError(f"{op!r} is not an operation of difflab's namespaces; see difflab.ops.OPS")


def window_args(strides, padding):
    """``(strides, padding)`` checked and normalised: a pair of ints and "valid"/"same"."""
    return windows.pair(strides, "strides"), windows.padding_mode(padding)


def pool_args(pool_size, strides, padding):
    """``(pool_size, strides, padding)`` normalised; strides default to the pool size."""
    size = windows.pair(pool_size, "pool_size")
    return (size,) + window_args(size if strides is None else strides, padding)


def _size(shape, axis):
    if axis is None:
        axes = range(len(shape))
    else:
        axes = (axis,) if isinstance(axis, int) else axis
    count = 1
    for a in axes:
        count *= shape[a]
    return count


def _reduced_shape(shape, axis):
    if axis is None:
        return ()
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
    return tuple(s for i, s in enumerate(shape) if i not in axes)
