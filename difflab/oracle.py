"""The oracle: exact derivatives, by difflab's forward mode over mpmath numbers.

Every error figure in difflab is measured against this, never against another method under
test. It runs the user's function on NumPy object arrays of ``mpmath.mpf`` at ``digits``
significant digits, so it follows control flow like any AD method, and rounds the result
to float64 once at the end.
"""
from __future__ import annotations

import numpy as np

from .ad import forward
from .errors import InputError
from .function import as_function

DERIVATIVES = ("gradient", "jacobian", "hessian", "hvp")


def reference(f, x, derivative: str = "gradient", digits: int = 50, vector=None) -> np.ndarray:
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
    vector : array_like, optional
        The direction ``v`` of an ``hvp`` (shape (n,), taken as exact); only for ``hvp``.

    Returns
    -------
    ndarray of float64: (n,), (m, n), (n, n) or, for ``hvp``, (n,) (``H(x) v``, by forward
    over forward mode at ``digits`` digits: one directional pass over the gradient).
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
    engine = {"gradient": forward.gradient, "jacobian": forward.jacobian,
              "hessian": forward.hessian, "hvp": forward.hvp}[derivative]
    with mpmath.workdps(int(digits)):
        exact_array = lambda a: np.array([mpmath.mpf(float(v)) for v in a], dtype=object)  # noqa: E731
        xm = exact_array(x)
        exact = engine(fn, xm) if vector is None else engine(fn, xm, exact_array(vector))
        return _to_float64(exact)


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
