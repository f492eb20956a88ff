"""Recurrent layers: ``SimpleRNN``, ``LSTM`` and ``GRU``, with Keras's weights and gate order.

Inputs are ``(batch, time, features)``. Each layer is written with the op list and a Python
loop over the time steps, so every difflab method differentiates it as written: for the
tape, back-propagation through time is nothing but the reverse sweep over the unrolled loop.
``SimpleRNN`` also has a hand-derived backward pass (BPTT written out) for the ``manual``
path; the gated layers do not, and ``manual`` says so.

Weight order and shapes are Keras's, so ``set_weights(keras_model.get_weights())`` works:

- ``SimpleRNN``: kernel (features, u), recurrent_kernel (u, u), bias (u,);
- ``LSTM``: kernel (features, 4u), recurrent_kernel (u, 4u), bias (4u,), gates i, f, c, o;
- ``GRU``: kernel (features, 3u), recurrent_kernel (u, 3u), gates z, r, h; bias (2, 3u)
  with ``reset_after=True`` (Keras 3's default: input and recurrent biases apart, the reset
  gate applied after the recurrent product) or (3u,) with ``reset_after=False``.
"""
from __future__ import annotations

import numpy as np

from difflab.errors import NotSupported
from difflab.namespaces import NUMPY

from . import activations
from .layers import Layer, WeightSpec, _initializer, _positive_int


# TODO(lead): replace with nets.initializers.orthogonal once the initialisers module is merged.
def orthogonal(shape, rng, gain=1.0):
    """Keras's ``Orthogonal``: the Q of a Gaussian matrix's QR, signs fixed by R's diagonal."""
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    a = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return gain * q.reshape(shape)


def _sequence_shape(layer, input_shape):
    """Check a (time, features) input against what the layer was given; return it."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 2:
        raise ValueError(f"layer {layer.name} ({type(layer).__name__}) takes sequences (time, features) "
                         f"per sample, but receives samples of shape {input_shape}")
    steps, features = input_shape
    if layer.input_dim is not None and layer.input_dim != features:
        raise ValueError(f"layer {layer.name} expects {layer.input_dim} features per step but receives {features}")
    return steps, features


def _project(xp, x, matrix):
    """``x @ matrix`` for x (batch, time, features): one 2-D product for all the steps."""
    batch, steps, features = (int(s) for s in x.shape)
    flat = xp.reshape(x, (batch * steps, features)) @ matrix
    return xp.reshape(flat, (batch, steps, int(matrix.shape[-1])))


class Recurrent(Layer):
    """What the three recurrent layers share: configuration, shapes, the loop's output."""

    input_rank = 2
    #: How many blocks of ``units`` columns the kernels have (gates).
    gates = 1

    def __init__(self, units, activation="tanh", use_bias=True, return_sequences=False,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", name=None, input_dim=None, input_shape=None):
        super().__init__(name, input_dim, input_shape)
        self.units = _positive_int(units, "units")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.return_sequences = bool(return_sequences)
        self.kernel_initializer = _initializer(kernel_initializer)
        self.recurrent_initializer = (orthogonal if isinstance(recurrent_initializer, str)
                                      and recurrent_initializer == "orthogonal"
                                      else _initializer(recurrent_initializer))
        self.bias_initializer = _initializer(bias_initializer)

    def build_shape(self, input_shape):
        steps, features = _sequence_shape(self, input_shape)
        self.input_dim, self.output_dim = features, self.units
        width = self.gates * self.units
        self.weight_specs = [WeightSpec("kernel", (features, width), True, self.kernel_initializer),
                             WeightSpec("recurrent_kernel", (self.units, width), True,
                                        self.recurrent_initializer)]
        if self.use_bias:
            self.weight_specs.append(WeightSpec("bias", self._bias_shape(), True, self._bias_init()))
        self.output_shape = (steps, self.units) if self.return_sequences else (self.units,)
        return self.output_shape

    def build(self, input_dim):
        raise ValueError(f"{type(self).__name__} takes sequences: build it with build_shape((time, features))")

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def _output(self, xp, states):
        """The last state, or every state stacked along time with ``return_sequences``."""
        return xp.stack(states, axis=1) if self.return_sequences else states[-1]

    def _initial_state(self, xp, x):
        return xp.zeros((int(x.shape[0]), self.units))

    def forward(self, weights, x, batch):
        raise NotSupported(f"hand-derived backprop of {type(self).__name__}", "manual",
                           "only SimpleRNN's BPTT is written out by hand; train it with an AD method "
                           "such as 'reverse', 'torch' or 'jax'")

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation.name,
                "use_bias": self.use_bias, "return_sequences": self.return_sequences}


class SimpleRNN(Recurrent):
    """``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``, ``h_0 = 0``."""

    def call(self, xp, weights, x, batch):
        kernel, recurrent = weights[0], weights[1]
        xw = _project(xp, x, kernel)
        if self.use_bias:
            xw = xw + weights[2]
        h, states = self._initial_state(xp, x), []
        for t in range(int(x.shape[1])):
            h = self.activation.forward(xp, xw[:, t, :] + h @ recurrent)
            states.append(h)
        return self._output(xp, states)

    # ---- back-propagation through time, by hand -------------------------------------
    def forward(self, weights, x, batch):
        kernel, recurrent = weights[0], weights[1]
        xw = _project(NUMPY, x, kernel) + (weights[2] if self.use_bias else 0.0)
        hs, zs = [np.zeros((x.shape[0], self.units))], []
        for t in range(x.shape[1]):
            zs.append(xw[:, t, :] + hs[-1] @ recurrent)
            hs.append(self.activation.forward(NUMPY, zs[-1]))
        out = np.stack(hs[1:], axis=1) if self.return_sequences else hs[-1]
        return out, (x, zs, hs)

    def backward(self, weights, cache, g):
        """From the last step back: each step's state gets the cotangent of its output (with
        ``return_sequences``) plus what the next step sends back through recurrent_kernel."""
        x, zs, hs = cache
        kernel, recurrent = weights[0], weights[1]
        g_kernel, g_recurrent = np.zeros_like(kernel), np.zeros_like(recurrent)
        g_bias, g_x = np.zeros(self.units), np.zeros_like(x)
        g_h = np.zeros_like(hs[0])
        for t in reversed(range(x.shape[1])):
            if self.return_sequences:
                g_h = g_h + g[:, t, :]
            elif t == x.shape[1] - 1:
                g_h = g_h + g
            g_z = self.activation.backward(zs[t], hs[t + 1], g_h)
            g_kernel += x[:, t, :].T @ g_z
            g_recurrent += hs[t].T @ g_z
            g_bias += g_z.sum(axis=0)
            g_x[:, t, :] = g_z @ kernel.T
            g_h = g_z @ recurrent.T
        return g_x, [g_kernel, g_recurrent] + ([g_bias] if self.use_bias else [])


class LSTM(Recurrent):
    """Keras's LSTM, gates i, f, c, o:

    ``z = x_t W + h U + b``; ``i, f, o = σ(z_i), σ(z_f), σ(z_o)``; ``c = f c + i tanh(z_c)``;
    ``h = o tanh(c)``, with σ the ``recurrent_activation`` and tanh the ``activation``.
    ``unit_forget_bias`` starts the forget gate's bias at 1, as Keras does.
    """

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 return_sequences=False, unit_forget_bias=True, **kwargs):
        super().__init__(units, activation, use_bias, return_sequences, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        init, u = self.bias_initializer, self.units
        return lambda shape, rng: np.concatenate([init((u,), rng), np.ones(u), init((2 * u,), rng)])

    def call(self, xp, weights, x, batch):
        u, sigma, act = self.units, self.recurrent_activation.forward, self.activation.forward
        xw = _project(xp, x, weights[0])
        if self.use_bias:
            xw = xw + weights[2]
        h = c = self._initial_state(xp, x)
        states = []
        for t in range(int(x.shape[1])):
            z = xw[:, t, :] + h @ weights[1]
            i, f = sigma(xp, z[:, :u]), sigma(xp, z[:, u:2 * u])
            c = f * c + i * act(xp, z[:, 2 * u:3 * u])
            h = sigma(xp, z[:, 3 * u:]) * act(xp, c)
            states.append(h)
        return self._output(xp, states)

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation.name,
                "unit_forget_bias": self.unit_forget_bias}


class GRU(Recurrent):
    """Keras's GRU, gates z (update), r (reset), h (candidate); ``h = z h_prev + (1 - z) hh``.

    ``reset_after=True`` (Keras 3): ``hh = act(x W_h + b_h + r (h U_h + b'_h))``, bias (2, 3u);
    ``reset_after=False``: ``hh = act(x W_h + b_h + (r h) U_h)``, bias (3u,).
    """

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 return_sequences=False, reset_after=True, **kwargs):
        super().__init__(units, activation, use_bias, return_sequences, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, xp, weights, x, batch):
        u, sigma, act = self.units, self.recurrent_activation.forward, self.activation.forward
        kernel, recurrent = weights[0], weights[1]
        bias = weights[2] if self.use_bias else None
        xw = _project(xp, x, kernel)
        if bias is not None:
            xw = xw + (bias[0] if self.reset_after else bias)
        h, states = self._initial_state(xp, x), []
        for t in range(int(x.shape[1])):
            x_t = xw[:, t, :]
            if self.reset_after:
                inner = h @ recurrent
                if bias is not None:
                    inner = inner + bias[1]
                z = sigma(xp, x_t[:, :u] + inner[:, :u])
                r = sigma(xp, x_t[:, u:2 * u] + inner[:, u:2 * u])
                hh = act(xp, x_t[:, 2 * u:] + r * inner[:, 2 * u:])
            else:
                inner = h @ recurrent[:, :2 * u]
                z = sigma(xp, x_t[:, :u] + inner[:, :u])
                r = sigma(xp, x_t[:, u:2 * u] + inner[:, u:])
                hh = act(xp, x_t[:, 2 * u:] + (r * h) @ recurrent[:, 2 * u:])
            h = z * h + (1.0 - z) * hh
            states.append(h)
        return self._output(xp, states)

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation.name,
                "reset_after": self.reset_after}
