"""Initialisers by name with Keras's fans and scaling, checked against the formulas by hand
and SciPy's truncated normal (independent of the code under test)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import nets
from nets import initializers

CONV = (3, 3, 16, 32)  # (kh, kw, cin, cout): fan_in 144, fan_out 288


def draw(name, shape=CONV, seed=0):
    return initializers.get(name)(shape, np.random.default_rng(seed))


def test_fans_are_keras_fans():
    assert initializers.compute_fans((4, 3)) == (4, 3)
    assert initializers.compute_fans((7,)) == (7, 7)
    assert initializers.compute_fans(CONV) == (3 * 3 * 16, 3 * 3 * 32)
    assert initializers.compute_fans((5, 2, 6)) == (5 * 2, 5 * 6)  # a 1-D convolution kernel


@pytest.mark.parametrize("name, variance", [
    ("he_uniform", 2 / 144), ("lecun_uniform", 1 / 144), ("glorot_uniform", 2 / (144 + 288))])
def test_uniform_families_draw_on_the_keras_limit(name, variance):
    w = draw(name)
    limit = math.sqrt(3 * variance)
    assert w.shape == CONV and np.max(np.abs(w)) <= limit and np.max(np.abs(w)) > 0.99 * limit
    assert np.std(w) == pytest.approx(math.sqrt(variance), rel=0.04)


@pytest.mark.parametrize("name, variance", [
    ("he_normal", 2 / 144), ("lecun_normal", 1 / 144), ("glorot_normal", 2 / (144 + 288))])
def test_normal_families_are_truncated_at_two_stddevs_and_keep_the_variance(name, variance):
    from scipy.stats import truncnorm

    # Keras divides the standard deviation by the truncated unit normal's own deviation,
    # so the draws keep the variance scale / fan.
    stddev = math.sqrt(variance) / truncnorm(-2, 2).std()
    w = draw(name)
    assert np.max(np.abs(w)) <= 2 * stddev and np.max(np.abs(w)) > 1.9 * stddev
    assert np.std(w) == pytest.approx(math.sqrt(variance), rel=0.04)
    assert truncnorm(-2, 2).std() == pytest.approx(initializers.TRUNCATED_STDDEV_FACTOR, rel=1e-12)


def test_fixed_scale_initializers_use_keras_defaults():
    assert np.std(draw("random_normal")) == pytest.approx(0.05, rel=0.04)
    w = draw("random_uniform")
    assert np.max(np.abs(w)) <= 0.05 and np.std(w) == pytest.approx(0.05 / math.sqrt(3), rel=0.04)
    w = draw("truncated_normal")
    assert np.max(np.abs(w)) <= 0.1 and np.std(w) == pytest.approx(0.05 * 0.8796, rel=0.04)
    assert np.all(draw("zeros", (2, 3)) == 0) and np.all(draw("ones", (4,)) == 1)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 3, 4, 8)])
def test_orthogonal_has_orthonormal_rows_or_columns(shape):
    w = draw("orthogonal", shape).reshape(-1, shape[-1])
    small = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    np.testing.assert_allclose(small, np.eye(len(small)), atol=1e-12)
    with pytest.raises(ValueError, match="at least two axes"):
        draw("orthogonal", (5,))


def test_dense_takes_the_names_and_the_old_imports_still_work():
    from nets.layers import INITIALIZERS, _initializer, glorot_uniform

    assert {"he_normal", "lecun_uniform", "orthogonal"} <= set(INITIALIZERS)
    assert _initializer("he_uniform") is initializers.INITIALIZERS["he_uniform"]
    assert glorot_uniform is initializers.glorot_uniform
    model = nets.Sequential([nets.Dense(64, input_dim=128, kernel_initializer="he_uniform",
                                        bias_initializer="ones")], seed=0)
    kernel, bias = model.get_weights()
    assert np.max(np.abs(kernel)) <= math.sqrt(6 / 128) and np.all(bias == 1)
    with pytest.raises(ValueError, match="unknown initializer 'he_norml'; did you mean he_normal"):
        nets.Dense(3, kernel_initializer="he_norml")
