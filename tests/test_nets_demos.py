"""The teaching demos of docs/nets.md ("Demos of what the notes state"), each against an
independent reference: a closed form, scikit-learn's Lasso and Ridge, hand-counted
multiply-adds."""
from __future__ import annotations

import numpy as np
import pytest

import nets
from nets.macs import count_macs, layer_macs, layer_shapes
from nets.model import summary_table


def test_stacked_linear_layers_are_one_affine_map():
    deep = nets.Sequential([nets.Dense(4, input_dim=5), nets.Dense(6), nets.Dense(3)], seed=1)
    W1, b1, W2, b2, W3, b3 = deep.get_weights()
    x = np.random.default_rng(0).normal(size=(7, 5))
    np.testing.assert_allclose(deep.predict(x), x @ (W1 @ W2 @ W3) + ((b1 @ W2 + b2) @ W3 + b3),
                               rtol=0, atol=1e-12)
    # and so a 5-4-3 linear stack is at most rank 4, whatever it learns
    assert np.linalg.matrix_rank(W1 @ W2 @ W3) <= 4


def neuron(y, epochs=300):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    model = nets.Sequential([nets.Dense(1, activation="sigmoid", input_dim=2)], seed=0)
    model.compile(optimizer=nets.optimizers.SGD(5.0), loss="binary_crossentropy", metrics=["accuracy"],
                  differentiator="manual")
    model.fit(X, np.array(y, float), epochs=epochs, batch_size=4, verbose=0)
    return model.predict(X).ravel()


@pytest.mark.parametrize("y", [[0, 0, 0, 1], [0, 1, 1, 1]], ids=["AND", "OR"])
def test_one_neuron_learns_and_and_or(y):
    assert ((neuron(y) > 0.5) == np.array(y, bool)).all()


def test_one_neuron_cannot_learn_xor():
    """No line separates XOR: for any w, b the four outputs of sigmoid(x w + b) satisfy
    s(0,1) + s(1,0) > 1 exactly when s(0,0) + s(1,1) > 1 (z01 + z10 = z00 + z11), so at most
    three of the four are right; gradient descent ends at 1/2 everywhere."""
    p = neuron([0, 1, 1, 0])
    z = np.log(p / (1 - p))
    assert z[1] + z[2] == pytest.approx(z[0] + z[3], abs=1e-9)
    assert ((p > 0.5) == np.array([0, 1, 1, 0], bool)).sum() <= 3
    np.testing.assert_allclose(p, 0.5, atol=0.01)


def regression():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 10))
    y = x @ np.array([3, -2, 1.5, 0, 0, 0, 0, 0, 0, 0.0]) + 0.1 * rng.normal(size=200)
    return x, y


def trained_kernel(penalty):
    x, y = regression()
    unit = nets.Sequential([nets.Dense(1, input_dim=10, kernel_regularizer=penalty)], seed=0)
    unit.compile(optimizer=nets.optimizers.SGD(0.1), loss="mse", differentiator="manual")
    unit.fit(x, y, epochs=400, batch_size=200, verbose=0)
    return unit.get_weights()[0].ravel()


def test_l1_is_lasso_and_sparse_l2_is_ridge_and_dense():
    from sklearn.linear_model import Lasso, Ridge

    x, y = regression()
    lasso = Lasso(alpha=0.05).fit(x, y).coef_     # mse + 0.1 |w|_1 = 2 (Lasso's objective)
    ridge = Ridge(alpha=200 * 0.1).fit(x, y).coef_  # n (mse + 0.1 |w|^2) = Ridge's objective
    assert (lasso[3:] == 0).all() and (lasso[:3] != 0).all()
    l1 = trained_kernel(nets.regularizers.L1(0.1))
    np.testing.assert_allclose(l1, lasso, rtol=0, atol=0.011)   # subgradient steps hover near 0
    l2 = trained_kernel(nets.regularizers.L2(0.1))
    np.testing.assert_allclose(l2, ridge, rtol=0, atol=1e-9)
    assert (ridge != 0).all()


def test_multiply_adds_per_layer():
    one = nets.Sequential([nets.Conv2D(64, 5, padding="same", input_shape=(32, 32, 64))])
    two = nets.Sequential([nets.Conv2D(64, 3, padding="same", input_shape=(32, 32, 64)),
                           nets.Conv2D(64, 3, padding="same")])
    assert count_macs(one) == 32 * 32 * 5 * 5 * 64 * 64 == 104_857_600
    assert count_macs(two) == 2 * 32 * 32 * 3 * 3 * 64 * 64 == 75_497_472
    assert (one.count_params(), two.count_params()) == (102_464, 73_856)
    valid = nets.Sequential([nets.Conv2D(6, 5, input_shape=(32, 32, 3)), nets.MaxPooling2D(2),
                             nets.Flatten(), nets.Dense(10)])
    assert [layer_macs(*row) for row in layer_shapes(valid)] == [28 * 28 * 5 * 5 * 3 * 6, 0, 0, 14 * 14 * 6 * 10]
    mlp = nets.Sequential([nets.Dense(128, activation="relu", input_dim=784), nets.Dense(10)])
    assert count_macs(mlp) == 784 * 128 + 128 * 10 == 101_632
    rnn = nets.Sequential([nets.LSTM(4, return_sequences=True, input_shape=(5, 3)), nets.GRU(2),
                           nets.BatchNormalization(), nets.Dense(1)])
    assert [layer_macs(*row) for row in layer_shapes(rnn)] == [5 * (3 * 16 + 4 * 16), 5 * (4 * 6 + 2 * 6), 0, 2]


def test_summary_shows_the_macs_column_only_when_asked(capsys):
    model = nets.Sequential([nets.Dense(3, input_dim=4), nets.Dense(2)], name="m")
    lines = []
    model.summary(print_fn=lines.append, show_macs=True)
    text = "".join(lines)
    assert "MACs" in text and "Multiply-adds per sample: 18" in text
    assert [c.header for c in summary_table(model).columns] == ["Layer (type)", "Output Shape", "Param #"]
    a = nets.Input((4,))
    functional = nets.Model(a, nets.Dense(2)(nets.Dense(3)(a)))
    assert count_macs(functional) == 4 * 3 + 3 * 2
