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

DERIVATIVES = ("gradient", "jacobian", "hessian")


def reference(f, x, derivative: str = "gradient", digits: int = 50) -> np.ndarray:
    """The derivative of ``f`` at ``x``, computed at ``digits`` digits and rounded to float64.

    Parameters
    ----------
    f : callable or difflab.Function
        Written against ``difflab.namespace``.
    x : array_like
        1-D point (float64; the point itself is taken as exact).
    derivative : {"gradient", "jacobian", "hessian"}
    digits : int
        Working precision in significant decimal digits (50 leaves ~34 digits of margin
        over float64 for cancellation inside the function).

    Returns
    -------
    ndarray of float64: (n,), (m, n) or (n, n).
    """
    import mpmath

    if derivative not in DERIVATIVES:
        raise InputError(f"the oracle computes {', '.join(DERIVATIVES)}, not {derivative!r}")
    fn = as_function(f).fn
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    engine = {"gradient": forward.gradient, "jacobian": forward.jacobian,
              "hessian": forward.hessian}[derivative]
    with mpmath.workdps(int(digits)):
        xm = np.array([mpmath.mpf(float(v)) for v in x], dtype=object)
        exact = engine(fn, xm)
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
