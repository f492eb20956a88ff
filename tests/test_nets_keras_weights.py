"""Keras 3 ``.weights.h5`` files: nets writes Keras's layout and reads it back; with a real
Keras (slow), a model trained in tf.keras loads into the same nets architecture with
identical predictions, and back."""
from __future__ import annotations

import numpy as np
import pytest

import nets

h5py = pytest.importorskip("h5py")


def conv_bn():
    return nets.Sequential([nets.Conv2D(3, 3, input_shape=(6, 6, 2)), nets.BatchNormalization(),
                            nets.Flatten(), nets.Dense(4, activation="relu"), nets.Dense(2)], seed=0)


def recurrent():
    model = nets.Sequential([nets.LSTM(4, return_sequences=True), nets.GRU(2), nets.Dense(1)], seed=0)
    model.build((5, 3))
    return model


def layout(path) -> dict:
    """Every group and dataset of an HDF5 file: path -> shape (None for a group) and the
    ``name`` attribute of ``vars`` groups."""
    out = {}
    with h5py.File(path, "r") as h5:
        def visit(name, obj):
            out[name] = obj.shape if isinstance(obj, h5py.Dataset) else None
        h5.visititems(visit)
    return out


# What keras 3.15 (TensorFlow backend) writes for the same two architectures, listed from
# `keras.Sequential([...]).save_weights(...)` with h5py: the keys are the layer classes in
# snake case, numbered per class; recurrent weights live in the layer's cell.
KERAS_CONV_BN = {
    "layers": None,
    "layers/batch_normalization": None, "layers/batch_normalization/vars": None,
    **{f"layers/batch_normalization/vars/{i}": (3,) for i in range(4)},
    "layers/conv2d": None, "layers/conv2d/vars": None,
    "layers/conv2d/vars/0": (3, 3, 2, 3), "layers/conv2d/vars/1": (3,),
    "layers/dense": None, "layers/dense/vars": None,
    "layers/dense/vars/0": (48, 4), "layers/dense/vars/1": (4,),
    "layers/dense_1": None, "layers/dense_1/vars": None,
    "layers/dense_1/vars/0": (4, 2), "layers/dense_1/vars/1": (2,),
    "layers/flatten": None, "layers/flatten/vars": None,
    "vars": None,
}
KERAS_RECURRENT = {
    "layers": None, "vars": None,
    "layers/dense": None, "layers/dense/vars": None,
    "layers/dense/vars/0": (2, 1), "layers/dense/vars/1": (1,),
    "layers/gru": None, "layers/gru/vars": None, "layers/gru/cell": None, "layers/gru/cell/vars": None,
    "layers/gru/cell/vars/0": (4, 6), "layers/gru/cell/vars/1": (2, 6), "layers/gru/cell/vars/2": (2, 6),
    "layers/lstm": None, "layers/lstm/vars": None, "layers/lstm/cell": None, "layers/lstm/cell/vars": None,
    "layers/lstm/cell/vars/0": (3, 16), "layers/lstm/cell/vars/1": (4, 16), "layers/lstm/cell/vars/2": (16,),
}


@pytest.mark.parametrize("make, expected", [(conv_bn, KERAS_CONV_BN), (recurrent, KERAS_RECURRENT)],
                         ids=["conv-bn", "lstm-gru"])
def test_the_file_has_keras_layout(tmp_path, make, expected):
    path = tmp_path / "m.weights.h5"
    make().save_weights(path)
    assert layout(path) == expected


def test_round_trip_gives_identical_predictions(tmp_path):
    x = np.random.default_rng(1).normal(size=(7, 6, 6, 2))
    source, target = conv_bn(), conv_bn()
    source.set_weights([w + np.random.default_rng(i).normal(size=w.shape) * 0.1
                        for i, w in enumerate(source.get_weights())])
    source.save_weights(tmp_path / "m.weights.h5")
    target.load_weights(tmp_path / "m.weights.h5")
    for a, b in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(source.predict(x), target.predict(x))


def test_an_existing_file_is_kept_without_overwrite(tmp_path):
    path = tmp_path / "m.weights.h5"
    model = recurrent()
    model.save_weights(path)
    before = path.read_bytes()
    model.set_weights([w + 1.0 for w in model.get_weights()])
    with pytest.raises(ValueError, match="exists; pass overwrite=True"):
        model.save_weights(path)
    assert path.read_bytes() == before
    model.save_weights(path, overwrite=True)
    assert path.read_bytes() != before


def test_a_shape_mismatch_names_the_layer_and_both_shapes(tmp_path):
    path = tmp_path / "m.weights.h5"
    nets.Sequential([nets.Dense(5, input_dim=3), nets.Dense(2)], seed=0).save_weights(path)
    other = nets.Sequential([nets.Dense(4, input_dim=3), nets.Dense(2)], seed=0)
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"layer 'dense_0' \(Dense\) weight 'kernel' has shape "
                                         r"\(3, 4\) in nets but \(3, 5\) in the file"):
        other.load_weights(path)
    for a, b in zip(before, other.get_weights()):  # nothing changed
        np.testing.assert_array_equal(a, b)


def test_a_missing_layer_and_an_extra_layer_are_refused(tmp_path):
    path = tmp_path / "m.weights.h5"
    nets.Sequential([nets.Dense(5, input_dim=3), nets.Dense(2)], seed=0).save_weights(path)
    three = nets.Sequential([nets.Dense(5, input_dim=3), nets.Dense(2), nets.Dense(1)], seed=0)
    with pytest.raises(ValueError, match=r"no weights for layer 'dense_2' .*'layers/dense_2/vars' is missing"):
        three.load_weights(path)
    one = nets.Sequential([nets.Dense(5, input_dim=3)], seed=0)
    with pytest.raises(ValueError, match="weights for layers the model does not have: layers/dense_1"):
        one.load_weights(path)


def test_bad_names_and_files_are_one_value_error(tmp_path):
    model = recurrent()
    with pytest.raises(ValueError, match=r"end in \.weights\.h5"):
        model.save_weights(tmp_path / "m.ckpt")
    with pytest.raises(ValueError, match="does not exist"):
        model.load_weights(tmp_path / "absent.weights.h5")
    (tmp_path / "junk.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="is not an HDF5 file"):
        model.load_weights(tmp_path / "junk.weights.h5")


def test_external_links_are_not_followed(tmp_path):
    path = tmp_path / "m.weights.h5"
    model = nets.Sequential([nets.Dense(2, input_dim=3)], seed=0)
    model.save_weights(path)
    with h5py.File(tmp_path / "elsewhere.h5", "w") as other:
        other["w"] = np.ones((3, 2))
    with h5py.File(path, "a") as h5:
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars/0"] = h5py.ExternalLink(str(tmp_path / "elsewhere.h5"), "w")
    with pytest.raises(ValueError, match="'0' is an ExternalLink, which nets does not follow"):
        model.load_weights(path)


# ---------------------------------------------------------------------- against a real Keras
def _keras_conv_bn(keras):
    L = keras.layers
    return keras.Sequential([keras.Input((6, 6, 2)), L.Conv2D(3, 3), L.BatchNormalization(), L.Flatten(),
                             L.Dense(4, activation="relu"), L.Dense(2)])


def _keras_recurrent(keras):
    return keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4, return_sequences=True),
                             keras.layers.GRU(2), keras.layers.Dense(1)])


def _dense():
    return nets.Sequential([nets.Dense(8, activation="tanh", input_dim=4), nets.Dense(3, activation="softmax")],
                           seed=0)


def _keras_dense(keras):
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                             keras.layers.Dense(3, activation="softmax")])


CASES = {
    "dense": (_dense, _keras_dense, (4,), "categorical_crossentropy", 3),
    "conv-bn": (conv_bn, _keras_conv_bn, (6, 6, 2), "mse", 2),
    "lstm-gru": (recurrent, _keras_recurrent, (5, 3), "mse", 1),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_a_model_trained_in_keras_loads_into_nets_and_back(keras, tmp_path, case):
    make, make_keras, shape, loss, outputs = CASES[case]
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, *shape)), rng.uniform(size=(16, outputs))
    theirs = make_keras(keras)
    theirs.compile(optimizer="adam", loss=loss)
    theirs.fit(x, y, epochs=2, batch_size=8, verbose=0)  # trained: moving statistics moved too
    theirs.save_weights(str(tmp_path / "keras.weights.h5"))
    ours = make()
    ours.load_weights(tmp_path / "keras.weights.h5")
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=0, atol=1e-12)

    ours.set_weights([w * 0.9 for w in ours.get_weights()])  # and back, from weights nets changed
    ours.save_weights(tmp_path / "nets.weights.h5")
    again = make_keras(keras)
    again.load_weights(str(tmp_path / "nets.weights.h5"))
    for a, b in zip(again.get_weights(), ours.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(again.predict(x, verbose=0), ours.predict(x), rtol=0, atol=1e-12)


@pytest.mark.slow
def test_a_functional_model_round_trips_with_keras(keras, tmp_path):
    a = nets.Input((4,))
    h = nets.Dense(3, activation="tanh")(a)
    ours = nets.Model(a, nets.Concatenate()([h, nets.Dense(2)(h)]), seed=0)
    i = keras.Input((4,))
    k = keras.layers.Dense(3, activation="tanh")(i)
    theirs = keras.Model(i, keras.layers.Concatenate()([k, keras.layers.Dense(2)(k)]))
    theirs.save_weights(str(tmp_path / "keras.weights.h5"))
    ours.save_weights(tmp_path / "nets.weights.h5")
    assert layout(tmp_path / "keras.weights.h5") == layout(tmp_path / "nets.weights.h5")
    ours.load_weights(tmp_path / "keras.weights.h5")
    x = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=0, atol=1e-12)


def test_model_checkpoint_writes_keras_weight_files(tmp_path):
    """``ModelCheckpoint("best.weights.h5", save_weights_only=True, save_best_only=True)``, the
    notes' checkpoint idiom with Keras 3's file name: the best epoch's weights, replaced as
    training improves; a .weights.h5 path without save_weights_only is refused."""
    with pytest.raises(ValueError, match=r"ending in \.npz \(or \.weights\.h5\)"):
        nets.ModelCheckpoint(str(tmp_path / "best.weights.h5"))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 3)), rng.normal(size=(32, 1))
    model = nets.Sequential([nets.Dense(1, input_dim=3)], seed=0)
    model.compile(optimizer=nets.optimizers.SGD(0.05), loss="mse")
    best = {}

    class Keep(nets.callbacks.Callback):  # the weights after each epoch, by its loss
        def on_epoch_end(self, epoch, logs=None):
            best[logs["loss"]] = model.get_weights()

    path = tmp_path / "best.weights.h5"
    checkpoint = nets.ModelCheckpoint(str(path), monitor="loss", save_weights_only=True, save_best_only=True)
    model.fit(x, y, epochs=5, batch_size=32, callbacks=[Keep(), checkpoint], verbose=0)
    restored = nets.Sequential([nets.Dense(1, input_dim=3)], seed=1)
    restored.load_weights(path)
    for a, b in zip(restored.get_weights(), best[min(best)]):
        np.testing.assert_array_equal(a, b)


class Subclassed(nets.Sequential):
    """A model written as a class, layers kept as attributes (a list among them), the way
    Keras saves a subclassed model: by attribute name."""

    def __init__(self):
        self.d1 = nets.Dense(3, input_dim=4)
        self.b = nets.BatchNormalization()
        self.blocks = [nets.Dense(3), nets.Dense(3)]
        self.d2 = nets.Dense(2)
        super().__init__([self.d1, self.b, *self.blocks, self.d2], seed=0, name="m")

    def call(self, x, training=None):  # what makes it a subclassed model to the file
        return x


# keras 3.15's file for the same class written with keras.Model (d1, b, blocks, d2 as
# attributes), listed with h5py; the optimizer group it writes after fit is left out.
KERAS_SUBCLASSED = {
    "b": None, "b/vars": None, **{f"b/vars/{i}": (3,) for i in range(4)},
    "blocks": None, "blocks/dense": None, "blocks/dense/vars": None,
    "blocks/dense/vars/0": (3, 3), "blocks/dense/vars/1": (3,),
    "blocks/dense_1": None, "blocks/dense_1/vars": None,
    "blocks/dense_1/vars/0": (3, 3), "blocks/dense_1/vars/1": (3,),
    "d1": None, "d1/vars": None, "d1/vars/0": (4, 3), "d1/vars/1": (3,),
    "d2": None, "d2/vars": None, "d2/vars/0": (3, 2), "d2/vars/1": (2,),
    "vars": None,
}


def test_a_subclassed_model_is_saved_by_attribute(tmp_path):
    source = Subclassed()
    source.set_weights([w + 0.5 for w in source.get_weights()])
    source.save_weights(tmp_path / "m.weights.h5")
    assert layout(tmp_path / "m.weights.h5") == KERAS_SUBCLASSED
    target = Subclassed()
    target.load_weights(tmp_path / "m.weights.h5")
    for a, b in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_a_subclassed_keras_model_loads_by_attribute(keras, tmp_path):
    L = keras.layers

    class M(keras.Model):
        def __init__(self):
            super().__init__()
            self.d1, self.b, self.d2 = L.Dense(3), L.BatchNormalization(), L.Dense(2)
            self.blocks = [L.Dense(3), L.Dense(3)]

        def call(self, x):
            return self.d2(self.blocks[1](self.blocks[0](self.b(self.d1(x)))))

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
    theirs = M()
    theirs.compile(optimizer="adam", loss="mse")
    theirs.fit(x, y, epochs=2, batch_size=8, verbose=0)
    theirs.save_weights(str(tmp_path / "keras.weights.h5"))
    assert {k: v for k, v in layout(tmp_path / "keras.weights.h5").items()
            if not k.startswith("optimizer")} == KERAS_SUBCLASSED
    ours = Subclassed()
    ours.load_weights(tmp_path / "keras.weights.h5")
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=0, atol=1e-12)
