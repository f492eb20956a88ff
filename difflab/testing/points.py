"""The points and tolerances of a gradient check, checked: ``x`` and ``points - 1`` more
drawn from the Function's domain or around ``x``."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..interface.boundary import check_point
from ..errors import InputError
from ..interface.function import Function
from ..console.wording import count

#: Spread of the extra points around x: a relative perturbation (absolute where x_i = 0).
POINT_SPREAD = 0.1


def check_tolerances(rtol, atol) -> None:
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is None:
            continue
        try:
            ok = np.isfinite(float(value)) and float(value) >= 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise InputError(f"{name} must be a finite number >= 0, not {value!r}")


def sample_points(function: Function, x, points: int, seed: int) -> list:
    if np.iscomplexobj(x):
        raise InputError("x must be real; difflab checks real functions")
    x = check_point(x, np.float64, "x")
    if function.dim is not None and x.size != function.dim:
        raise InputError(f"x has {count(x.size, 'value')}, {function.name} takes {function.dim}")
    if int(points) < 1:
        raise InputError(f"points must be at least 1, not {points}")
    rng = np.random.default_rng(seed)
    out = [x]
    for _ in range(int(points) - 1):
        if function.domain is not None:
            out.append(np.asarray(function.sample(rng, x.size), dtype=float))
        else:
            spread = np.where(x != 0, np.abs(x), 1.0) * POINT_SPREAD
            out.append(x + spread * rng.standard_normal(x.size))
    return out


def dtype_of(x, dtype) -> Optional[str]:
    if dtype is not None:
        return str(np.dtype(dtype))
    return "float32" if getattr(x, "dtype", None) == np.float32 else None
