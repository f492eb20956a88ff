"""Numbers for JSON, in one place: JSON has no NaN or infinity, so they are written as null.

Every JSON writer of difflab (compare, check, the optimizer runs, the experiments) cleans its
records here; ``json.dumps(..., allow_nan=False)`` then guards that none slipped through.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np


def number(value):
    """``value`` as a float, or None for None, NaN and infinity."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def jsonable(value):
    """Dataclasses, dicts, sequences, NumPy scalars and arrays as plain JSON values; NaN and
    infinity become None, other values pass unchanged."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return number(value)
    return value
