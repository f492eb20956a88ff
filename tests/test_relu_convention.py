"""ReLU'(0) and leaky ReLU'(0): one chosen convention, followed by every method.

The references are the stated conventions and the frameworks' own ``relu``/``leaky_relu``
(``torch.relu``, ``tf.nn.relu``, ``jax.nn.relu``), never the code under test.
"""
from __future__ import annotations

import numpy as np
import pytest

import difflab
import nets
from nets import activations

METHODS = ["reverse", "forward", "autograd", "torch", "tensorflow", "jax"]
Z = np.array([0.0, -1.5, 2.0])          # the kink, one point each side
SLOPE = 0.2
# (name, at_zero) -> derivative at 0, left of it, right of it
EXPECTED = {("relu", 0.0): (0.0, 0.0, 1.0), ("relu", 0.5): (0.5, 0.0, 1.0), ("relu", 1.0): (1.0, 0.0, 1.0),
            ("leaky_relu", 0.0): (SLOPE, SLOPE, 1.0), ("leaky_relu", 0.5): ((1 + SLOPE) / 2, SLOPE, 1.0),
            ("leaky_relu", 1.0): (1.0, SLOPE, 1.0)}


def require(name):
    ok, why = difflab.method_class(name).availability()
    if not ok:
        pytest.skip(f"{name}: {why}")
    return name


def summed(act):
    return lambda z: difflab.namespace(z).sum(act(z))


@pytest.mark.parametrize("case", list(EXPECTED), ids=lambda c: f"{c[0]}-{c[1]:g}")
@pytest.mark.parametrize("method", METHODS + ["reverse-jit"])
def test_every_method_follows_the_chosen_convention(method, case):
    name, at_zero = case
    act = activations.get(name, at_zero=at_zero)
    d = difflab.get("reverse", jit=True) if method == "reverse-jit" else difflab.get(require(method))
    np.testing.assert_allclose(d.gradient(summed(act))(Z), EXPECTED[case], rtol=1e-15, atol=0)
    np.testing.assert_allclose(d.jvp(summed(act))(Z[:1], np.ones(1)), EXPECTED[case][:1], rtol=1e-15)


@pytest.mark.parametrize("case", list(EXPECTED), ids=lambda c: f"{c[0]}-{c[1]:g}")
def test_the_hand_derived_backward_follows_it(case):
    act = activations.get(*case)
    np.testing.assert_allclose(act.backward(Z, act(Z), np.ones(3)), EXPECTED[case], rtol=1e-15, atol=0)


def test_values_are_unchanged_by_the_convention():
    for name in ("relu", "leaky_relu"):
        values = [activations.get(name, at_zero=c)(Z) for c in (0, 0.5, 1)]
        for v in values:
            np.testing.assert_array_equal(v, np.where(Z > 0, Z, 0.0 if name == "relu" else SLOPE * Z))


def _native_derivatives_at_zero():
    """ReLU'(0) and leaky ReLU'(0) (slope 0.2) of each installed framework's own function."""
    out = {}
    try:
        import torch

        for key, fn in (("relu", torch.relu), ("leaky_relu", lambda t: torch.nn.functional.leaky_relu(t, SLOPE))):
            t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
            fn(t).sum().backward()
            out["torch", key] = float(t.grad[0])
    except ImportError:
        pass
    try:
        import tensorflow as tf

        for key, fn in (("relu", tf.nn.relu), ("leaky_relu", lambda t: tf.nn.leaky_relu(t, SLOPE))):
            t = tf.Variable([0.0], dtype=tf.float64)
            with tf.GradientTape() as tape:
                y = tf.reduce_sum(fn(t))
            out["tensorflow", key] = float(tape.gradient(y, t)[0])
    except ImportError:
        pass
    try:
        import jax

        out["jax", "relu"] = float(jax.grad(jax.nn.relu)(0.0))
    except ImportError:
        pass
    return out


def test_the_default_is_the_frameworks_relu():
    native = _native_derivatives_at_zero()
    if not native:
        pytest.skip("no framework installed")
    for (framework, name), value in native.items():
        ours = difflab.get("reverse").gradient(summed(activations.get(name)))(np.zeros(1))[0]
        assert ours == pytest.approx(value, rel=1e-7), (framework, name)  # TF keeps 0.2 in float32


@pytest.mark.parametrize("at_zero", [0.0, 0.5, 1.0])
def test_a_network_through_an_exact_zero_trains_alike_by_hand_and_by_ad(at_zero):
    """Zero weights and biases put every hidden pre-activation at exactly 0: the first-layer
    gradient is then (at_zero x the output weights x the input) in every method."""
    relu = activations.get("relu", at_zero=at_zero)
    x, y = np.array([[3.0]]), np.array([[1.0]])
    first_kernel = {}
    for method in ["manual", "reverse", "torch", "tensorflow"]:
        if method != "manual" and not difflab.method_class(method).availability()[0]:
            continue
        m = nets.Sequential([nets.Dense(2, activation=relu, input_dim=1,
                                        kernel_initializer="zeros"),
                             nets.Dense(1, kernel_initializer="ones")])
        m.compile(optimizer=nets.optimizers.SGD(0.1), loss="mse", differentiator=method)
        m.fit(x, y, epochs=1, verbose=0)
        first_kernel[method] = m.get_weights()[0]
    # mse gradient at the output: 2 (0 - 1) = -2; d/dW1 = -2 x 1 x relu'(0) x 3
    for method, w in first_kernel.items():
        np.testing.assert_allclose(w, [[0.1 * 2 * 3 * at_zero] * 2], rtol=1e-14, err_msg=method)


def test_named_conventions_round_trip_through_configs():
    layer = nets.Dense(3, activation="relu(at_zero=0.5)", input_dim=2)
    assert layer.activation.name == "relu(at_zero=0.5)"
    again = nets.saving.layer_from_config("Dense", layer.get_config())
    np.testing.assert_array_equal(again.activation.backward(Z, None, np.ones(3)), EXPECTED["relu", 0.5])
    assert activations.get("relu").name == "relu" and activations.get("relu", at_zero=1).name == "relu(at_zero=1)"


@pytest.mark.parametrize("bad, match", [(("relu", 2), "must be a number in"), (("sigmoid", 0.5), "applies to"),
                                        (("relu(at_zero=0.5)", 0.5), "names its at_zero already")])
def test_bad_conventions_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        activations.get(*bad)
