"""One way to nest a model (nets.nested), wherever it is nested: checked against NumPy."""
import numpy as np
import pytest

import nets
from nets import BatchNormalization, Dense, Input, Sequential, SimpleRNN

RNG = np.random.default_rng(22)


def test_a_functional_model_nested_first_in_a_sequential():
    a = Input((4,))
    inner = nets.Model(a, Dense(3, activation="tanh")(a), seed=1)
    outer = Sequential([inner, Dense(1)], seed=2)
    x = RNG.normal(size=(6, 4))
    k, b, w, c = outer.get_weights()
    np.testing.assert_array_equal(k, inner.get_weights()[0])  # it starts from the inner model's weights
    np.testing.assert_allclose(outer.predict(x), np.tanh(x @ k + b) @ w + c, rtol=0, atol=1e-14)
    outer.compile(optimizer="sgd", loss="mse", differentiator="manual")
    with pytest.raises(ValueError, match="nested functional or subclassed"):
        outer.fit(x, RNG.normal(size=(6, 1)), verbose=0)


def test_a_sequential_holding_a_model_saves_and_loads(tmp_path):
    inner = Sequential([Input((4,)), Dense(3, activation="tanh")], seed=1)
    outer = Sequential([inner, Dense(1)], seed=2)
    x = RNG.normal(size=(5, 4))
    outer.save(tmp_path / "m.npz")
    again = nets.load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(again.predict(x), outer.predict(x))


def test_batch_normalization_in_a_model_called_on_a_tensor():
    inner = Sequential([Input((4,)), Dense(3), BatchNormalization()], seed=1)
    a = Input((4,))
    model = nets.Model(a, Dense(1)(inner(a)), seed=2)
    x, y = RNG.normal(size=(16, 4)), RNG.normal(size=(16, 1))
    k, b = model.get_weights()[:2]
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    moving_mean = model.get_weights()[4]  # kernel, bias, gamma, beta, moving mean, moving variance, ...
    np.testing.assert_allclose(moving_mean, 0.01 * (x @ k + b).mean(axis=0), rtol=0, atol=1e-15)


def test_recurrent_layers_draw_a_mask_only_with_dropout():
    plain = SimpleRNN(3, input_shape=(5, 2))
    Sequential([plain])
    assert plain.draw_mask(np.random.default_rng(0), 4) is None
    dropped = SimpleRNN(3, dropout=0.5, input_shape=(5, 2))
    Sequential([dropped]).build((5, 2))
    assert dropped.draw_mask(np.random.default_rng(0), 4).shape == (1, 4, 2 + 3)
