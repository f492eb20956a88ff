"""The oracle takes x in the shape the function expects: matrices, pytrees, extra arguments
and argnums, as the methods do; checked against closed forms and fd-complex."""
import numpy as np
import pytest

import difflab

X = np.array([[0.1, 0.3], [0.5, 0.7], [0.9, 1.1]])


def _ns(x):
    return difflab.namespace(x)


#: (name, f, closed-form gradient at X): every NumPy indexing form the namespaces allow.
def _scattered(index, X=X):
    g = np.zeros_like(X)
    np.add.at(g, index, 2 * X[index])
    return g


INDEXING = [
    ("reversed rows", lambda X: _ns(X).sum(X[::-1] * X), 2 * X[::-1]),
    ("transpose", lambda X: _ns(X).sum(_ns(X).sin(X.T) * X.T), np.sin(X) + X * np.cos(X)),
    ("list of rows", lambda X: _ns(X).sum(X[[0, 1]] ** 2), _scattered([0, 1])),
    ("integer array", lambda X: _ns(X).sum(X[np.array([2, 0, 2])] ** 2), _scattered(np.array([2, 0, 2]))),
    ("boolean mask", lambda X: _ns(X).sum(X[X > 0.4] ** 2), _scattered(X > 0.4)),
    ("negative step column", lambda X: _ns(X).sum(X[:, ::-1] ** 2), 2 * X),
    ("None and Ellipsis", lambda X: _ns(X).sum(X[None, ..., 1] ** 2), _scattered((slice(None), 1))),
    ("one entry", lambda X: X[2, 1] ** 2, _scattered((2, 1))),
    ("pairs of indices", lambda X: _ns(X).sum(X[[0, 2], [1, 0]] ** 2), _scattered(([0, 2], [1, 0]))),
]


@pytest.mark.parametrize("name, f, expected", INDEXING, ids=[c[0] for c in INDEXING])
def test_gradient_of_a_matrix_in_its_shape(name, f, expected):
    g = difflab.reference(f, X)
    assert g.shape == X.shape
    np.testing.assert_allclose(g, expected, rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(g, difflab.get("fd-complex").gradient(f)(X), rtol=1e-13, atol=1e-15)


def test_jacobian_and_hessian_of_a_matrix_have_the_methods_shapes():
    f = lambda X: _ns(X).sum(X * X, axis=1) * X[:, 0]  # noqa: E731 - R^(3x2) -> R^3
    J = difflab.reference(f, X, "jacobian")
    assert J.shape == (3, 3, 2)
    expected = np.zeros((3, 3, 2))
    for i in range(3):
        expected[i, i] = 2 * X[i] * X[i, 0]
        expected[i, i, 0] += np.sum(X[i] ** 2)
    np.testing.assert_allclose(J, expected, rtol=1e-15)
    np.testing.assert_allclose(J, difflab.get("forward").jacobian(f)(X), rtol=1e-14)
    h = lambda X: _ns(X).sum(X ** 3)  # noqa: E731
    H = difflab.reference(h, X, "hessian")
    assert H.shape == (3, 2, 3, 2)
    np.testing.assert_allclose(H.reshape(6, 6), np.diag(6 * X.reshape(-1)), rtol=1e-15)
    v = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(difflab.reference(h, X, "hvp", vector=v), 6 * X * v, rtol=1e-15)


def test_a_pytree_with_data_and_argnums():
    params = {"w": np.array([1.0, -2.0]), "b": 0.5}
    data = np.array([3.0, 4.0])

    def loss(p, d, scale=1.0):
        xp = _ns(p["w"])
        return scale * (xp.sum(p["w"] * d) + p["b"]) ** 2

    g = difflab.reference(loss, params, args=(data,), kwargs={"scale": 2.0})
    r = np.sum(params["w"] * data) + params["b"]
    np.testing.assert_allclose(g["w"], 4 * r * data, rtol=1e-15)
    assert g["b"] == pytest.approx(4 * r, rel=1e-15)
    gw, gd = difflab.reference(loss, params, args=(data,), argnums=(0, 1))
    np.testing.assert_allclose(gd, 2 * r * params["w"], rtol=1e-15)
    method = difflab.get("reverse").gradient(loss, argnums=(0, 1))(params, data)
    np.testing.assert_allclose(gd, method[1], rtol=1e-14)


def test_compare_takes_a_matrix_point():
    f = INDEXING[0][1]
    c = difflab.compare(f, X, methods=["forward", "reverse", "fd-central"], repeat=1, min_time=0.0)
    np.testing.assert_allclose(c.reference, 2 * X[::-1], rtol=1e-15)
    digits = {r.method: r.digits for r in c.results}
    assert digits["forward"] > 15 and digits["reverse"] > 15 and digits["fd-central"] > 8


def test_compare_refuses_a_pytree_point_with_the_ravel_recipe():
    with pytest.raises(difflab.InputError, match="difflab.ravel"):
        difflab.compare(lambda p: p["a"][0], {"a": np.ones(2)}, methods=["forward"])


def test_the_oracle_from_several_threads_at_different_precisions():
    """Each thread has its own mpmath context: mpmath's global precision, set and restored
    by concurrent calls, would leave some at another thread's precision."""
    from concurrent.futures import ThreadPoolExecutor

    def f(x):
        xp = _ns(x)
        return xp.sum(xp.exp(xp.sin(x) * x[::-1])) / 3.0

    x = np.linspace(-1.0, 1.0, 7)
    alone = {d: (difflab.reference(f, x, digits=d), difflab.reference(f, x, "hessian", digits=d))
             for d in (16, 50)}
    jobs = [(16 if i % 2 else 50) for i in range(32)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda d: (d, difflab.reference(f, x, digits=d),
                                           difflab.reference(f, x, "hessian", digits=d)), jobs))
    for d, g, H in results:
        np.testing.assert_array_equal(g, alone[d][0])
        np.testing.assert_array_equal(H, alone[d][1])
