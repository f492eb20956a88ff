"""Applying stencils to a black-box function: Jacobians, Hessians, complex steps, error bounds.

Every evaluation goes through a :class:`Sampler`, which evaluates ``f`` at ``x`` shifted by
integer multiples of per-coordinate steps, counts evaluations, tracks the size of the
values (for the rounding bound) and, where points repeat (Hessians, estimates at two
steps), evaluates each point once. It keeps only the points moved along one coordinate
(O(n) of them); a Hessian visits each pair of coordinates once, so the points moved along
two, n^2 of them, are used as they come and never stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .stencils import Stencil

#: Evaluation noise is taken as NOISE_ULPS * eps * |f|: a function rounds a number of times.
NOISE_ULPS = 16.0
#: Truncation estimates (from comparing steps) are doubled: they are exact only
#: asymptotically, and higher-order terms can make the true error larger.
TRUNCATION_SAFETY = 2.0


@dataclass
class FDEstimate:
    """A finite-difference derivative with its error estimate.

    Attributes
    ----------
    value : ndarray
        The derivative: (n,) gradient, (m, n) Jacobian or (n, n) Hessian.
    error : ndarray or None
        Estimated bound on ``|value - exact|``, element-wise (None when not asked for).
    evaluations : int
        Function evaluations spent (complex evaluations for ``fd-complex``).
    step : ndarray
        The step per coordinate (``fd-richardson``: the largest of its steps).
    library_error : ndarray or None
        ``fd-numdifftools`` and ``fd-scipy``: the library's own element-wise error estimate,
        as it reported it; ``error`` is :func:`library_bound` of it. None for difflab's own
        methods.
    """

    value: np.ndarray
    error: Optional[np.ndarray]
    evaluations: int
    step: np.ndarray
    library_error: Optional[np.ndarray] = None


class Sampler:
    """``shift -> f(x + sum_j m_j h_j e_j)`` as a flat array; ``shift`` is ((j, m_j), ...).

    With ``memo``, values at points moved along at most one coordinate are kept and reused.
    """

    def __init__(self, f: Callable, x: np.ndarray, h: np.ndarray, memo: bool = False):
        self.f, self.x, self.h = f, x, h
        self.evaluations = 0
        self.magnitude = None  # element-wise max |f| over the points evaluated
        self._memo = {} if memo else None
        self._centre = None  # f(x) itself is kept even without a memo (forward differences)
        self._point = x.copy()

    def __call__(self, shift=()) -> np.ndarray:
        if not shift and self._centre is not None:
            return self._centre
        if self._memo is not None and shift in self._memo:
            return self._memo[shift]
        point = self._point
        for j, m in shift:
            point[j] = self.x[j] + m * self.h[j]
        try:
            out = np.array(self.f(point), copy=True).reshape(-1)
        finally:
            for j, _ in shift:
                point[j] = self.x[j]
        self.evaluations += 1
        size = np.abs(out)
        self.magnitude = size if self.magnitude is None else np.fmax(self.magnitude, size)
        if self._memo is not None and len(shift) <= 1:
            self._memo[shift] = out
        if not shift:
            self._centre = out
        return out


def shifted(shift: tuple, j: int, m: int) -> tuple:
    """``shift`` moved by ``m`` steps along coordinate ``j`` (canonical: sorted, no zeros)."""
    moves = dict(shift)
    moves[j] = moves.get(j, 0) + m
    return tuple(sorted((k, v) for k, v in moves.items() if v != 0))


def differentiate(sample: Sampler, stencil: Stencil, order: int = 1, mult: int = 1,
                  base: tuple = ()) -> np.ndarray:
    """The stencil applied ``order`` times at step ``mult * h``.

    Order 1 gives the Jacobian (m, n); order 2 the stencil's Jacobian of its own
    Jacobian, (m, n, n), which for a scalar function is the Hessian.
    """
    if order == 2 and not base:
        return _second(sample, stencil, mult)
    columns = []
    for j in range(sample.x.size):
        total = 0
        for offset, weight in zip(stencil.offsets, stencil.weights):
            at = shifted(base, j, offset * mult)
            inner = sample(at) if order == 1 else differentiate(sample, stencil, order - 1, mult, at)
            total = total + weight * inner
        columns.append(total / (mult * sample.h[j]))
    return np.stack(columns, axis=-1)


def _second(sample: Sampler, stencil: Stencil, mult: int) -> np.ndarray:
    """The stencil across coordinates j and k, for each pair j <= k once (the point moved
    along both is used there and nowhere else), mirrored: (m, n, n)."""
    n, taps = sample.x.size, list(zip(stencil.offsets, stencil.weights))
    out = None
    for j in range(n):
        for k in range(j, n):
            total = 0
            for a, wa in taps:
                for b, wb in taps:
                    total = total + wa * wb * sample(shifted(shifted((), j, a * mult), k, b * mult))
            value = total / (mult * sample.h[j]) / (mult * sample.h[k])
            if out is None:
                out = np.empty(np.shape(value) + (n, n), dtype=np.result_type(value))
            out[..., j, k] = out[..., k, j] = value
    return out


def rounding_bound(sample: Sampler, stencil: Stencil, order: int, mult: int = 1,
                   jacobian: Optional[np.ndarray] = None) -> np.ndarray:
    """Bound on the evaluation noise in ``differentiate(sample, stencil, order, mult)``.

    Noise in f is ``NOISE_ULPS * eps * max|f|`` over the points used, or, when larger, what
    rounding x to its own precision does to f (``eps * sum_j |J_ij| |x_j|``, needs the
    Jacobian); the stencil amplifies it by ``R / h`` per level.
    """
    eps = float(np.finfo(sample.x.dtype).eps)
    noise = NOISE_ULPS * eps * sample.magnitude.astype(np.float64)
    if jacobian is not None:
        noise = np.fmax(noise, NOISE_ULPS * eps * (np.abs(jacobian) @ np.abs(sample.x.astype(np.float64))))
    gain = stencil.noise_gain / (mult * np.abs(sample.h.astype(np.float64)))
    if order == 1:
        return noise[:, None] * gain[None, :]
    return noise[:, None, None] * gain[None, :, None] * gain[None, None, :]


def complex_step_jacobian(f: Callable, x: np.ndarray, h: np.ndarray):
    """``J[:, j] = Im f(x + i h_j e_j) / h_j``; returns (J, evaluations, max |f|)."""
    ctype = np.result_type(x.dtype, np.complex64)
    point = x.astype(ctype)
    columns, magnitude = [], None
    for j in range(x.size):
        point[j] = x[j] + 1j * h[j]
        try:
            out = np.asarray(f(point)).reshape(-1)
        finally:
            point[j] = x[j]
        columns.append(np.imag(out) / h[j])
        size = np.abs(np.real(out))
        magnitude = size if magnitude is None else np.fmax(magnitude, size)
    return np.stack(columns, axis=-1), x.size, magnitude


def library_bound(own: np.ndarray) -> np.ndarray:
    """A bound made from a library's element-wise error estimate ((m, n) or (m, n, n)): each
    entry gets the largest estimate among the derivatives of its output, doubled
    (:data:`TRUNCATION_SAFETY`, as difflab's own truncation estimates).

    The libraries estimate an entry's error from how it changed between steps; where an
    entry is small, that change can be far below the rounding noise of f's values, which
    every entry of one output's row shares (measured: numdifftools' logsumexp gradient 6x
    its own estimate, SciPy's Rosenbrock gradient 7x; docs/finite-differences.md).
    """
    own = np.abs(np.asarray(own, dtype=np.float64))
    axes = tuple(range(1, own.ndim))
    widest = np.max(np.nan_to_num(own, nan=np.inf), axis=axes, keepdims=True) if own.size else own
    return TRUNCATION_SAFETY * np.broadcast_to(widest, own.shape).copy()


def symmetrise(h: np.ndarray) -> np.ndarray:
    """(H + H^T) / 2 over the last two axes."""
    return 0.5 * (h + np.swapaxes(h, -1, -2))
