"""Training: identical trajectories across methods, accuracy on iris and digits, Keras's
History semantics, callbacks, validation."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import difflab
import nets
from nets.datasets import load_digits, load_iris, load_xor


def require(name):
    ok, why = difflab.method_class(name).availability()
    if not ok:
        pytest.skip(f"{name}: {why}")
    return name


def xor_model(differentiator, loss="binary_crossentropy", output="sigmoid"):
    model = nets.Sequential([nets.Dense(4, activation="tanh", input_dim=2),
                             nets.Dense(1, activation=output)], seed=1)
    model.compile(optimizer=nets.optimizers.Adam(0.05), loss=loss, metrics=["accuracy"],
                  differentiator=differentiator)
    return model


def flat(model):
    return np.concatenate([w.ravel() for w in model.get_weights()])


@pytest.fixture(scope="module")
def xor_manual_300():
    model = xor_model("manual")
    history = model.fit(*load_xor(), epochs=300, batch_size=4, verbose=0)
    return model, history


def test_xor_is_learned(xor_manual_300):
    model, history = xor_manual_300
    assert history.history["accuracy"][-1] == 1.0
    assert history.history["loss"][-1] < 0.01 < history.history["loss"][0]


@pytest.mark.parametrize("method", ["reverse", "torch"])
def test_300_adam_epochs_on_xor_give_identical_weights(method, xor_manual_300):
    require(method)
    model = xor_model(method)
    history = model.fit(*load_xor(), epochs=300, batch_size=4, verbose=0)
    np.testing.assert_allclose(flat(model), flat(xor_manual_300[0]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(history.history["loss"], xor_manual_300[1].history["loss"], rtol=1e-9)


@pytest.mark.parametrize("method", ["reverse", "forward", "autograd", "torch", "tensorflow", "jax", "sympy"])
def test_shuffled_minibatches_give_the_same_trajectory(method):
    """Batches change at every step: a method that kept the first batch's data in its
    preparation (a trace, a compiled graph) would drift from backprop here."""
    require(method)
    runs = []
    for name in ("manual", method):
        model = xor_model(name)
        model.fit(*load_xor(), epochs=3, batch_size=2, verbose=0)
        runs.append(flat(model))
    np.testing.assert_allclose(runs[1], runs[0], rtol=0, atol=1e-12)


def test_sympy_warns_that_big_networks_are_not_for_it():
    require("sympy")
    model = nets.Sequential([nets.Dense(64, activation="tanh", input_dim=64), nets.Dense(1)], seed=0)
    model.compile(optimizer="sgd", loss="mse", differentiator="sympy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the warning comes before any derivation, and stops it
        with pytest.raises(UserWarning, match="symbolic expression of the loss for every distinct batch"):
            model.fit(np.ones((32, 64)), np.ones(32), verbose=0)


def iris_model(differentiator="manual", seed=0):
    model = nets.Sequential([nets.Dense(16, activation="relu", input_dim=4),
                             nets.Dense(3, activation="softmax")], seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  differentiator=differentiator)
    return model


def test_iris_reaches_90_percent_on_a_stratified_30_percent_hold_out():
    (x_train, y_train), (x_test, y_test) = load_iris(test_size=0.3)
    assert len(x_test) == 45 and np.all(np.bincount(y_test) == 15)
    model = iris_model("reverse")
    model.fit(x_train, y_train, epochs=200, batch_size=16, verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test)
    assert accuracy >= 0.9


def test_digits_reaches_93_percent():
    (x_train, y_train), (x_test, y_test) = load_digits()
    model = nets.Sequential([nets.Dense(32, activation="relu", input_dim=64),
                             nets.Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer=nets.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], differentiator="manual")
    model.fit(x_train, y_train, epochs=20, batch_size=32, verbose=0)
    assert model.evaluate(x_test, y_test, return_dict=True)["accuracy"] >= 0.93


# ---------------------------------------------------------------------- Keras semantics
def test_epoch_loss_is_the_batch_size_weighted_mean_of_the_batch_losses():
    x, y = load_xor()
    model = xor_model("reverse")
    model.compile(optimizer=nets.optimizers.SGD(0.0), loss="binary_crossentropy")  # weights frozen
    start = model.evaluate(x, y)
    history = model.fit(x, y, epochs=2, batch_size=3, verbose=0)  # batches of 3 and 1
    assert history.history["loss"] == pytest.approx([start, start], rel=1e-12)


def test_validation_split_takes_the_last_samples_and_logs_val_entries():
    (x, y), _ = load_iris()
    model = iris_model()
    history = model.fit(x, y, epochs=2, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(x[84:], y[84:])[0])


def test_early_stopping_stops_and_restores_the_best_weights():
    (x, y), (xv, yv) = load_iris()
    model = iris_model()
    stop = nets.EarlyStopping(monitor="loss", patience=2, min_delta=10.0, restore_best_weights=True)
    first = None

    class Remember(nets.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            nonlocal first
            first = model.get_weights() if epoch == 0 else first

    history = model.fit(x, y, epochs=50, callbacks=[Remember(), stop], verbose=0)
    assert len(history.history["loss"]) == 3 and stop.stopped_epoch == 2
    for a, b in zip(model.get_weights(), first):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_saves_the_best_model(tmp_path):
    (x, y), (xv, yv) = load_iris()
    model = iris_model()
    path = tmp_path / "best-{epoch:02d}.npz"
    model.fit(x, y, epochs=3, validation_data=(xv, yv), verbose=0,
              callbacks=[nets.ModelCheckpoint(str(path), monitor="val_accuracy", save_best_only=True)])
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert saved and saved[0] == "best-01.npz"


def test_progress_bar_and_per_epoch_lines(capsys):
    model = xor_model("manual")
    model.fit(*load_xor(), epochs=2, verbose=2)
    assert "epoch 2/2" in capsys.readouterr().err


def test_early_stopping_restores_the_best_weights_even_without_stopping():
    """Keras 3 restores the best epoch's weights at the end of fit, stopped early or not."""
    (x, y), (xv, yv) = load_iris()
    model = iris_model()
    seen = []

    class Remember(nets.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((logs["val_loss"], model.get_weights()))

    stop = nets.EarlyStopping(monitor="val_loss", patience=100, restore_best_weights=True)
    model.compile(optimizer=nets.optimizers.SGD(3.0), loss="sparse_categorical_crossentropy")  # erratic
    model.fit(x, y, epochs=8, validation_data=(xv, yv), callbacks=[Remember(), stop], verbose=0)
    assert stop.stopped_epoch == 0 and len(seen) == 8
    best = min(range(8), key=lambda k: seen[k][0])
    assert best != 7, "the test needs a run whose last epoch is not its best"
    assert stop.best_epoch == best
    for a, b in zip(model.get_weights(), seen[best][1]):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_refuses_a_bad_filepath_before_training(tmp_path):
    with pytest.raises(ValueError, match="ending in .npz"):
        nets.ModelCheckpoint(str(tmp_path / "best.h5"))
    (x, y), _ = load_iris()
    model = iris_model()
    checkpoint = nets.ModelCheckpoint(str(tmp_path / "m-{val_acc:.2f}.npz"), monitor="loss")
    with pytest.raises(ValueError, match=r"cannot be filled in.*logged loss, accuracy"):
        model.fit(x, y, epochs=1, callbacks=[checkpoint], verbose=0)


def test_metrics_are_logged_under_the_name_given():
    model = xor_model("manual")
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["acc", "mean_absolute_error"])
    history = model.fit(*load_xor(), epochs=1, verbose=0)
    assert set(history.history) == {"loss", "acc", "mean_absolute_error"}  # as Keras logs them
