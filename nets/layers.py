"""Layers: ``Dense``, ``Activation`` and ``Dropout``, Keras-shaped.

A layer holds its configuration and the *specification* of its weights; the values live in
the model (one flat vector of trainable parameters plus the frozen ones). Each layer has two
forward passes and one backward pass, side by side so the calculus is easy to check:

- ``call(xp, weights, x, batch)`` with ``xp = difflab.namespace(...)``: what every difflab
  method differentiates;
- ``forward(weights, x, batch) -> (y, cache)`` and ``backward(weights, cache, g) ->
  (g_x, [g_w, ...])`` on NumPy arrays: the hand-derived backprop of the ``manual`` path.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from difflab.namespaces import NUMPY

from . import activations, regularizers
from .initializers import INITIALIZERS, glorot_uniform  # noqa: F401 - importable from here too
from .initializers import get as _initializer
from .forward_pass import current as current_pass
from .registry import Registered
from .symbolic import call_layer, is_symbolic
from .utils import positive_int as _positive_int


@dataclass(frozen=True)
class WeightSpec:
    """One weight array of a layer: its name, shape, whether training changes it, initialiser."""

    name: str
    shape: tuple
    trainable: bool
    initializer: Callable  # (shape, rng) -> ndarray



class Layer(Registered):
    """Base class. Subclasses set ``weight_specs`` in :meth:`build` and the three passes.

    Every subclass is registered by name as it is defined (:mod:`nets.registry`), so a saved
    model using it loads again (:mod:`nets.saving`) once the class is defined.

    ``input_rank`` is how many axes one sample has (1 for the flat layers here, 2 for the
    recurrent layers' (time, features)); shapes never include the batch axis.
    """

    input_rank = 1
    #: The per-sample input shape it was built for (a list for layers taking several), set by
    #: the model that builds it; ``output_shape`` likewise. Neither includes the batch axis.
    input_shape = None

    def __init__(self, name=None, input_dim=None, input_shape=None):
        shape = None
        if input_shape is not None:
            if not isinstance(input_shape, (tuple, list)):  # the notes' input_shape=784
                raise ValueError(f"input_shape is a tuple of the per-sample axes, such as "
                                 f"({input_shape!r},), got {input_shape!r}")
            shape = tuple(None if s is None else _positive_int(s, "input_shape") for s in input_shape)
            if self.input_rank is not None and len(shape) != self.input_rank:
                if self.input_rank == 1:
                    raise ValueError(f"nets layers take flat inputs; input_shape must be (n,), got {input_shape}")
                raise ValueError(f"{type(self).__name__} takes {self.input_rank} axes per sample, "
                                 f"input_shape must have {self.input_rank} entries, got {input_shape}")
            input_dim = shape[-1]
        self.name = name
        self.input_dim = None if input_dim is None else _positive_int(input_dim, "input_dim")
        self._declared_shape = shape
        self.output_dim = None
        self.output_shape = None
        self.weight_specs: list[WeightSpec] = []

    def declared_input_shape(self):
        """The per-sample input shape given at construction (``input_dim``/``input_shape``), or None."""
        if self._declared_shape is not None:
            return self._declared_shape
        if self.input_dim is None:
            return None
        return (None,) * ((self.input_rank or 1) - 1) + (self.input_dim,)

    def build(self, input_dim: int) -> int:
        """Fix the input size; return the output size."""
        if self.input_dim is not None and self.input_dim != input_dim:
            raise ValueError(f"layer {self.name} expects {self.input_dim} inputs but receives {input_dim}")
        self.input_dim = input_dim
        self.output_dim = self._output_dim(input_dim)
        return self.output_dim

    def build_shape(self, input_shape: tuple) -> tuple:
        """Fix the per-sample input shape; return (and keep as ``output_shape``) the output's.

        Flat layers take ``(features,)``; layers with other ranks override this.
        """
        input_shape = tuple(input_shape)
        if len(input_shape) != 1:
            hint = ("put a Flatten or GlobalAveragePooling2D before it" if len(input_shape) == 3 else
                    "use return_sequences=False on the recurrent layer before it")
            raise ValueError(f"layer {self.name} ({type(self).__name__}) takes flat inputs (features,) "
                             f"but receives samples of shape {input_shape}; {hint}")
        self.output_shape = (self.build(input_shape[0]),)
        return self.output_shape

    def _build_any_shape(self, input_shape) -> tuple:
        """:meth:`build_shape` for layers that keep ``input_dim`` as an int (flat samples) or a
        tuple (shaped samples such as images, (H, W, C)): build, then record the output shape."""
        input_shape = tuple(input_shape)
        out = self.build(input_shape[0] if len(input_shape) == 1 else input_shape)
        self.output_shape = out if isinstance(out, tuple) else (out,)
        return self.output_shape

    def _declared_any_shape(self):
        """:meth:`declared_input_shape` for the layers of :meth:`_build_any_shape`."""
        if self.input_dim is None:
            return None
        return self.input_dim if isinstance(self.input_dim, tuple) else (self.input_dim,)

    def encode_input(self, x):
        """How raw data (NumPy) enters this layer when the data feeds it directly; as it is by default."""
        return x

    def __call__(self, inputs, training=None):
        """On symbolic tensors, the functional API (:mod:`nets.symbolic`); on the tensors of a
        model's forward pass (a subclassed model's ``call``), the layer applied to them with its
        weights in that pass (:mod:`nets.forward_pass`)."""
        if is_symbolic(inputs):
            return call_layer(self, inputs)
        forward_pass = current_pass()
        if forward_pass is None:
            raise ValueError(f"layer {self.name or type(self).__name__} was called outside a model; "
                             "call it on nets.Input(...) (functional API) or inside a model's call")
        return forward_pass.apply(self, inputs, training)

    def draw_mask(self, rng, n):
        """The random mask of a training batch of ``n`` samples (Dropout's), or None."""

    # The three passes; an identity layer by default.
    def call(self, xp, weights, x, batch):
        return x

    def forward(self, weights, x, batch):
        return x, None

    def backward(self, weights, cache, g):
        return g, []

    # Weight penalties: none by default.
    def penalty(self, xp, weights):
        """The layer's term of the loss, or None when it has none."""
        return None

    def penalty_gradients(self, weights):
        return [np.zeros(spec.shape) for spec in self.weight_specs]

    def get_config(self) -> dict:
        config = {"name": self.name, "input_dim": self.input_dim}
        if self._declared_shape is not None and self.input_rank != 1:
            config["input_shape"] = list(self._declared_shape)
        return config

    def get_weights(self) -> list:
        """Copies of this layer's weights in Keras's order (kernel, recurrent kernel, bias, ...),
        from the model that built it; [] before it is built, as Keras."""
        home = getattr(self, "_weights_home", None)
        return [] if home is None else home[0].layer_weights(home[1])

    def set_weights(self, weights) -> None:
        """Replace this layer's weights in its model (same count and shapes as ``get_weights``)."""
        home = getattr(self, "_weights_home", None)
        if home is None:
            raise ValueError(f"layer {self.name} is not built yet: build or fit its model first")
        home[0].set_layer_weights(home[1], weights)

    @property
    def count_params(self) -> int:
        return sum(int(np.prod(s.shape)) for s in self.weight_specs)


class Dense(Layer):
    """``activation(x @ kernel + bias)``, kernel shaped (inputs, units) as in Keras.

    ``bias_trainable=False`` holds the bias fixed (the step-by-step backprop example), and
    ``trainable=False`` freezes the whole layer.
    """

    input_rank = None  # any: (features,), or (..., features) acting on the last axis

    def __init__(self, units, activation=None, input_dim=None, use_bias=True,
                 kernel_regularizer=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", trainable=True, bias_trainable=None,
                 name=None, input_shape=None):
        super().__init__(name, input_dim, input_shape)
        self.units = _positive_int(units, "units")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_initializer = _initializer(kernel_initializer)
        self.bias_initializer = _initializer(bias_initializer)
        self.trainable = bool(trainable)
        self.bias_trainable = self.trainable if bias_trainable is None else bool(bias_trainable)

    def build_shape(self, input_shape):
        """Any rank, as Keras: the kernel acts on the last axis, (..., n) -> (..., units)."""
        input_shape = tuple(input_shape)
        if not input_shape or input_shape[-1] is None:
            raise ValueError(f"layer {self.name} (Dense) needs a known last axis, got inputs {input_shape}")
        self.build(input_shape[-1])
        self.output_shape = input_shape[:-1] + (self.units,)
        return self.output_shape

    def _output_dim(self, input_dim):
        if isinstance(input_dim, tuple):
            raise ValueError(f"layer {self.name} (Dense) takes flat inputs but receives shape "
                             f"{input_dim}; put a Flatten or GlobalAveragePooling2D before it")
        self.weight_specs = [WeightSpec("kernel", (input_dim, self.units), self.trainable,
                                        self.kernel_initializer)]
        if self.use_bias:
            self.weight_specs.append(WeightSpec("bias", (self.units,), self.bias_trainable,
                                                self.bias_initializer))
        return self.units

    def call(self, xp, weights, x, batch):
        shape = tuple(int(n) for n in xp.shape(x))
        if len(shape) > 2:  # (..., n): one 2-D product over all the leading axes
            x = xp.reshape(x, (int(np.prod(shape[:-1])), shape[-1]))
        z = x @ weights[0]
        if self.use_bias:
            z = z + weights[1]
        if len(shape) > 2:
            z = xp.reshape(z, shape[:-1] + (self.units,))
        return self.activation.forward(xp, z)

    def forward(self, weights, x, batch):
        flat = x.reshape(-1, x.shape[-1])
        z = flat @ weights[0]
        if self.use_bias:
            z = z + weights[1]
        z = z.reshape(x.shape[:-1] + (self.units,))
        a = self.activation.forward(NUMPY, z)
        return a, (flat, z, a)

    def backward(self, weights, cache, g):
        flat, z, a = cache
        gz = self.activation.backward(z, a, g).reshape(-1, self.units)
        grads = [flat.T @ gz] + ([gz.sum(axis=0)] if self.use_bias else [])
        return (gz @ weights[0].T).reshape(z.shape[:-1] + (flat.shape[1],)), grads

    # As in Keras 3, only a trainable kernel is penalised: a frozen layer adds nothing to the loss.
    def penalty(self, xp, weights):
        reg = self.kernel_regularizer
        return None if reg is None or not self.trainable else reg.penalty(xp, weights[0])

    def penalty_gradients(self, weights):
        grads = super().penalty_gradients(weights)
        if self.kernel_regularizer is not None and self.trainable:
            grads[0] = self.kernel_regularizer.gradient(weights[0])
        return grads

    def get_config(self):
        reg = self.kernel_regularizer
        return {**super().get_config(), "units": self.units, "activation": self.activation.name,
                "use_bias": self.use_bias, "kernel_regularizer": reg.get_config() if reg else None,
                "trainable": self.trainable, "bias_trainable": self.bias_trainable}


class Activation(Layer):
    """An activation on its own: ``Activation("relu")``."""

    def __init__(self, activation, name=None, input_dim=None, input_shape=None):
        super().__init__(name, input_dim, input_shape)
        self.activation = activations.get(activation)

    def build_shape(self, input_shape):
        """Any shape: the output has the input's shape."""
        self.input_dim = self.output_dim = input_shape[-1]
        self.output_shape = tuple(input_shape)
        return self.output_shape

    def call(self, xp, weights, x, batch):
        return self.activation.forward(xp, x)

    def forward(self, weights, x, batch):
        a = self.activation.forward(NUMPY, x)
        return a, (x, a)

    def backward(self, weights, cache, g):
        x, a = cache
        return self.activation.backward(x, a, g), []

    def get_config(self):
        return {**super().get_config(), "activation": self.activation.name}


class Dropout(Layer):
    """Zero a fraction ``rate`` of the inputs while training and scale the rest by 1/(1-rate).

    The mask is drawn by the model for each batch, outside the differentiated function, so
    every method sees the same mask and differentiates the same function.
    """

    def __init__(self, rate, name=None, input_dim=None, input_shape=None):
        super().__init__(name, input_dim, input_shape)
        try:
            ok = not isinstance(rate, (str, bytes)) and 0.0 <= float(rate) < 1.0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)

    def draw_mask(self, rng, n):
        if self.rate == 0.0:
            return None
        shape = (n,) + tuple(self.output_shape or (self.input_dim,))
        if None in shape:
            raise ValueError(f"{self.name}: Dropout on sequences of unknown length; give the input's "
                             "number of time steps (input_shape=(steps, features))")
        keep = rng.random(shape) >= self.rate
        return keep / (1.0 - self.rate)

    def build_shape(self, input_shape):
        """Any shape: the output has the input's shape."""
        self.input_dim = self.output_dim = input_shape[-1]
        self.output_shape = tuple(input_shape)
        return self.output_shape

    def call(self, xp, weights, x, batch):
        mask = batch.masks.get(self) if batch.training else None
        return x if mask is None else x * xp.asarray(mask)

    def forward(self, weights, x, batch):
        mask = batch.masks.get(self) if batch.training else None
        return (x, None) if mask is None else (x * mask, mask)

    def backward(self, weights, cache, g):
        return (g if cache is None else g * cache), []

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}
