"""Recurrent layers, Embedding and the functional API: every method's gradients against the
50-digit oracle on tiny shapes, hand-derived BPTT against it, the notes' parameter counts,
and training on the letter and price-series tasks."""
from __future__ import annotations

import numpy as np
import pytest

import difflab
import nets
from difflab.testing import assert_gradients_agree
from nets import backprop
from nets.datasets import load_letters, load_price_series
from nets.parameters import Parameters

BATCH, STEPS, FEATURES, UNITS = 2, 3, 2, 2


def available(names):
    return [n for n in names if difflab.method_class(n).availability()[0]]


#: Every method that differentiates these layers: difflab's own (taped and compiled), the
#: frameworks, and finite differences as a check with their own error model.
METHODS = available(["reverse", "forward", "autograd", "torch", "tensorflow", "jax",
                     "fd-central", "fd-five-point", "fd-richardson"])

LAYERS = {
    "simplernn": lambda: nets.SimpleRNN(UNITS),
    "simplernn-sequences": lambda: nets.SimpleRNN(UNITS, return_sequences=True),
    "lstm": lambda: nets.LSTM(UNITS, return_sequences=True),
    "gru": lambda: nets.GRU(UNITS),
    "gru-reset-before": lambda: nets.GRU(UNITS, reset_after=False, return_sequences=True),
}


def built(make, shape=(STEPS, FEATURES), seed=0):
    layer = make()
    layer.name = "layer"
    out_shape = layer.build_shape(shape)
    params = Parameters([layer])
    params.initialize(np.random.default_rng(seed))
    return layer, params, out_shape


def methods():
    return METHODS + [difflab.get("reverse", jit=True)]


@pytest.mark.parametrize("kind", list(LAYERS))
def test_parameter_gradients_of_every_method_match_the_oracle(kind):
    layer, params, out_shape = built(LAYERS[kind])
    rng = np.random.default_rng(1)
    x = rng.normal(size=(BATCH, STEPS, FEATURES))
    r = rng.normal(size=(BATCH,) + out_shape)  # a random linear read-out of every output

    def f(theta):
        xp = difflab.namespace(theta)
        weights = params.unflatten(theta, xp)[0]
        return xp.sum(layer.call(xp, weights, xp.asarray(x), None) * xp.asarray(r))

    theta = params.theta + 0.3 * rng.normal(size=params.size)  # biases away from their zero start
    assert_gradients_agree(f, theta, methods=methods())


@pytest.mark.parametrize("kind", list(LAYERS))
def test_input_gradients_of_every_method_match_the_oracle(kind):
    layer, params, out_shape = built(LAYERS[kind])
    rng = np.random.default_rng(2)
    weights = params.unflatten(params.theta)[0]
    r = rng.normal(size=(BATCH,) + out_shape)

    def f(flat_x):
        xp = difflab.namespace(flat_x)
        x = xp.reshape(flat_x, (BATCH, STEPS, FEATURES))
        return xp.sum(layer.call(xp, [xp.asarray(w) for w in weights], x, None) * xp.asarray(r))

    assert_gradients_agree(f, rng.normal(size=BATCH * STEPS * FEATURES), methods=methods())


@pytest.mark.parametrize("kind", list(LAYERS))
def test_hand_derived_bptt_matches_the_oracle(kind):
    layer, params, out_shape = built(LAYERS[kind])
    rng = np.random.default_rng(3)
    x = rng.normal(size=(BATCH, STEPS, FEATURES))
    r = rng.normal(size=(BATCH,) + out_shape)
    theta = params.theta + 0.3 * rng.normal(size=params.size)

    def f(theta):
        xp = difflab.namespace(theta)
        return xp.sum(layer.call(xp, params.unflatten(theta, xp)[0], xp.asarray(x), None) * xp.asarray(r))

    weights = params.unflatten(theta)[0]
    out, cache = layer.forward(weights, x, None)
    assert float(np.sum(out * r)) == pytest.approx(f(theta), rel=1e-14)
    g_x, g_w = layer.backward(weights, cache, r)
    manual = np.concatenate([g.reshape(-1) for g in g_w])
    np.testing.assert_allclose(manual, difflab.reference(f, theta), rtol=1e-13, atol=1e-14)

    def f_x(flat_x):
        xp = difflab.namespace(flat_x)
        out = layer.call(xp, [xp.asarray(w) for w in weights], xp.reshape(flat_x, x.shape), None)
        return xp.sum(out * xp.asarray(r))

    np.testing.assert_allclose(g_x.reshape(-1), difflab.reference(f_x, x.reshape(-1)), rtol=1e-13, atol=1e-14)


def test_bptt_by_hand_gives_the_traced_two_step_example():
    """docs/nets.md's 2-step SimpleRNN(1): (h_2 - 0.2)^2 with x = (1, 0.5), w, u, b = 0.6, 0.8, 0.1;
    ``difflab trace`` of the same formula gives d/db, d/du, d/dw = 0.763912, 0.306198, 0.51059."""
    layer = nets.SimpleRNN(1)
    layer.build_shape((2, 1))
    weights = [np.array([[0.6]]), np.array([[0.8]]), np.array([0.1])]
    h, cache = layer.forward(weights, np.array([[[1.0], [0.5]]]), None)
    _, (g_kernel, g_recurrent, g_bias) = layer.backward(weights, cache, 2 * (h - 0.2))
    h1 = np.tanh(0.6 + 0.1)
    h2 = np.tanh(0.6 * 0.5 + 0.8 * h1 + 0.1)
    d2 = 2 * (h2 - 0.2) * (1 - h2 ** 2)   # through step 2, then step 1 via u
    d1 = d2 * 0.8 * (1 - h1 ** 2)
    np.testing.assert_allclose([g_bias[0], g_recurrent[0, 0], g_kernel[0, 0]],
                               [d2 + d1, d2 * h1, d2 * 0.5 + d1 * 1.0], rtol=1e-14)
    np.testing.assert_allclose([g_bias[0], g_recurrent[0, 0], g_kernel[0, 0]],
                               [0.763912, 0.306198, 0.51059], atol=5e-7)


def embedding_model(differentiator="reverse"):
    model = nets.Sequential([nets.Embedding(5, 2, input_length=3), nets.SimpleRNN(UNITS),
                             nets.Dense(5, activation="softmax")], seed=4)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", differentiator=differentiator)
    return model


def test_embedding_gradients_of_every_method_and_backprop_match_the_oracle():
    model = embedding_model()
    ids = np.array([[0, 1, 4], [3, 3, 2]])
    x, y = model._check_data(ids, np.array([2, 0]))
    model.batch = model._training_batch(x, y)
    theta = model.parameters.theta.copy()
    assert_gradients_agree(difflab.Function(model.objective), theta, methods=methods())
    _, manual = backprop.value_and_gradient(model, theta, model.batch)
    np.testing.assert_allclose(manual, difflab.reference(model.objective, theta), rtol=1e-12, atol=1e-15)
    # Rows 1..4 were read, row 0 too; with ids never using a row its gradient is exactly zero.
    unused = embedding_model()
    x, y = unused._check_data(np.array([[1, 1, 2]]), np.array([0]))
    unused.batch = unused._training_batch(x, y)
    grad = backprop.value_and_gradient(unused, unused.parameters.theta, unused.batch)[1]
    table = grad[:10].reshape(5, 2)
    assert np.all(table[[0, 3, 4]] == 0) and np.all(table[[1, 2]] != 0)


def test_embedding_refuses_ids_that_are_not_in_its_vocabulary():
    model = embedding_model()
    with pytest.raises(ValueError, match=r"ids in \[0, 5\)"):
        model.predict(np.array([[0, 1, 5]]))
    with pytest.raises(ValueError, match="integer ids"):
        model.predict(np.array([[0, 1.5, 2]]))


@pytest.mark.parametrize("stack", [
    lambda: [nets.LSTM(3, return_sequences=True), nets.GRU(2, reset_after=False)],
    lambda: [nets.GRU(2, return_sequences=True), nets.LSTM(2)],
], ids=["lstm-gru-reset-before", "gru-lstm"])
def test_manual_trains_gated_layers_as_reverse_does(stack):
    x, y = load_letters(context=3)
    runs = []
    for method in ("manual", "reverse"):
        model = nets.Sequential([*stack(), nets.Dense(5, activation="softmax")], seed=2)
        model.build((3, 5))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", differentiator=method)
        runs.append((model.fit(x, y, epochs=4, batch_size=2, verbose=0).history["loss"], model.get_weights()))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-12)
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------- the notes' figures
def test_parameter_counts_are_the_notes_figures():
    one_hot = nets.Sequential([nets.SimpleRNN(3, input_shape=(1, 5)), nets.Dense(5, activation="softmax")])
    assert one_hot.count_params() == 47
    embedded = nets.Sequential([nets.Embedding(5, 2, input_length=1), nets.SimpleRNN(3),
                                nets.Dense(5, activation="softmax")])
    assert embedded.count_params() == 48
    letters26 = nets.Sequential([nets.Embedding(26, 2, input_length=4), nets.SimpleRNN(10),
                                 nets.Dense(26, activation="softmax")])
    assert letters26.count_params() == 468
    mnist = nets.Sequential([nets.Dense(128, activation="relu", input_dim=784), nets.Dense(10)])
    assert mnist.count_params() == 101_770
    # LSTM 4(u(f+u)+u), GRU reset_after 3(u(f+u)+2u): Keras's figures for 5 features, 3 units.
    assert nets.Sequential([nets.LSTM(3, input_shape=(None, 5))]).count_params() == 4 * (3 * 8 + 3)
    assert nets.Sequential([nets.GRU(3, input_shape=(None, 5))]).count_params() == 3 * (3 * 8 + 6)


def test_keras_weight_shapes_and_initial_values():
    lstm = nets.Sequential([nets.LSTM(3, input_shape=(4, 5))], seed=0).get_weights()
    assert [w.shape for w in lstm] == [(5, 12), (3, 12), (12,)]
    np.testing.assert_array_equal(lstm[2], np.r_[np.zeros(3), np.ones(3), np.zeros(6)])  # unit_forget_bias
    np.testing.assert_allclose(lstm[1] @ lstm[1].T, np.eye(3), atol=1e-12)  # orthogonal rows
    gru = nets.Sequential([nets.GRU(3, input_shape=(4, 5))], seed=0).get_weights()
    assert [w.shape for w in gru] == [(5, 9), (3, 9), (2, 9)]


def test_letter_prediction_learns_the_cycle():
    x, y = load_letters(context=4, one_hot=False)
    model = nets.Sequential([nets.Embedding(5, 2, input_length=4), nets.SimpleRNN(8),
                             nets.Dense(5, activation="softmax")], seed=0)
    model.compile(optimizer=nets.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=150, batch_size=5, verbose=0)
    assert np.array_equal(model.predict(x).argmax(axis=1), y)


def test_manual_and_reverse_train_a_simple_rnn_identically():
    x, y = load_letters(context=3)
    runs = []
    for method in ("manual", "reverse"):
        model = nets.Sequential([nets.SimpleRNN(3, input_shape=(3, 5)), nets.Dense(5, activation="softmax")],
                                seed=1)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", differentiator=method)
        runs.append(model.fit(x, y, epochs=5, batch_size=2, verbose=0).history["loss"])
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-12)


def test_lstm_beats_the_persistence_baseline():
    (x_train, y_train), (x_test, y_test) = load_price_series()
    model = nets.Sequential([nets.LSTM(16, input_shape=x_train.shape[1:]), nets.Dense(1)], seed=0)
    model.compile(optimizer=nets.optimizers.Adam(0.01), loss="mse")
    model.fit(x_train, y_train, epochs=30, batch_size=32, verbose=0)
    lstm = np.mean((model.predict(x_test)[:, 0] - y_test) ** 2)
    persistence = np.mean((x_test[:, -1, 0] - y_test) ** 2)  # tomorrow = today
    assert lstm < 0.5 * persistence


# ---------------------------------------------------------------------- the functional API
def two_headed(seed=0):
    a, b = nets.Input(shape=(4,)), nets.Input(shape=(3, 2))
    shared = nets.Dense(3, activation="tanh")
    h = nets.Concatenate()([shared(a), nets.SimpleRNN(2)(b), shared(nets.Dense(4)(a))])
    return nets.Model([a, b], [nets.Dense(1, name="value")(h),
                               nets.Dense(3, activation="softmax", name="label")(h)], seed=seed)


def functional_data():
    rng = np.random.default_rng(5)
    return [rng.normal(size=(6, 4)), rng.normal(size=(6, 3, 2))], [rng.normal(size=6), rng.integers(0, 3, 6)]


def test_a_shared_layer_is_one_set_of_weights():
    model = two_headed()
    assert len(model.layers) == 6  # dense shared, rnn, dense, concatenate, two heads
    assert model.count_params() == (4 * 3 + 3) + (2 * 2 + 2 * 2 + 2) + (4 * 4 + 4) + (8 + 1) + (8 * 3 + 3)


@pytest.mark.parametrize("method", ["manual", "torch"])
def test_functional_gradients_sum_weighted_losses_and_match_the_oracle(method):
    x, y = functional_data()
    model = two_headed()
    model.compile(optimizer="sgd", loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[0.5, 2.0],
                  differentiator=method)
    xs, ys = model._check_data(x, y)
    model.batch = model._training_batch(xs, ys)
    theta = model.parameters.theta.copy()
    source = nets.gradients.GradientSource(model, method)
    value, grad = source(theta)
    np.testing.assert_allclose(grad, difflab.reference(model.objective, theta), rtol=1e-11, atol=1e-14)
    # The loss is 0.5 mse(value head) + 2 crossentropy(label head), each computed by hand here.
    value_out, probs = model.predict(x)
    expected = 0.5 * np.mean((value_out[:, 0] - y[0]) ** 2) - 2.0 * np.mean(np.log(probs[np.arange(6), y[1]]))
    assert value == pytest.approx(expected, rel=1e-12)


def test_functional_model_trains_predicts_and_reports_per_output():
    x, y = functional_data()
    model = two_headed()
    model.compile(optimizer="adam", loss={"value": "mse", "label": "sparse_categorical_crossentropy"},
                  metrics=["accuracy"])
    # batches of equal size: Keras averages "loss" by batch size and each "<output>_loss" by
    # batch, so only then do the epoch's figures add up exactly
    history = model.fit(x, y, epochs=3, batch_size=3, verbose=0)
    assert set(history.history) == {"loss", "value_loss", "value_accuracy", "label_loss", "label_accuracy"}
    np.testing.assert_allclose(history.history["loss"][0],
                               history.history["value_loss"][0] + history.history["label_loss"][0], rtol=1e-12)
    with pytest.raises(ValueError, match="2 inputs"):
        model.predict(x[0])


def test_functional_model_round_trips_through_a_file(tmp_path):
    x, y = functional_data()
    model = two_headed()
    model.compile(optimizer="adam", loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[1.0, 3.0])
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = nets.load_model(tmp_path / "m.npz")
    for a, b in zip(model.predict(x), loaded.predict(x)):
        np.testing.assert_array_equal(a, b)
    assert loaded.evaluate(x, y) == model.evaluate(x, y)


def test_functional_summary_lists_inputs_shapes_and_counts():
    from nets.functional import summary_table

    table = summary_table(two_headed())
    assert [c.header for c in table.columns] == ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    rows = list(zip(*[c._cells for c in table.columns]))
    assert rows[0][:3] == ("input_0 (InputLayer)", "(None, 4)", "0")
    assert ("simplernn_0 (SimpleRNN)", "(None, 2)", "10") in [r[:3] for r in rows]
    assert "Total params: 81" in table.caption and "Trainable params: 81" in table.caption


def test_sequential_summary_shows_sequence_shapes():
    from nets.model import summary_table

    model = nets.Sequential([nets.Embedding(26, 2, input_length=4), nets.SimpleRNN(10, return_sequences=True),
                             nets.SimpleRNN(10), nets.Dense(26, activation="softmax")])
    rows = list(zip(*[c._cells for c in summary_table(model).columns]))
    assert [r[1] for r in rows] == ["(None, 4, 2)", "(None, 4, 10)", "(None, 10)", "(None, 26)"]


def test_functional_api_refuses_bad_graphs():
    a = nets.Input(shape=(4,))
    dense = nets.Dense(2)
    dense(a)
    with pytest.raises(ValueError, match="shared but was built"):
        dense(nets.Input(shape=(5,)))
    with pytest.raises(ValueError, match="not among the model's inputs"):
        nets.Model(nets.Input(shape=(3,)), nets.Dense(1)(nets.Input(shape=(3,))))
    with pytest.raises(ValueError, match="straight from an Input"):
        nets.Embedding(5, 2)(nets.Dense(3)(a))


def test_functional_validation_split_takes_the_last_samples_of_every_input():
    x, y = functional_data()
    model = two_headed()
    model.compile(optimizer="sgd", loss=["mse", "sparse_categorical_crossentropy"])
    history = model.fit(x, y, epochs=1, validation_split=0.5, verbose=0)
    tail = [a[3:] for a in x], [t[3:] for t in y]
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(*tail)[0], rel=1e-12)


def test_recurrent_sequential_round_trips_through_a_file(tmp_path):
    x, y = load_letters(context=3, one_hot=False)
    model = nets.Sequential([nets.Embedding(5, 2, input_length=3), nets.GRU(3, return_sequences=True),
                             nets.Dropout(0.25), nets.LSTM(2), nets.Dense(5, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "rnn.npz")
    loaded = nets.load_model(tmp_path / "rnn.npz")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [type(l).__name__ for l in loaded.layers] == ["Embedding", "GRU", "Dropout", "LSTM", "Dense"]
    assert loaded.layers[1].return_sequences and loaded.layers[1].reset_after


def test_sequence_inputs_are_checked():
    model = nets.Sequential([nets.SimpleRNN(2, input_shape=(None, 3)), nets.Dense(1)], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    assert model.predict(np.zeros((2, 7, 3))).shape == (2, 1)  # any number of steps
    with pytest.raises(ValueError, match=r"must be 3-D"):
        model.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"samples of shape \(7, 4\)"):
        model.predict(np.zeros((2, 7, 4)))
    # Dense after a sequence acts on each step's features, as Keras's Dense on (time, features)
    stepwise = nets.Sequential([nets.LSTM(2, return_sequences=True, input_shape=(4, 3)), nets.Dense(1)])
    assert stepwise.count_params() == 4 * 2 * (3 + 2 + 1) + 3 and stepwise.layers[-1].output_shape == (4, 1)


# ---------------------------------------------------------------------- the user's own data
def test_load_npz_reads_keras_style_arrays_and_refuses_other_files(tmp_path):
    from nets.datasets import load_npz

    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.normal(size=(4, 3)), "y_train": np.arange(4), "x_test": rng.normal(size=(2, 3)),
              "y_test": np.arange(2)}
    np.savez(tmp_path / "mine.npz", **arrays)
    (x_train, y_train), (x_test, y_test) = load_npz(tmp_path / "mine.npz")
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    np.savez(tmp_path / "prices.npz", close=np.arange(5.0))
    assert list(load_npz(tmp_path / "prices.npz")) == ["close"]
    (tmp_path / "notes.txt").write_text("not arrays")
    with pytest.raises(ValueError, match="cannot read"):
        load_npz(tmp_path / "notes.txt")


def test_windows_label_each_window_with_the_next_value():
    from nets.datasets import windows

    x, y = windows(np.arange(6.0), 3)
    np.testing.assert_array_equal(x[:, :, 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(y, [3, 4, 5])
    with pytest.raises(ValueError, match="steps"):
        windows(np.arange(3.0), 3)
