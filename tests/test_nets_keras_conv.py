"""The CNN against a real Keras (slow: TensorFlow loads): the same Conv2D-BatchNormalization-
MaxPooling2D-Flatten-Dense network from the same weights on the same batches, float64, and
Keras's own parameter counts for a LeNet-5-like and a small VGG-like model."""
from __future__ import annotations

import numpy as np
import pytest

import nets
from nets.datasets import load_digits_images

pytestmark = pytest.mark.slow


def _ours(differentiator):
    model = nets.Sequential([
        nets.Conv2D(4, (3, 3), strides=(1, 1), padding="same", input_shape=(8, 8, 1)),
        nets.BatchNormalization(momentum=0.875, epsilon=1e-3),
        nets.Activation("relu"),
        nets.MaxPooling2D((2, 2)),
        nets.Flatten(),
        nets.Dense(10, activation="softmax"),
    ], seed=5)
    model.compile(optimizer=nets.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy",
                  differentiator=differentiator)
    return model


def _theirs(keras):
    L = keras.layers
    model = keras.Sequential([keras.Input(shape=(8, 8, 1)), L.Conv2D(4, (3, 3), padding="same"),
                              L.BatchNormalization(momentum=0.875, epsilon=1e-3), L.Activation("relu"),
                              L.MaxPooling2D((2, 2)), L.Flatten(), L.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("differentiator", ["reverse", "manual"])
def test_cnn_losses_and_weights_agree_with_tf_keras(keras, differentiator):
    (x, y), _ = load_digits_images()
    x, y = x[:300], y[:300]
    ours, theirs = _ours(differentiator), _theirs(keras)
    theirs.set_weights(ours.get_weights())
    # same batches: no shuffling; 300 samples in batches of 64 leave a short last batch
    mine = ours.fit(x, y, epochs=4, batch_size=64, shuffle=False, verbose=0)
    keras_history = theirs.fit(x, y, epochs=4, batch_size=64, shuffle=False, verbose=0)
    np.testing.assert_allclose(mine.history["loss"], keras_history.history["loss"], rtol=0, atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):  # moving statistics included
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)
    np.testing.assert_allclose(ours.predict(x[:50]), theirs.predict(x[:50], verbose=0), rtol=0, atol=1e-7)


def test_parameter_counts_equal_keras(keras):
    from tests.test_nets_conv import _lenet, _vgg

    L = keras.layers
    lenet = keras.Sequential([keras.Input(shape=(32, 32, 3)), L.Conv2D(6, (5, 5), activation="tanh"),
                              L.AveragePooling2D((2, 2)), L.Conv2D(16, (5, 5), activation="tanh"),
                              L.MaxPooling2D((2, 2)), L.Flatten(), L.Dense(120, activation="tanh"),
                              L.Dense(84, activation="tanh"), L.Dense(10, activation="softmax")])
    vgg = keras.Sequential([keras.Input(shape=(32, 32, 3)), L.Conv2D(16, 3, padding="same"),
                            L.BatchNormalization(), L.Activation("relu"),
                            L.Conv2D(16, 3, padding="same", activation="relu"), L.MaxPooling2D(),
                            L.Conv2D(32, 3, padding="same"), L.BatchNormalization(), L.Activation("relu"),
                            L.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
                            L.MaxPooling2D(padding="same"), L.GlobalAveragePooling2D(),
                            L.Dense(10, activation="softmax")])
    for ours, theirs in ((_lenet(), lenet), (_vgg(), vgg)):
        assert ours.count_params() == theirs.count_params()
        assert ours.parameters.size == sum(int(np.prod(w.shape)) for w in theirs.trainable_weights)
        assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
        assert [layer.output_shape for layer in ours.layers] == [tuple(layer.output.shape[1:])
                                                                 for layer in theirs.layers]
