"""Keras 3 idioms, the layers the notes use that nets lacked, and Keras's layer/model API
(issue 22): each checked against NumPy written out here (fast) and against real Keras in
float64 (slow: TensorFlow loads), with the same weights set into both."""
from __future__ import annotations

import numpy as np
import pytest

import nets
from nets import Dense, Input, Sequential, SimpleRNN

RNG = np.random.default_rng(22)


def _sgd_side_by_side(ours, theirs, keras, x, y, loss="mse", epochs=3, batch_size=4, lr=0.1):
    """Train both from the same weights on the same batches; compare losses and weights."""
    theirs.set_weights(ours.get_weights())
    ours.compile(optimizer=nets.optimizers.SGD(lr), loss=loss, differentiator="reverse")
    theirs.compile(optimizer=keras.optimizers.SGD(lr), loss=loss)
    mine = ours.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0).history
    keras_history = theirs.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0).history
    np.testing.assert_allclose(mine["loss"], keras_history["loss"], rtol=0, atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)
    return mine, keras_history


# ---------------------------------------------------------------- step 1: the idioms (fast)
def test_sequential_takes_an_input_tensor_first():
    x = RNG.normal(size=(6, 4))
    with_input = Sequential([Input((4,)), Dense(3, activation="tanh"), Dense(2)], seed=1)
    assert [w.shape for w in with_input.get_weights()] == [(4, 3), (3,), (3, 2), (2,)]
    w1, b1, w2, b2 = with_input.get_weights()
    np.testing.assert_allclose(with_input.predict(x), np.tanh(x @ w1 + b1) @ w2 + b2, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="first entry"):
        Sequential([Dense(3, input_dim=4), Input((3,))])
    with pytest.raises(ValueError, match="samples of shape|features"):
        with_input.predict(RNG.normal(size=(2, 5)))


def test_deferred_build_from_the_first_batch():
    """``Sequential([SimpleRNN(3), Dense(5)])`` fits without input_shape, as in the notes."""
    x, y = RNG.normal(size=(8, 6, 2)), RNG.normal(size=(8, 5))
    model = Sequential([SimpleRNN(3), Dense(5)], seed=0)
    assert not model.built
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert model.built and model.input_shape == (6, 2)
    assert [w.shape for w in model.get_weights()] == [(2, 3), (3, 3), (3,), (3, 5), (5,)]
    k, u, b, w, c = model.get_weights()
    h = np.zeros((8, 3))
    for t in range(6):
        h = np.tanh(x[:, t] @ k + h @ u + b)
    np.testing.assert_allclose(model.predict(x), h @ w + c, rtol=0, atol=1e-13)


def test_a_model_called_as_a_layer():
    inner = Sequential([Input((4,)), Dense(3, activation="tanh")], seed=2)
    x = RNG.normal(size=(5, 4))
    np.testing.assert_array_equal(inner(x), inner.predict(x))
    a = Input((4,))
    outer = nets.Model(a, Dense(2)(inner(a)), seed=3)
    k, b, w, c = outer.get_weights()
    np.testing.assert_array_equal(k, inner.get_weights()[0])  # it starts from the inner model's weights
    np.testing.assert_allclose(outer.predict(x), np.tanh(x @ k + b) @ w + c, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match=r"takes inputs of shape \(4,\)"):
        Sequential([Input((4,)), Dense(3)])(Input((5,)))
    stacked = Sequential([inner, Dense(1)], seed=4)
    assert [w.shape for w in stacked.get_weights()] == [(4, 3), (3,), (3, 1), (1,)]
    # the manual path goes through the nested chain by hand: same gradient as the tape
    y = RNG.normal(size=(5, 1))
    grads = {}
    for method in ("manual", "reverse"):
        model = Sequential([Sequential([Input((4,)), Dense(3, activation="tanh")], seed=2), Dense(1)], seed=4)
        model.compile(optimizer=nets.optimizers.SGD(0.1), loss="mse", differentiator=method)
        model.fit(x, y, epochs=1, batch_size=5, verbose=0)
        grads[method] = np.concatenate([w.ravel() for w in model.get_weights()])
    np.testing.assert_allclose(grads["manual"], grads["reverse"], rtol=0, atol=1e-13)


def test_lowercase_merge_functions_and_pooling_aliases():
    a, b = Input((3,)), Input((3,))
    joined = nets.layers.concatenate([a, b])
    summed = nets.layers.add([a, b])
    model = nets.Model([a, b], [joined, summed])
    xa, xb = RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3))
    got_joined, got_sum = model.predict([xa, xb])
    np.testing.assert_array_equal(got_joined, np.concatenate([xa, xb], axis=1))
    np.testing.assert_array_equal(got_sum, xa + xb)
    assert nets.MaxPool2D is nets.MaxPooling2D and nets.AvgPool2D is nets.AveragePooling2D


# ---------------------------------------------------------------- step 1 against Keras (slow)
@pytest.mark.slow
def test_input_first_sequential_trains_as_keras(keras):
    x, y = RNG.normal(size=(10, 4)), RNG.normal(size=(10, 2))
    ours = Sequential([Input((4,)), Dense(5, activation="tanh"), Dense(2)], seed=5)
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(2)])
    _sgd_side_by_side(ours, theirs, keras, x, y)


@pytest.mark.slow
def test_deferred_build_trains_as_keras(keras):
    x, y = RNG.normal(size=(8, 6, 2)), RNG.normal(size=(8, 5))
    ours = Sequential([SimpleRNN(3), Dense(5)], seed=6)
    ours.predict(x[:1])  # built from the first batch
    theirs = keras.Sequential([keras.layers.SimpleRNN(3), keras.layers.Dense(5)])
    theirs.predict(x[:1], verbose=0)
    assert [w.shape for w in theirs.get_weights()] == [w.shape for w in ours.get_weights()]
    _sgd_side_by_side(ours, theirs, keras, x, y)


@pytest.mark.slow
def test_nested_model_and_merge_functions_train_as_keras(keras):
    x, y = [RNG.normal(size=(8, 4)), RNG.normal(size=(8, 4))], RNG.normal(size=(8, 3))

    def build(lib, model_cls, dense, inp, concatenate, add, seed=None):
        kw = {} if seed is None else {"seed": seed}
        inner = lib.Sequential([inp((4,)), dense(3, activation="tanh")], **kw)
        a, b = inp((4,)), inp((4,))
        h = concatenate([inner(a), inner(b), add([a, b])])
        return model_cls([a, b], dense(3)(h), **kw)

    ours = build(nets, nets.Model, Dense, Input, nets.layers.concatenate, nets.layers.add, seed=7)
    theirs = build(keras, keras.Model, keras.layers.Dense, keras.Input, keras.layers.concatenate,
                   keras.layers.add)
    assert [w.shape for w in theirs.get_weights()] == [w.shape for w in ours.get_weights()]
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours(x), np.asarray(theirs(x)), rtol=0, atol=1e-10)
    _sgd_side_by_side(ours, theirs, keras, x, y)


# ---------------------------------------------------------------- step 2: the layers (fast)
def _grads_agree(layers, x, y, methods=("manual", "reverse"), atol=1e-12):
    """One full-batch SGD step by each method from the same weights: the same new weights."""
    out = {}
    for method in methods:
        model = Sequential(layers(), seed=8)
        model.compile(optimizer=nets.optimizers.SGD(0.1), loss="mse", differentiator=method)
        model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)
        out[method] = np.concatenate([w.ravel() for w in model.get_weights()])
    for method in methods[1:]:
        np.testing.assert_allclose(out[method], out[methods[0]], rtol=0, atol=atol)


def test_dense_acts_on_the_last_axis():
    x = RNG.normal(size=(4, 5, 3))
    model = Sequential([Dense(2, activation="tanh", input_shape=(5, 3))], seed=0)
    k, b = model.get_weights()
    assert model.layers[0].output_shape == (5, 2)
    np.testing.assert_allclose(model.predict(x), np.tanh(np.einsum("ntf,fu->ntu", x, k) + b), rtol=0, atol=1e-14)
    _grads_agree(lambda: [Dense(2, activation="tanh", input_shape=(5, 3)), nets.Flatten(), Dense(1)],
                 x, RNG.normal(size=(4, 1)))
    with pytest.raises(ValueError, match=r"shape \(5, 2\).*Flatten"):  # not a silent broadcast
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, RNG.normal(size=(4, 2)), verbose=0)


def test_time_distributed_applies_the_layer_at_every_step():
    x = RNG.normal(size=(4, 5, 3))
    model = Sequential([Input((5, 3)), nets.TimeDistributed(Dense(2, activation="relu"))], seed=0)
    assert model.count_params() == 8 and model.layers[0].output_shape == (5, 2)
    k, b = model.get_weights()
    np.testing.assert_allclose(model.predict(x), np.maximum(x @ k + b, 0.0), rtol=0, atol=1e-14)
    _grads_agree(lambda: [nets.TimeDistributed(Dense(2, activation="tanh"), input_shape=(5, 3)), nets.Flatten(),
                          Dense(1)], x, RNG.normal(size=(4, 1)))


def test_lambda_runs_a_namespace_function_and_refuses_manual_and_saving(tmp_path):
    import difflab

    def last_step(t):
        return t[:, -1, :] * 2.0

    x = RNG.normal(size=(4, 5, 3))
    model = Sequential([Input((5, 3)), nets.Lambda(lambda t: difflab.namespace(t).mean(t, axis=1)), Dense(1)], seed=0)
    k, b = model.get_weights()
    assert model.layers[0].output_shape == (3,)
    np.testing.assert_allclose(model.predict(x), x.mean(axis=1) @ k + b, rtol=0, atol=1e-14)
    _grads_agree(lambda: [nets.Lambda(last_step, input_shape=(5, 3)), Dense(1)], x, RNG.normal(size=(4, 1)),
                 methods=("reverse", "forward"))
    manual = Sequential([nets.Lambda(last_step, input_shape=(5, 3)), Dense(1)])
    manual.compile(optimizer="sgd", loss="mse", differentiator="manual")
    with pytest.raises(ValueError, match="no hand-derived derivative"):
        manual.fit(x, RNG.normal(size=(4, 1)), verbose=0)
    with pytest.raises(ValueError, match="does not save"):
        model.save(tmp_path / "m.npz")


def _conv1d_reference(x, kernel, bias, stride, padding):
    k = kernel.shape[0]
    steps = x.shape[1]
    if padding == "causal":
        x = np.pad(x, ((0, 0), (k - 1, 0), (0, 0)))
    elif padding == "same":
        out = -(-steps // stride)
        total = max((out - 1) * stride + k - steps, 0)
        x = np.pad(x, ((0, 0), (total // 2, total - total // 2), (0, 0)))
    starts = range(0, x.shape[1] - k + 1, stride)
    return np.stack([np.einsum("nkc,kcf->nf", x[:, s:s + k], kernel) for s in starts], axis=1) + bias


@pytest.mark.parametrize("padding, stride", [("valid", 1), ("same", 2), ("causal", 1)])
def test_conv1d_matches_the_sum_written_out(padding, stride):
    x = RNG.normal(size=(3, 7, 2))
    model = Sequential([nets.Conv1D(4, 3, strides=stride, padding=padding, input_shape=(7, 2))], seed=0)
    kernel, bias = model.get_weights()
    assert kernel.shape == (3, 2, 4)
    expected = _conv1d_reference(x, kernel, bias, stride, padding)
    assert model.layers[0].output_shape == expected.shape[1:]
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=1e-14)
    _grads_agree(lambda: [nets.Conv1D(4, 3, strides=stride, padding=padding, activation="tanh", input_shape=(7, 2)),
                          nets.Flatten(), Dense(1)], x, RNG.normal(size=(3, 1)))


def test_layer_normalization_normalises_each_sample():
    x = RNG.normal(size=(4, 5, 3))
    model = Sequential([nets.LayerNormalization(input_shape=(5, 3))], seed=0)
    model.set_weights([np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.0, -0.5])])
    mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-3) * [1.0, 2.0, 3.0] + [0.5, 0.0, -0.5]
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=1e-14)
    _grads_agree(lambda: [Dense(3, activation="tanh", input_shape=(5, 3)), nets.LayerNormalization(),
                          nets.Flatten(), Dense(1)], x, RNG.normal(size=(4, 1)))


@pytest.mark.parametrize("layer", ["LSTM", "GRU", "SimpleRNN"])
def test_recurrent_dropout_is_for_training_only(layer):
    x, y = RNG.normal(size=(4, 5, 3)), RNG.normal(size=(4, 2))
    cls = getattr(nets, layer)
    with_dropout = Sequential([cls(3, dropout=0.4, recurrent_dropout=0.3, input_shape=(5, 3)), Dense(2)], seed=1)
    plain = Sequential([cls(3, input_shape=(5, 3)), Dense(2)], seed=1)
    plain.set_weights(with_dropout.get_weights())
    np.testing.assert_array_equal(with_dropout.predict(x), plain.predict(x))
    assert not np.allclose(with_dropout(x, training=True), plain.predict(x))
    # the same masks whichever method: input dropout alone also by hand
    _grads_agree(lambda: [cls(3, dropout=0.4, input_shape=(5, 3)), Dense(2)], x, y, atol=1e-12)
    _grads_agree(lambda: [cls(3, dropout=0.4, recurrent_dropout=0.3, input_shape=(5, 3)), Dense(2)], x, y,
                 methods=("reverse", "forward"), atol=1e-12)
    with pytest.raises(ValueError, match="recurrent_dropout must be in"):
        cls(3, recurrent_dropout=1.0)


# ---------------------------------------------------------------- step 2 against Keras (slow)
def _same_forward(ours, theirs, x, atol=1e-10):
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=0, atol=atol)


@pytest.mark.slow
def test_new_layers_match_keras(keras):
    import difflab

    L = keras.layers
    x = RNG.normal(size=(4, 7, 3))
    cases = [
        ([Dense(2, activation="tanh")], [L.Dense(2, activation="tanh")]),
        ([nets.TimeDistributed(Dense(2, activation="relu")), nets.Flatten(), Dense(1)],
         [L.TimeDistributed(L.Dense(2, activation="relu")), L.Flatten(), L.Dense(1)]),
        ([nets.Lambda(lambda t: difflab.namespace(t).mean(t, axis=1)), Dense(2)],
         [L.Lambda(lambda t: keras.ops.mean(t, axis=1)), L.Dense(2)]),
        ([nets.LayerNormalization(epsilon=1e-5), Dense(2)], [L.LayerNormalization(epsilon=1e-5), L.Dense(2)]),
    ] + [([nets.Conv1D(4, 3, strides=s, padding=p, activation="relu")], [L.Conv1D(4, 3, strides=s, padding=p,
                                                                                  activation="relu")])
         for p, s in (("valid", 1), ("valid", 2), ("same", 1), ("same", 2), ("causal", 1))]
    for mine, keras_layers in cases:
        ours = Sequential([Input((7, 3)), *mine], seed=9)
        theirs = keras.Sequential([keras.Input((7, 3)), *keras_layers])
        ln = ours.layers[0] if isinstance(ours.layers[0], nets.LayerNormalization) else None
        if ln is not None:  # gamma and beta away from 1 and 0
            ours.set_weights([RNG.normal(size=w.shape) for w in ours.get_weights()])
        _same_forward(ours, theirs, x)
        assert [l.output_shape for l in ours.layers] == [tuple(l.output.shape[1:]) for l in theirs.layers]


@pytest.mark.slow
@pytest.mark.parametrize("kind, dropout, recurrent_dropout", [
    ("LSTM", 0.3, 0.0), ("LSTM", 0.3, 0.4), ("LSTM", 0.0, 0.4), ("GRU", 0.3, 0.0), ("GRU", 0.3, 0.4),
    ("GRU-reset-before", 0.3, 0.4), ("SimpleRNN", 0.3, 0.4)])
def test_recurrent_dropout_matches_keras_with_the_same_masks(keras, kind, dropout, recurrent_dropout):
    """Keras's cells draw their own masks; here both get the same ones (Keras's cell asked
    for them through get_dropout_mask), and the training-mode outputs agree."""
    from nets.model import Batch

    name, extra = kind.split("-")[0], ({"reset_after": False} if kind.endswith("before") else {})
    n, steps, features, units = 4, 5, 3, 2
    x = RNG.normal(size=(n, steps, features))
    ours = Sequential([Input((steps, features)), getattr(nets, name)(units, dropout=dropout,
                      recurrent_dropout=recurrent_dropout, return_sequences=True, **extra)], seed=10)
    ours.count_params()  # built
    layer = ours.layers[0]
    packed = layer.draw_mask(np.random.default_rng(1), n)
    keras_layer = getattr(keras.layers, name)(units, dropout=dropout, recurrent_dropout=recurrent_dropout,
                                              return_sequences=True, **extra,
                                              **({"use_cudnn": False} if name != "SimpleRNN" else {}))
    theirs = keras.Sequential([keras.Input((steps, features)), keras_layer])
    theirs.set_weights(ours.get_weights())
    several = packed.shape[0] > 1
    inputs = [packed[k, :, :features] for k in range(packed.shape[0])]
    state = [packed[k, :, features:] for k in range(packed.shape[0])]
    keras_layer.cell.get_dropout_mask = lambda _: inputs if several else inputs[0]
    keras_layer.cell.get_recurrent_dropout_mask = lambda _: state if several else state[0]
    mine = ours.forward(nets.model.NUMPY, ours.parameters.theta, Batch(x, None, {layer: packed}, training=True))
    np.testing.assert_allclose(mine, np.asarray(theirs(x, training=True)), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=0, atol=1e-10)


# ---------------------------------------------------------------- step 3: the API (fast)
def test_layer_get_and_set_weights_and_shapes():
    model = Sequential([Input((4,)), Dense(3, activation="tanh"), nets.BatchNormalization(), Dense(2)], seed=0)
    dense, norm, out = model.layers
    assert dense.get_weights() == []  # not built yet: none, as Keras
    model.build((4,))
    assert [w.shape for w in norm.get_weights()] == [(3,), (3,), (3,), (3,)]
    for a, b in zip([w for layer in model.layers for w in layer.get_weights()], model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    k, b = RNG.normal(size=(3, 2)), RNG.normal(size=2)
    out.set_weights([k, b])
    np.testing.assert_array_equal(model.get_weights()[-2], k)
    x = RNG.normal(size=(5, 4))
    hidden = norm.call(nets.model.NUMPY, norm.get_weights(), np.tanh(x @ dense.get_weights()[0]
                                                                              + dense.get_weights()[1]),
                                  nets.model.Batch(x, None))
    np.testing.assert_allclose(model.predict(x), hidden @ k + b, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="has 2 weight arrays"):
        out.set_weights([k])
    with pytest.raises(ValueError, match="shape"):
        out.set_weights([k.T, b])
    assert (dense.input_shape, dense.output_shape, out.input_shape, out.output_shape) == ((4,), (3,), (3,), (2,))
    a, c = Input((4,)), Input((2,))
    joined = nets.Concatenate()([Dense(3)(a), c])
    functional = nets.Model([a, c], Dense(1)(joined))
    merge = next(l for l in functional.layers if isinstance(l, nets.Concatenate))
    assert merge.input_shape == [(3,), (2,)] and merge.output_shape == (5,)


def test_trainable_and_non_trainable_weights():
    model = Sequential([Input((4,)), Dense(3), nets.BatchNormalization(), Dense(2, trainable=False)], seed=0)
    everything = model.get_weights()
    assert model.trainable_variables is not None
    for got, want in zip(model.trainable_weights, everything[:4], strict=True):  # kernel, bias, gamma, beta
        np.testing.assert_array_equal(got, want)
    for got, want in zip(model.non_trainable_weights, everything[4:], strict=True):  # moving stats, frozen Dense
        np.testing.assert_array_equal(got, want)
    assert len(model.trainable_variables) == 4


def test_rmse_is_the_root_of_the_epoch_mean_square():
    """With a learning rate of 0 the weights stay put, so the epoch's RMSE is that of the whole
    set (the mean of the batches' RMSEs would be smaller)."""
    x, y = RNG.normal(size=(10, 3)), RNG.normal(size=(10, 1))
    model = Sequential([Input((3,)), Dense(1)], seed=0)
    model.compile(optimizer=nets.optimizers.SGD(0.0), loss="mse",
                  metrics=["rmse", nets.metrics.RootMeanSquaredError()])
    history = model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0).history
    want = np.sqrt(np.mean((model.predict(x) - y) ** 2))
    assert history["rmse"][0] == pytest.approx(want, abs=1e-14)
    assert history["root_mean_squared_error"][0] == pytest.approx(want, abs=1e-14)
    assert model.evaluate(x, y, return_dict=True)["rmse"] == pytest.approx(want, abs=1e-14)


def test_multi_output_history_has_each_outputs_loss():
    """Keras's ``<output>_loss``: each output's unweighted loss, averaged over the batches."""
    x = RNG.normal(size=(10, 3))
    y = [RNG.normal(size=(10, 1)), RNG.normal(size=(10, 2))]
    a = Input((3,))
    model = nets.Model(a, [Dense(1, name="o1")(a), Dense(2, name="o2")(a)], seed=0)
    model.compile(optimizer=nets.optimizers.SGD(0.0), loss="mse", loss_weights=[1.0, 0.5])
    history = model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0).history
    p1, p2 = model.predict(x)
    batches = [slice(0, 4), slice(4, 8), slice(8, 10)]
    for name, p, t in (("o1", p1, y[0]), ("o2", p2, y[1])):
        want = np.mean([np.mean((p[s] - t[s]) ** 2) for s in batches])
        assert history[f"{name}_loss"][0] == pytest.approx(want, abs=1e-14)
    total = np.mean((p1 - y[0]) ** 2) + 0.5 * np.mean((p2 - y[1]) ** 2)
    assert history["loss"][0] == pytest.approx(total, abs=1e-14)


# ---------------------------------------------------------------- step 3 against Keras (slow)
@pytest.mark.slow
def test_api_matches_keras(keras):
    L = keras.layers
    x = RNG.normal(size=(12, 4))
    ours = Sequential([Input((4,)), Dense(3, activation="tanh"), nets.BatchNormalization(), Dense(1)], seed=11)
    theirs = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="tanh"), L.BatchNormalization(), L.Dense(1)])
    theirs.set_weights(ours.get_weights())
    for mine, their in zip(ours.layers, theirs.layers, strict=True):
        for a, b in zip(mine.get_weights(), their.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
        assert mine.input_shape == tuple(their.input.shape[1:]) and mine.output_shape == tuple(their.output.shape[1:])
    for mine, their in ((ours.trainable_weights, theirs.trainable_weights),
                        (ours.non_trainable_weights, theirs.non_trainable_weights)):
        assert len(mine) == len(their)
        for a, b in zip(mine, their):
            np.testing.assert_array_equal(a, np.asarray(b))
    y = RNG.normal(size=(12, 1))
    ours.compile(optimizer=nets.optimizers.SGD(0.05), loss="mse", metrics=[nets.metrics.RootMeanSquaredError()])
    theirs.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=[keras.metrics.RootMeanSquaredError()])
    mine = ours.fit(x, y, epochs=3, batch_size=5, shuffle=False, verbose=0).history
    their = theirs.fit(x, y, epochs=3, batch_size=5, shuffle=False, verbose=0).history
    for key in ("loss", "root_mean_squared_error"):
        np.testing.assert_allclose(mine[key], their[key], rtol=0, atol=1e-6)


@pytest.mark.slow
def test_multi_output_history_matches_keras(keras):
    x = RNG.normal(size=(10, 3))
    y = [RNG.normal(size=(10, 1)), RNG.normal(size=(10, 2))]

    def build(lib, inp, dense, model_cls, **kw):
        a = inp((3,))
        h = dense(4, activation="tanh", name="h")(a)
        return model_cls(a, [dense(1, name="o1")(h), dense(2, name="o2")(h)], **kw)

    ours = build(nets, Input, Dense, nets.Model, seed=12)
    theirs = build(keras, keras.Input, keras.layers.Dense, keras.Model)
    theirs.set_weights(ours.get_weights())
    ours.compile(optimizer=nets.optimizers.SGD(0.1), loss="mse", loss_weights=[1.0, 0.5])
    theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss=["mse", "mse"], loss_weights=[1.0, 0.5])
    mine = ours.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0).history
    their = theirs.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0).history
    assert set(mine) == set(their) == {"loss", "o1_loss", "o2_loss"}
    for key in their:
        np.testing.assert_allclose(mine[key], their[key], rtol=0, atol=1e-6)
