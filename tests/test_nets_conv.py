"""Convolutional layers: every method's gradient against the 50-digit oracle on tiny
networks, the hand-derived backprop included; BatchNormalization's two modes and moving
statistics; parameter counts by closed form; the digits CNN's accuracy."""
from __future__ import annotations

import numpy as np
import pytest

import difflab
import nets
from nets import backprop
from nets.datasets import load_digits_images
from nets.examples import digits_cnn

#: (method, options, tolerance against the oracle)
METHODS = [("manual", {}, 1e-12), ("reverse", {}, 1e-12), ("reverse", {"jit": True}, 1e-12),
           ("forward", {}, 1e-12), ("autograd", {}, 1e-12), ("torch", {}, 1e-12),
           ("tensorflow", {}, 1e-12), ("jax", {}, 1e-12), ("fd-complex", {}, 1e-13),
           ("fd-central", {}, 1e-6), ("fd-five-point", {}, 1e-9), ("fd-richardson", {}, 1e-8),
           ("fd-forward", {}, 1e-5)]


def _tiny(layer, input_shape=(5, 5, 2)):
    """A first Conv2D (so the layer's input gradient reaches its kernel), the layer under
    test, then Flatten and a softmax Dense: every gradient goes through the layer both ways."""
    return nets.Sequential([nets.Conv2D(2, (2, 2), activation="tanh", input_shape=input_shape),
                            layer, nets.Flatten(), nets.Dense(3, activation="softmax")], seed=1)


LAYERS = {
    "conv2d-valid-stride": lambda: nets.Conv2D(2, (2, 3), strides=(2, 1), activation="tanh"),
    "conv2d-same-stride": lambda: nets.Conv2D(3, (3, 2), strides=(2, 2), padding="same", use_bias=False),
    "maxpool": lambda: nets.MaxPooling2D((2, 2)),
    "maxpool-same-overlap": lambda: nets.MaxPooling2D((3, 3), strides=(1, 2), padding="same"),
    "avgpool-same": lambda: nets.AveragePooling2D((2, 3), strides=(2, 2), padding="same"),
    "globalavg": lambda: nets.GlobalAveragePooling2D(),
    "batchnorm": lambda: nets.BatchNormalization(momentum=0.9),
    "dropout-on-images": lambda: nets.Dropout(0.4),
}


def _objective(key):
    """The tiny network and its weights, on data drawn so that no max-pooling window holds a
    near tie (top two values at least 1e-2 apart): the finite differences' steps must not
    cross the kink, or their error is the kink's, not their truncation's."""
    model = _tiny(LAYERS[key]())
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    theta = model.parameters.theta.copy()
    for seed in range(3, 50):
        rng = np.random.default_rng(seed)
        x, y = model._check_data(rng.normal(size=(3, 5, 5, 2)), rng.integers(0, 3, size=3))
        model.batch = model._training_batch(x, y)
        if _max_pool_margin(model, theta) > 1e-2:
            return model, theta
    raise AssertionError(f"{key}: no data seed keeps the max-pooling windows away from ties")


def _max_pool_margin(model, theta):
    """The smallest gap between the two largest values of any max-pooling window (inf if none)."""
    from numpy.lib.stride_tricks import sliding_window_view
    from difflab.namespaces import NUMPY

    pool = model.layers[1]
    if not isinstance(pool, nets.MaxPooling2D):
        return np.inf
    weights = model.parameters.unflatten(theta)
    a = model.layers[0].call(NUMPY, weights[0], model.batch.x, model.batch)
    if pool.padding == "same":  # generous: pad every side, so each real window is among these
        k = max(pool.pool_size)
        a = np.pad(a, ((0, 0), (k, k), (k, k), (0, 0)), constant_values=-np.inf)
    windows = sliding_window_view(a, pool.pool_size, axis=(1, 2))
    top = np.sort(windows.reshape(*windows.shape[:4], -1), axis=-1)[..., -2:]
    real = np.isfinite(top[..., 0])
    return float(np.min(top[..., 1][real] - top[..., 0][real]))


@pytest.fixture(scope="module")
def oracle():
    cache = {}

    def get(key):
        if key not in cache:
            model, theta = _objective(key)
            cache[key] = difflab.reference(model.objective, theta)
        return cache[key]
    return get


@pytest.mark.parametrize("method, options, tol", METHODS,
                         ids=[m + ("-jit" if o else "") for m, o, _ in METHODS])
@pytest.mark.parametrize("key", sorted(LAYERS))
def test_every_method_matches_the_oracle_on_each_layer(key, method, options, tol, oracle):
    ok, why = difflab.method_class(method).availability()
    if not ok:
        pytest.skip(f"{method}: {why}")
    model, theta = _objective(key)
    if method == "manual":
        value, grad = backprop.value_and_gradient(model, theta, model.batch)
    else:
        value, grad = difflab.get(method, **options).value_and_gradient(difflab.Function(model.objective))(theta)
    assert value == pytest.approx(float(model.objective(theta)), rel=1e-12)
    reference = oracle(key)
    scale = np.max(np.abs(reference))
    bound = tol * scale
    if method.startswith("fd-") and key.startswith("maxpool"):
        # a max pool is piecewise smooth: fd-richardson's first step (1/8) spans the ties, so
        # there it is held to the error it reports itself, as difflab fuzz holds it
        bound = np.maximum(bound, difflab.get(method).estimate(difflab.Function(model.objective), theta).error)
    assert np.all(np.abs(grad - reference) <= bound), np.max(np.abs(grad - reference) - bound)


def test_the_hand_derived_conv_backward_is_checked_not_trusted(monkeypatch, oracle):
    """Break the hand-derived kernel gradient (forget the weight sharing: keep only the first
    window position's share) and the oracle comparison fails."""
    model, theta = _objective("conv2d-valid-stride")
    conv = model.layers[1]
    right = type(conv).backward

    def wrong(self, weights, cache, g):
        gx, grads = right(self, weights, cache, g)
        return gx, [grads[0] * 0.5] + grads[1:]
    monkeypatch.setattr(type(conv), "backward", wrong)
    _, grad = backprop.value_and_gradient(model, theta, model.batch)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(grad, oracle("conv2d-valid-stride"), rtol=0, atol=1e-8)


def test_batchnorm_uses_batch_statistics_in_training_and_moving_ones_after():
    layer = nets.BatchNormalization(momentum=0.75, epsilon=1e-3)
    model = nets.Sequential([layer], seed=0)
    model.build(3)
    model.compile(optimizer=nets.optimizers.SGD(0.0), loss="mse")
    x = np.array([[1.0, 2.0, -1.0], [3.0, 6.0, 0.0], [5.0, 1.0, 4.0], [-1.0, 3.0, 1.0]])
    # inference before training: moving mean 0, variance 1
    np.testing.assert_allclose(model.predict(x), x / np.sqrt(1.0 + 1e-3), rtol=1e-15)
    model.fit(x, np.zeros((4, 3)), epochs=1, batch_size=4, shuffle=False, verbose=0)
    _, _, moving_mean, moving_var = model.get_weights()
    mean, var = x.mean(axis=0), x.var(axis=0)
    np.testing.assert_allclose(moving_mean, 0.25 * mean, rtol=1e-15)
    np.testing.assert_allclose(moving_var, 0.75 + 0.25 * var, rtol=1e-15)
    np.testing.assert_allclose(model.predict(x), (x - moving_mean) / np.sqrt(moving_var + 1e-3), rtol=1e-14)
    # the training forward pass normalises by the batch's own statistics
    batch = nets.model.Batch(x, np.zeros((4, 3)), training=True)
    y = model.forward(difflab.namespace(x), model.parameters.theta, batch)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-14)
    assert model.parameters.size == 6 and model.count_params() == 12


def _lenet():
    return nets.Sequential([nets.Conv2D(6, (5, 5), activation="tanh", input_shape=(32, 32, 3)),
                            nets.AveragePooling2D((2, 2)), nets.Conv2D(16, (5, 5), activation="tanh"),
                            nets.MaxPooling2D((2, 2)), nets.Flatten(), nets.Dense(120, activation="tanh"),
                            nets.Dense(84, activation="tanh"), nets.Dense(10, activation="softmax")])


def _vgg():
    return nets.Sequential([nets.Conv2D(16, 3, padding="same", input_shape=(32, 32, 3)),
                            nets.BatchNormalization(), nets.Activation("relu"),
                            nets.Conv2D(16, 3, padding="same", activation="relu"), nets.MaxPooling2D(),
                            nets.Conv2D(32, 3, padding="same"), nets.BatchNormalization(),
                            nets.Activation("relu"), nets.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
                            nets.MaxPooling2D(padding="same"), nets.GlobalAveragePooling2D(),
                            nets.Dense(10, activation="softmax")])


def _conv(k, cin, cout):
    return k * k * cin * cout + cout


def test_parameter_counts_by_closed_form():
    lenet = _lenet()
    assert lenet.count_params() == (_conv(5, 3, 6) + _conv(5, 6, 16) + (5 * 5 * 16 * 120 + 120)
                                    + (120 * 84 + 84) + (84 * 10 + 10)) == 62006
    assert lenet.layers[4].output_dim == 400
    vgg = _vgg()
    assert vgg.count_params() == (_conv(3, 3, 16) + 4 * 16 + _conv(3, 16, 16) + _conv(3, 16, 32) + 4 * 32
                                  + _conv(3, 32, 32) + (32 * 10 + 10))
    assert vgg.parameters.size == vgg.count_params() - 2 * (16 + 32)   # moving statistics
    assert [layer.output_dim for layer in vgg.layers][8:11] == [(8, 8, 32), (4, 4, 32), 32]


def test_digits_images_split_is_fixed():
    (xt, _), (xs, _) = load_digits_images()
    assert xt.shape == (1257, 8, 8, 1) and xs.shape == (540, 8, 8, 1)
    assert 0.0 <= xt.min() and xt.max() <= 1.0
    (xt2, _), _ = load_digits_images()
    np.testing.assert_array_equal(xt, xt2)


def test_digits_cnn_reaches_97_percent():
    (xt, yt), (xs, ys) = load_digits_images()
    model = digits_cnn("reverse")
    model.fit(xt, yt, epochs=15, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(xs, ys)
    assert accuracy >= 0.97


def test_a_cnn_saves_and_loads(tmp_path):
    (xt, yt), (xs, _) = load_digits_images()
    model = digits_cnn()
    model.fit(xt[:64], yt[:64], epochs=1, verbose=0)   # moving statistics move off their start
    model.save(tmp_path / "cnn.npz")
    again = nets.load_model(tmp_path / "cnn.npz")
    assert [type(layer).__name__ for layer in again.layers] == [type(layer).__name__ for layer in model.layers]
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(again.predict(xs[:10]), model.predict(xs[:10]))


def test_image_input_shape_is_checked():
    model = digits_cnn()
    with pytest.raises(ValueError, match=r"\(8, 8, 1\)"):
        model.fit(np.zeros((4, 64)), np.zeros(4), verbose=0)
    with pytest.raises(ValueError, match="images"):
        nets.Sequential([nets.Dense(4, input_dim=3), nets.Conv2D(2, 2)]).build(3)
    with pytest.raises(ValueError, match="padding"):
        nets.Conv2D(2, 3, padding="full")
    # Dense on images acts on the channels, as Keras; training on such outputs asks for a Flatten
    per_pixel = nets.Sequential([nets.Conv2D(2, 3, input_shape=(5, 5, 1)), nets.Dense(3)])
    per_pixel.compile(optimizer="sgd", loss="mse")
    assert per_pixel.predict(np.zeros((2, 5, 5, 1))).shape == (2, 3, 3, 3)
    with pytest.raises(ValueError, match="Flatten"):
        per_pixel.fit(np.zeros((2, 5, 5, 1)), np.zeros((2, 3)), verbose=0)
