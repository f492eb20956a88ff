"""Richardson extrapolation over a sequence of steps h, h/r, h/r^2, ... with an error estimate.

If ``D(h) = D + c1 h^e1 + c2 h^e2 + ...`` then combining ``D(h)`` and ``D(h/r)`` removes the
``h^e1`` term; repeating builds the Neville tableau ``T[k][j]`` (step index k, j terms
removed). As in numdifftools, each entry's error is estimated from how much the last
elimination changed it and how much it differs from its neighbour at the next larger step
(both must be small), plus the evaluation noise, which every elimination amplifies; the entry with the smallest
estimate wins, element by element.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Extrapolation:
    """The chosen estimate, its error estimate, and where in the tableau it came from."""

    value: np.ndarray
    error: np.ndarray
    truncation: np.ndarray
    rounding: np.ndarray
    terms_removed: np.ndarray


def tableau(estimates, noise, ratio: float, exponents):
    """The Neville tableau of ``estimates`` (largest step first) and its noise bounds.

    Returns ``(T, N)``: ``T[k][j]`` is the estimate from steps ``0..k`` with ``j`` error terms
    removed, ``N[k][j]`` a bound on the evaluation noise in it (``noise[k]`` for ``j = 0``).
    """
    T = [[np.asarray(e)] for e in estimates]
    N = [[np.asarray(s)] for s in noise]
    for j in range(1, len(estimates)):
        factor = 1.0 / (ratio ** exponents[j - 1] - 1.0)
        for k in range(j, len(estimates)):
            fine, coarse = T[k][j - 1], T[k - 1][j - 1]
            T[k].append(fine + (fine - coarse) * factor)
            N[k].append(N[k][j - 1] * (1 + factor) + N[k - 1][j - 1] * factor)
    return T, N


def extrapolate(estimates, noise, ratio: float, exponents) -> Extrapolation:
    """Best element-wise Richardson estimate from ``estimates`` at steps h, h/r, h/r^2, ...

    Parameters
    ----------
    estimates : sequence of arrays
        ``D(h / r^k)`` for k = 0, 1, ... (largest step first), all of one shape; at least 3.
    noise : sequence of arrays
        Bounds on the evaluation noise of each estimate (``R eps |f| / h_k``).
    ratio : float
        r, the step reduction factor.
    exponents : sequence of int
        Powers of h in the error expansion (2, 4, 6, ... for central differences).
    """
    T, N = tableau(estimates, noise, ratio, exponents)
    values, truncs, rounds, terms = [], [], [], []
    for k in range(2, len(estimates)):
        for j in range(1, k):  # both neighbours exist: one agreement alone can be luck
            change = np.maximum(np.abs(T[k][j] - T[k][j - 1]), np.abs(T[k][j] - T[k - 1][j]))
            values.append(T[k][j])
            truncs.append(change)
            rounds.append(N[k][j])
            terms.append(np.full(np.shape(T[k][j]), j))
    values, truncs, rounds, terms = map(np.stack, (values, truncs, rounds, terms))
    total = truncs + rounds
    total = np.where(np.isfinite(total) & np.isfinite(values), total, np.inf)
    best = np.argmin(total, axis=0)[None]
    pick = lambda a: np.take_along_axis(a, best, axis=0)[0]  # noqa: E731
    return Extrapolation(pick(values), pick(total), pick(truncs), pick(rounds), pick(terms))


def halving_error(coarse, fine, ratio: float, exponent: int):
    """Truncation error of ``fine = D(h/r)`` estimated from ``coarse = D(h)``: the h^e term."""
    return np.abs(np.asarray(fine) - np.asarray(coarse)) / (ratio ** exponent - 1.0)
