"""``Embedding``: integer ids to learned vectors, as a one-hot matrix times the table.

Keras's layer gathers rows of ``embeddings`` (input_dim, output_dim). Here the ids are
turned into one-hot rows when the data enters the model (:meth:`Embedding.encode_input`, on
NumPy, outside the differentiated function) and the layer is ``one_hot @ embeddings``: a
matrix product every difflab method differentiates, whose gradient is the scatter-add of
the output's cotangent into the rows that were used. The ids themselves have no derivative.
"""
from __future__ import annotations

import numpy as np

from .layers import Layer, WeightSpec, _initializer, _positive_int


def uniform(shape, rng):
    """Keras's ``RandomUniform(-0.05, 0.05)``, the Embedding default."""
    return rng.uniform(-0.05, 0.05, size=shape)


class Embedding(Layer):
    """Ids in ``[0, input_dim)`` of shape (time,) per sample -> vectors (time, output_dim).

    ``input_length`` (old Keras) fixes the number of ids per sample so the model can be
    built before it sees data.
    """

    takes_ids = True  # fed from an Input: the ids are encoded as one-hot rows on the way in

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", input_length=None,
                 name=None, input_shape=None):
        super().__init__(name, None, input_shape)
        self.vocabulary = _positive_int(input_dim, "input_dim")
        self.output_dim = _positive_int(output_dim, "output_dim")
        self.input_length = None if input_length is None else _positive_int(input_length, "input_length")
        self.embeddings_initializer = (uniform if isinstance(embeddings_initializer, str)
                                       and embeddings_initializer == "uniform"
                                       else _initializer(embeddings_initializer))

    def declared_input_shape(self):
        if self._declared_shape is not None:
            return self._declared_shape
        return None if self.input_length is None else (self.input_length,)

    def build_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 1:
            raise ValueError(f"layer {self.name} (Embedding) takes a sequence of ids (time,) per sample, "
                             f"got samples of shape {input_shape}")
        self.weight_specs = [WeightSpec("embeddings", (self.vocabulary, self.output_dim), True,
                                        self.embeddings_initializer)]
        self.input_dim = self.vocabulary
        self.output_shape = (input_shape[0], self.output_dim)
        return self.output_shape

    def build(self, input_dim):
        return self.build_shape((input_dim,))[-1]

    def encode_input(self, x):
        """Integer ids (n, time) -> one-hot rows (n, time, input_dim); ValueError for anything else."""
        x = np.asarray(x)
        if x.ndim == 3 and x.shape[-1] == self.vocabulary:  # already encoded
            return x
        ids = np.asarray(x, dtype=float)
        if not np.all(np.isfinite(ids)) or np.any(ids != np.round(ids)):
            raise ValueError(f"layer {self.name} (Embedding) takes integer ids; the input has non-integers")
        ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocabulary):
            raise ValueError(f"layer {self.name} (Embedding) takes ids in [0, {self.vocabulary}); "
                             f"the input has {ids.min()}..{ids.max()}")
        return np.eye(self.vocabulary)[ids]

    def call(self, xp, weights, x, batch):
        n, steps, vocabulary = (int(s) for s in x.shape)
        flat = xp.reshape(x, (n * steps, vocabulary)) @ weights[0]
        return xp.reshape(flat, (n, steps, self.output_dim))

    def forward(self, weights, x, batch):
        n, steps, vocabulary = x.shape
        return (x.reshape(n * steps, vocabulary) @ weights[0]).reshape(n, steps, self.output_dim), x

    def backward(self, weights, cache, g):
        """Each used row of the table gets the cotangents of the outputs that read it."""
        one_hot = cache
        rows = one_hot.reshape(-1, self.vocabulary)
        return np.zeros_like(one_hot), [rows.T @ g.reshape(-1, self.output_dim)]

    def get_config(self):
        config = {"name": self.name, "input_dim": self.vocabulary, "output_dim": self.output_dim,
                  "input_length": self.input_length}
        if self._declared_shape is not None:
            config["input_shape"] = list(self._declared_shape)
        return config
