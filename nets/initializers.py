"""Weight initialisers with Keras 3's names, formulas and defaults: ``init(shape, rng)``.

Fans are Keras's ``compute_fans``: a kernel (inputs, units) has fan_in = inputs and fan_out =
units; a convolution kernel (kh, kw, cin, cout) has fan_in = kh*kw*cin and fan_out =
kh*kw*cout; a bias (n,) has both n. The variance-scaling family draws with variance
``scale / fan`` (fan_in, fan_out or their mean):

- ``*_uniform``: uniform on ``±sqrt(3 scale / fan)``;
- ``*_normal``: a normal truncated at two standard deviations, its standard deviation
  divided by 0.87962566103423978 (the standard deviation of a unit normal truncated at ±2)
  so that the draws keep the variance ``scale / fan``, as Keras does.

He: scale 2, fan_in. Glorot (Xavier): scale 1, the mean fan. LeCun: scale 1, fan_in.
``random_normal``, ``random_uniform`` and ``truncated_normal`` use Keras's 0.05 defaults.
"""
from __future__ import annotations

import math

import numpy as np

from ._lookup import lookup

#: The standard deviation of a unit normal truncated at ±2 (Keras's constant).
TRUNCATED_STDDEV_FACTOR = 0.87962566103423978


def compute_fans(shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shape, as Keras computes them."""
    shape = tuple(int(n) for n in shape)
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _truncated_normal(rng, shape, mean, stddev):
    """Normal draws, those beyond two standard deviations drawn again (Keras's truncation)."""
    values = rng.normal(0.0, 1.0, size=shape)
    outside = np.abs(values) > 2.0
    while np.any(outside):
        values[outside] = rng.normal(0.0, 1.0, size=int(outside.sum()))
        outside = np.abs(values) > 2.0
    return mean + stddev * values


class Initializer:
    """``init(shape, rng) -> ndarray``; ``get_config()`` gives its options."""

    def __call__(self, shape, rng):
        raise NotImplementedError

    def get_config(self) -> dict:
        return dict(vars(self))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class VarianceScaling(Initializer):
    """Draws with variance ``scale / fan``; see the module docstring."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal"):
        if not float(scale) > 0:
            raise ValueError(f"scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"distribution must be 'truncated_normal', 'untruncated_normal' or "
                             f"'uniform', got {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape, rng):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        if self.distribution == "truncated_normal":
            return _truncated_normal(rng, shape, 0.0, math.sqrt(scale) / TRUNCATED_STDDEV_FACTOR)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(scale), size=shape)
        limit = math.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, size=shape)


def glorot_uniform(shape, rng):
    """Uniform on ``±sqrt(6 / (fan_in + fan_out))``, Keras's default kernel initialiser."""
    fan_in, fan_out = compute_fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05):
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, rng):
        return rng.normal(self.mean, self.stddev, size=shape)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, size=shape)


class TruncatedNormal(Initializer):
    """A normal truncated at two standard deviations (``tf.random.truncated_normal``)."""

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, rng):
        return _truncated_normal(rng, shape, self.mean, self.stddev)


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix from the QR factors of a normal draw, times ``gain``; a
    kernel of more than two axes is flattened to (prod(shape[:-1]), shape[-1])."""

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def __call__(self, shape, rng):
        if len(shape) < 2:
            raise ValueError(f"the orthogonal initialiser needs at least two axes, got shape {tuple(shape)}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        q, r = np.linalg.qr(rng.normal(size=(max(rows, cols), min(rows, cols))))
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = np.asarray(value, dtype=float)

    def __call__(self, shape, rng):
        return np.broadcast_to(self.value, shape).copy()

    def get_config(self):
        return {"value": self.value.tolist()}


INITIALIZERS = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": VarianceScaling(1.0, "fan_avg", "truncated_normal"),
    "he_uniform": VarianceScaling(2.0, "fan_in", "uniform"),
    "he_normal": VarianceScaling(2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": VarianceScaling(1.0, "fan_in", "uniform"),
    "lecun_normal": VarianceScaling(1.0, "fan_in", "truncated_normal"),
    "orthogonal": Orthogonal(),
    "random_normal": RandomNormal(),
    "random_uniform": RandomUniform(),
    "truncated_normal": TruncatedNormal(),
    "zeros": Constant(0.0),
    "ones": Constant(1.0),
}


def get(init):
    """An initialiser from a name, a callable ``(shape, rng)``, a constant number or an array."""
    if callable(init):
        return init
    if isinstance(init, str):
        return lookup("initializer", init, INITIALIZERS)
    return Constant(init)
