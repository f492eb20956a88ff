"""Step rules: validate a step option, the ``"auto"`` rule, and exactly representable steps.

``"auto"`` is the stencil's error-optimal relative step (see :mod:`.stencils`) for the
method's dtype, scaled per coordinate by ``max(|x_i|, 1)`` so that the perturbation stays
well above the spacing of floating-point numbers near ``x_i``. A number is an absolute step.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import InputError

AUTO = "auto"


def check_step(value, option: str = "step", dtype=None):
    """``"auto"`` or a positive finite number (in ``dtype``, when given: not rounded to 0 or
    inf there); anything else is an :class:`InputError`."""
    if isinstance(value, str):
        if value == AUTO:
            return value
        raise InputError(f"{option} must be 'auto' or a positive number, not {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{option} must be 'auto' or a positive number, not {value!r}")
    if not math.isfinite(float(value)) or float(value) <= 0.0:
        raise InputError(f"{option} must be a positive finite number, not {value!r}")
    if dtype is not None:
        with np.errstate(over="ignore"):
            rounded = float(np.asarray(value, dtype=dtype))
        if rounded == 0.0 or not math.isfinite(rounded):
            info = np.finfo(dtype)
            raise InputError(f"{option} {float(value):g} rounds to {rounded:g} in {np.dtype(dtype).name}; "
                             f"take one between {float(info.tiny):.3g} and {float(info.max):.3g}")
    return float(value)


def check_count(value, option: str, low: int = 1, high: int = None):
    """An integer option of at least ``low`` (and at most ``high``, when given)."""
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low
            or (high is not None and value > high)):
        wanted = f"from {low} to {high}" if high is not None else f">= {low}"
        raise InputError(f"{option} must be an integer {wanted}, not {value!r}")
    return int(value)


def scale(x: np.ndarray) -> np.ndarray:
    """Per-coordinate scale ``max(|x_i|, 1)``."""
    return np.maximum(np.abs(x), 1).astype(x.dtype)


def steps(option, relative: float, scale: np.ndarray, dtype) -> np.ndarray:
    """Per-coordinate steps: ``relative * scale`` for ``"auto"``, else the number itself."""
    if option == AUTO:
        return (relative * np.asarray(scale, dtype=np.float64)).astype(dtype)
    return np.full(np.shape(scale), option, dtype=dtype)


def representable(x: np.ndarray, h: np.ndarray, symmetric: bool) -> np.ndarray:
    """Steps ``h'`` with ``x + h'`` exactly representable: ``h' = (x + h) - x``.

    For a symmetric stencil the step is signed away from zero, so that ``x + h'`` (the point
    of larger magnitude) and ``x - h'`` (toward zero, a multiple of ulp(x)) are both exact;
    a symmetric stencil does not care about the sign of its step.
    """
    h = np.asarray(h, dtype=x.dtype)
    if symmetric:
        h = np.where(x < 0, -h, h)
    exact = (x + h) - x
    # A step below the spacing of x rounds to zero: keep the smallest step that moves x.
    tiny = np.abs(np.spacing(x)) * np.where(h < 0, -1, 1)
    return np.where(exact == 0, tiny, exact).astype(x.dtype)
