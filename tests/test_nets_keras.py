"""Cross-checks against a real Keras (slow: TensorFlow loads): the same network trained from
the same weights on the same batches, and each optimiser's update rule."""
from __future__ import annotations

import numpy as np
import pytest

import nets
from nets.datasets import load_iris

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def keras():
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    previous = keras.backend.floatx()
    keras.backend.set_floatx("float64")  # so that agreement measures the rules, not float32
    yield keras
    keras.backend.set_floatx(previous)


@pytest.mark.parametrize("loss, batch_size", [("sparse_categorical_crossentropy", 16), ("mse", 32)])
def test_per_epoch_losses_agree_with_tf_keras(keras, loss, batch_size):
    (x, y), _ = load_iris()
    target = y if loss.startswith("sparse") else np.eye(3)[y]
    ours = nets.Sequential([nets.Dense(8, activation="tanh", input_dim=4),
                            nets.Dense(3, activation="softmax")], seed=3)
    ours.compile(optimizer=nets.optimizers.SGD(0.1), loss=loss, differentiator="reverse")
    theirs = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8, activation="tanh"),
                               keras.layers.Dense(3, activation="softmax")])
    theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    theirs.set_weights(ours.get_weights())

    # Same batches: no shuffling; 105 samples make a short last batch, so Keras's weighting
    # of batch losses by batch size is checked too.
    mine = ours.fit(x, target, epochs=15, batch_size=batch_size, shuffle=False, verbose=0)
    keras_history = theirs.fit(x, target, epochs=15, batch_size=batch_size, shuffle=False, verbose=0)
    np.testing.assert_allclose(mine.history["loss"], keras_history.history["loss"], rtol=0, atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-8)


#: Keras keeps momentum, rho, betas and the initial accumulator in float32 even under
#: floatx float64 (0.9 becomes 0.89999998), so the comparison uses values float32 holds exactly.
ADAM = {"beta_1": 0.875, "beta_2": 0.9990234375}


@pytest.mark.parametrize("ours, theirs", [
    (lambda: nets.optimizers.SGD(0.1), lambda k: k.optimizers.SGD(0.1)),
    (lambda: nets.optimizers.SGD(0.1, momentum=0.5), lambda k: k.optimizers.SGD(0.1, momentum=0.5)),
    (lambda: nets.optimizers.SGD(0.1, momentum=0.5, nesterov=True),
     lambda k: k.optimizers.SGD(0.1, momentum=0.5, nesterov=True)),
    (lambda: nets.optimizers.Adagrad(0.1, initial_accumulator_value=0.125),
     lambda k: k.optimizers.Adagrad(0.1, initial_accumulator_value=0.125)),
    (lambda: nets.optimizers.RMSprop(0.01, rho=0.75), lambda k: k.optimizers.RMSprop(0.01, rho=0.75)),
    (lambda: nets.optimizers.RMSprop(0.01, rho=0.75, momentum=0.5, centered=True),
     lambda k: k.optimizers.RMSprop(0.01, rho=0.75, momentum=0.5, centered=True)),
    (lambda: nets.optimizers.Adam(0.01, **ADAM), lambda k: k.optimizers.Adam(0.01, **ADAM)),
    (lambda: nets.optimizers.Adam(nets.optimizers.ExponentialDecay(0.01, 3, 0.5), **ADAM),
     lambda k: k.optimizers.Adam(k.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5), **ADAM)),
], ids=["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "rmsprop-centered", "adam", "adam-decay"])
def test_optimizer_updates_match_keras(keras, ours, theirs, request):
    # Keras evaluates schedules in float32: a learning rate good to about 1e-8 relative.
    atol = 1e-8 if "decay" in request.node.callspec.id else 1e-12
    rng = np.random.default_rng(0)
    theta = rng.normal(size=5)
    variable = keras.Variable(theta.copy(), dtype="float64")
    mine, keras_opt = ours(), theirs(keras)
    for _ in range(12):
        g = rng.normal(size=5)
        mine.step(theta, g)
        keras_opt.apply_gradients([(keras.ops.convert_to_tensor(g), variable)])
    np.testing.assert_allclose(theta, keras.ops.convert_to_numpy(variable), rtol=0, atol=atol)


def test_loss_and_activation_values_match_keras(keras):
    """Every built-in loss and activation against Keras's own functions (away from the clip,
    where Keras's TensorFlow backend switches to logits after a sigmoid or softmax)."""
    rng = np.random.default_rng(0)
    z = 2.0 * rng.normal(size=(6, 3))
    p_sigmoid = 1.0 / (1.0 + np.exp(-z))
    p_softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y_unit = rng.uniform(size=(6, 3))
    cases = [("mse", rng.normal(size=(6, 3)), p_sigmoid), ("mae", rng.normal(size=(6, 3)), p_sigmoid),
             ("binary_crossentropy", y_unit, p_sigmoid),
             ("categorical_crossentropy", y_unit / y_unit.sum(axis=1, keepdims=True), p_softmax),
             ("sparse_categorical_crossentropy", rng.integers(0, 3, size=6), p_softmax)]
    t = keras.ops.convert_to_tensor
    for name, y, p in cases:
        ours = nets.losses.get(name)
        theirs = keras.ops.convert_to_numpy(keras.losses.get(name)(t(y), t(p)))
        assert float(ours(ours.prepare_targets(y, 3), p)) == pytest.approx(float(np.mean(theirs)), rel=1e-13), name
    for name in nets.activations.ACTIVATIONS:
        theirs = keras.ops.convert_to_numpy(keras.activations.get(name)(t(z)))
        rtol = 1e-7 if name == "leaky_relu" else 1e-14  # Keras keeps the slope 0.2 in float32
        np.testing.assert_allclose(nets.activations.get(name)(z), theirs, rtol=rtol, atol=0, err_msg=name)
