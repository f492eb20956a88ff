"""The oracle: exact derivatives, by difflab's forward mode over mpmath numbers.

Every error figure in difflab is measured against this, never against another method under
test. It runs the user's function on NumPy object arrays of ``mpmath.mpf`` at ``digits``
significant digits, so it follows control flow like any AD method, and rounds the result
to float64 once at the end.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from .ad import forward
from .cost import MP_BYTES, Cost
from .errors import InputError
from .function import as_function
from .precision import mpmath_digits

DERIVATIVES = ("gradient", "jacobian", "hessian", "hvp")


#: Tangents per forward pass: the oracle works the Jacobian's columns a block at a time,
#: so its memory is this many tangents of every intermediate, not n, and it can report
#: progress; recomputing the values once per block costs about 1/BLOCK more time.
BLOCK = 128
#: For a Hessian each outer tangent carries n inner ones: at most this many tangents a pass.
HESSIAN_TANGENTS = 4096


def reference(f, x, derivative: str = "gradient", digits: int = 50,
              progress: Optional[Callable[[int, int], None]] = None, vector=None) -> np.ndarray:
    """The derivative of ``f`` at ``x``, computed at ``digits`` digits and rounded to float64.

    Parameters
    ----------
    f : callable or difflab.Function
        Written against ``difflab.namespace``.
    x : array_like
        1-D point (float64; the point itself is taken as exact).
    derivative : {"gradient", "jacobian", "hessian", "hvp"}
    digits : int
        Working precision in significant decimal digits (50 leaves ~34 digits of margin
        over float64 for cancellation inside the function).
    progress : callable, optional
        Called as ``progress(columns done, n)`` after each block of columns.
    vector : array_like, optional
        The direction ``v`` of an ``hvp`` (shape (n,), taken as exact); only for ``hvp``.

    Returns
    -------
    ndarray of float64: (n,), (m, n), (n, n) or, for ``hvp``, (n,): ``H(x) v`` by forward
    over forward mode, one directional pass over the n-tangent gradient.

    Cost: about n mpmath evaluations of ``f`` for a gradient, a Jacobian or an hvp, n^2 for
    a Hessian (:data:`COSTS`); ``difflab compare`` estimates it before it starts.
    """
    import mpmath

    if derivative not in DERIVATIVES:
        raise InputError(f"the oracle computes {', '.join(DERIVATIVES)}, not {derivative!r}")
    fn = as_function(f).fn
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if (vector is None) != (derivative != "hvp"):
        raise InputError("the oracle's hvp needs a vector, and only the hvp takes one")
    if vector is not None:
        vector = np.asarray(vector, dtype=np.float64).reshape(-1)
        if vector.shape != x.shape:
            raise InputError(f"hvp: the vector has {vector.size} entries, x has {x.size}")
    n = x.size
    if derivative in ("hessian", "hvp"):
        inner, block = (lambda y: forward.gradient(fn, y)), hessian_block(n)
    else:
        inner, block = fn, BLOCK
    with mpmath_digits(int(digits)):  # one thread at a time: mpmath's digits are global
        xm = np.array([mpmath.mpf(float(v)) for v in x], dtype=object)
        if vector is not None:  # one tangent: v itself, exact
            seed = np.array([[mpmath.mpf(float(v)) for v in vector]], dtype=object)
            hv = forward.tangents(inner, xm, seed).reshape(n)
            if progress is not None:
                progress(n, n)
            return _to_float64(hv)
        columns = []
        for start in range(0, n, block):
            columns.append(forward.tangents(inner, xm, _seeds(n, start, block)))
            if progress is not None:
                progress(min(n, start + block), n)
        exact = np.concatenate(columns, axis=1) if columns else np.zeros((1, 0), dtype=object)
    if derivative == "gradient":
        if exact.shape[0] != 1:
            raise InputError(f"gradient needs a scalar-valued function; this one has "
                             f"{exact.shape[0]} outputs (use jacobian)")
        exact = exact.reshape(n)
    return _to_float64(exact)


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


#: The oracle's cost model (:mod:`difflab.cost`): tangent arithmetic on mpmath numbers
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
