"""Metrics, computed on NumPy predictions, with Keras's names: ``accuracy``,
``categorical_accuracy``, ``sparse_categorical_accuracy``, ``mae`` and ``rmse``
(``RootMeanSquaredError``)."""
from __future__ import annotations

import numpy as np

from ._lookup import lookup


def accuracy(y_true, y_pred):
    """Binary accuracy (threshold 0.5) for one output, else argmax agreement (one-hot targets)."""
    if y_pred.shape[-1] == 1:
        return float(np.mean((y_pred > 0.5) == (y_true > 0.5)))
    return float(np.mean(np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)))


def categorical_accuracy(y_true, y_pred):
    """How often the arg-max of the prediction is the arg-max of the one-hot target."""
    return float(np.mean(np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)))


def sparse_categorical_accuracy(y_true, y_pred):
    """How often the arg-max of the prediction is the integer label.

    Inside ``fit`` and ``evaluate`` the targets arrive as the loss prepared them: a
    ``sparse_categorical_crossentropy`` model's labels are one-hot rows by then, and a target
    shaped like a prediction of several classes is read back as its arg-max.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape == y_pred.shape and y_pred.shape[-1] > 1:
        labels = np.argmax(y_true, axis=-1)
    else:
        labels = y_true.reshape(y_pred.shape[:-1])
    return float(np.mean(np.argmax(y_pred, axis=-1) == labels))


def mae(y_true, y_pred):
    return float(np.mean(np.abs(y_true - y_pred)))


class RootMeanSquaredError:
    """``sqrt(mean((y_true - y_pred)^2))``, as ``keras.metrics.RootMeanSquaredError``: over an
    epoch of training the root of the mean square of all its samples, not the mean of the
    batches' roots (``root_of_mean`` tells ``fit`` so)."""

    root_of_mean = True

    def __init__(self, name="root_mean_squared_error"):
        self.__name__ = self.name = name

    def __call__(self, y_true, y_pred):
        return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))


rmse = RootMeanSquaredError("rmse")


METRICS = {"accuracy": ("accuracy", accuracy), "acc": ("accuracy", accuracy),
           "categorical_accuracy": ("categorical_accuracy", categorical_accuracy),
           "sparse_categorical_accuracy": ("sparse_categorical_accuracy", sparse_categorical_accuracy),
           "mae": ("mae", mae), "mean_absolute_error": ("mae", mae),
           "rmse": ("rmse", rmse), "root_mean_squared_error": ("root_mean_squared_error", rmse)}


def get(metric):
    """``(history key, fn(y_true, y_pred) -> float)`` from a name or a callable.

    As in Keras, a name is logged under the string given: ``metrics=["acc"]`` fills
    ``history.history["acc"]``.
    """
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    _, fn = lookup("metric", metric, METRICS)
    return metric, fn
