"""``difflab.namespace(params)`` looks through pytrees (dicts, lists, tuples, namedtuples).

docs/api.md advises ``xp = difflab.namespace(params)`` for a function of a dict of
parameters; every method must then see its own namespace, not NumPy's. The gradient is
checked against its closed form.
"""
from collections import namedtuple

import numpy as np
import pytest

import difflab

Pair = namedtuple("Pair", "w b")

#: The exact methods (and one stencil) whose library is installed.
METHODS = [m for m in difflab.methods() if m != "manual" and difflab.get(m).available()
           and (difflab.method_class(m).exact or m == "fd-central")]


def loss_of_dict(params):
    xp = difflab.namespace(params)
    return xp.sum(params["w"] ** 2) * params["b"][0]


def loss_of_list(params):
    xp = difflab.namespace(params)
    w, (b,) = params[0], params[1]
    return xp.sum(w ** 2) * b[0]


W, B = np.array([[0.5, -1.0], [2.0, 0.25]]), np.array([1.5])


@pytest.mark.parametrize("method", METHODS)
def test_namespace_of_a_dict_is_the_method_s(method):
    g = difflab.get(method).gradient(loss_of_dict)({"w": W, "b": B})
    np.testing.assert_allclose(g["w"], 2 * W * B[0], rtol=1e-6)
    np.testing.assert_allclose(g["b"], [np.sum(W ** 2)], rtol=1e-6)


@pytest.mark.parametrize("method", ["reverse", "forward"])
def test_namespace_of_lists_and_tuples(method):
    for params in ([W, [B]], (W, (B,))):
        g = difflab.get(method).gradient(loss_of_list)(params)
        np.testing.assert_allclose(g[0], 2 * W * B[0], rtol=1e-12)
        np.testing.assert_allclose(g[1][0], [np.sum(W ** 2)], rtol=1e-12)


def test_namespace_looks_through_nested_containers():
    torch = pytest.importorskip("torch")
    assert difflab.namespace({"a": [np.ones(2), {"t": torch.zeros(2)}]}).name == "torch"
    assert difflab.namespace({"a": [np.ones(2)]}) is difflab.namespace(np.ones(2))
    assert difflab.namespace([]) is difflab.namespace(np.ones(2))
    assert difflab.namespace(Pair(np.ones(2), torch.zeros(2))).name == "torch"
