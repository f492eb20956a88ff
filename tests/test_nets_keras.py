"""Cross-checks against a real Keras (slow: TensorFlow loads): the same network trained from
the same weights on the same batches, and each optimiser's update rule."""
from __future__ import annotations

import numpy as np
import pytest

import nets
from nets.datasets import load_iris

pytestmark = pytest.mark.slow


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
    (lambda: nets.optimizers.Adadelta(), lambda k: k.optimizers.Adadelta()),
    (lambda: nets.optimizers.Adadelta(1.0, rho=0.9375), lambda k: k.optimizers.Adadelta(1.0, rho=0.9375)),
], ids=["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "rmsprop-centered", "adam", "adam-decay",
        "adadelta-defaults", "adadelta"])
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


# ---------------------------------------------------------------------- Keras habits (issue 13)
def test_from_logits_losses_match_keras(keras):
    """Including scores far outside where the probability losses clip: from logits nothing is."""
    rng = np.random.default_rng(0)
    z = 3.0 * rng.normal(size=(6, 3))
    z[0, 0], z[1, 2] = 40.0, -40.0
    y_unit = rng.uniform(size=(6, 3))
    labels = rng.integers(0, 3, size=6)
    t = keras.ops.convert_to_tensor
    cases = [(nets.losses.BinaryCrossentropy, keras.losses.BinaryCrossentropy, y_unit),
             (nets.losses.CategoricalCrossentropy, keras.losses.CategoricalCrossentropy, np.eye(3)[labels]),
             (nets.losses.SparseCategoricalCrossentropy, keras.losses.SparseCategoricalCrossentropy, labels)]
    for ours_cls, theirs_cls, y in cases:
        ours = ours_cls(from_logits=True)
        theirs = float(keras.ops.convert_to_numpy(theirs_cls(from_logits=True)(t(y), t(z))))
        assert float(ours(ours.prepare_targets(y, 3), z)) == pytest.approx(theirs, rel=1e-13), ours.name


def _same_linear_models(keras, lr=0.1):
    (x, y), (xt, yt) = load_iris()
    ours = nets.Sequential([nets.Dense(3, activation="softmax", input_dim=4)], seed=4)
    ours.compile(optimizer=nets.optimizers.SGD(lr), loss="sparse_categorical_crossentropy")
    theirs = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="softmax")])
    theirs.compile(optimizer=keras.optimizers.SGD(lr), loss="sparse_categorical_crossentropy")
    theirs.set_weights(ours.get_weights())
    return ours, theirs, (x, y), (xt, yt)


def test_learning_rate_scheduler_matches_keras(keras):
    ours, theirs, (x, y), _ = _same_linear_models(keras)
    schedule = lambda epoch, lr: lr if epoch < 2 else lr * 0.5  # noqa: E731
    mine = ours.fit(x, y, epochs=5, batch_size=16, shuffle=False, verbose=0,
                    callbacks=[nets.LearningRateScheduler(schedule)])
    keras_history = theirs.fit(x, y, epochs=5, batch_size=16, shuffle=False, verbose=0,
                               callbacks=[keras.callbacks.LearningRateScheduler(schedule)])
    np.testing.assert_allclose(mine.history["learning_rate"], keras_history.history["learning_rate"], rtol=1e-7)
    np.testing.assert_allclose(mine.history["loss"], keras_history.history["loss"], atol=1e-6)


def test_reduce_lr_on_plateau_and_early_stopping_match_keras(keras):
    """Both watch a validation loss that stalls (a large learning rate on iris); the learning
    rates logged, the epoch training stops at and the restored weights agree."""
    ours, theirs, (x, y), (xt, yt) = _same_linear_models(keras, lr=2.0)
    options = {"monitor": "val_loss", "patience": 2, "min_delta": 1e-3}

    def callbacks(module):
        return [module.ReduceLROnPlateau(factor=0.5, cooldown=1, **options),
                module.EarlyStopping(restore_best_weights=True, **{**options, "patience": 6})]

    mine = ours.fit(x, y, epochs=60, batch_size=16, shuffle=False, verbose=0,
                    validation_data=(xt, yt), callbacks=callbacks(nets))
    keras_history = theirs.fit(x, y, epochs=60, batch_size=16, shuffle=False, verbose=0,
                               validation_data=(xt, yt), callbacks=callbacks(keras.callbacks))
    assert len(mine.history["loss"]) == len(keras_history.history["loss"])
    np.testing.assert_allclose(mine.history["learning_rate"], keras_history.history["learning_rate"], rtol=1e-7)
    np.testing.assert_allclose(mine.history["val_loss"], keras_history.history["val_loss"], atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
