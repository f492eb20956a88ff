"""The oracle: exact derivatives at high precision, by a route that shares nothing with the
engines it judges.

Every error figure in difflab is measured against this, never against another method under
test. It runs the user's function on NumPy object arrays of the oracle's own jets
(:mod:`difflab.analysis.oracle.jets`: forward mode at the level of one mpmath number, ``digits``
significant digits), so it follows control flow like any AD method, and rounds the result
to float64 once at the end. Its derivatives of the primitives come from ``sympy.diff``
(:mod:`difflab.analysis.oracle.calculus`), and structure (indexing, reshapes, matmul, sums,
convolutions) is NumPy's array algebra on the scalars: nothing is read from
:mod:`difflab.ad.rules`, so a wrong row there shows up as a disagreement.

``x`` is taken in the shape the function expects, as the methods take it: an array of any
shape, a pytree (dicts, lists, tuples of arrays), with further positional and keyword
arguments passed through (``args=``, ``kwargs=``) and ``argnums`` choosing what is
differentiated.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ...interface import boundary, pytree
from ...interface.arguments import normalise_argnums
from ...interface.cost import MP_BYTES, Cost
from ...errors import InputError
from ...interface.function import as_function
from ...interface.kinds import DERIVATIVES
from ...namespaces import object_arrays
from ...namespaces.view import call_viewed



#: Tangents per forward pass: the oracle works the Jacobian's columns a block at a time,
#: so its memory is this many tangents of every intermediate, not n, and it can report
#: progress; recomputing the values once per block costs about 1/BLOCK more time.
BLOCK = 128
#: For a Hessian each outer tangent carries n inner ones: at most this many tangents a pass.
HESSIAN_TANGENTS = 4096


def reference(f, x, derivative: str = "gradient", digits: int = 50,
              progress: Optional[Callable[[int, int], None]] = None, vector=None, *,
              args: tuple = (), kwargs: Optional[dict] = None, argnums=0):
    """The derivative of ``f`` at ``x``, computed at ``digits`` digits and rounded to float64.

    Parameters
    ----------
    f : callable or difflab.Function
        Written against ``difflab.namespace``; called as ``f(x, *args, **kwargs)``.
    x : array_like or pytree
        The point, in the shape ``f`` expects (taken as exact).
    derivative : {"gradient", "jacobian", "hessian", "hvp"}
    digits : int
        Working precision in significant decimal digits (50 leaves ~34 digits of margin
        over float64 for cancellation inside the function).
    progress : callable, optional
        Called as ``progress(columns done, n)`` after each block of columns.
    vector : array_like or pytree, optional
        The direction ``v`` of an ``hvp``, in the structure of x (taken as exact).
    args, kwargs : optional
        Further arguments of ``f``, passed through as data.
    argnums : int or tuple of int
        Which positional arguments of ``f(x, *args)`` are differentiated, as for the methods.

    Returns
    -------
    The derivative in the structure the methods give: the gradient (and hvp) in the
    structure of the differentiated argument(s); the Jacobian with the outputs first,
    ``(m, *x.shape)`` for an array x (leaves with a leading m for a pytree); the Hessian
    ``x.shape + x.shape`` (of an array only, as the methods).

    Cost: about n mpmath evaluations of ``f`` for a gradient, a Jacobian or an hvp, n^2 for
    a Hessian (:data:`COSTS`); ``difflab compare`` estimates it before it starts.
    """
    from .jets import mpf, precision, seeded, tangents
    from .namespace import ORACLE

    if derivative not in DERIVATIVES:
        raise InputError(f"the oracle computes {', '.join(DERIVATIVES)}, not {derivative!r}")
    if (vector is None) != (derivative != "hvp"):
        raise InputError("the oracle's hvp needs a vector, and only the hvp takes one")
    problem = _Problem(as_function(f).fn, x, tuple(args), dict(kwargs or {}), argnums)
    x_flat, n = problem.x, problem.x.size
    if derivative == "hessian" and problem.treedef.kind != "leaf":
        raise InputError("the oracle's Hessian is of an array argument; take it of the flat "
                         "vector (difflab.ravel), as the methods do")
    if vector is not None:
        vector = problem.flat_vector(vector)
    with precision(digits), object_arrays(ORACLE):
        xm = np.array([mpf(float(v)) for v in x_flat], dtype=object)
        if derivative in ("hessian", "hvp"):
            exact = _second_order(problem.f, xm, vector, progress, seeded, tangents)
        else:
            columns = []
            for start in range(0, n, BLOCK):
                seeds = _seeds(n, start, BLOCK)
                out = problem.f(seeded(xm, seeds, 0))
                columns.append(tangents(out, 0, len(seeds)))
                if progress is not None:
                    progress(min(n, start + BLOCK), n)
            exact = np.concatenate(columns, axis=1) if columns else np.zeros((1, 0), dtype=object)
    result = _to_float64(exact)
    return problem.shape(result, derivative)


def _second_order(f, xm, vector, progress, seeded, tangents):
    """Hessian rows (or H v) by jets of jets: the inner level carries all n directions, the
    outer level a block of rows (or the one direction v)."""
    n = xm.size
    inner = seeded(xm, np.eye(n), 0)
    if vector is not None:
        from .jets import mpf

        outer_seeds = np.array([[mpf(float(v)) for v in vector]], dtype=object)
        hv = _outer_pass(f, inner, outer_seeds, tangents)
        if progress is not None:
            progress(n, n)
        return hv.reshape(n)
    rows, block = [], hessian_block(n)
    for start in range(0, n, block):
        rows.append(_outer_pass(f, inner, _seeds(n, start, block), tangents))
        if progress is not None:
            progress(min(n, start + block), n)
    return np.concatenate(rows, axis=0)


def _outer_pass(f, inner, seeds, tangents):
    """The k x n block ``seeds @ H``: outer jets over inner ones, read off f's output."""
    from .jets import Jet, as_numbers

    k, n = len(seeds), inner.size
    seeds = as_numbers(seeds)
    xs = np.empty(n, dtype=object)
    for j in range(n):
        xs[j] = Jet(inner[j], seeds[:, j].copy(), 1)
    out = np.asarray(f(xs), dtype=object).reshape(-1)
    if out.size != 1:
        raise InputError(f"a Hessian needs a scalar-valued function; this one has {out.size} outputs")
    outer = tangents(out, 1, k)[0]  # k entries: inner jets (or constants) d f / d(seed)
    block = np.empty((k, n), dtype=object)
    for i, d in enumerate(outer):
        block[i] = tangents(np.array([d], dtype=object), 0, n)[0]
    return block


class _Problem:
    """``f`` as a function of one flat vector (the differentiated arguments), and the way back
    to the structure of the input, as :mod:`difflab.interface.arguments` does for the methods."""

    def __init__(self, fn, x, args, kwargs, argnums):
        call = (x,) + args
        nums = normalise_argnums(argnums)
        positions = (nums,) if isinstance(nums, int) else nums
        for i in positions:
            if not -len(call) <= i < len(call):
                raise InputError(f"argnums={argnums} but f has {len(call)} positional arguments")
        self.positions = tuple(i % len(call) for i in positions)
        self.multiple = not isinstance(nums, int)
        tree = tuple(call[i] for i in self.positions) if self.multiple else call[self.positions[0]]
        self.treedef = pytree.structure(tree)
        self.x = pytree.flatten(tree, np.float64)[0].reshape(-1)
        if not np.isfinite(self.x).all():
            raise boundary.not_finite_input("x")
        self._fn, self._args, self._kwargs = fn, call, kwargs

    def f(self, flat):
        """f at the flat object array of jets, which f sees as a view (:mod:`.view`): its
        array methods (``y.max()``) are the oracle's ops, as ``xp.max(y)`` is."""
        from .namespace import ORACLE

        return call_viewed(ORACLE, self._call, flat)

    def _call(self, flat):
        tree = pytree.unflatten(self.treedef, flat)
        call = list(self._args)
        for i, part in zip(self.positions, tree if self.multiple else (tree,)):
            call[i] = part
        return self._fn(*call, **self._kwargs)

    def flat_vector(self, v):
        vdef = pytree.structure(v)
        flat = pytree.flatten(v, np.float64)[0].reshape(-1)
        if flat.size != self.x.size or (vdef != self.treedef and vdef.kind != "leaf"):
            raise InputError(f"hvp: v is {vdef.describe()}, x is {self.treedef.describe()}")
        return flat

    def shape(self, exact: np.ndarray, derivative: str):
        """The flat result (``(m, n)`` Jacobian, ``(n, n)`` Hessian) in the input's structure."""
        n = self.x.size
        if derivative == "gradient" and exact.shape[0] != 1:
            raise InputError(f"gradient needs a scalar-valued function; this one has "
                             f"{exact.shape[0]} outputs (use jacobian)")
        if derivative in ("gradient", "hvp"):
            return pytree.unflatten(self.treedef, exact.reshape(n))
        if derivative == "jacobian":
            return pytree.unflatten(self.treedef, exact, lead=(exact.shape[0],))
        shape = self.treedef.meta or ()
        return exact.reshape(shape + shape) if shape else float(exact.reshape(()))


def hessian_block(n: int) -> int:
    """Outer tangents per pass of a Hessian (each carries n inner ones)."""
    return max(1, min(BLOCK, HESSIAN_TANGENTS // max(n, 1)))


def _seeds(n: int, start: int, block: int) -> np.ndarray:
    """Rows ``start .. start + block`` of the n x n identity, without building all of it."""
    rows = np.arange(start, min(n, start + block))
    seeds = np.zeros((rows.size, n))
    seeds[np.arange(rows.size), rows] = 1.0
    return seeds


def _mp_bytes(p) -> float:
    """Memory of one evaluation on mpmath numbers: each float64 becomes an mpf object."""
    return p.f_bytes / 8.0 * MP_BYTES


#: The oracle's cost model (:mod:`difflab.interface.cost`): tangent arithmetic on mpmath numbers
#: costs about what the values do, per tangent (measured: rosenbrock n = 100..2000,
#: 0.4 to 1.2 n evaluations' time for a gradient, 0.8 n^2 for a Hessian).
COSTS = {
    "gradient": Cost(call=lambda p: p.mp_seconds_bound * (4 + p.n),
                     memory=lambda p: _mp_bytes(p) * (1 + min(p.n, BLOCK)),
                     basis="n tangents on 50-digit numbers"),
    "hessian": Cost(call=lambda p: p.mp_seconds_bound * (4 + p.n + p.n * p.n),
                    memory=lambda p: _mp_bytes(p) * (1 + p.n) * (1 + hessian_block(p.n)),
                    basis="n^2 tangents on 50-digit numbers"),
}
COSTS["jacobian"] = COSTS["gradient"]
#: one outer tangent over the gradient's n: about two gradients' work
COSTS["hvp"] = Cost(call=lambda p: p.mp_seconds_bound * 2 * (4 + p.n),
                    memory=lambda p: _mp_bytes(p) * (1 + p.n) * 2,
                    basis="a tangent over n tangents on 50-digit numbers")


def _to_float64(values) -> np.ndarray:
    """Round to float64; a complex value (the function left the reals) becomes NaN, as in NumPy."""
    arr = np.asarray(values, dtype=object)
    if not arr.size:
        return arr.astype(float)
    return np.vectorize(_real_or_nan, otypes=[np.float64])(arr)


def _real_or_nan(v):
    try:
        return float(v)
    except TypeError:
        return float("nan")
