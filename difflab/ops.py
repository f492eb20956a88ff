"""The operation list: what a function written against ``difflab.namespace(x)`` may use.

Every namespace (NumPy, mpmath, SymPy, difflab's dual numbers and tape nodes, and the
frameworks) implements the names in :data:`OPS`. Python operators (``+ - * / ** @``, unary
minus, comparisons, basic indexing and slicing) work on the arrays themselves.

:class:`Namespace` gives each operation a default written with the others, so a backend
only writes what it has natively. An operation a backend cannot do raises
:class:`~difflab.errors.NotSupported` naming the operation and the backend.
"""
from __future__ import annotations

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
#: Constructors: constants that carry no derivative.
CONSTRUCTORS = ("asarray", "zeros", "ones", "zeros_like", "ones_like")
#: Python operators every array type supports.
OPERATORS = ("+", "-", "*", "/", "**", "@", "unary -", "comparisons", "indexing and slicing")

#: The whole documented list, in the order the docs show it.
OPS = UNARY + BINARY + REDUCTIONS + STRUCTURE + SELECTION + CONSTRUCTORS


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
        return 0.5 * (1.0 + self.tanh(0.5 * x))

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

    # ------------------------------------------------------------------ missing ops
    def __getattr__(self, op):
        if op in OPS:
            raise NotSupported(op, self.name, "this namespace has no implementation of it")
        raise AttributeError(f"{op!r} is not an operation of difflab's namespaces; see difflab.ops.OPS")


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
