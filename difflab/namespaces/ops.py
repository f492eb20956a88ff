"""The operation list: what a function written against ``difflab.namespace(x)`` may use.

Every namespace (NumPy, mpmath, SymPy, difflab's dual numbers and tape nodes, and the
frameworks) implements the names in :data:`OPS`. Python operators (``+ - * / ** @``, unary
minus, comparisons, basic indexing and slicing) work on the arrays themselves.

:class:`Namespace` gives each operation a default written with the others, so a backend
only writes what it has natively. An operation a backend cannot do raises
:class:`~difflab.errors.NotSupported` naming the operation and the backend.
"""
from __future__ import annotations

import math

import numpy as np

from . import norms, windows
from ..errors import InputError, NotSupported



# ---------------------------------------------------------------------- per-op data
def _everywhere(a):
    return math.inf


def _tan_margin(a):
    return float(np.min(np.abs(np.cos(a))))  # |cos a| ~ distance from the nearest pole


def _from_zero(a):
    return float(np.min(np.abs(a)))


#: Elementwise functions of one array, each with its domain: the margin of an argument ``a``
#: from the nearest kink or singularity (inf: smooth everywhere; <= 0: outside the domain).
#: The fuzz generator draws an op only where this margin exceeds its MARGIN
#: (:mod:`difflab.fuzz.generate`); its rule is in ``difflab/ad/rules.py``.
UNARY_DOMAINS = {
    "sin": _everywhere, "cos": _everywhere, "tan": _tan_margin,
    "arcsin": lambda a: float(np.min(1.0 - np.abs(a))),
    "arccos": lambda a: float(np.min(1.0 - np.abs(a))),
    "arctan": _everywhere,
    "sinh": lambda a: float(np.min(20.0 - np.abs(a))), "cosh": lambda a: float(np.min(20.0 - np.abs(a))),
    "tanh": _everywhere,
    "exp": lambda a: float(np.min(20.0 - a)), "expm1": lambda a: float(np.min(20.0 - a)),
    "log": lambda a: float(np.min(a)), "log1p": lambda a: float(np.min(a + 1.0)),
    "sqrt": lambda a: float(np.min(a)),
    "abs": _from_zero, "square": _everywhere, "sigmoid": _everywhere, "sign": _from_zero,
}
#: Elementwise functions of one array.
UNARY = tuple(UNARY_DOMAINS)
#: Elementwise functions of two arrays, with broadcasting.
BINARY = ("maximum", "minimum")
#: Reductions, each taking ``axis=None, keepdims=False``.
REDUCTIONS = ("sum", "prod", "mean", "max", "min", "logsumexp", "var", "std")
#: Shape and linear-algebra operations (``linalg.norm`` is reached as ``xp.linalg.norm``).
STRUCTURE = ("matmul", "dot", "reshape", "transpose", "stack", "concatenate", "einsum",
             "outer", "diag", "flip", "cumsum", "linalg.norm")
#: Selection.
SELECTION = ("where", "clip", "softmax", "log_softmax")
#: Sliding windows on channels-last (N, H, W, C) arrays (:mod:`difflab.namespaces.windows`).
WINDOWS = ("conv2d", "max_pool2d", "avg_pool2d")
#: The transposes the reverse rules of :data:`WINDOWS` need: operations of every engine's
#: namespace (so nested derivatives go through them) but not of the user-facing list.
WINDOW_TRANSPOSES = ("conv2d_transpose", "conv2d_kernel_grad", "max_pool2d_gather",
                     "max_pool2d_scatter", "avg_pool2d_transpose")
#: Constructors: constants that carry no derivative.
CONSTRUCTORS = ("asarray", "zeros", "ones", "zeros_like", "ones_like")
#: Constants (attributes, not functions): the namespace's own number type where it has one.
CONSTANTS = ("pi",)

#: The whole documented list, in the order the docs show it.
OPS = UNARY + BINARY + REDUCTIONS + STRUCTURE + SELECTION + WINDOWS + CONSTRUCTORS + CONSTANTS


class Namespace:
    """Base class of the array namespaces: composed defaults for the derived operations.

    A subclass sets :attr:`name` and implements the primitives; everything here is written
    with other operations of the same namespace, so it differentiates in every engine.
    """

    name = "abstract"
    #: pi as a float; the object namespaces give their own (mpmath's at the working
    #: precision, SymPy's exact symbol).
    pi = math.pi

    @property
    def linalg(self):
        """``xp.linalg.norm``, as NumPy spells it."""
        return norms.Linalg(self)

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

    def log_softmax(self, x, axis=-1):
        return x - self.logsumexp(x, axis=axis, keepdims=True)

    def var(self, x, axis=None, keepdims=False, ddof=0):
        """The mean squared deviation from the mean (NumPy's two passes; ``ddof`` as NumPy's)."""
        count = _size(self.shape(x), axis) - ddof
        if count <= 0:
            raise InputError(f"var: ddof={ddof} leaves no degrees of freedom")
        d = x - self.mean(x, axis=axis, keepdims=True)
        return self.sum(d * d, axis=axis, keepdims=keepdims) / count

    def std(self, x, axis=None, keepdims=False, ddof=0):
        return self.sqrt(self.var(x, axis=axis, keepdims=keepdims, ddof=ddof))

    def outer(self, a, b):
        """``a_i b_j`` of the flattened arrays, as ``np.outer``."""
        return self.reshape(a, (-1, 1)) * self.reshape(b, (1, -1))

    def sign(self, x):
        """-1, 0 or 1 (NaN stays NaN): a constant, its derivative 0 away from 0. Written with
        ``where`` on the values; the last branch ``x * 0`` keeps NaN as ``np.sign`` does."""
        one = self.ones_like(x)
        return self.where(x > 0, one, self.where(x < 0, -one, x * 0.0))

    def flip(self, x, axis=None):
        """The entries in reverse order along ``axis`` (all axes when None): a negative-step slice."""
        ndim = len(self.shape(x))
        axes = range(ndim) if axis is None else {a % ndim for a in _axes(axis)}
        return x[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(ndim))]

    def diag(self, v, k=0):
        """As ``np.diag``: a 1-D ``v`` on the k-th diagonal of a square matrix (``v`` times the
        identity's 0/1 entries, exact for finite ``v``), or the k-th diagonal of a matrix."""
        shape = diag_shape(self.shape(v))
        k = int(k)
        if len(shape) == 1:
            size = shape[0] + abs(k)
            padded = self.concatenate([v, self.zeros((abs(k),))]) if k else v
            column = self.reshape(padded, (size, 1) if k >= 0 else (1, size))
            return column * self.asarray(np.eye(size, k=k))
        rows, cols = shape
        length = max(0, min(rows - max(-k, 0), cols - max(k, 0)))
        return v[np.arange(length) + max(-k, 0), np.arange(length) + max(k, 0)]

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
    # positions (difflab.namespaces.windows); NumPy and the frameworks override them with native ops.
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
        raise AttributeError(f"{op!r} is not an operation of difflab's namespaces; see difflab.namespaces.ops.OPS")


def window_args(strides, padding):
    """``(strides, padding)`` checked and normalised: a pair of ints and "valid"/"same"."""
    return windows.pair(strides, "strides"), windows.padding_mode(padding)


def pool_args(pool_size, strides, padding):
    """``(pool_size, strides, padding)`` normalised; strides default to the pool size."""
    size = windows.pair(pool_size, "pool_size")
    return (size,) + window_args(size if strides is None else strides, padding)


def _axes(axis):
    return (axis,) if isinstance(axis, int) else tuple(axis)


def diag_shape(shape) -> tuple:
    """``shape`` when ``diag`` can take it (1-D or 2-D), else one clear InputError."""
    shape = tuple(shape)
    if len(shape) not in (1, 2):
        raise InputError(f"diag takes a 1-D or 2-D array, not one of shape {shape}")
    return shape


def einsum_subscripts(subscripts: str, ndims, differentiable: bool = False, shapes=None) -> str:
    """``subscripts`` in explicit form (``"ij,jk->ik"``), checked against the operands'
    dimensions (and ``shapes``, where given): a malformed one is one :class:`InputError` on
    every backend. The implicit
    form's output is NumPy's (``...`` first, then the letters seen once, sorted).

    ``differentiable``: the form difflab's own engines differentiate, which refuses ``...``.
    """
    if not isinstance(subscripts, str):
        raise InputError("einsum: the first argument is the subscripts string, e.g. 'ij,jk->ik'")
    spec = subscripts.replace(" ", "")
    if differentiable and "." in spec:
        raise NotSupported("einsum with '...'", "difflab AD", "write every axis's letter")
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(ndims):
        raise InputError(f"einsum: {len(terms)} operand(s) in {subscripts!r}, {len(ndims)} given")
    if not arrow:
        letters = inputs.replace("...", "").replace(",", "")
        output = ("..." if "..." in inputs else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    for term, ndim in zip(terms + [output], list(ndims) + [None]):
        letters = term.replace("...", "", 1)
        if not all(c.isalpha() and c.isascii() for c in letters):
            raise InputError(f"einsum: {term!r} in {subscripts!r} is not letters (and one '...')")
        if ndim is not None and (len(letters) > ndim or len(letters) < ndim and "..." not in term):
            raise InputError(f"einsum: {term!r} names {len(letters)} axes of a {ndim}-D operand")
        if ndim is None and len(set(letters)) != len(letters):
            raise InputError(f"einsum: output subscripts {term!r} repeat a letter")
    sizes = {}
    if "." not in spec:  # a letter names axes of one size (NumPy broadcasts a size 1)
        for term, shape in zip(terms, shapes or ()):
            for c, n in zip(term, shape):
                m = sizes.setdefault(c, n)
                if m != n and 1 not in (m, n):
                    raise InputError(f"einsum: {c!r} names axes of sizes {m} and {n} in {subscripts!r}")
                if m != n and differentiable:
                    raise NotSupported(f"einsum broadcasting a size-1 axis {c!r}", "difflab AD",
                                       "xp.broadcast_to the operand first")
    if not set(output.replace("...", "")) <= set(inputs):
        raise InputError(f"einsum: output subscripts of {subscripts!r} not among the inputs'")
    return ",".join(terms) + "->" + output


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
