"""The published step-by-step backpropagation example (2-2-2), and the hand-derived
backprop of every layer, activation and loss checked against difflab's reverse mode."""
from __future__ import annotations

import numpy as np
import pytest

import difflab
import nets
from nets import backprop
from nets.datasets import BACKPROP_EXAMPLE, example_weights_w1_to_w8, load_backprop_example
from nets.examples import backprop_example

EXACT = ["manual", "reverse", "forward", "sympy", "autograd", "torch", "tensorflow"]


def require(name):
    ok, why = difflab.method_class(name).availability()
    if not ok:
        pytest.skip(f"{name}: {why}")
    return name


def one_step(differentiator):
    X, y = load_backprop_example()
    model = backprop_example(differentiator)
    model.fit(X, y, epochs=1, verbose=0, shuffle=False)
    return example_weights_w1_to_w8(model.get_weights())


def test_total_error_before_training():
    X, y = load_backprop_example()
    # For one sample and two outputs, Keras's mse is exactly E = sum 0.5 (target - out)^2.
    assert backprop_example().evaluate(X, y) == pytest.approx(0.298371109, abs=5e-10)


def test_biases_are_fixed_and_only_the_eight_weights_train():
    model = backprop_example()
    assert model.parameters.size == 8 and model.count_params() == 12
    X, y = load_backprop_example()
    model.fit(X, y, epochs=3, verbose=0)
    weights = model.get_weights()
    assert np.all(weights[1] == 0.35) and np.all(weights[3] == 0.60)


def test_manual_step_matches_the_published_weights():
    # The published figures are rounded to 8 or 9 digits.
    np.testing.assert_allclose(one_step("manual"), BACKPROP_EXAMPLE["weights_after_one_step"], atol=5e-9)


@pytest.mark.parametrize("method", EXACT[1:])
def test_every_exact_method_takes_the_same_step(method):
    require(method)
    np.testing.assert_allclose(one_step(method), one_step("manual"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(one_step(method), BACKPROP_EXAMPLE["weights_after_one_step"], atol=5e-9)


def test_central_differences_take_the_same_step_to_1e_7():
    np.testing.assert_allclose(one_step("fd-central"), one_step("manual"), rtol=0, atol=1e-7)


# ---------------------------------------------------------------------- every hand-derived rule
def _gradients(model, x, y, seed=0):
    """Backprop's and reverse mode's (loss, gradient) on one batch with dropout masks drawn."""
    x, y = model._check_data(x, y)
    model.batch = model._training_batch(x, y)
    theta = model.parameters.theta.copy()
    manual = backprop.value_and_gradient(model, theta, model.batch)
    reverse = difflab.get("reverse").value_and_gradient(difflab.Function(model.objective))(theta)
    return manual, reverse


def _data(n_out, loss, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(7, 3))
    if loss == "sparse_categorical_crossentropy":
        return x, rng.integers(0, n_out, size=7)
    if loss in ("binary_crossentropy", "categorical_crossentropy"):
        y = rng.uniform(size=(7, n_out))
        return x, y / y.sum(axis=1, keepdims=True) if loss == "categorical_crossentropy" else y
    return x, rng.normal(size=(7, n_out))


def _every_layer_kind(activation, loss, hidden, seed):
    """Dense with l2, dropout, Dense with l1, a separate Activation, and the loss's output layer."""
    output = "softmax" if "categorical" in loss else "sigmoid" if loss == "binary_crossentropy" else "linear"
    model = nets.Sequential([
        nets.Dense(hidden[0], activation=activation, input_dim=3, kernel_regularizer="l2"),
        nets.Dropout(0.3),
        nets.Dense(hidden[1], kernel_regularizer=nets.regularizers.L1(0.02)),
        nets.Activation(activation),
        nets.Dense(3, activation=output),
    ], seed=seed)
    model.compile(optimizer="sgd", loss=loss)
    return model


@pytest.mark.parametrize("activation", sorted(nets.activations.ACTIVATIONS))
@pytest.mark.parametrize("loss", ["mse", "mae", "binary_crossentropy", "categorical_crossentropy",
                                  "sparse_categorical_crossentropy"])
def test_backprop_matches_reverse_mode(activation, loss):
    model = _every_layer_kind(activation, loss, hidden=(5, 4), seed=1)
    (v_manual, g_manual), (v_reverse, g_reverse) = _gradients(model, *_data(3, loss))
    assert v_manual == pytest.approx(v_reverse, rel=1e-13)
    np.testing.assert_allclose(g_manual, g_reverse, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("activation", sorted(nets.activations.ACTIVATIONS))
@pytest.mark.parametrize("loss", ["mse", "mae", "binary_crossentropy", "categorical_crossentropy",
                                  "sparse_categorical_crossentropy"])
def test_backprop_matches_the_oracle(activation, loss):
    """The same hand-derived rules against difflab's 50-digit oracle: a reference that is not
    one of the methods under test."""
    from difflab.analysis.oracle import reference

    model = _every_layer_kind(activation, loss, hidden=(4, 3), seed=2)
    x, y = model._check_data(*_data(3, loss, seed=5))
    model.batch = model._training_batch(x, y)
    theta = model.parameters.theta.copy()
    _, g_manual = backprop.value_and_gradient(model, theta, model.batch)
    exact = reference(model.objective, theta)
    np.testing.assert_allclose(g_manual, exact, rtol=1e-12, atol=1e-14)


def test_clipped_probabilities_have_zero_gradient_in_both_paths():
    model = nets.Sequential([nets.Dense(1, activation="sigmoid", input_dim=1, kernel_initializer="ones",
                                        bias_initializer=40.0)])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    (v_m, g_m), (v_r, g_r) = _gradients(model, np.array([[1.0]]), np.array([[0.0]]))
    assert v_m == pytest.approx(v_r) == pytest.approx(-np.log(1e-7), rel=1e-6)
    assert np.all(g_m == 0) and np.all(g_r == 0)
