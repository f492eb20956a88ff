"""The exact side of a gradient check: the oracle's derivative at a point (mpmath at
:data:`DIGITS` digits), its condition and scale for the tolerance model, and the one-line
InputErrors where f or the oracle cannot give one there."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..analysis.environment import one_line
from ..errors import InputError, NotSupported
from ..interface.function import Function
from . import tolerance as tol

#: Working precision of the oracle.
DIGITS = 50
#: Order of differentiation per kind (the rounding allowance grows with it).
ORDER = {"hessian": 2}


@dataclass
class Reference:
    """The exact derivative at one point, with what its tolerances need."""

    x: np.ndarray
    value: np.ndarray
    condition: Optional[np.ndarray]
    scale: float
    order: int = 1


def exact_reference(function: Function, x: np.ndarray, kind: str, condition: bool = True,
                    seed: int = 0) -> Reference:
    """The oracle's derivative at ``x``, plus what the tolerance model needs."""
    from ..analysis.oracle import reference as oracle

    f_value = value_at(function, x)
    value = oracle_value(function, x, kind, lambda: oracle(function, x, derivative=kind, digits=DIGITS))
    kappa = None
    if condition:
        signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=x.size)
        kappa = measured_condition(lambda y: oracle(function, y, derivative=kind, digits=DIGITS), x, value, signs)
    lower = oracle(function, x, derivative="gradient", digits=DIGITS) if kind == "hessian" else f_value
    return Reference(x, value, kappa, tol.floor_scale(value, lower, x), ORDER.get(kind, 1))


def measured_condition(evaluate: Callable, x: np.ndarray, value, signs) -> np.ndarray:
    """kappa: ``|r(x (1 + step sigma)) - r(x)| / step``, measured with the oracle.

    Where the moved point leaves the function's domain (arcsin next to 1) the mirrored
    move ``-sigma`` is used; per component the larger of the finite measurements counts,
    and a component neither measures gets 0.
    """
    found = []
    for direction in (signs, -signs):
        try:
            moved = np.asarray(evaluate(x * (1 + tol.CONDITION_STEP * direction)), dtype=float)
        except Exception:  # noqa: BLE001 - the moved point is outside the domain
            continue
        found.append(np.abs(moved - value) / tol.CONDITION_STEP)
        if np.all(np.isfinite(found[-1])):
            break
    if not found:
        return np.zeros_like(np.asarray(value, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN components
        kappa = np.nanmax(np.where(np.isfinite(found), found, np.nan), axis=0)
    return np.where(np.isfinite(kappa), kappa, 0.0)


def value_at(function: Function, x: np.ndarray) -> np.ndarray:
    """``f(x)`` as floats; an InputError where it raises, is not made of numbers or not finite."""
    where = point_text(x)
    try:
        with np.errstate(all="ignore"):  # a NaN or infinity is reported below, in one line
            f_value = function(x)
    except Exception as exc:  # noqa: BLE001 - the user's function fails at this point
        raise InputError(f"{function.name} fails at {where}: {one_line(exc)}") from exc
    f_value = real_values(f_value, f"{function.name} at {where}")
    if not np.all(np.isfinite(f_value)):
        raise InputError(f"{function.name} is not finite at {where} (f = "
                         f"{np.array2string(f_value, threshold=8)}): no derivative to check there")
    return f_value


def oracle_value(function: Function, x: np.ndarray, kind: str, call: Callable):
    """``call()`` (an oracle evaluation), its failures and non-finite results an InputError."""
    try:
        value = np.asarray(call(), dtype=float)
    except (InputError, NotSupported):
        raise
    except (TypeError, AttributeError) as exc:  # the function does not run on mpmath numbers
        raise InputError(f"the oracle cannot run {function.name} on mpmath numbers ({one_line(exc)}); "
                         f"write it with xp = difflab.namespace(x)") from exc
    except Exception as exc:  # noqa: BLE001 - a pole or a domain error at this point
        raise InputError(f"the oracle fails on {function.name} at {point_text(x)} ({one_line(exc)}): "
                         f"the {kind} may not exist there") from exc
    if not np.all(np.isfinite(value)):
        raise InputError(f"the exact {kind} of {function.name} is not finite at {point_text(x)}: "
                         f"the derivative does not exist there")
    return value


def point_text(x) -> str:
    return f"x = {np.array2string(np.asarray(x), threshold=8)}"


def real_values(values, what: str) -> np.ndarray:
    """``values`` as a float array, or an InputError naming what was returned instead."""
    arr = np.asarray(values)
    if arr.dtype == object and any(v is None for v in arr.flat):
        raise InputError(f"{what} returned {describe(values)}, not numbers")
    if np.iscomplexobj(arr):
        raise InputError(f"{what} returned complex values; difflab checks real functions")
    try:
        return np.asarray(arr, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{what} returned {describe(values)}, not numbers") from None


def describe(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"a {type(value).__name__}"

