"""The check notes at a kink name the rule each method used there, measured, against each
framework's own ``maximum``/``minimum``/``abs`` run natively."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import difflab
from difflab.testing import KinkWarning, assert_gradients_agree
from difflab.analysis.kinks import TIES, tie_rules


def _native(framework):
    """d/da of maximum(a, b) and minimum(a, b) at a = b = 0, and abs'(0), by the framework itself."""
    if framework == "torch":
        torch = pytest.importorskip("torch")

        def grad(fn):
            a, b = (torch.zeros((), dtype=torch.float64, requires_grad=True) for _ in range(2))
            fn(a, b).backward()
            return float(a.grad)
        return grad(torch.maximum), grad(torch.minimum), grad(lambda a, b: torch.abs(a))
    if framework == "tensorflow":
        tf = pytest.importorskip("tensorflow")

        def grad(fn):
            a, b = tf.Variable(0.0, dtype=tf.float64), tf.Variable(0.0, dtype=tf.float64)
            with tf.GradientTape() as tape:
                y = fn(a, b)
            return float(tape.gradient(y, a))
        return grad(tf.maximum), grad(tf.minimum), grad(lambda a, b: tf.abs(a))
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    return (float(jax.grad(jnp.maximum)(0.0, 0.0)), float(jax.grad(jnp.minimum)(0.0, 0.0)),
            float(jax.grad(jnp.abs)(0.0)))


@pytest.mark.parametrize("framework", ["torch", "tensorflow", "jax"])
def test_the_measured_rules_are_the_frameworks_own(framework):
    if not difflab.method_class(framework).availability()[0]:
        pytest.skip(f"{framework} is not available")
    assert tie_rules(framework) == _native(framework)


def test_the_oracle_and_difflabs_engines_take_the_symmetric_rule():
    # The rule table's tie rule: half to each argument of maximum/minimum, 0 for abs at 0.
    assert [label for label, _, _ in TIES] == ["maximum(a, b) at a = b, d/da", "minimum(a, b) at a = b, d/da",
                                              "abs'(0)"]
    for method in ("oracle", "reverse", "forward"):
        assert tie_rules(method) == (0.5, 0.5, 0.0)


def maximum_at_a_tie(x):
    return difflab.namespace(x).maximum(x[0], x[1])


def test_the_check_note_names_each_methods_rule():
    methods = ["reverse", "tensorflow"] if difflab.method_class("tensorflow").availability()[0] else ["reverse"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert_gradients_agree(maximum_at_a_tie, np.zeros(2), methods=methods)
    message = str(next(w.message for w in caught if isinstance(w.message, KinkWarning)))
    expected = {0.5: "1/2", 1.0: "1"}
    assert "maximum(a, b) at a = b, d/da: 1/2 (oracle, reverse" in message
    if "tensorflow" in methods:
        assert f"{expected[_native('tensorflow')[0]]} (tensorflow)" in message
