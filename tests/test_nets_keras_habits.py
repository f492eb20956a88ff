"""Keras habits the notes use: to_categorical, train_on_batch, validation_freq, the accuracy
metrics, from_logits, LearningRateScheduler, ReduceLROnPlateau and EarlyStopping(verbose),
each against Keras's formulas written out by hand."""
from __future__ import annotations

import types

import numpy as np
import pytest

import difflab
import nets


def linear_data(n=12):
    x = np.linspace(-1.0, 1.0, 2 * n).reshape(n, 2)
    return x, x @ np.array([1.5, -0.5]) + 0.25


def linear_model(lr=0.1, **compile_options):
    model = nets.Sequential([nets.Dense(1, input_dim=2)], seed=0)
    model.compile(optimizer=nets.optimizers.SGD(lr), loss="mse", **compile_options)
    return model


def hand_sgd(weights, x, y, rates):
    """Full-batch gradient descent on mse for y ~ x w + b, the gradient by hand."""
    w, b = weights[0][:, 0].copy(), weights[1][0]
    for lr in rates:
        r = x @ w + b - y
        w, b = w - lr * 2 * x.T @ r / len(y), b - lr * 2 * r.mean()
    return w, b


# ---------------------------------------------------------------------- to_categorical
def test_to_categorical_is_one_hot_as_keras_shapes_it():
    np.testing.assert_array_equal(nets.to_categorical([2, 0, 1]), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert nets.to_categorical(np.array([[1], [0]]), 4).shape == (2, 4)  # a trailing 1 is dropped
    assert nets.to_categorical([[0, 1], [2, 1]]).shape == (2, 2, 3)
    assert nets.to_categorical is nets.utils.to_categorical


@pytest.mark.parametrize("labels, num_classes, message", [
    ([0, 1.5], None, "whole-number labels >= 0, found 1.5"),
    ([0, -1], None, "found -1"),
    ([0, 3], 3, "label 3 is out of range for num_classes=3"),
    (["a"], None, "integer class labels"),
    ([], None, "no labels"),
    ([0, np.nan], None, "found nan"),
    ([0, 1], 0, "num_classes must be a positive whole number, got 0"),
    ([0, 1], "3", "num_classes must be a positive whole number, got '3'"),
    ([0, 1], 2.5, "num_classes must be a positive whole number"),
])
def test_to_categorical_refuses_what_keras_would_silently_cast(labels, num_classes, message):
    with pytest.raises(ValueError, match=message):
        nets.to_categorical(labels, num_classes)


# ---------------------------------------------------------------------- metrics
def test_accuracy_metrics_by_hand():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.4, 0.4, 0.2]])
    labels = np.array([0, 1, 1, 0])  # right, wrong, right, right (ties go to the first)
    assert nets.metrics.sparse_categorical_accuracy(labels, p) == 0.75
    assert nets.metrics.sparse_categorical_accuracy(labels[:, None], p) == 0.75
    assert nets.metrics.categorical_accuracy(np.eye(3)[labels], p) == 0.75


def test_sparse_accuracy_in_fit_reads_the_labels_the_loss_one_hot_encoded():
    (x, y), _ = nets.datasets.load_iris()
    model = nets.Sequential([nets.Dense(3, activation="softmax", input_dim=4)], seed=1)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    scores = model.evaluate(x, y, return_dict=True)
    assert scores["sparse_categorical_accuracy"] == np.mean(model.predict(x).argmax(axis=1) == y)


# ---------------------------------------------------------------------- from_logits
def test_binary_crossentropy_from_logits_is_the_unclipped_formula():
    z = np.array([[-3.0], [0.5], [40.0], [-40.0]])
    y = np.array([[0.0], [1.0], [0.0], [1.0]])
    loss = nets.losses.BinaryCrossentropy(from_logits=True)
    s = 1 / (1 + np.exp(-z[:2]))
    by_hand = np.concatenate([-(y[:2] * np.log(s) + (1 - y[:2]) * np.log(1 - s)).ravel(), [40.0, 40.0]])
    assert float(loss(y, z)) == pytest.approx(by_hand.mean(), rel=1e-12)  # 40, not -log(1e-7)


def test_categorical_crossentropy_from_logits_by_hand():
    rng = np.random.default_rng(0)
    z, labels = 3 * rng.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0])
    log_softmax = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    expected = -log_softmax[np.arange(5), labels].mean()
    for loss in (nets.losses.CategoricalCrossentropy(from_logits=True),
                 nets.losses.SparseCategoricalCrossentropy(from_logits=True)):
        assert float(loss(loss.prepare_targets(labels if "sparse" in loss.name else np.eye(3)[labels], 3),
                          z)) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("loss, y", [
    (nets.losses.BinaryCrossentropy(from_logits=True), np.array([[0.0, 1.0], [1.0, 0.3], [0.2, 0.0]])),
    (nets.losses.CategoricalCrossentropy(from_logits=True), np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])),
], ids=["binary", "categorical"])
def test_hand_gradients_from_logits_match_the_oracle(loss, y):
    z = np.array([[0.3, -1.2], [2.0, 0.1], [-0.7, 0.4]])
    expected = difflab.reference(lambda flat: loss(y, difflab.namespace(flat).reshape(flat, (3, 2))),
                                 z.ravel())
    np.testing.assert_allclose(loss.gradient(y, z).ravel(), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("differentiator", ["manual", "reverse"])
def test_logits_with_a_linear_output_train_as_softmax_with_probabilities(differentiator):
    (x, y), _ = nets.datasets.load_iris()

    def trained(activation, loss):
        model = nets.Sequential([nets.Dense(6, activation="tanh", input_dim=4),
                                 nets.Dense(3, activation=activation)], seed=2)
        model.compile(optimizer=nets.optimizers.SGD(0.1), loss=loss, differentiator=differentiator)
        return model.fit(x, y, epochs=3, batch_size=16, verbose=0).history["loss"], model.get_weights()

    logit_losses, logit_weights = trained(None, nets.losses.SparseCategoricalCrossentropy(from_logits=True))
    prob_losses, prob_weights = trained("softmax", "sparse_categorical_crossentropy")
    np.testing.assert_allclose(logit_losses, prob_losses, rtol=1e-12)
    for a, b in zip(logit_weights, prob_weights):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_from_logits_survives_saving(tmp_path):
    model = nets.Sequential([nets.Dense(2, input_dim=2)], seed=0)
    model.compile(optimizer="sgd", loss=nets.losses.CategoricalCrossentropy(from_logits=True))
    model.save(tmp_path / "m.npz")
    loaded = nets.load_model(tmp_path / "m.npz")
    assert isinstance(loaded.loss, nets.losses.CategoricalCrossentropy) and loaded.loss.from_logits


# ---------------------------------------------------------------------- train_on_batch
def test_train_on_batch_is_one_step_with_the_loss_before_it():
    x, y = linear_data()
    model = linear_model(lr=0.2)
    before = model.evaluate(x, y)
    start = model.get_weights()
    assert model.train_on_batch(x, y) == pytest.approx(before, rel=1e-14)
    w, b = hand_sgd(start, x, y, [0.2])
    np.testing.assert_allclose(model.get_weights()[0][:, 0], w, rtol=1e-13)
    assert model.get_weights()[1][0] == pytest.approx(b, rel=1e-13)
    assert model.optimizer.iterations == 1


def test_train_on_batch_with_metrics_returns_a_list_or_a_dict():
    x, y = linear_data()
    model = linear_model(metrics=["mae"])
    pred = model.predict(x)[:, 0]
    loss, mae = model.train_on_batch(x, y)
    assert loss == pytest.approx(np.mean((pred - y) ** 2)) and mae == pytest.approx(np.mean(np.abs(pred - y)))
    assert set(model.train_on_batch(x, y, return_dict=True)) == {"loss", "mae"}
    with pytest.raises(ValueError, match="x has 12 samples but y has 3"):
        model.train_on_batch(x, y[:3])


# ---------------------------------------------------------------------- validation_freq
@pytest.mark.parametrize("freq, validated", [(2, [2, 4]), ([1, 5], [1, 5]), (1, [1, 2, 3, 4, 5])])
def test_validation_freq_validates_the_epochs_keras_would(freq, validated):
    x, y = linear_data()
    history = linear_model().fit(x, y, epochs=5, batch_size=12, validation_data=(x[:4], y[:4]),
                                 validation_freq=freq, verbose=0)
    assert len(history.history["loss"]) == 5 and len(history.history["val_loss"]) == len(validated)
    start = linear_model().get_weights()
    for value, epoch in zip(history.history["val_loss"], validated):
        w, b = hand_sgd(start, x, y, [0.1] * epoch)
        assert value == pytest.approx(np.mean((x[:4] @ w + b - y[:4]) ** 2), rel=1e-12)


def test_early_stopping_waits_for_the_validated_epochs():
    x, y = linear_data()
    stop = nets.EarlyStopping(monitor="val_loss", patience=1)
    history = linear_model().fit(x, y, epochs=6, batch_size=12, validation_data=(x, y),
                                 validation_freq=3, callbacks=[stop], verbose=0)
    assert len(history.history["loss"]) == 6 and stop.stopped_epoch == 0


@pytest.mark.parametrize("freq", [0, -2, 1.5, "2", [0, 3], True])
def test_a_bad_validation_freq_is_refused_before_training(freq):
    x, y = linear_data()
    model = linear_model()
    with pytest.raises(ValueError, match="validation_freq"):
        model.fit(x, y, epochs=2, validation_data=(x, y), validation_freq=freq, verbose=0)
    assert model.optimizer.iterations == 0


# ---------------------------------------------------------------------- callbacks
@pytest.mark.parametrize("schedule", [lambda epoch: 0.2 * 0.5 ** epoch,
                                      lambda epoch, lr: 0.2 if epoch == 0 else lr * 0.5],
                         ids=["schedule(epoch)", "schedule(epoch, lr)"])
def test_learning_rate_scheduler_sets_each_epochs_rate(schedule):
    x, y = linear_data()
    model = linear_model()
    start = model.get_weights()
    history = model.fit(x, y, epochs=4, batch_size=12, verbose=0,
                        callbacks=[nets.LearningRateScheduler(schedule)])
    rates = [0.2, 0.1, 0.05, 0.025]
    assert history.history["learning_rate"] == pytest.approx(rates)
    w, b = hand_sgd(start, x, y, rates)
    np.testing.assert_allclose(model.get_weights()[0][:, 0], w, rtol=1e-12)
    assert model.get_weights()[1][0] == pytest.approx(b, rel=1e-12)


def test_scheduler_refuses_a_schedule_optimizer_and_a_bad_rate():
    x, y = linear_data()
    model = nets.Sequential([nets.Dense(1, input_dim=2)], seed=0)
    model.compile(optimizer=nets.optimizers.SGD(nets.optimizers.ExponentialDecay(0.1, 10, 0.5)), loss="mse")
    with pytest.raises(ValueError, match="follows a schedule"):
        model.fit(x, y, verbose=0, callbacks=[nets.LearningRateScheduler(lambda e: 0.1)])
    with pytest.raises(ValueError, match="must be finite and non-negative"):
        linear_model().fit(x, y, verbose=0, callbacks=[nets.LearningRateScheduler(lambda e: -1.0)])


def test_reduce_lr_on_plateau_follows_keras_rule_step_by_step():
    """Keras 3's rule traced by hand: patience 2, factor 0.5, cooldown 1, min_lr 0.02."""
    optimizer = nets.optimizers.SGD(0.1)
    callback = nets.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=1, min_lr=0.02)
    callback.set_model(types.SimpleNamespace(optimizer=optimizer))
    callback.on_train_begin()
    logged = []
    for epoch, value in enumerate([1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]):
        logs = {"val_loss": value}
        callback.on_epoch_end(epoch, logs)
        logged.append(logs["learning_rate"])
    # The rate is logged before the epoch's reduction. Waits 1, 2 -> halve at epoch 3; epoch 4
    # is the cooldown (its wait resets, then counts 1); improve at 5; waits 1, 2 -> halve at 7;
    # cooldown at 8 (wait 1), wait 2 at 9 -> 0.0125, floored at min_lr 0.02; no lower after.
    assert logged == pytest.approx([0.1] * 4 + [0.05] * 4 + [0.025] * 2 + [0.02] * 3)
    assert optimizer.learning_rate == pytest.approx(0.02)
    with pytest.raises(ValueError, match="factor >= 1"):
        nets.ReduceLROnPlateau(factor=1.0)


def test_early_stopping_verbose_says_where_it_stopped(capsys):
    x, y = linear_data()
    model = linear_model(lr=0.0)  # no progress (min_delta absorbs the rounding of a reshuffled sum)
    stop = nets.EarlyStopping(monitor="loss", patience=2, verbose=1, restore_best_weights=True, min_delta=1e-9)
    model.fit(x, y, epochs=10, batch_size=12, verbose=0, callbacks=[stop])
    err = capsys.readouterr().err
    assert "Epoch 3: early stopping" in err
    assert "Restoring model weights from the end of the best epoch: 1." in err
    linear_model(lr=0.0).fit(x, y, epochs=10, batch_size=12, verbose=0,
                             callbacks=[nets.EarlyStopping(monitor="loss", patience=2)])
    assert capsys.readouterr().err == ""


def test_a_bare_number_as_input_shape_is_one_clear_error():
    """The notes' ``input_shape=784``: Keras refuses it too; nets says what it takes."""
    with pytest.raises(ValueError, match=r"such as \(784,\), got 784"):
        nets.Dense(10, input_shape=784)
    assert nets.Dense(10, input_shape=(784,)).declared_input_shape() == (784,)
