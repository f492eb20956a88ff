"""``BatchNormalization``, as Keras: batch statistics while training, moving ones after.

Over every axis but the last (the features or channels), with ``m`` values per feature:

    training:   mu = mean(x),  var = mean((x - mu)^2),  y = gamma (x - mu) / sqrt(var + eps) + beta
    inference:  the same with moving_mean and moving_variance in place of mu and var

and after each training batch ``moving = momentum * moving + (1 - momentum) * batch statistic``
(the biased variance, as Keras 3). Weights in Keras's order: gamma, beta (trainable),
moving_mean, moving_variance (not trainable: the model updates them, no gradient does).

The hand-derived backward pass (training mode), with ``xhat = (x - mu) / s``, ``s = sqrt(var + eps)``:

    dgamma = sum(g xhat),  dbeta = sum(g),
    dx = gamma / (m s) * (m g - sum(g) - xhat sum(g xhat))
"""
from __future__ import annotations

import numpy as np

from .layers import Layer, WeightSpec, _initializer


class BatchNormalization(Layer):
    """Normalise each feature (last axis) by the batch's statistics while training."""

    build_shape = Layer._build_any_shape
    declared_input_shape = Layer._declared_any_shape

    def __init__(self, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 input_shape=None, name=None):
        super().__init__(name)
        if input_shape is not None:
            shape = (input_shape,) if isinstance(input_shape, int) else tuple(int(s) for s in input_shape)
            self.input_dim = shape[0] if len(shape) == 1 else shape
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        if not float(epsilon) > 0.0:
            raise ValueError(f"epsilon must be positive, got {epsilon!r}")
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self._inits = {"gamma": _initializer(gamma_initializer), "beta": _initializer(beta_initializer),
                       "moving_mean": _initializer(moving_mean_initializer),
                       "moving_variance": _initializer(moving_variance_initializer)}

    def _output_dim(self, input_dim):
        features = (input_dim[-1] if isinstance(input_dim, tuple) else input_dim,)
        names = (["gamma"] if self.scale else []) + (["beta"] if self.center else [])
        self.weight_specs = [WeightSpec(n, features, True, self._inits[n]) for n in names] + [
            WeightSpec(n, features, False, self._inits[n]) for n in ("moving_mean", "moving_variance")]
        return input_dim

    def _unpack(self, weights):
        """(gamma or None, beta or None, moving_mean, moving_variance)."""
        weights = list(weights)
        gamma = weights.pop(0) if self.scale else None
        beta = weights.pop(0) if self.center else None
        return gamma, beta, weights[0], weights[1]

    @staticmethod
    def _axes(x_ndim):
        return tuple(range(x_ndim - 1))

    # ---- what every method differentiates ---------------------------------------------------
    def call(self, xp, weights, x, batch):
        gamma, beta, moving_mean, moving_var = self._unpack(weights)
        if batch.training:
            axes = self._axes(len(xp.shape(x)))
            mean = xp.mean(x, axis=axes)
            centred = x - mean
            var = xp.mean(centred * centred, axis=axes)
        else:
            mean, var = moving_mean, moving_var
            centred = x - mean
        y = centred / xp.sqrt(var + self.epsilon)
        if gamma is not None:
            y = y * gamma
        return y if beta is None else y + beta

    # ---- the moving statistics, updated by the model after each training batch ---------------
    def updated_state(self, weights, x):
        """``{weight index: new value}`` of moving_mean and moving_variance after the batch ``x``."""
        _, _, moving_mean, moving_var = self._unpack(weights)
        axes = self._axes(x.ndim)
        mean = x.mean(axis=axes)
        var = ((x - mean) ** 2).mean(axis=axes)
        first = int(self.scale) + int(self.center)
        m = self.momentum
        return {first: moving_mean * m + mean * (1.0 - m), first + 1: moving_var * m + var * (1.0 - m)}

    # ---- hand-derived backprop ------------------------------------------------------------
    def forward(self, weights, x, batch):
        gamma, beta, moving_mean, moving_var = self._unpack(weights)
        axes = self._axes(x.ndim)
        if batch.training:
            mean = x.mean(axis=axes)
            var = ((x - mean) ** 2).mean(axis=axes)
        else:
            mean, var = moving_mean, moving_var
        s = np.sqrt(var + self.epsilon)
        xhat = (x - mean) / s
        y = xhat * (1.0 if gamma is None else gamma) + (0.0 if beta is None else beta)
        return y, (xhat, s, batch.training)

    def backward(self, weights, cache, g):
        gamma, _, moving_mean, _ = self._unpack(weights)
        xhat, s, training = cache
        axes = self._axes(g.ndim)
        sum_g, sum_gx = g.sum(axis=axes), (g * xhat).sum(axis=axes)
        scale = 1.0 if gamma is None else gamma
        if training:  # mu and var depend on x: the two extra terms
            m = g.size // g.shape[-1]
            gx = scale / (m * s) * (m * g - sum_g - xhat * sum_gx)
        else:
            gx = g * scale / s
        grads = ([sum_gx] if self.scale else []) + ([sum_g] if self.center else [])
        return gx, grads + [np.zeros_like(moving_mean), np.zeros_like(moving_mean)]

    def get_config(self):
        return {"name": self.name, "input_shape": self.input_dim, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale}
