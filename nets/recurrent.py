"""Recurrent layers: ``SimpleRNN``, ``LSTM`` and ``GRU``, with Keras's weights and gate order.

Inputs are ``(batch, time, features)``. Each layer is written with the op list and a Python
loop over the time steps, so every difflab method differentiates it as written: for the
tape, back-propagation through time is nothing but the reverse sweep over the unrolled loop.
Each layer also has its back-propagation through time written out by hand for the
``manual`` path: one step forward (keeping what its derivative needs) and one step backward
per layer, the loop over time shared in :class:`Recurrent`.

Weight order and shapes are Keras's, so ``set_weights(keras_model.get_weights())`` works:

- ``SimpleRNN``: kernel (features, u), recurrent_kernel (u, u), bias (u,);
- ``LSTM``: kernel (features, 4u), recurrent_kernel (u, 4u), bias (4u,), gates i, f, c, o;
- ``GRU``: kernel (features, 3u), recurrent_kernel (u, 3u), gates z, r, h; bias (2, 3u)
  with ``reset_after=True`` (Keras 3's default: input and recurrent biases apart, the reset
  gate applied after the recurrent product) or (3u,) with ``reset_after=False``.
"""
from __future__ import annotations

import numpy as np

from difflab.namespaces import NUMPY

from . import activations
from .layers import Layer, WeightSpec, _initializer, _positive_int


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
                 bias_initializer="zeros", dropout=0.0, recurrent_dropout=0.0, name=None, input_dim=None,
                 input_shape=None):
        super().__init__(name, input_dim, input_shape)
        self.units = _positive_int(units, "units")
        self.dropout, self.recurrent_dropout = _rate(dropout, "dropout"), _rate(recurrent_dropout,
                                                                                 "recurrent_dropout")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.return_sequences = bool(return_sequences)
        self.kernel_initializer = _initializer(kernel_initializer)
        self.recurrent_initializer = _initializer(recurrent_initializer)
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

    # ---- dropout, as Keras: masks drawn once per batch (the same at every step), training only.
    # With recurrent_dropout Keras runs its implementation 1, one mask per gate for the inputs
    # and for the state; with dropout alone one input mask serves every gate.
    def draw_mask(self, rng, n):
        """None without dropout; else one array (count, n, features + units): per mask, the inputs' columns then the
        state's (ones where that dropout is off). One array, so that the compiled tape reads
        it afresh at each batch as it does Dropout's (``nets.gradients``)."""
        if self.dropout == 0 and self.recurrent_dropout == 0:
            return None
        count = self.gates if self.recurrent_dropout > 0 else 1
        parts = []
        for rate, width in ((self.dropout, self.input_dim), (self.recurrent_dropout, self.units)):
            keep = rng.random((count, n, width)) >= rate if rate > 0 else np.ones((count, n, width))
            parts.append(keep / (1.0 - rate))
        return np.concatenate(parts, axis=-1)

    def _masks(self, xp, batch):
        """``(input masks or None, recurrent masks or None)`` in ``xp``, each a list of (n,
        width) masks: one per gate, or one for all."""
        packed = None if batch is None else batch.masks.get(self)
        if packed is None:
            return None, None
        packed = xp.asarray(packed)
        count, f = int(xp.shape(packed)[0]), self.input_dim
        inputs = [packed[k, :, :f] for k in range(count)] if self.dropout > 0 else None
        state = [packed[k, :, f:] for k in range(count)] if self.recurrent_dropout > 0 else None
        return inputs, state

    def _input_product(self, xp, x, kernel, masks):
        """``x @ kernel`` over all steps, each gate's columns from the inputs times its mask."""
        if masks is None:
            return _project(xp, x, kernel)
        n, f = (int(s) for s in xp.shape(masks[0]))
        if len(masks) == 1:
            return _project(xp, x * xp.reshape(masks[0], (n, 1, f)), kernel)
        u = self.units
        return xp.concatenate([_project(xp, x * xp.reshape(m, (n, 1, f)), kernel[:, k * u:(k + 1) * u])
                               for k, m in enumerate(masks)], axis=-1)

    def _recurrent_product(self, xp, h, recurrent, masks):
        """``h @ recurrent``, each gate's block of columns from the state times its gate's mask."""
        if masks is None:
            return h @ recurrent
        if len(masks) == 1:
            return (h * masks[0]) @ recurrent
        u = self.units
        blocks = int(recurrent.shape[-1]) // u
        return xp.concatenate([(h * masks[k]) @ recurrent[:, k * u:(k + 1) * u] for k in range(blocks)],
                              axis=-1)

    def _output(self, xp, states):
        """The last state, or every state stacked along time with ``return_sequences``."""
        return xp.stack(states, axis=1) if self.return_sequences else states[-1]

    def _initial_state(self, xp, x):
        return xp.zeros((int(x.shape[0]), self.units))

    # ---- back-propagation through time, by hand (the manual path) ---------------------
    # Each layer writes one step forward (keeping what its derivative needs) and one step
    # backward; the loop over time, the input projection and its bias are shared here.
    def _input_bias(self, weights):
        """The bias added to ``x @ kernel`` (all of it, or GRU's input half)."""
        return weights[2] if self.use_bias else 0.0

    def _add_input_bias_gradient(self, grads, g):
        if self.use_bias:
            grads[2] += g

    def forward(self, weights, x, batch):
        inputs_masks, recurrent_masks = self._masks(NUMPY, batch)
        if recurrent_masks is not None or (inputs_masks is not None and len(inputs_masks) > 1):
            raise ValueError(f"layer {self.name}: the 'manual' method has no hand-derived recurrent_dropout; "
                             "choose an AD method such as 'reverse'")
        mask = None if inputs_masks is None else inputs_masks[0][:, None, :]
        if mask is not None:
            x = x * mask
        xw = _project(NUMPY, x, weights[0]) + self._input_bias(weights)
        state = self._zero_state(x.shape[0])
        outputs, steps = [], []
        for t in range(x.shape[1]):
            state, step = self._step_forward(weights, xw[:, t, :], state)
            outputs.append(state[0])
            steps.append(step)
        out = np.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return out, (x, steps, mask)

    def backward(self, weights, cache, g):
        """From the last step back: each step's output state gets its own cotangent (with
        ``return_sequences``) plus what the next step sends back through the recurrence;
        the weights, used at every step, sum their gradients over the steps."""
        x, steps, mask = cache
        kernel = weights[0]
        grads = [np.zeros_like(w) for w in weights]
        g_xw = np.zeros(x.shape[:2] + (kernel.shape[1],))
        g_state = tuple(np.zeros((x.shape[0], self.units)) for _ in self._zero_state(1))
        last = x.shape[1] - 1
        for t in reversed(range(x.shape[1])):
            g_out = g[:, t, :] if self.return_sequences else (g if t == last else 0.0)
            g_state = (g_state[0] + g_out,) + g_state[1:]
            g_xw[:, t, :], g_state = self._step_backward(weights, steps[t], g_state, grads)
        n, steps_, width = g_xw.shape
        flat = g_xw.reshape(n * steps_, width)
        grads[0] += x.reshape(n * steps_, -1).T @ flat
        self._add_input_bias_gradient(grads, flat.sum(axis=0))
        g_x = (flat @ kernel.T).reshape(x.shape)
        return (g_x if mask is None else g_x * mask), grads

    def _zero_state(self, n):
        return (np.zeros((n, self.units)),)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation.name,
                "use_bias": self.use_bias, "return_sequences": self.return_sequences,
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout}


def _rate(value, what):
    try:
        ok = not isinstance(value, (str, bytes, bool)) and 0.0 <= float(value) < 1.0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{what} must be in [0, 1), got {value!r}")
    return float(value)


class SimpleRNN(Recurrent):
    """``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``, ``h_0 = 0``."""

    def call(self, xp, weights, x, batch):
        kernel, recurrent = weights[0], weights[1]
        inputs_masks, recurrent_masks = self._masks(xp, batch)
        xw = self._input_product(xp, x, kernel, inputs_masks)
        if self.use_bias:
            xw = xw + weights[2]
        h, states = self._initial_state(xp, x), []
        for t in range(int(x.shape[1])):
            h = self.activation.forward(xp, xw[:, t, :] + self._recurrent_product(xp, h, recurrent, recurrent_masks))
            states.append(h)
        return self._output(xp, states)

    def _step_forward(self, weights, xw_t, state):
        h_prev = state[0]
        z = xw_t + h_prev @ weights[1]
        h = self.activation.forward(NUMPY, z)
        return (h,), (h_prev, z, h)

    def _step_backward(self, weights, step, g_state, grads):
        h_prev, z, h = step
        g_z = self.activation.backward(z, h, g_state[0])
        grads[1] += h_prev.T @ g_z
        return g_z, (g_z @ weights[1].T,)


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
        inputs_masks, recurrent_masks = self._masks(xp, batch)
        xw = self._input_product(xp, x, weights[0], inputs_masks)
        if self.use_bias:
            xw = xw + weights[2]
        h = c = self._initial_state(xp, x)
        states = []
        for t in range(int(x.shape[1])):
            z = xw[:, t, :] + self._recurrent_product(xp, h, weights[1], recurrent_masks)
            i, f = sigma(xp, z[:, :u]), sigma(xp, z[:, u:2 * u])
            c = f * c + i * act(xp, z[:, 2 * u:3 * u])
            h = sigma(xp, z[:, 3 * u:]) * act(xp, c)
            states.append(h)
        return self._output(xp, states)

    def _zero_state(self, n):
        return (np.zeros((n, self.units)), np.zeros((n, self.units)))  # (h, c)

    def _step_forward(self, weights, xw_t, state):
        u, sigma, act = self.units, self.recurrent_activation, self.activation
        h_prev, c_prev = state
        z = xw_t + h_prev @ weights[1]
        i, f = sigma.forward(NUMPY, z[:, :u]), sigma.forward(NUMPY, z[:, u:2 * u])
        g = act.forward(NUMPY, z[:, 2 * u:3 * u])
        o = sigma.forward(NUMPY, z[:, 3 * u:])
        c = f * c_prev + i * g
        a_c = act.forward(NUMPY, c)
        h = o * a_c
        return (h, c), (z, i, f, g, o, h_prev, c_prev, c, a_c)

    def _step_backward(self, weights, step, g_state, grads):
        u, sigma, act = self.units, self.recurrent_activation, self.activation
        z, i, f, g, o, h_prev, c_prev, c, a_c = step
        g_h, g_c = g_state
        g_c = g_c + act.backward(c, a_c, g_h * o)          # h = o act(c)
        g_z = np.concatenate([sigma.backward(z[:, :u], i, g_c * g),             # c = f c_prev + i g
                              sigma.backward(z[:, u:2 * u], f, g_c * c_prev),
                              act.backward(z[:, 2 * u:3 * u], g, g_c * i),
                              sigma.backward(z[:, 3 * u:], o, g_h * a_c)], axis=1)
        grads[1] += h_prev.T @ g_z
        return g_z, (g_z @ weights[1].T, g_c * f)

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
        inputs_masks, recurrent_masks = self._masks(xp, batch)
        xw = self._input_product(xp, x, kernel, inputs_masks)
        if bias is not None:
            xw = xw + (bias[0] if self.reset_after else bias)
        h, states = self._initial_state(xp, x), []
        for t in range(int(x.shape[1])):
            x_t = xw[:, t, :]
            if self.reset_after:
                inner = self._recurrent_product(xp, h, recurrent, recurrent_masks)
                if bias is not None:
                    inner = inner + bias[1]
                z = sigma(xp, x_t[:, :u] + inner[:, :u])
                r = sigma(xp, x_t[:, u:2 * u] + inner[:, u:2 * u])
                hh = act(xp, x_t[:, 2 * u:] + r * inner[:, 2 * u:])
            else:
                inner = self._recurrent_product(xp, h, recurrent[:, :2 * u], recurrent_masks)
                z = sigma(xp, x_t[:, :u] + inner[:, :u])
                r = sigma(xp, x_t[:, u:2 * u] + inner[:, u:])
                h_h = h if recurrent_masks is None else h * recurrent_masks[-1]
                hh = act(xp, x_t[:, 2 * u:] + (r * h_h) @ recurrent[:, 2 * u:])
            h = z * h + (1.0 - z) * hh
            states.append(h)
        return self._output(xp, states)

    def _input_bias(self, weights):
        if not self.use_bias:
            return 0.0
        return weights[2][0] if self.reset_after else weights[2]

    def _add_input_bias_gradient(self, grads, g):
        if self.use_bias:
            if self.reset_after:
                grads[2][0] += g
            else:
                grads[2] += g

    def _step_forward(self, weights, xw_t, state):
        u, sigma, act = self.units, self.recurrent_activation, self.activation
        recurrent, h_prev = weights[1], state[0]
        if self.reset_after:
            inner = h_prev @ recurrent + (weights[2][1] if self.use_bias else 0.0)
            pre_z, pre_r = xw_t[:, :u] + inner[:, :u], xw_t[:, u:2 * u] + inner[:, u:2 * u]
        else:
            inner = h_prev @ recurrent[:, :2 * u]
            pre_z, pre_r = xw_t[:, :u] + inner[:, :u], xw_t[:, u:2 * u] + inner[:, u:]
        z, r = sigma.forward(NUMPY, pre_z), sigma.forward(NUMPY, pre_r)
        if self.reset_after:
            pre_h = xw_t[:, 2 * u:] + r * inner[:, 2 * u:]
        else:
            pre_h = xw_t[:, 2 * u:] + (r * h_prev) @ recurrent[:, 2 * u:]
        hh = act.forward(NUMPY, pre_h)
        h = z * h_prev + (1.0 - z) * hh
        return (h,), (h_prev, inner, pre_z, z, pre_r, r, pre_h, hh)

    def _step_backward(self, weights, step, g_state, grads):
        u, sigma, act = self.units, self.recurrent_activation, self.activation
        recurrent = weights[1]
        h_prev, inner, pre_z, z, pre_r, r, pre_h, hh = step
        g_h = g_state[0]
        g_pre_h = act.backward(pre_h, hh, g_h * (1.0 - z))   # h = z h_prev + (1 - z) hh
        g_h_prev = g_h * z
        g_pre_z = sigma.backward(pre_z, z, g_h * (h_prev - hh))
        if self.reset_after:                                  # pre_h = x_h + r inner_h
            g_pre_r = sigma.backward(pre_r, r, g_pre_h * inner[:, 2 * u:])
            g_inner = np.concatenate([g_pre_z, g_pre_r, g_pre_h * r], axis=1)
            grads[1] += h_prev.T @ g_inner
            if self.use_bias:
                grads[2][1] += g_inner.sum(axis=0)
            g_h_prev = g_h_prev + g_inner @ recurrent.T
        else:                                                 # pre_h = x_h + (r h_prev) U_h
            g_rh = g_pre_h @ recurrent[:, 2 * u:].T
            g_pre_r = sigma.backward(pre_r, r, g_rh * h_prev)
            grads[1][:, 2 * u:] += (r * h_prev).T @ g_pre_h
            g_gates = np.concatenate([g_pre_z, g_pre_r], axis=1)
            grads[1][:, :2 * u] += h_prev.T @ g_gates
            g_h_prev = g_h_prev + g_rh * r + g_gates @ recurrent[:, :2 * u].T
        return np.concatenate([g_pre_z, g_pre_r, g_pre_h], axis=1), (g_h_prev,)

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation.name,
                "reset_after": self.reset_after}
