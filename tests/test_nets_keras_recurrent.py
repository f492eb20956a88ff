"""Recurrent networks against a real Keras (slow: TensorFlow loads): SimpleRNN, LSTM and GRU
networks trained from the same weights on the same batches in float64, and parameter
counts and output shapes of the summaries."""
from __future__ import annotations

import numpy as np
import pytest

import nets
from nets.datasets import load_letters, load_price_series
from nets.model import summary_table

pytestmark = pytest.mark.slow


RECURRENT = {
    "simplernn": (lambda: nets.SimpleRNN(4), lambda k: k.layers.SimpleRNN(4)),
    "lstm": (lambda: nets.LSTM(4), lambda k: k.layers.LSTM(4)),
    "gru": (lambda: nets.GRU(4), lambda k: k.layers.GRU(4)),
    "gru-reset-before": (lambda: nets.GRU(4, reset_after=False), lambda k: k.layers.GRU(4, reset_after=False)),
    "stacked-lstm": (lambda: [nets.LSTM(3, return_sequences=True), nets.LSTM(4)],
                     lambda k: [k.layers.LSTM(3, return_sequences=True), k.layers.LSTM(4)]),
}


def as_list(v):
    return v if isinstance(v, list) else [v]


@pytest.mark.parametrize("kind", list(RECURRENT))
@pytest.mark.parametrize("differentiator", ["reverse", "torch"])
def test_training_matches_tf_keras(keras, kind, differentiator):
    (x, y), _ = load_price_series(n=130, steps=8)
    ours_layers, theirs_layers = RECURRENT[kind]
    ours = nets.Sequential([*as_list(ours_layers()), nets.Dense(1)], seed=0)
    ours.build((8, 1))
    ours.compile(optimizer=nets.optimizers.SGD(0.1), loss="mse", differentiator=differentiator)
    theirs = keras.Sequential([keras.Input(shape=(8, 1)), *as_list(theirs_layers(keras)), keras.layers.Dense(1)])
    theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    assert [w.shape for w in theirs.get_weights()] == [w.shape for w in ours.get_weights()]
    theirs.set_weights(ours.get_weights())
    # 91 windows in batches of 16: a short last batch, no shuffling, so the batches are the same.
    mine = ours.fit(x, y, epochs=5, batch_size=16, shuffle=False, verbose=0)
    keras_history = theirs.fit(x, y, epochs=5, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_allclose(mine.history["loss"], keras_history.history["loss"], rtol=0, atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)


def test_embedding_letter_model_matches_tf_keras(keras):
    x, y = load_letters(context=4, alphabet="abcdefghijklmnopqrstuvwxyz", one_hot=False)
    ours = nets.Sequential([nets.Embedding(26, 2, input_length=4), nets.SimpleRNN(10),
                            nets.Dense(26, activation="softmax")], seed=0)
    ours.compile(optimizer=nets.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    theirs = keras.Sequential([keras.Input(shape=(4,), dtype="int32"), keras.layers.Embedding(26, 2),
                               keras.layers.SimpleRNN(10), keras.layers.Dense(26, activation="softmax")])
    theirs.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    assert theirs.count_params() == ours.count_params() == 468
    theirs.set_weights(ours.get_weights())
    mine = ours.fit(x, y, epochs=5, batch_size=8, shuffle=False, verbose=0)
    keras_history = theirs.fit(x, y, epochs=5, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(mine.history["loss"], keras_history.history["loss"], rtol=0, atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)


def _keras_rows(model):
    return [(layer.name, tuple(layer.output.shape), layer.count_params()) for layer in model.layers]


def test_summary_counts_and_shapes_match_keras(keras):
    k = keras.layers
    cases = [
        (nets.Sequential([nets.SimpleRNN(3, input_shape=(1, 5)), nets.Dense(5, activation="softmax")]),
         keras.Sequential([keras.Input(shape=(1, 5)), k.SimpleRNN(3), k.Dense(5, activation="softmax")])),
        (nets.Sequential([nets.Embedding(5, 2, input_length=1), nets.SimpleRNN(3), nets.Dense(5)]),
         keras.Sequential([keras.Input(shape=(1,)), k.Embedding(5, 2), k.SimpleRNN(3), k.Dense(5)])),
        (nets.Sequential([nets.LSTM(8, return_sequences=True, input_shape=(20, 1)), nets.GRU(6), nets.Dense(1)]),
         keras.Sequential([keras.Input(shape=(20, 1)), k.LSTM(8, return_sequences=True), k.GRU(6), k.Dense(1)])),
    ]
    for ours, theirs in cases:
        rows = list(zip(*[c._cells for c in summary_table(ours).columns]))
        expected = [(str(shape).replace("None,", "None,"), f"{count:,}") for _, shape, count in _keras_rows(theirs)]
        assert [(r[1], r[2]) for r in rows] == expected
        assert ours.count_params() == theirs.count_params()


def test_functional_model_matches_keras(keras):
    a, b = nets.Input(shape=(6, 2)), nets.Input(shape=(3,))
    shared = nets.Dense(4, activation="tanh")
    h = nets.Concatenate()([nets.GRU(3)(a), shared(b), shared(nets.Dense(3)(b))])
    ours = nets.Model([a, b], [nets.Dense(1)(h), nets.Dense(2, activation="softmax")(h)], seed=0)
    ka, kb = keras.Input(shape=(6, 2)), keras.Input(shape=(3,))
    kshared = keras.layers.Dense(4, activation="tanh")
    kh = keras.layers.Concatenate()([keras.layers.GRU(3)(ka), kshared(kb), kshared(keras.layers.Dense(3)(kb))])
    theirs = keras.Model([ka, kb], [keras.layers.Dense(1)(kh), keras.layers.Dense(2, activation="softmax")(kh)])
    assert ours.count_params() == theirs.count_params()
    theirs.set_weights(ours.get_weights())  # same layer order, so the same weight order
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(10, 6, 2)), rng.normal(size=(10, 3))]
    for p, q in zip(ours.predict(x), theirs.predict(x, verbose=0)):
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-12)
    y = [rng.normal(size=10), rng.integers(0, 2, 10)]
    losses = ["mse", "sparse_categorical_crossentropy"]
    ours.compile(optimizer=nets.optimizers.SGD(0.1), loss=losses, loss_weights=[0.5, 2.0])
    theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss=losses, loss_weights=[0.5, 2.0])
    mine = ours.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    keras_history = theirs.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    np.testing.assert_allclose(mine.history["loss"], keras_history.history["loss"], rtol=0, atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)
