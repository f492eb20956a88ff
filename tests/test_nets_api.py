"""The Keras-style surface of nets: building, compile choices, saving, and clear errors."""
from __future__ import annotations

import numpy as np
import pytest

import difflab
import nets
from nets.datasets import load_iris, load_sales, load_xor
from nets.model import summary_table


def small(differentiator="reverse", **compile_args):
    model = nets.Sequential([nets.Dense(8, activation="relu", input_dim=4),
                             nets.Dense(3, activation="softmax")], seed=0)
    model.compile(**{"optimizer": "adam", "loss": "sparse_categorical_crossentropy",
                     "metrics": ["accuracy"], "differentiator": differentiator, **compile_args})
    return model


def test_keras_layout_glorot_uniform_and_zero_biases():
    kernel, bias, *_ = small().get_weights()
    assert kernel.shape == (4, 8) and bias.shape == (8,)
    assert np.all(bias == 0) and np.abs(kernel).max() <= np.sqrt(6 / 12)
    assert np.array_equal(small().get_weights()[0], kernel)  # the seed fixes the weights


def test_kernels_are_glorot_uniform_not_just_bounded():
    # Glorot uniform on (300, 200): U(-l, l) with l = sqrt(6 / 500); its variance is l^2 / 3.
    kernel = nets.Sequential([nets.Dense(200, input_dim=300)], seed=0).get_weights()[0]
    limit = np.sqrt(6 / 500)
    assert kernel.shape == (300, 200)
    assert limit * 0.999 < np.abs(kernel).max() <= limit
    assert np.var(kernel) == pytest.approx(limit ** 2 / 3, rel=0.02)
    assert abs(np.mean(kernel)) < 0.01 * limit


def test_summary_counts_parameters():
    model = small()
    assert model.count_params() == 4 * 8 + 8 + 8 * 3 + 3
    table = summary_table(model)
    assert [c.header for c in table.columns] == ["Layer (type)", "Output Shape", "Param #"]
    assert "Total params: 67" in table.caption


def test_build_is_deferred_until_the_input_size_is_known():
    model = nets.Sequential([nets.Dense(2), nets.Dense(1)], seed=0)
    assert not model.built
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((3, 5)), np.ones(3), verbose=0)
    assert model.get_weights()[0].shape == (5, 2)


def test_set_weights_checks_shapes():
    model = small()
    weights = model.get_weights()
    weights[0] = np.zeros((3, 8))
    with pytest.raises(ValueError, match=r"dense_0/kernel has shape \(4, 8\)"):
        model.set_weights(weights)


def test_save_and_load_round_trip_without_pickle(tmp_path):
    (x, y), (xt, yt) = load_iris()
    model = small()
    model.fit(x, y, epochs=3, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert "config" in data.files
    loaded = nets.load_model(path)
    np.testing.assert_array_equal(loaded.predict(xt), model.predict(xt))
    assert loaded.optimizer.iterations == model.optimizer.iterations
    # Training continues identically, the Adam moments included.
    model.fit(x, y, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(loaded.get_weights()[0], model.get_weights()[0], rtol=0, atol=1e-15)


def test_custom_loss_written_with_the_namespace():
    def asymmetric(y_true, y_pred):  # under-forecasts cost three times over-forecasts
        xp = difflab.namespace(y_pred)
        e = y_pred - y_true
        return xp.mean(xp.maximum(e, 0.0) + 3.0 * xp.maximum(-e, 0.0), axis=-1)

    x, y = load_sales(n=64)
    model = nets.Sequential([nets.Dense(1, input_dim=2)], seed=0)
    model.compile(optimizer=nets.optimizers.SGD(0.05), loss=asymmetric, differentiator="reverse")
    history = model.fit(x, y, epochs=30, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    manual = nets.Sequential([nets.Dense(1, input_dim=2)], seed=0)
    manual.compile(optimizer="sgd", loss=asymmetric, differentiator="manual")
    with pytest.raises(ValueError, match="no hand-derived gradient"):
        manual.fit(x, y, verbose=0)


def test_optimizers_by_name_and_schedule():
    assert isinstance(nets.optimizers.get("adam"), nets.optimizers.Adam)
    schedule = nets.optimizers.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    sgd = nets.optimizers.SGD(schedule)
    theta = np.zeros(1)
    for _ in range(20):
        sgd.step(theta, np.ones(1))
    assert sgd.current_learning_rate() == pytest.approx(0.1 * 0.5 ** 2)
    assert theta[0] == pytest.approx(-sum(0.1 * 0.5 ** (k / 10) for k in range(20)))


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("build, message", [
    (lambda: nets.Dense(3, activation="rleu"), "unknown activation 'rleu'; did you mean relu"),
    (lambda: small(loss="mse_loss"), "unknown loss 'mse_loss'"),
    (lambda: small(optimizer="adamw2"), "unknown optimizer 'adamw2'"),
    (lambda: small(differentiator="revers"), "unknown method 'revers'; did you mean reverse"),
    (lambda: small(metrics=["precision"]), "unknown metric 'precision'"),
    (lambda: nets.Dense(3, kernel_regularizer="l3"), "unknown regularizer 'l3'"),
    (lambda: nets.Dropout(1.5), r"Dropout rate must be in \[0, 1\)"),
    (lambda: nets.Dropout(None), r"Dropout rate must be in \[0, 1\), got None"),
    (lambda: nets.Dense(None), "units must be a positive integer, got None"),
    (lambda: nets.Dense(3, kernel_regularizer={"l3": 0.1}), "regularizer config takes l1 and l2, not l3"),
    (lambda: nets.ModelCheckpoint("best.keras"), "ending in .npz"),
])
def test_unknown_names_raise_value_errors_naming_the_problem(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("x, y, message", [
    (np.ones((5, 3)), np.zeros(5), "x has 3 features but the model takes 4"),
    (np.ones((5, 4)), np.zeros(6), "x has 5 samples but y has 6"),
    (np.ones((5, 4)), np.array([0, 1, 2, 3, 1]), r"labels must be integers in \[0, 3\).*found 3"),
    (np.ones((5, 4)), np.array([0, 1, 0.5, 1, 1]), r"labels must be integers.*found 0.5"),
    (np.full((5, 4), np.nan), np.zeros(5), "x contains NaN"),
    (np.ones((5, 4)), np.array([0, 1, np.nan, 1, 1]), "y contains NaN"),
    (np.ones(4), np.zeros(1), r"x must be 2-D \(samples, features\)"),
    (np.ones((5, 4)), None, "y is missing"),
])
def test_bad_data_raises_value_errors_naming_the_problem(x, y, message):
    with pytest.raises(ValueError, match=message):
        small().fit(x, y, verbose=0)


def test_target_shape_mismatch_and_out_of_range_binary_targets():
    model = nets.Sequential([nets.Dense(2, input_dim=2)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"y has shape \(4, 1\) but the model outputs 2"):
        model.fit(*load_xor(), verbose=0)
    model = nets.Sequential([nets.Dense(1, activation="sigmoid", input_dim=2)])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]"):
        model.fit(load_xor()[0], 2 * load_xor()[1], verbose=0)


def test_training_before_compile_is_refused():
    with pytest.raises(RuntimeError, match="compile"):
        nets.Sequential([nets.Dense(1, input_dim=2)]).fit(*load_xor(), verbose=0)


def test_divergence_is_reported_not_hidden():
    model = nets.Sequential([nets.Dense(1, input_dim=2)], seed=0)
    model.compile(optimizer=nets.optimizers.SGD(1e6), loss="mse", differentiator="manual")
    x, y = load_sales(n=32)
    with pytest.raises(FloatingPointError, match="diverged"):
        model.fit(1e3 * x, y, epochs=50, verbose=0)


def test_a_model_without_layers_says_so():
    model = nets.Sequential()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="the model has no layers"):
        model.fit(np.ones((3, 2)), np.ones(3), verbose=0)


def test_loading_a_file_that_is_not_a_model_is_a_value_error(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match="is not a nets model"):
        nets.load_model(junk)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.ones(3))
    with pytest.raises(ValueError, match="no 'config' entry"):
        nets.load_model(other)


def test_a_frozen_layer_adds_no_weight_penalty():
    """Keras 3 regularises trainable weights only: freezing a layer drops its penalty."""
    x, y = load_sales(n=16)
    losses = []
    for trainable in (True, False):
        model = nets.Sequential([nets.Dense(3, input_dim=2, kernel_regularizer=nets.regularizers.L2(0.5),
                                            trainable=trainable), nets.Dense(1)], seed=0)
        model.compile(optimizer="sgd", loss="mse")
        losses.append(model.evaluate(x, y))
        kernel = model.get_weights()[0]
    assert losses[0] - losses[1] == pytest.approx(0.5 * np.sum(kernel ** 2), rel=1e-12)
