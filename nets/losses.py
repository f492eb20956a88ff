"""Losses with Keras semantics: a value per sample, averaged over the batch.

Each loss is written once with ``difflab.namespace`` (what every difflab method
differentiates) and carries its hand-derived gradient with respect to the predictions
(what the ``manual`` path uses). Cross-entropies take probabilities, as Keras does by
default (``from_logits=True`` takes the raw scores instead, see :class:`Crossentropy`), and clip them to ``[EPSILON, 1 - EPSILON]``; ``categorical_crossentropy`` first
rescales each row to sum to one, as Keras does. (Keras's TensorFlow backend alone switches
to the logits when the probabilities come straight from a sigmoid or softmax; it agrees
with this until a probability leaves the clipping range.)

Any callable ``loss(y_true, y_pred)`` written with ``difflab.namespace`` works as a loss;
it may return one value per sample or a scalar. It has no hand-derived gradient unless it
is a :class:`Loss` given one, so the ``manual`` path refuses it with a clear message.
"""
from __future__ import annotations

import numpy as np

import difflab

from ._lookup import lookup

#: Keras's fuzz factor ``keras.backend.epsilon()``.
EPSILON = 1e-7


class Loss:
    """A loss: ``per_sample(xp, y_true, y_pred)`` and, for ``manual``, ``gradient``.

    ``y_true`` arrives as a float array shaped like the predictions (targets are prepared
    once by :meth:`prepare_targets`, sparse labels one-hot encoded).
    """

    name = "loss"

    def __call__(self, y_true, y_pred):
        """The mean over the batch of the per-sample losses (Keras ``sum_over_batch_size``)."""
        xp = difflab.namespace(y_pred)
        return xp.mean(self.per_sample(xp, xp.asarray(y_true), y_pred))

    def per_sample(self, xp, y_true, y_pred):
        raise NotImplementedError

    def gradient(self, y_true, y_pred):
        """d(mean loss)/d(y_pred) on NumPy arrays; None where no hand-derived one exists."""
        return None

    def get_config(self) -> dict:
        """The constructor's options that differ from the defaults (saved with the model)."""
        return {}

    def prepare_targets(self, y, units: int) -> np.ndarray:
        """Check ``y`` against an output of ``units`` and return float targets (n, units)."""
        y = _finite_array(y, "y")
        if y.ndim == 1 and units == 1:
            y = y.reshape(-1, 1)
        if y.ndim != 2 or y.shape[1] != units:
            raise ValueError(f"y has shape {y.shape} but the model outputs {units} value(s) per "
                             f"sample; expected ({y.shape[0]}, {units})"
                             + (" or integer labels with loss='sparse_categorical_crossentropy'"
                                if units > 1 and y.ndim == 1 else ""))
        return y

    def __repr__(self):
        return f"<loss {self.name}>"


def _finite_array(a, what):
    if a is None:
        raise ValueError(f"{what} is missing (got None)")
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be an array of numbers: {exc}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or infinity")
    return arr


class MeanSquaredError(Loss):
    name = "mean_squared_error"

    def per_sample(self, xp, y_true, y_pred):
        return xp.mean(xp.square(y_pred - y_true), axis=-1)

    def gradient(self, y_true, y_pred):
        return 2.0 * (y_pred - y_true) / y_pred.size


class MeanAbsoluteError(Loss):
    name = "mean_absolute_error"

    def per_sample(self, xp, y_true, y_pred):
        return xp.mean(xp.abs(y_pred - y_true), axis=-1)

    def gradient(self, y_true, y_pred):
        return np.sign(y_pred - y_true) / y_pred.size


def _clip_mask(p):
    return ((p >= EPSILON) & (p <= 1.0 - EPSILON)).astype(float)


class Crossentropy(Loss):
    """A cross-entropy on probabilities (Keras's default) or, with ``from_logits=True``, on the
    raw scores z of a linear output layer, written in the stable forms TensorFlow uses:
    ``max(z, 0) - z y + log1p(exp(-|z|))`` for the binary one and ``-sum y (z - logsumexp z)``
    for the categorical ones; nothing is clipped, so the loss keeps growing with a wrong
    confident score."""

    def __init__(self, from_logits=False):
        self.from_logits = bool(from_logits)

    def per_sample(self, xp, y_true, y_pred):
        if self.from_logits:
            return self.per_sample_from_logits(xp, y_true, y_pred)
        return self.per_sample_from_probabilities(xp, y_true, y_pred)

    def gradient(self, y_true, y_pred):
        if self.from_logits:
            return self.gradient_from_logits(y_true, y_pred)
        return self.gradient_from_probabilities(y_true, y_pred)

    def get_config(self):
        return {"from_logits": True} if self.from_logits else {}

    def __repr__(self):
        return f"<loss {self.name}{' from logits' if self.from_logits else ''}>"


class BinaryCrossentropy(Crossentropy):
    name = "binary_crossentropy"

    def per_sample_from_logits(self, xp, y_true, z):
        return xp.mean(xp.maximum(z, 0.0) - z * y_true + xp.log1p(xp.exp(-xp.abs(z))), axis=-1)

    def gradient_from_logits(self, y_true, z):
        return (0.5 * (1.0 + np.tanh(0.5 * z)) - y_true) / z.size  # sigmoid(z), without overflow

    def per_sample_from_probabilities(self, xp, y_true, y_pred):
        p = xp.clip(y_pred, EPSILON, 1.0 - EPSILON)
        return -xp.mean(y_true * xp.log(p) + (1.0 - y_true) * xp.log(1.0 - p), axis=-1)

    def gradient_from_probabilities(self, y_true, y_pred):
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        return _clip_mask(y_pred) * ((1.0 - y_true) / (1.0 - p) - y_true / p) / y_pred.size

    def prepare_targets(self, y, units):
        y = super().prepare_targets(y, units)
        if np.any((y < 0) | (y > 1)):
            raise ValueError("binary_crossentropy needs targets in [0, 1]; "
                             f"got values from {y.min():g} to {y.max():g}")
        return y


class CategoricalCrossentropy(Crossentropy):
    name = "categorical_crossentropy"

    def per_sample_from_logits(self, xp, y_true, z):
        return -xp.sum(y_true * (z - xp.logsumexp(z, axis=-1, keepdims=True)), axis=-1)

    def gradient_from_logits(self, y_true, z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        softmax = e / e.sum(axis=-1, keepdims=True)
        return (softmax * y_true.sum(axis=-1, keepdims=True) - y_true) / z.shape[0]

    def per_sample_from_probabilities(self, xp, y_true, y_pred):
        q = y_pred / xp.sum(y_pred, axis=-1, keepdims=True)
        return -xp.sum(y_true * xp.log(xp.clip(q, EPSILON, 1.0 - EPSILON)), axis=-1)

    def gradient_from_probabilities(self, y_true, y_pred):
        s = np.sum(y_pred, axis=-1, keepdims=True)
        q = y_pred / s
        g_q = -_clip_mask(q) * y_true / np.clip(q, EPSILON, 1.0 - EPSILON)
        g_p = (g_q - np.sum(g_q * q, axis=-1, keepdims=True)) / s
        return g_p / y_pred.shape[0]


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Integer labels; one-hot encoded once, then :class:`CategoricalCrossentropy`."""

    name = "sparse_categorical_crossentropy"

    def prepare_targets(self, y, units):
        labels = _finite_array(y, "y")
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1:
            raise ValueError(f"sparse_categorical_crossentropy needs integer labels of shape (n,), "
                             f"got shape {labels.shape}")
        if np.any(labels != np.round(labels)) or np.any((labels < 0) | (labels >= units)):
            bad = labels[(labels != np.round(labels)) | (labels < 0) | (labels >= units)][0]
            raise ValueError(f"labels must be integers in [0, {units}) for a {units}-unit output; "
                             f"found {bad:g}")
        return np.eye(units)[labels.astype(int)]


class CostProfit(Loss):
    """The asymmetric loss of the TF2 notes' sales example: over-predicting costs ``cost`` per
    unit, under-predicting loses ``profit`` per unit.

    ``sum over the batch of where(y_pred > y_true, (y_pred - y_true) cost, (y_true - y_pred) profit)``:
    a sum, as the notes write it (``reduction="mean"`` for Keras's mean over the batch). Not
    differentiable where a prediction meets its target; there every method takes the
    ``profit`` branch (the comparison is false), and so does the hand-derived gradient.
    It takes parameters, so it is not among the names ``get`` knows: pass the object.
    """

    name = "cost_profit"

    def __init__(self, cost=1.0, profit=99.0, reduction="sum"):
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")
        for what, value in (("cost", cost), ("profit", profit)):
            if not (isinstance(value, (int, float, np.number)) and np.isfinite(value) and value >= 0):
                raise ValueError(f"{what} must be a finite number >= 0, got {value!r}")
        self.cost, self.profit, self.reduction = float(cost), float(profit), reduction

    def __call__(self, y_true, y_pred):
        xp = difflab.namespace(y_pred)
        per_sample = self.per_sample(xp, xp.asarray(y_true), y_pred)
        return xp.sum(per_sample) if self.reduction == "sum" else xp.mean(per_sample)

    def per_sample(self, xp, y_true, y_pred):
        # d > 0 exactly when y_pred > y_true (IEEE subtraction is 0 only for equal numbers);
        # compared with 0, not with the data array, which the compiled tape cannot guard.
        d = y_pred - y_true
        return xp.sum(xp.where(d > 0, d * self.cost, -d * self.profit), axis=-1)

    def gradient(self, y_true, y_pred):
        g = np.where(y_pred > y_true, self.cost, -self.profit).astype(np.result_type(y_pred, np.float32))
        return g if self.reduction == "sum" else g / y_pred.shape[0]

    def __repr__(self):
        return f"<loss cost_profit cost={self.cost:g} profit={self.profit:g} reduction={self.reduction}>"


class CallableLoss(Loss):
    """A user's ``loss(y_true, y_pred)`` written with ``difflab.namespace``."""

    def __init__(self, fn):
        self.fn = fn
        self.name = getattr(fn, "__name__", "custom_loss")

    def per_sample(self, xp, y_true, y_pred):
        return self.fn(y_true, y_pred)


LOSSES = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(loss) -> Loss:
    """A :class:`Loss` from a name, a Loss, or a callable ``loss(y_true, y_pred)``."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    if callable(loss):
        return CallableLoss(loss)
    return lookup("loss", loss, LOSSES)()
