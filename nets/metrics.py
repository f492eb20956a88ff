"""Metrics, computed on NumPy predictions: ``accuracy`` and ``mae`` (Keras names)."""
from __future__ import annotations

import numpy as np

from ._lookup import lookup


def accuracy(y_true, y_pred):
    """Binary accuracy (threshold 0.5) for one output, else argmax agreement (one-hot targets)."""
    if y_pred.shape[-1] == 1:
        return float(np.mean((y_pred > 0.5) == (y_true > 0.5)))
    return float(np.mean(np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)))


def mae(y_true, y_pred):
    return float(np.mean(np.abs(y_true - y_pred)))


METRICS = {"accuracy": ("accuracy", accuracy), "acc": ("accuracy", accuracy),
           "mae": ("mae", mae), "mean_absolute_error": ("mae", mae)}


def get(metric):
    """``(history key, fn(y_true, y_pred) -> float)`` from a name or a callable.

    As in Keras, a name is logged under the string given: ``metrics=["acc"]`` fills
    ``history.history["acc"]``.
    """
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    _, fn = lookup("metric", metric, METRICS)
    return metric, fn
