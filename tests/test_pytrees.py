"""Several arguments, keywords, pytrees and shaped arrays, for every method (docs/api.md).

References are closed forms and SciPy's ``rosen_der``, never the code under test.
"""
import numpy as np
import pytest
from scipy.optimize import rosen_der

import difflab
from difflab.errors import InputError, NotFinite, NotSupported

METHODS = difflab.methods()
TOL = {"fd-forward": 1e-5, "fd-central": 1e-7, "fd-five-point": 1e-8}


def tol(name):
    return TOL.get(name, 1e-10)


def close(got, want, name, scale=1.0):
    np.testing.assert_allclose(got, want, rtol=tol(name), atol=tol(name) * scale)


def loss(p, data, scale=1.0):
    """scale * |W data - 1|^2 + b^2, of a dict {"W": (2, 2), "b": number}."""
    xp = difflab.namespace(p["W"])
    r = p["W"] @ xp.asarray(data) - 1.0
    return scale * xp.sum(r * r) + p["b"] ** 2


W = np.array([[1.0, 2.0], [3.0, 4.0]])
DATA = np.array([0.5, -1.0])


def loss_gradient(W, b, data, scale):
    return {"W": 2 * scale * np.outer(W @ data - 1.0, data), "b": 2 * b}


def run(name, make):
    """``make(d)`` for the method, or None where ``manual`` rightly has no hand-written form."""
    d = difflab.get(name)
    if name == "manual":
        with pytest.raises(NotSupported):
            make(d)
        return None
    return make(d)


@pytest.mark.parametrize("name", METHODS)
def test_dict_of_parameters_with_data_and_keyword(name):
    got = run(name, lambda d: d.gradient(loss)({"W": W, "b": 0.5}, DATA, scale=2.0))
    if got is None:
        return
    want = loss_gradient(W, 0.5, DATA, 2.0)
    assert set(got) == {"W", "b"} and got["W"].shape == (2, 2) and isinstance(got["b"], float)
    close(got["W"], want["W"], name, 10)
    close(got["b"], want["b"], name)


@pytest.mark.parametrize("name", [m for m in METHODS if m != "manual"])
def test_data_is_read_at_every_call_never_frozen(name):
    """Methods that prepare (sympy, jit) must not keep the first call's data."""
    kwargs = {"jit": True} if name in ("jax", "tensorflow") else {}
    d = difflab.get(name, **kwargs).gradient(loss)
    data = DATA.copy()
    close(d({"W": W, "b": 0.5}, data)["W"], loss_gradient(W, 0.5, data, 1.0)["W"], name, 10)
    data[0] = 3.0  # changed in place
    close(d({"W": W, "b": 0.5}, data)["W"], loss_gradient(W, 0.5, data, 1.0)["W"], name, 10)
    other = np.array([-2.0, 0.25])  # another array
    close(d({"W": W, "b": 0.5}, other, scale=3.0)["W"], loss_gradient(W, 0.5, other, 3.0)["W"], name, 30)


@pytest.mark.parametrize("name", METHODS)
def test_matrix_input_keeps_its_shape(name):
    X = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.5]])

    def f(X):
        xp = difflab.namespace(X)
        return xp.sum(xp.sin(X) * X[:, :1])

    got = run(name, lambda d: d.gradient(f)(X))
    if got is None:
        return
    want = np.cos(X) * X[:, :1]
    want[:, 0] += np.sum(np.sin(X), axis=1)
    assert got.shape == (2, 3)
    close(got, want, name, 10)


@pytest.mark.parametrize("name", METHODS)
def test_several_arguments_by_argnums(name):
    a, b = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.7, -1.1])

    def f(a, b):
        xp = difflab.namespace(a, b)
        return xp.sum(xp.asarray(a) ** 2 * xp.asarray(b))

    both = run(name, lambda d: d.gradient(f, argnums=(0, 1))(a, b))
    if both is None:
        return
    assert isinstance(both, tuple) and len(both) == 2
    close(both[0], 2 * a * b, name, 10)
    close(both[1], a ** 2, name, 10)
    close(difflab.get(name).gradient(f, argnums=1)(a, b), a ** 2, name, 10)


@pytest.mark.parametrize("name", METHODS)
def test_lists_and_tuples_give_the_same_structure(name):
    x = np.array([0.2, -0.4])

    def f(p):
        xp = difflab.namespace(p[0])
        return xp.sum(p[0] ** 2) * p[1]["c"] + p[1]["d"][0] ** 3 + xp.sum(p[1]["d"][1])

    tree = [x, {"c": 1.5, "d": (2.0, np.array([0.5]))}]  # a tuple of numbers alone is a vector
    got = run(name, lambda d: d.gradient(f)(tree))
    if got is None:
        return
    assert isinstance(got, list) and isinstance(got[1]["d"], tuple)
    close(got[0], 2 * x * 1.5, name)
    close(got[1]["c"], np.sum(x ** 2), name)
    close(got[1]["d"][0], 12.0, name, 10)
    close(got[1]["d"][1], [1.0], name)


@pytest.mark.parametrize("name", METHODS)
def test_jacobian_jvp_vjp_of_a_matrix_input(name):
    X = np.array([[1.0, 2.0, -1.0], [0.5, -0.3, 2.0]])
    v = np.array([0.2, -0.1, 0.4])

    def f(X):  # R^(2x3) -> R^2: X @ v
        xp = difflab.namespace(X)
        return X @ xp.asarray(v)

    J = run(name, lambda d: d.jacobian(f)(X))
    if J is None:
        return
    want = np.zeros((2, 2, 3))
    want[0, 0], want[1, 1] = v, v
    assert J.shape == (2, 2, 3)
    close(J, want, name)
    d = difflab.get(name)
    V = np.arange(6.0).reshape(2, 3)
    close(d.jvp(f)(X, V), V @ v, name, 10)
    u = np.array([1.5, -2.0])
    close(d.vjp(f)(X, u), np.outer(u, v), name, 10)


@pytest.mark.parametrize("name", METHODS)
def test_hessian_of_a_matrix_input_and_of_a_raveled_tree(name):
    X = np.array([[0.3, -0.2], [0.1, 0.4]])

    def cube(X):
        xp = difflab.namespace(X)
        return xp.sum(X ** 3)

    H = run(name, lambda d: d.hessian(cube)(X))
    if H is None:
        return
    assert H.shape == (2, 2, 2, 2)
    close(H.reshape(4, 4), np.diag(6 * X.ravel()), name, 1e3)
    params = {"a": X, "b": 0.5}

    def g(p):
        return cube(p["a"]) + p["b"] ** 4

    d = difflab.get(name)
    with pytest.raises(InputError, match="difflab.ravel"):
        d.hessian(g)(params)
    flat, unravel = difflab.ravel(params)
    close(d.hessian(lambda v: g(unravel(v)))(flat),
          np.diag(np.append(6 * X.ravel(), 12 * 0.5 ** 2)), name, 1e3)


@pytest.mark.parametrize("name", [m for m in METHODS if m != "manual"])
def test_float32_trees_come_back_as_float32(name):
    got = difflab.get(name, dtype="float32").gradient(loss)({"W": W, "b": 0.5}, DATA)
    want = loss_gradient(W, 0.5, DATA, 1.0)
    assert got["W"].dtype == np.float32 and type(got["b"]) is np.float32  # the dtype rule
    np.testing.assert_allclose(got["W"], want["W"], rtol=2e-2 if name == "fd-forward" else 1e-4, atol=1e-3)


def test_same_size_different_structures_are_prepared_apart():
    """Prepared derivatives are keyed by the tree structure, not just the flat size."""
    def f(p):
        xp = difflab.namespace(p["a"])
        return xp.sum(p["a"] ** 2) + 3.0 * xp.sum(p["b"])

    d = difflab.get("sympy").gradient(f)
    one = d({"a": np.ones(2), "b": np.ones(3)})
    two = d({"a": np.ones(3), "b": np.ones(2)})
    np.testing.assert_allclose(one["a"], [2, 2]) and np.testing.assert_allclose(two["a"], [2, 2, 2])
    np.testing.assert_allclose(two["b"], [3, 3])


@pytest.mark.parametrize("name", ["reverse", "jax", "sympy", "fd-central"])
def test_the_boundary_holds_for_trees(name):
    d = difflab.get(name)
    with pytest.raises(InputError, match="empty"):
        d.gradient(lambda p, k: difflab.namespace(p["a"]).sum(p["a"]) * k)({"a": np.zeros((0, 2))}, 1.0)
    with pytest.raises(NotFinite):
        d.gradient(lambda p, k: difflab.namespace(p["a"]).sum(difflab.namespace(p["a"]).log(p["a"])) * k)(
            {"a": np.array([-1.0, 2.0])}, 1.0)
    with pytest.raises(InputError, match="scalar"):
        d.gradient(lambda p, k: p["a"] * k)({"a": np.array([1.0, 2.0])}, 2.0)
    with pytest.raises(InputError, match="argnums"):
        d.gradient(loss, argnums=2)({"W": W, "b": 0.5}, DATA)


def test_rosenbrock_of_a_matrix_is_scipys():
    X = np.random.default_rng(3).uniform(-1, 1, size=(3, 4))

    def rosen(X):
        x = difflab.namespace(X).reshape(X, (-1,))
        xp = difflab.namespace(x)
        return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    np.testing.assert_allclose(difflab.get("reverse").gradient(rosen)(X), rosen_der(X.ravel()).reshape(3, 4),
                               rtol=1e-12)
    got = difflab.get("reverse").gradient(rosen)([1.0, 2.0])  # a list of numbers: still a vector
    assert isinstance(got, np.ndarray) and got.shape == (2,)


def test_nested_own_engines_through_a_tree():
    """forward over reverse, the inner one on a dict: the Hessian of sum(x^3) is diag(6x)."""
    inner = difflab.get("reverse").gradient(lambda p: difflab.namespace(p["a"]).sum(p["a"] ** 3))
    H = difflab.get("forward").jacobian(lambda x: inner({"a": x})["a"])(np.array([1.0, -2.0]))
    np.testing.assert_allclose(H, np.diag([6.0, -12.0]), rtol=1e-12)


def test_traced_data_is_refused_not_taken_as_constant():
    inner = difflab.get("reverse").gradient(lambda p, k: difflab.namespace(p).sum(p ** 2 * k))
    with pytest.raises(InputError, match="not differentiated"):
        difflab.get("forward").gradient(lambda k: difflab.namespace(k).sum(inner(np.ones(2), k)))(np.ones(2))


@pytest.mark.parametrize("name, options", [("sympy", {}), ("jax", {"jit": True}), ("tensorflow", {"jit": True})])
def test_closed_over_data_is_followed_through_a_tree(name, options):
    """The function a tree call prepares still lets snapshot.py see what f closes over."""
    c = np.array([1.0, 2.0])

    def f(p):
        xp = difflab.namespace(p["a"])
        return xp.sum(p["a"] * xp.asarray(c))

    d = difflab.get(name, **options).gradient(f)
    np.testing.assert_allclose(d({"a": np.ones(2)})["a"], [1.0, 2.0])
    c[1] = 5.0
    np.testing.assert_allclose(d({"a": np.ones(2)})["a"], [1.0, 5.0])


def test_a_tree_holding_another_frameworks_tracer_is_refused():
    import jax

    inner = difflab.get("reverse").gradient(lambda p: difflab.namespace(p["a"]).sum(p["a"] ** 2))
    with pytest.raises(InputError, match="jax"):
        jax.grad(lambda w: inner({"a": w})["a"].sum())(np.ones(2))
    with pytest.raises(InputError, match="NaN"):
        inner({"a": np.array([np.nan, 1.0])})
