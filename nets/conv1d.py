"""``Conv1D`` over sequences (steps, channels), Keras-shaped: kernel (kernel_size, channels,
filters), padding "valid", "same" or "causal" (zeros before the first step only).

A 1-D convolution is the 2-D one of :mod:`nets.conv_layers` on images one row high, so both
passes (the namespace's ``conv2d`` for every method, im2col for ``manual``) are Conv2D's with
the kernel given a leading axis of 1; "causal" pads ``kernel_size - 1`` zeros in front first.
"""
from __future__ import annotations

import numpy as np

from .conv_layers import Conv2D
from .layers import Layer, WeightSpec, _positive_int


def _one(value, what):
    """An int, or a 1-tuple of one, as Keras accepts for 1-D sizes."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{what} of Conv1D is one number, got {value!r}")
        value = value[0]
    return _positive_int(value, what)


class Conv1D(Layer):
    """``activation(conv1d(x, kernel) + bias)`` on (batch, steps, channels)."""

    input_rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", dilation_rate=1,
                 input_shape=None, name=None):
        super().__init__(name, None, input_shape)
        if _one(dilation_rate, "dilation_rate") != 1:
            raise ValueError("Conv1D: dilation_rate other than 1 is not supported")
        self.kernel_size, self.strides = _one(kernel_size, "kernel_size"), _one(strides, "strides")
        padding = str(padding).lower()
        if padding not in ("valid", "same", "causal"):
            raise ValueError(f"Conv1D padding must be 'valid', 'same' or 'causal', got {padding!r}")
        self.padding = padding
        self._conv = Conv2D(filters, (1, self.kernel_size), (1, self.strides),
                            "valid" if padding == "causal" else padding, activation, use_bias,
                            kernel_initializer, bias_initializer)
        self.filters, self.activation, self.use_bias = self._conv.filters, self._conv.activation, use_bias

    def build_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 2 or input_shape[0] is None:
            raise ValueError(f"layer {self.name} (Conv1D) takes sequences (steps, channels) with a known "
                             f"number of steps, got {input_shape}")
        steps, channels = input_shape
        self._conv.name = self.name
        _, out_steps, filters = self._conv.build_shape((1, steps + self._front(), channels))
        inner = self._conv.weight_specs
        self.weight_specs = [WeightSpec("kernel", (self.kernel_size, channels, filters), True,
                                        inner[0].initializer)] + inner[1:]
        self.input_dim, self.output_dim = channels, filters
        self.output_shape = (out_steps, filters)
        return self.output_shape

    def _front(self):
        return self.kernel_size - 1 if self.padding == "causal" else 0

    def _as_2d(self, xp, weights, x):
        kernel = xp.reshape(weights[0], (1,) + tuple(self.weight_specs[0].shape))
        n, steps, channels = (int(s) for s in xp.shape(x))
        if self._front():
            x = xp.concatenate([xp.zeros((n, self._front(), channels)), x], axis=1)
            steps += self._front()
        return [kernel] + list(weights[1:]), xp.reshape(x, (n, 1, steps, channels))

    def call(self, xp, weights, x, batch):
        w2, x2 = self._as_2d(xp, weights, x)
        y = self._conv.call(xp, w2, x2, batch)
        shape = tuple(int(s) for s in xp.shape(y))
        return xp.reshape(y, (shape[0], shape[2], shape[3]))

    def forward(self, weights, x, batch):
        front = self._front()
        xpad = np.pad(x, ((0, 0), (front, 0), (0, 0)))
        w2 = [weights[0][None]] + list(weights[1:])
        y, cache = self._conv.forward(w2, xpad[:, None], batch)
        return y[:, 0], cache

    def backward(self, weights, cache, g):
        w2 = [weights[0][None]] + list(weights[1:])
        g_x, grads = self._conv.backward(w2, cache, g[:, None])
        return g_x[:, 0, self._front():], [grads[0][0]] + grads[1:]

    def get_config(self):
        config = {"name": self.name, "filters": self.filters, "kernel_size": self.kernel_size,
                  "strides": self.strides, "padding": self.padding, "activation": self.activation.name,
                  "use_bias": self.use_bias}
        if self._declared_shape is not None:
            config["input_shape"] = list(self._declared_shape)
        return config
