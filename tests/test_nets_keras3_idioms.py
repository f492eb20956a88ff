"""Keras 3 idioms, the layers the notes use that nets lacked, and Keras's layer/model API
(issue 22): each checked against NumPy written out here (fast) and against real Keras in
float64 (slow: TensorFlow loads), with the same weights set into both."""
from __future__ import annotations

import numpy as np
import pytest

import nets
from nets import Dense, Input, Sequential, SimpleRNN

RNG = np.random.default_rng(22)


def _sgd_side_by_side(ours, theirs, keras, x, y, loss="mse", epochs=3, batch_size=4, lr=0.1):
    """Train both from the same weights on the same batches; compare losses and weights."""
    theirs.set_weights(ours.get_weights())
    ours.compile(optimizer=nets.optimizers.SGD(lr), loss=loss, differentiator="reverse")
    theirs.compile(optimizer=keras.optimizers.SGD(lr), loss=loss)
    mine = ours.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0).history
    keras_history = theirs.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0).history
    np.testing.assert_allclose(mine["loss"], keras_history["loss"], rtol=0, atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)
    return mine, keras_history


# ---------------------------------------------------------------- step 1: the idioms (fast)
def test_sequential_takes_an_input_tensor_first():
    x = RNG.normal(size=(6, 4))
    with_input = Sequential([Input((4,)), Dense(3, activation="tanh"), Dense(2)], seed=1)
    assert [w.shape for w in with_input.get_weights()] == [(4, 3), (3,), (3, 2), (2,)]
    w1, b1, w2, b2 = with_input.get_weights()
    np.testing.assert_allclose(with_input.predict(x), np.tanh(x @ w1 + b1) @ w2 + b2, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="first entry"):
        Sequential([Dense(3, input_dim=4), Input((3,))])
    with pytest.raises(ValueError, match="samples of shape|features"):
        with_input.predict(RNG.normal(size=(2, 5)))


def test_deferred_build_from_the_first_batch():
    """``Sequential([SimpleRNN(3), Dense(5)])`` fits without input_shape, as in the notes."""
    x, y = RNG.normal(size=(8, 6, 2)), RNG.normal(size=(8, 5))
    model = Sequential([SimpleRNN(3), Dense(5)], seed=0)
    assert not model.built
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert model.built and model.input_shape == (6, 2)
    assert [w.shape for w in model.get_weights()] == [(2, 3), (3, 3), (3,), (3, 5), (5,)]
    k, u, b, w, c = model.get_weights()
    h = np.zeros((8, 3))
    for t in range(6):
        h = np.tanh(x[:, t] @ k + h @ u + b)
    np.testing.assert_allclose(model.predict(x), h @ w + c, rtol=0, atol=1e-13)


def test_a_model_called_as_a_layer():
    inner = Sequential([Input((4,)), Dense(3, activation="tanh")], seed=2)
    x = RNG.normal(size=(5, 4))
    np.testing.assert_array_equal(inner(x), inner.predict(x))
    a = Input((4,))
    outer = nets.Model(a, Dense(2)(inner(a)), seed=3)
    k, b, w, c = outer.get_weights()
    np.testing.assert_array_equal(k, inner.get_weights()[0])  # it starts from the inner model's weights
    np.testing.assert_allclose(outer.predict(x), np.tanh(x @ k + b) @ w + c, rtol=0, atol=1e-14)
    stacked = Sequential([inner, Dense(1)], seed=4)
    assert [w.shape for w in stacked.get_weights()] == [(4, 3), (3,), (3, 1), (1,)]
    # the manual path goes through the nested chain by hand: same gradient as the tape
    y = RNG.normal(size=(5, 1))
    grads = {}
    for method in ("manual", "reverse"):
        model = Sequential([Sequential([Input((4,)), Dense(3, activation="tanh")], seed=2), Dense(1)], seed=4)
        model.compile(optimizer=nets.optimizers.SGD(0.1), loss="mse", differentiator=method)
        model.fit(x, y, epochs=1, batch_size=5, verbose=0)
        grads[method] = np.concatenate([w.ravel() for w in model.get_weights()])
    np.testing.assert_allclose(grads["manual"], grads["reverse"], rtol=0, atol=1e-13)


def test_lowercase_merge_functions_and_pooling_aliases():
    a, b = Input((3,)), Input((3,))
    joined = nets.layers.concatenate([a, b])
    summed = nets.layers.add([a, b])
    model = nets.Model([a, b], [joined, summed])
    xa, xb = RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3))
    got_joined, got_sum = model.predict([xa, xb])
    np.testing.assert_array_equal(got_joined, np.concatenate([xa, xb], axis=1))
    np.testing.assert_array_equal(got_sum, xa + xb)
    assert nets.MaxPool2D is nets.MaxPooling2D and nets.AvgPool2D is nets.AveragePooling2D


# ---------------------------------------------------------------- step 1 against Keras (slow)
@pytest.mark.slow
def test_input_first_sequential_trains_as_keras(keras):
    x, y = RNG.normal(size=(10, 4)), RNG.normal(size=(10, 2))
    ours = Sequential([Input((4,)), Dense(5, activation="tanh"), Dense(2)], seed=5)
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(2)])
    _sgd_side_by_side(ours, theirs, keras, x, y)


@pytest.mark.slow
def test_deferred_build_trains_as_keras(keras):
    x, y = RNG.normal(size=(8, 6, 2)), RNG.normal(size=(8, 5))
    ours = Sequential([SimpleRNN(3), Dense(5)], seed=6)
    ours.predict(x[:1])  # built from the first batch
    theirs = keras.Sequential([keras.layers.SimpleRNN(3), keras.layers.Dense(5)])
    theirs.predict(x[:1], verbose=0)
    assert [w.shape for w in theirs.get_weights()] == [w.shape for w in ours.get_weights()]
    _sgd_side_by_side(ours, theirs, keras, x, y)


@pytest.mark.slow
def test_nested_model_and_merge_functions_train_as_keras(keras):
    x, y = [RNG.normal(size=(8, 4)), RNG.normal(size=(8, 4))], RNG.normal(size=(8, 3))

    def build(lib, model_cls, dense, inp, concatenate, add, seed=None):
        kw = {} if seed is None else {"seed": seed}
        inner = lib.Sequential([inp((4,)), dense(3, activation="tanh")], **kw)
        a, b = inp((4,)), inp((4,))
        h = concatenate([inner(a), inner(b), add([a, b])])
        return model_cls([a, b], dense(3)(h), **kw)

    ours = build(nets, nets.Model, Dense, Input, nets.layers.concatenate, nets.layers.add, seed=7)
    theirs = build(keras, keras.Model, keras.layers.Dense, keras.Input, keras.layers.concatenate,
                   keras.layers.add)
    assert [w.shape for w in theirs.get_weights()] == [w.shape for w in ours.get_weights()]
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours(x), np.asarray(theirs(x)), rtol=0, atol=1e-10)
    _sgd_side_by_side(ours, theirs, keras, x, y)
