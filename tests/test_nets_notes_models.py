"""The TF2 course's class-based models, typed with only their imports changed
(tests/notes_cifar10_classes.py), against the parameter totals the notes print; where real
Keras is installed, the same class text built by Keras gives the same totals; the small
IrisModel and MnistModel train side by side with tf.keras from identical weights."""
# ruff: noqa: UP008 (the course's own super(Class, self) spelling, kept as typed)
import numpy as np
import pytest
from notes_cifar10_classes import define

import nets

#: The notes' printed summaries: total parameters and the non-trainable part (BatchNormalization's
#: moving statistics).
PRINTED = {"Baseline": (198_506, 12), "LeNet5": (62_006, 0), "AlexNet8": (9_639_178, 704),
           "VGG16": (15_262_026, 8_448), "Inception10": (121_418, 1_184),
           "ResNet18": (11_183_562, 9_600)}
HEAVY = {"VGG16", "ResNet18"}  # seconds to build and run on a CPU: behind -m slow
CASES = [pytest.param(name, marks=pytest.mark.slow) if name in HEAVY else name for name in PRINTED]

NETS = define(nets.Model, nets.Conv2D, nets.BatchNormalization, nets.Activation, nets.MaxPool2D,
              nets.Dropout, nets.Flatten, nets.Dense, nets.GlobalAveragePooling2D, nets.Sequential,
              nets.ops.concat, nets.regularizers.l2)


@pytest.mark.parametrize("name", CASES)
def test_parameter_totals_are_the_notes(name):
    model = NETS[name]()
    model.build((None, 32, 32, 3))
    total, frozen = PRINTED[name]
    assert model.count_params() == total
    assert model.count_params() - model.parameters.size == frozen


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY | {"AlexNet8"} else n
                                  for n in PRINTED])
def test_a_forward_pass_gives_class_probabilities(name):
    model = NETS[name]()
    images = np.random.default_rng(0).uniform(size=(2, 32, 32, 3))
    probabilities = model.predict(images)
    assert probabilities.shape == (2, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.slow
def test_keras_builds_the_same_classes_with_the_same_totals(keras):
    layers = keras.layers
    theirs = define(keras.Model, layers.Conv2D, layers.BatchNormalization, layers.Activation,
                    layers.MaxPool2D, layers.Dropout, layers.Flatten, layers.Dense,
                    layers.GlobalAveragePooling2D, keras.Sequential, keras.ops.concatenate,
                    keras.regularizers.l2)
    for name, (total, frozen) in PRINTED.items():
        model = theirs[name]()
        model(np.zeros((1, 32, 32, 3)))  # Keras 3 builds a subclassed model's layers by calling it
        assert model.count_params() == total, name
        assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == frozen, name


# ---------------------------------------------------------------- IrisModel and MnistModel
def iris_and_mnist(Model, Dense, Flatten, l2):
    """The course's class 3 models, as written there."""
    class IrisModel(Model):
        def __init__(self):
            super(IrisModel, self).__init__()
            self.d1 = Dense(3, activation='softmax', kernel_regularizer=l2())

        def call(self, x):
            y = self.d1(x)
            return y

    class MnistModel(Model):
        def __init__(self):
            super(MnistModel, self).__init__()
            self.flatten = Flatten()
            self.d1 = Dense(128, activation='relu')
            self.d2 = Dense(10, activation='softmax')

        def call(self, x):
            x = self.flatten(x)
            x = self.d1(x)
            y = self.d2(x)
            return y

    return IrisModel, MnistModel


def _side_by_side(keras, which, x, y, ours_optimizer, their_optimizer, batch_size):
    ours = iris_and_mnist(nets.Model, nets.Dense, nets.Flatten, nets.regularizers.l2)[which]()
    theirs = iris_and_mnist(keras.Model, keras.layers.Dense, keras.layers.Flatten,
                            keras.regularizers.l2)[which]()
    theirs(x[:1])
    ours.build((None, *x.shape[1:]))
    ours.set_weights(theirs.get_weights())
    ours.compile(optimizer=ours_optimizer, loss="sparse_categorical_crossentropy",
                 metrics=["sparse_categorical_accuracy"])
    theirs.compile(optimizer=their_optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False),
                   metrics=["sparse_categorical_accuracy"])
    mine = ours.fit(x, y, epochs=3, batch_size=batch_size, shuffle=False, verbose=0)
    keras_history = theirs.fit(x, y, epochs=3, batch_size=batch_size, shuffle=False, verbose=0)
    np.testing.assert_allclose(mine.history["loss"], keras_history.history["loss"], rtol=0, atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)


@pytest.mark.slow
def test_iris_model_trains_as_tf_keras(keras):
    (x, y), _ = nets.datasets.load_iris()
    _side_by_side(keras, 0, x, y, nets.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), 32)


@pytest.mark.slow
def test_mnist_model_trains_as_tf_keras(keras):
    rng = np.random.default_rng(0)  # MNIST-shaped data: 64 images of 28x28 in [0, 1], 10 classes
    x, y = rng.uniform(size=(64, 28, 28)), rng.integers(0, 10, size=64)
    # Keras keeps Adam's betas in float32 even under float64 (0.9 becomes 0.89999998, which
    # moves the losses by 2e-6 here): betas that float32 holds exactly, on both sides.
    betas = {"beta_1": 0.875, "beta_2": 0.9990234375}
    _side_by_side(keras, 1, x, y, nets.optimizers.Adam(**betas), keras.optimizers.Adam(**betas), 16)
