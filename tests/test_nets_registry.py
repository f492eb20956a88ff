"""Layers and models register by name as they are defined; nets.saving rebuilds them."""
import numpy as np
import pytest

import nets
from nets import registry


class Scale(nets.Layer):
    """A user's own layer: one trainable weight per feature, ``x * w``."""

    def __init__(self, factor=1.0, name=None, input_dim=None, input_shape=None):
        super().__init__(name, input_dim, input_shape)
        self.factor = float(factor)

    def _output_dim(self, input_dim):
        self.weight_specs = [nets.layers.WeightSpec("w", (input_dim,), True,
                                                    lambda shape, rng: np.full(shape, self.factor))]
        return input_dim

    def call(self, xp, weights, x, batch):
        return x * weights[0]

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_builtin_and_user_layers_are_registered_when_defined():
    assert registry.lookup("Dense") is nets.Dense
    assert registry.lookup("BatchNormalization") is nets.BatchNormalization
    assert registry.lookup("Sequential") is nets.Sequential
    assert registry.lookup("Scale") is Scale


def test_unknown_class_is_one_clear_error():
    with pytest.raises(ValueError, match="did you mean Dense"):
        registry.lookup("Dense_")


def test_a_model_with_a_user_layer_saves_and_loads(tmp_path):
    model = nets.Sequential([nets.Dense(3, input_dim=2), Scale(2.5)], seed=0)
    model.compile(loss="mse", optimizer="sgd")
    model.fit(np.ones((4, 2)), np.zeros((4, 3)), epochs=1, verbose=0)
    x = np.array([[0.5, -1.0], [2.0, 3.0]])
    model.save(tmp_path / "m.npz")
    again = nets.load_model(tmp_path / "m.npz")
    assert isinstance(again.layers[1], Scale) and again.layers[1].factor == 2.5
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


def test_the_layer_module_does_not_deserialise():
    """Deserialisation lives in nets.saving (issue 20): the base layer module has no from_config."""
    assert not hasattr(nets.layers, "from_config")
    assert nets.saving.layer_from_config("Dense", {"units": 2}).units == 2
