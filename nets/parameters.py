"""The model's weights as one flat vector of trainable parameters plus the frozen arrays.

Training differentiates the loss as a function of the flat vector ``theta`` (what every
difflab method takes); :meth:`Parameters.unflatten` turns ``theta`` back into each layer's
arrays inside whatever namespace is tracing it.
"""
from __future__ import annotations

import math

import numpy as np


class Parameters:
    """Where each layer's weights live: a slice of ``theta`` (trainable) or a frozen array."""

    def __init__(self, layers):
        self.layers = list(layers)
        self.slots = []  # per layer: [(spec, offset into theta or None when frozen)]
        offset = 0
        for index, layer in enumerate(self.layers):
            layer._weights_home = (self, index)  # where layer.get_weights/set_weights find them
            row = []
            for spec in layer.weight_specs:
                row.append((spec, offset if spec.trainable else None))
                if spec.trainable:
                    offset += int(np.prod(spec.shape))
            self.slots.append(row)
        self.size = offset
        self.theta = np.zeros(offset)
        self.frozen: dict[tuple[int, int], np.ndarray] = {}

    def initialize(self, rng) -> None:
        """Draw every weight from its layer's initialiser, layer by layer (Keras's order)."""
        self.set_weights([spec.initializer(spec.shape, rng) for row in self.slots for spec, _ in row])

    def unflatten(self, theta, xp=None):
        """Each layer's weight list; trainable ones are views of ``theta`` reshaped."""
        out = []
        for i, row in enumerate(self.slots):
            weights = []
            for j, (spec, offset) in enumerate(row):
                if offset is None:
                    frozen = self.frozen[i, j]
                    weights.append(frozen if xp is None else xp.asarray(frozen))
                    continue
                piece = theta[offset:offset + math.prod(spec.shape)]
                if len(spec.shape) > 1:  # a bias is its slice as it is: one operation fewer to trace
                    piece = piece.reshape(spec.shape) if xp is None else xp.reshape(piece, spec.shape)
                weights.append(piece)
            out.append(weights)
        return out

    def flatten_gradients(self, grads) -> np.ndarray:
        """The flat gradient from per-layer gradient lists (frozen entries are dropped)."""
        flat = np.empty(self.size)
        for row, layer_grads in zip(self.slots, grads):
            for (_spec, offset), g in zip(row, layer_grads):
                if offset is not None:
                    flat[offset:offset + g.size] = np.reshape(g, -1)
        return flat

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every weight array, layer by layer, kernel before bias (Keras's order)."""
        return [np.array(w, copy=True) for row in self.unflatten(self.theta) for w in row]

    def layer_weights(self, i) -> list[np.ndarray]:
        """Copies of layer ``i``'s weight arrays, in its order."""
        return [np.array(w, copy=True) for w in self.unflatten(self.theta)[i]]

    def set_layer_weights(self, i, weights) -> None:
        """Replace layer ``i``'s weights (checked as :meth:`set_weights` does)."""
        everything = [w for row in self.unflatten(self.theta) for w in row]
        first = sum(len(row) for row in self.slots[:i])
        weights = list(weights)
        if len(weights) != len(self.slots[i]):
            raise ValueError(f"set_weights: layer {self.layers[i].name} has {len(self.slots[i])} weight "
                             f"arrays, got {len(weights)}")
        everything[first:first + len(weights)] = weights
        self.set_weights(everything)

    def set_weights(self, weights) -> None:
        expected = [spec.shape for row in self.slots for spec, _ in row]
        weights = list(weights)
        if len(weights) != len(expected):
            raise ValueError(f"set_weights: the model has {len(expected)} weight arrays, got {len(weights)}")
        k = 0
        for i, row in enumerate(self.slots):
            for j, (spec, offset) in enumerate(row):
                w = np.asarray(weights[k], dtype=float)
                k += 1
                if w.shape != spec.shape:
                    raise ValueError(f"set_weights: {self.layers[i].name}/{spec.name} has shape "
                                     f"{spec.shape}, got {w.shape}")
                if not np.all(np.isfinite(w)):
                    raise ValueError(f"set_weights: {self.layers[i].name}/{spec.name} contains NaN or infinity")
                if offset is None:
                    self.frozen[i, j] = w.copy()
                else:
                    self.theta[offset:offset + w.size] = w.reshape(-1)
