"""Subclassed models (``class M(nets.Model)`` with ``call``), the training flag, BatchNormalization's
moving statistics in every kind of model, and nets.ops, checked against closed forms."""
import numpy as np
import pytest

import difflab
import nets
from nets import ops

RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 4))
Y = np.array([0, 1, 2, 0, 1, 2])


class TwoTowers(nets.Model):
    """Attributes, a list of layers and a nested model; the namespace's concatenate in call."""

    def __init__(self):
        super().__init__(seed=0)
        self.left = nets.Dense(3, activation="tanh")
        self.right = Tower()
        self.heads = [nets.Dense(5, activation="relu"), nets.Dense(3, activation="softmax")]

    def call(self, x, training=None):
        a, b = self.left(x), self.right(x)
        h = difflab.namespace(a, b).concatenate([a, b], axis=1)
        for layer in self.heads:
            h = layer(h)
        return h


class Tower(nets.Model):
    def __init__(self):
        super().__init__()
        self.inner = nets.Sequential([nets.Dense(2), nets.Activation("sigmoid")])

    def call(self, x):
        return self.inner(x)


def built_towers():
    model = TwoTowers()
    model.build((None, 4))
    return model


def test_layers_are_tracked_in_assignment_order_and_counted():
    model = built_towers()
    assert [type(l).__name__ for l in model.layers] == ["Dense", "Tower", "Dense", "Dense"]
    # 4*3+3 + 4*2+2 + (3+2)*5+5 + 5*3+3: counted by hand
    assert model.count_params() == 15 + 10 + 30 + 18 == model.parameters.size
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(4, 3), (3,), (4, 2), (2,), (5, 5), (5,), (5, 3), (3,)]


def test_forward_is_the_closed_form_of_the_layers():
    model = built_towers()
    k1, b1, k2, b2, k3, b3, k4, b4 = model.get_weights()
    h = np.concatenate([np.tanh(X @ k1 + b1), 1 / (1 + np.exp(-(X @ k2 + b2)))], axis=1)
    h = np.maximum(h @ k3 + b3, 0) @ k4 + b4
    expected = np.exp(h) / np.exp(h).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-12)
    np.testing.assert_allclose(model(X), expected, rtol=1e-12)


def test_summary_has_the_trainable_split(capsys):
    model = built_towers()
    model.summary()
    out = capsys.readouterr().out
    assert "tower (Tower)" in out and "Total params: 73" in out and "Non-trainable params: 0" in out


def test_gradient_of_a_subclassed_model_matches_finite_differences():
    model = built_towers()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    model.batch = nets.model.Batch(X, model.loss.prepare_targets(Y, 3), training=True)
    theta = model.parameters.theta.copy()
    ad = difflab.get("reverse").gradient(model.objective)(theta)
    fd = difflab.get("fd-central").gradient(model.objective)(theta)
    np.testing.assert_allclose(ad, fd, rtol=1e-6, atol=1e-8)


def test_fit_evaluate_predict_save_and_load(tmp_path):
    model = built_towers()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(X, Y, epochs=3, batch_size=3, verbose=0)
    assert len(history.history["loss"]) == 3 and history.history["loss"][-1] < history.history["loss"][0]
    loss, _ = model.evaluate(X, Y)
    model.save(tmp_path / "towers.npz")
    again = nets.load_model(tmp_path / "towers.npz")
    assert type(again) is TwoTowers
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    assert again.evaluate(X, Y)[0] == pytest.approx(loss, rel=1e-12)


def test_the_manual_path_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="AD method"):
        TwoTowers().compile(loss="mse", differentiator="manual")


def test_a_layer_not_assigned_in_init_is_one_clear_error():
    class Stray(nets.Model):
        def call(self, x):
            return nets.Dense(2)(x)

    with pytest.raises(ValueError, match="not attributes of the model"):
        Stray().build((None, 3))


class DropoutModel(nets.Model):
    def __init__(self, training_override):
        super().__init__(seed=1)
        self.override = training_override
        self.dense = nets.Dense(4)
        self.drop = nets.Dropout(0.5)

    def call(self, x, training=None):
        return self.drop(self.dense(x), training=self.override)


@pytest.mark.parametrize("override, dropped", [(None, True), (False, False)])
def test_the_training_flag_reaches_layers_as_keras_passes_it(override, dropped):
    """fit passes training=True down; a layer's own training=False wins (no dropout then)."""
    model = DropoutModel(override)
    model.build((None, 4))
    model.compile(loss="mse", optimizer="sgd")
    batch = model._training_batch(X, np.zeros((6, 4)))
    out = model.forward(difflab.namespaces.NUMPY, model.parameters.theta, batch)
    k, b = model.get_weights()
    clean = X @ k + b
    assert np.array_equal(out, clean) is not dropped
    if dropped:
        mask = batch.masks[model.drop]
        np.testing.assert_allclose(out, clean * mask)


def bn_reference(x, momentum=0.99):
    """Keras's moving statistics after one training batch from (0, 1): closed form."""
    mean, var = x.mean(axis=0), x.var(axis=0)
    return momentum * 0 + (1 - momentum) * mean, momentum * 1 + (1 - momentum) * var


class DenseBN(nets.Model):
    def __init__(self):
        super().__init__(seed=2)
        self.dense = nets.Dense(3)
        self.bn = nets.BatchNormalization()

    def call(self, x, training=None):
        return self.bn(self.dense(x))


def functional_dense_bn():
    inp = nets.Input((4,))
    return nets.Model(inp, nets.BatchNormalization()(nets.Dense(3)(inp)), seed=2)


@pytest.mark.parametrize("make", [
    lambda: nets.Sequential([nets.Dense(3, input_dim=4), nets.BatchNormalization()], seed=2),
    functional_dense_bn,
    lambda: DenseBN(),
], ids=["sequential", "functional", "subclassed"])
def test_batch_normalization_moving_statistics_update_in_every_kind_of_model(make):
    model = make()
    model.compile(loss="mse", optimizer=nets.optimizers.SGD(0.1))
    if not model.built:
        model.build((None, 4) if isinstance(model, nets.Model) else (4,))
    kernel, bias = model.get_weights()[:2]
    model.train_on_batch(X, np.zeros((6, 3)))
    moving_mean, moving_var = model.get_weights()[-2:]
    expected_mean, expected_var = bn_reference(X @ kernel + bias)
    np.testing.assert_allclose(moving_mean, expected_mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(moving_var, expected_var, rtol=1e-12)


def test_ops_spell_tf_over_the_namespace():
    a, b = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 3, 2))
    np.testing.assert_array_equal(ops.concat([a, b], axis=2), np.concatenate([a, b], axis=2))
    np.testing.assert_array_equal(ops.add(a, a), 2 * a)
    np.testing.assert_array_equal(ops.relu(a), np.maximum(a, 0))
    np.testing.assert_allclose(ops.reduce_mean(a, axis=[1, 2]), a.mean(axis=(1, 2)))
    np.testing.assert_array_equal(ops.reshape(a, (-1, 4)), a.reshape(6, 4))
    np.testing.assert_array_equal(ops.flatten(a), a.reshape(2, 12))
    with pytest.raises(ValueError, match="cannot reshape"):
        ops.reshape(a, (5, -1))


def test_a_subclassed_model_nests_in_a_sequential():
    model = nets.Sequential([nets.Dense(4, input_dim=3), Tower(), nets.Dense(2)], seed=0)
    x = RNG.normal(size=(5, 3))
    k1, b1, k2, b2, k3, b3 = model.get_weights()
    expected = 1 / (1 + np.exp(-((x @ k1 + b1) @ k2 + b2))) @ k3 + b3
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-12)
    assert model.count_params() == 16 + 10 + 6
    assert [type(l).__name__ for l in model.layers] == ["Dense", "Tower", "Dense"]
