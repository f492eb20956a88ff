"""``batched=True``: one derivative per point of X (points, n), vmapped where a framework can."""
import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der, rosen_hess

import difflab
from difflab.errors import NotFinite

X = np.random.default_rng(7).uniform(-1.5, 1.5, size=(6, 4))
VMAP = {"jax": "jax.vmap", "torch": "torch.func.vmap", "tensorflow": "tf.vectorized_map"}
TOL = {"fd-forward": 1e-4, "fd-central": 1e-6, "fd-five-point": 1e-8}


def rosenbrock(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rel(got, want):
    return np.max(np.abs(got - want)) / np.max(np.abs(want))


@pytest.mark.parametrize("name", difflab.methods())
def test_batched_gradient_is_scipys_at_every_point(name):
    d = difflab.get(name).gradient(rosenbrock, batched=True)
    if name == "manual":
        with pytest.raises(difflab.NotSupported):
            d(X)
        return
    G = d(X)
    assert G.shape == X.shape and G.dtype == np.float64
    assert rel(G, np.array([rosen_der(x) for x in X])) <= TOL.get(name, 1e-13)
    assert d.how.endswith(f"vectorised with {VMAP[name]}" if name in VMAP else "a loop over points")


@pytest.mark.parametrize("name", ["reverse", "sympy", "torch", "fd-central",
                                  pytest.param("jax", marks=pytest.mark.slow),
                                  pytest.param("tensorflow", marks=pytest.mark.slow)])
def test_batched_value_and_gradient_jacobian_hessian(name):
    d = difflab.get(name)
    values, G = d.value_and_gradient(rosenbrock, batched=True)(X)
    np.testing.assert_allclose(values, [rosen(x) for x in X], rtol=1e-13)
    assert rel(G, np.array([rosen_der(x) for x in X])) <= TOL.get(name, 1e-13)
    J = d.jacobian(rosenbrock, batched=True)(X)
    assert J.shape == (6, 1, 4) and rel(J[:, 0], G) <= TOL.get(name, 1e-13)
    H = d.hessian(rosenbrock, batched=True)(X)
    assert H.shape == (6, 4, 4)
    assert rel(H, np.array([rosen_hess(x) for x in X])) <= (1e-4 if name == "fd-central" else 1e-12)


@pytest.mark.parametrize("name", ["jax", "tensorflow"])
def test_compiled_batches_take_any_number_of_points(name):
    d = difflab.get(name, jit=True).gradient(rosenbrock, batched=True)
    for pts in (X, X[:2]):
        assert rel(d(pts), np.array([rosen_der(x) for x in pts])) <= 1e-13
    assert d.how.endswith(f"vectorised with {VMAP[name]}")


@pytest.mark.parametrize("name", ["jax", "torch", "tensorflow"])
def test_control_flow_falls_back_to_a_loop(name):
    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(x ** 2) if x[0] > 0 else xp.sum(x ** 3)

    d = difflab.get(name).gradient(f, batched=True)
    pts = np.array([[1.0, 2.0], [-1.0, 2.0]])
    np.testing.assert_allclose(d(pts), [[2.0, 4.0], [3.0, 12.0]], rtol=1e-14)
    assert d.how.endswith("a loop over points")


@pytest.mark.parametrize("name", ["jax", "torch", "tensorflow", "reverse"])
def test_batched_with_data_and_a_point_outside_the_domain(name):
    def f(x, w):
        xp = difflab.namespace(x)
        return xp.sum(xp.log(x) * xp.asarray(w))

    w = np.array([2.0, 3.0])  # as many rows as points: in_axes says it is shared, not mapped
    d = difflab.get(name).gradient(f, batched=True, in_axes=(0, None))
    np.testing.assert_allclose(d(np.array([[1.0, 2.0], [4.0, 0.5]]), w), [[2.0, 1.5], [0.5, 6.0]], rtol=1e-14)
    with pytest.raises(NotFinite):
        d(np.array([[1.0, 2.0], [-1.0, 0.5]]), w)


def test_batched_needs_points():
    d = difflab.get("reverse").gradient(rosenbrock, batched=True)
    with pytest.raises(difflab.InputError, match=r"\(points, n\)"):
        d(np.ones(3))
    with pytest.raises(difflab.InputError, match="empty"):
        d(np.ones((0, 3)))
    with pytest.raises(difflab.InputError, match="NaN"):
        d(np.array([[1.0, np.nan, 0.0]]))
