"""``LayerNormalization``, as Keras: each sample normalised over its last axis.

With ``D`` features on the last axis, per sample (and per position of the other axes):

    mu = mean(x),  var = mean((x - mu)^2),  xhat = (x - mu) / s,  s = sqrt(var + eps),
    y = gamma xhat + beta

the same in training and inference (no moving statistics). Weights in Keras's order: gamma,
beta. The hand-derived backward pass, with ``gh = g gamma``:

    dgamma = sum over samples of g xhat,   dbeta = sum of g,
    dx = (D gh - sum(gh) - xhat sum(gh xhat)) / (D s)     (sums over the last axis)
"""
from __future__ import annotations

import numpy as np

from .layers import Layer, WeightSpec, _initializer


class LayerNormalization(Layer):
    """Normalise each sample over its last axis (``axis=-1``, Keras's default)."""

    input_rank = None

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", name=None, input_shape=None):
        super().__init__(name, None, input_shape)
        if axis not in (-1, [-1], (-1,)):
            raise ValueError(f"LayerNormalization supports axis=-1 (the last axis) only, got {axis!r}")
        if not float(epsilon) > 0.0:
            raise ValueError(f"epsilon must be positive, got {epsilon!r}")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)
        self._inits = {"gamma": _initializer(gamma_initializer), "beta": _initializer(beta_initializer)}

    def build_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape or input_shape[-1] is None:
            raise ValueError(f"layer {self.name} (LayerNormalization) needs a known last axis, "
                             f"got {input_shape}")
        features = input_shape[-1]
        names = (["gamma"] if self.scale else []) + (["beta"] if self.center else [])
        self.weight_specs = [WeightSpec(n, (features,), True, self._inits[n]) for n in names]
        self.input_dim = self.output_dim = features
        self.output_shape = input_shape
        return self.output_shape

    def _affine(self, weights):
        weights = list(weights)
        gamma = weights.pop(0) if self.scale else None
        beta = weights.pop(0) if self.center else None
        return gamma, beta

    def call(self, xp, weights, x, batch):
        gamma, beta = self._affine(weights)
        mean = xp.mean(x, axis=-1, keepdims=True)
        centred = x - mean
        var = xp.mean(centred * centred, axis=-1, keepdims=True)
        y = centred / xp.sqrt(var + self.epsilon)
        if gamma is not None:
            y = y * gamma
        return y if beta is None else y + beta

    def forward(self, weights, x, batch):
        gamma, beta = self._affine(weights)
        mean = x.mean(axis=-1, keepdims=True)
        s = np.sqrt(((x - mean) ** 2).mean(axis=-1, keepdims=True) + self.epsilon)
        xhat = (x - mean) / s
        y = xhat * (1.0 if gamma is None else gamma) + (0.0 if beta is None else beta)
        return y, (xhat, s)

    def backward(self, weights, cache, g):
        gamma, _ = self._affine(weights)
        xhat, s = cache
        axes = tuple(range(g.ndim - 1))
        gh = g * (1.0 if gamma is None else gamma)
        d = g.shape[-1]
        gx = (d * gh - gh.sum(axis=-1, keepdims=True) - xhat * (gh * xhat).sum(axis=-1, keepdims=True)) / (d * s)
        grads = ([(g * xhat).sum(axis=axes)] if self.scale else []) + ([g.sum(axis=axes)] if self.center else [])
        return gx, grads

    def get_config(self):
        config = {"name": self.name, "epsilon": self.epsilon, "center": self.center, "scale": self.scale}
        if self._declared_shape is not None:
            config["input_shape"] = list(self._declared_shape)
        return config
