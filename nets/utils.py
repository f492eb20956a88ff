"""Keras's small helpers: :func:`to_categorical`."""
from __future__ import annotations

import numpy as np


def to_categorical(y, num_classes=None, dtype="float64"):
    """One-hot rows for integer class labels, as ``keras.utils.to_categorical``.

    ``y`` of shape ``s`` gives shape ``s + (num_classes,)`` (a trailing axis of length 1 is
    dropped first, as Keras does); ``num_classes`` defaults to ``max(y) + 1``. Labels that are
    not whole numbers in ``[0, num_classes)`` are a ValueError (Keras would cast 1.7 to 1 or
    fail with an IndexError).
    """
    try:
        labels = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"to_categorical takes integer class labels: {exc}") from None
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = labels.reshape(-1)
    if labels.size == 0:
        raise ValueError("to_categorical got no labels")
    if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)) or np.any(labels < 0):
        bad = labels[~np.isfinite(labels) | (labels != np.round(labels)) | (labels < 0)][0]
        raise ValueError(f"to_categorical takes whole-number labels >= 0, found {bad:g}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    else:
        try:
            whole = not isinstance(num_classes, (str, bool)) and int(num_classes) == num_classes >= 1
        except (TypeError, ValueError):
            whole = False
        if not whole:
            raise ValueError(f"num_classes must be a positive whole number, got {num_classes!r}")
    num_classes = int(num_classes)
    if labels.max() >= num_classes:
        raise ValueError(f"label {labels.max():g} is out of range for num_classes={num_classes}")
    categorical = np.zeros((labels.size, num_classes), dtype=dtype)
    categorical[np.arange(labels.size), labels.astype(int)] = 1
    return categorical.reshape(shape + (num_classes,))


def positive_int(value, what):
    """``value`` as an int when it is a whole number >= 1, else a ValueError naming ``what``."""
    try:
        ok = int(value) == value and value >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)
