"""Kinks in a gradient check: a failed component where the one-sided derivatives differ
(:func:`difflab.analysis.kinks.one_sided`) and the value lies between them is a ``"kink"``
row, which the policy (``kinks="warn"|"fail"|"ignore"``) turns into a warning, a failure or
nothing."""
from __future__ import annotations

import warnings

import numpy as np

from ..errors import InputError
from ..analysis.kinks import one_sided
from .report import CheckReport, Row

KINK_POLICIES = ("warn", "fail", "ignore")
#: At most this many failed components per method and point are examined for a kink.
MAX_KINK_CHECKS = 32


class KinkWarning(UserWarning):
    """The check point lies at a kink: the derivative does not exist there."""


def check_policy(kinks: str) -> None:
    if kinks not in KINK_POLICIES:
        raise InputError(f"kinks must be one of {', '.join(KINK_POLICIES)}, not {kinks!r}")


def classify_kinks(function, kind, x, rows, cache: dict) -> None:
    """Failed rows at a kink become ``"kink"`` when the value lies between the two sides.

    The worst :data:`MAX_KINK_CHECKS` failures are examined (a derivative wrong everywhere
    is not explained by kinks, and each look costs five 100-digit evaluations of f).
    A gradient component i is the derivative along e_i; a Jacobian entry (i, j) is output i
    along e_j; a Hessian entry (i, j) the second difference along e_i and e_j.
    """
    failed = sorted((r for r in rows if r.status == "fail"), key=lambda r: -r.ratio)[:MAX_KINK_CHECKS]
    if not failed:
        return
    eye = np.eye(x.size)
    outputs = np.eye(int(np.size(function(x)))) if kind == "jacobian" else None
    for row in failed:
        if row.index not in cache:
            i, j = row.index[0], row.index[-1]
            direction, readout, second = {
                "gradient": (eye[i], None, None),
                "jacobian": (eye[j], None if outputs is None else outputs[i], None),
                "hessian": (eye[j], None, eye[i]),
            }[kind]
            cache[row.index] = one_sided(function.fn, x, direction, readout, second)
        mark(row, cache[row.index])


def mark(row: Row, sides) -> None:
    if sides is None or not sides.kink:
        return
    row.left, row.right = sides.left, sides.right
    if sides.contains(row.value, row.tolerance):
        row.status = "kink"


def conclude(report: CheckReport, kinks: str) -> CheckReport:
    __tracebackhide__ = True
    if not report.ok:
        raise AssertionError(report.message())
    if report.kinks and kinks == "warn":
        warnings.warn(KinkWarning(report.message()), stacklevel=3)
    return report
