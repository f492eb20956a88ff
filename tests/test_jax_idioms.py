"""JAX's everyday idioms on every method (docs/api.md): ``has_aux``, the value with jvp/vjp,
pullbacks, ``in_axes``, namedtuples, ``None`` leaves, 0-d inputs, trees of outputs.

Implemented once in the interface, so each test runs over the registry; every reference is
a closed form written here, never the code under test. ``manual`` is left out: it has no
hand-written derivative of these functions (NotSupported, tested in test_pytrees.py).
"""
import collections

import numpy as np
import pytest

import difflab
from difflab.errors import InputError

METHODS = [m for m in difflab.methods() if m != "manual" and difflab.method_class(m).available()]
#: Preparing seven kinds costs these 10-70 s on a loaded machine: every kind is slow-marked for
#: them, and the default run keeps a gradient and a value_and_gradient with aux for each.
HEAVY = {"tensorflow", "torch", "jax", "autograd"}
ALL_KINDS = [pytest.param(m, marks=pytest.mark.slow) if m in HEAVY else m for m in METHODS]
TOL = {"fd-forward": 1e-5, "fd-central": 1e-7, "fd-five-point": 1e-8, "fd-richardson": 1e-8,
       "fd-numdifftools": 1e-8, "fd-scipy": 1e-8}

X = np.array([0.5, -1.5, 2.0])
P = collections.namedtuple("P", "w b")


def close(got, want, name, scale=10.0):
    tol = TOL.get(name, 1e-12)
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=tol, atol=tol * scale)


def cubic_with_aux(x):
    """(sum x^3, aux): aux holds an array, a string and a None."""
    xp = difflab.namespace(x)
    return xp.sum(x ** 3), {"square": x ** 2, "tag": "cubic", "none": None}


def check_aux(aux, x=X):
    assert set(aux) == {"square", "tag", "none"} and aux["tag"] == "cubic" and aux["none"] is None
    assert type(aux["square"]) is np.ndarray  # NumPy, never a traced value
    np.testing.assert_array_equal(aux["square"], x ** 2)


@pytest.mark.parametrize("name", METHODS)
def test_has_aux_gradient(name):
    d = difflab.get(name)
    grad, aux = d.gradient(cubic_with_aux, has_aux=True)(X)
    close(grad, 3 * X ** 2, name)
    check_aux(aux)
    (value, aux), grad = d.value_and_gradient(cubic_with_aux, has_aux=True)(X)
    close(value, np.sum(X ** 3), name)
    close(grad, 3 * X ** 2, name)
    check_aux(aux)


@pytest.mark.parametrize("name", ALL_KINDS)
def test_has_aux_on_every_kind(name):
    d = difflab.get(name)
    grad, aux = d.gradient(cubic_with_aux, has_aux=True)(X)
    close(grad, 3 * X ** 2, name)
    check_aux(aux)
    (value, aux), grad = d.value_and_gradient(cubic_with_aux, has_aux=True)(X)
    close(value, np.sum(X ** 3), name)
    close(grad, 3 * X ** 2, name)
    check_aux(aux)
    H, aux = d.hessian(cubic_with_aux, has_aux=True)(X)
    close(H, np.diag(6 * X), name, 100)
    check_aux(aux)
    v = np.array([1.0, 2.0, -1.0])
    Hv, aux = d.hvp(cubic_with_aux, has_aux=True)(X, v)
    close(Hv, 6 * X * v, name, 100)
    check_aux(aux)

    def square_with_aux(x):
        return x ** 2, x[0]

    J, aux = d.jacobian(square_with_aux, has_aux=True)(X)
    close(J, np.diag(2 * X), name)
    assert aux == X[0]
    Jv, aux = d.jvp(square_with_aux, has_aux=True)(X, v)
    close(Jv, 2 * X * v, name)
    uJ, aux = d.vjp(square_with_aux, has_aux=True)(X, v)
    close(uJ, 2 * X * v, name)
    assert aux == X[0]


@pytest.mark.parametrize("name", ["reverse", "fd-central"])
def test_has_aux_refuses_a_function_without_a_pair(name):
    d = difflab.get(name)
    with pytest.raises(InputError, match=r"pair \(output, aux\)"):
        d.gradient(lambda x: difflab.namespace(x).sum(x), has_aux=True)(X)
    with pytest.raises(InputError, match=r"pair \(output, aux\)"):
        d.gradient(lambda x: (difflab.namespace(x).sum(x), 1, 2), has_aux=True)(X)


def two_outputs(x):
    """[x0 x1, sin x2]; J = [[x1, x0, 0], [0, 0, cos x2]]."""
    xp = difflab.namespace(x)
    return xp.stack([x[0] * x[1], xp.sin(x[2])])


def jac_two_outputs(x):
    return np.array([[x[1], x[0], 0.0], [0.0, 0.0, np.cos(x[2])]])


@pytest.mark.parametrize("name", METHODS)
def test_jvp_and_vjp_with_value(name):
    d = difflab.get(name)
    v, u = np.array([1.0, -2.0, 0.5]), np.array([2.0, -1.0])
    y, Jv = d.jvp(two_outputs, with_value=True)(X, v)
    want_y = np.array([X[0] * X[1], np.sin(X[2])])
    assert type(y) is np.ndarray and y.shape == (2,)
    close(y, want_y, name)
    close(Jv, jac_two_outputs(X) @ v, name)
    y, uJ = d.vjp(two_outputs, with_value=True)(X, u)
    close(y, want_y, name)
    close(uJ, u @ jac_two_outputs(X), name)
    # the tangent comes in the shape of y, as jax.jvp's does
    y, Jv = d.jvp(lambda x: difflab.namespace(x).reshape(x[:2] * x[1:], (2, 1)), with_value=True)(X, v)
    assert y.shape == (2, 1) and Jv.shape == (2, 1)
    close(Jv[:, 0], v[:2] * X[1:] + X[:2] * v[1:], name)
    # with has_aux: (y, tangent, aux), as jax.jvp(..., has_aux=True)
    y, Jv, aux = d.jvp(lambda x: (two_outputs(x), "aux"), with_value=True, has_aux=True)(X, v)
    close(Jv, jac_two_outputs(X) @ v, name)
    assert aux == "aux"


@pytest.mark.parametrize("name", METHODS)
def test_pullback_is_reusable(name):
    d = difflab.get(name)
    x = X.copy()
    y, pullback = d.pullback(two_outputs)(x)
    close(y, [X[0] * X[1], np.sin(X[2])], name)
    x[:] = 7.0  # the pullback keeps the point it was made at
    J = jac_two_outputs(X)
    for u in (np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([2.0, -3.0])):
        close(pullback(u), u @ J, name)


def test_pullback_with_aux_and_a_dict_of_parameters():
    d = difflab.get("reverse")

    def f(p):
        xp = difflab.namespace(p["w"])
        return xp.stack([xp.sum(p["w"] ** 2), p["b"] * p["w"][0]]), "aux"

    p = {"w": np.array([1.0, 2.0]), "b": 3.0}
    y, pullback, aux = d.pullback(f, has_aux=True)(p)
    np.testing.assert_allclose(y, [5.0, 3.0])
    g = pullback(np.array([1.0, 1.0]))  # d/dw: 2w + (b, 0); d/db: w0
    np.testing.assert_allclose(g["w"], [5.0, 4.0])
    assert g["b"] == 1.0 and aux == "aux"


def squared_error(w, x, y):
    """(x . w - y)^2 of one example; summed over rows when x is a matrix."""
    xp = difflab.namespace(w)
    r = xp.asarray(x) @ w - xp.asarray(y)
    return xp.sum(r * r)


DATA_X = np.array([[1.0, 2.0], [-1.0, 0.5], [3.0, -2.0]])
DATA_Y = np.array([1.0, -2.0, 0.5])
W0 = np.array([0.5, -1.0])


@pytest.mark.parametrize("name", METHODS)
def test_in_axes_maps_per_example_data(name):
    d = difflab.get(name)
    # per-example gradients: the parameters broadcast, the data mapped row by row
    G = d.gradient(squared_error, batched=True, in_axes=(None, 0, 0))(W0, DATA_X, DATA_Y)
    want = np.array([2 * (x @ W0 - y) * x for x, y in zip(DATA_X, DATA_Y)])
    assert G.shape == (3, 2)
    close(G, want, name)
    # the points mapped with the data: row i of W with row i of X and Y
    Ws = np.array([[0.5, -1.0], [1.0, 1.0], [-2.0, 0.25]])
    G = d.gradient(squared_error, batched=True, in_axes=(0, 0, 0))(Ws, DATA_X, DATA_Y)
    close(G, [2 * (x @ w - y) * x for w, x, y in zip(Ws, DATA_X, DATA_Y)], name)
    assert d.gradient(squared_error, batched=True, in_axes=(0, 0, 0)).how.endswith(
        "a loop over points (in_axes maps more than the points)")
    # broadcast: every point sees all the data
    G = d.gradient(squared_error, batched=True, in_axes=(0, None, None))(Ws, DATA_X, DATA_Y)
    close(G, [2 * DATA_X.T @ (DATA_X @ w - DATA_Y) for w in Ws], name, 100)
    # ambiguous: as many data rows as points, no in_axes
    with pytest.raises(InputError, match="in_axes"):
        d.gradient(squared_error, batched=True)(Ws, DATA_X, DATA_Y)


def test_in_axes_with_aux_value_and_a_tree_of_points():
    d = difflab.get("reverse")

    def f(p, y):
        xp = difflab.namespace(p["a"])
        return xp.sum(p["a"] ** 2) * xp.asarray(y), {"y": y}

    ps = {"a": np.array([[1.0, 2.0], [3.0, 4.0]])}
    ys = np.array([2.0, -1.0])
    (values, aux), grads = d.value_and_gradient(f, batched=True, in_axes=(0, 0), has_aux=True)(ps, ys)
    np.testing.assert_allclose(values, [10.0, -25.0])
    np.testing.assert_allclose(grads["a"], [[4.0, 8.0], [-6.0, -8.0]])
    np.testing.assert_array_equal(aux["y"], ys)
    # the fast path (only the points mapped) stacks aux per point too
    g, aux = d.gradient(lambda x: (difflab.namespace(x).sum(x ** 2), x[0]), batched=True,
                        has_aux=True)(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_allclose(g, [[2.0, 4.0], [6.0, 8.0]])
    np.testing.assert_array_equal(aux, [1.0, 3.0])


def test_in_axes_errors():
    d = difflab.get("reverse")
    with pytest.raises(InputError, match="batched=True"):
        d.gradient(squared_error, in_axes=(0, 0, 0))
    with pytest.raises(InputError, match="entries"):
        d.gradient(squared_error, batched=True, in_axes=(0, 0))(W0, DATA_X, DATA_Y)
    with pytest.raises(InputError, match="disagree"):
        d.gradient(squared_error, batched=True, in_axes=(None, 0, 0))(W0, DATA_X, DATA_Y[:2])
    with pytest.raises(InputError, match="no axis"):
        d.gradient(squared_error, batched=True, in_axes=(None, 2, None))(W0, DATA_X, DATA_Y)
    with pytest.raises(InputError, match="maps no argument"):
        d.gradient(squared_error, batched=True, in_axes=(None, None, None))
    with pytest.raises(InputError, match="in_axes must be"):
        d.gradient(squared_error, batched=True, in_axes="rows")


@pytest.mark.parametrize("name", METHODS)
def test_namedtuples_and_none_leaves(name):
    d = difflab.get(name)

    def f(p):
        xp = difflab.namespace(p.w)
        return xp.sum(p.w ** 2) * p.b

    g = d.gradient(f)(P(np.array([1.0, -2.0]), 3.0))
    assert type(g) is P
    close(g.w, [6.0, -12.0], name)
    close(g.b, 5.0, name)

    def h(p):
        return difflab.namespace(p["w"]).sum(p["w"] ** 3)

    g = d.gradient(h)({"w": np.array([1.0, 2.0]), "frozen": None, "more": [None]})
    assert g["frozen"] is None and g["more"] == [None]
    close(g["w"], [3.0, 12.0], name)
    with pytest.raises(InputError, match="empty"):
        d.gradient(h)({"w": None})


@pytest.mark.parametrize("name", METHODS)
def test_zero_d_input_gives_zero_d_derivatives(name):
    d = difflab.get(name)
    x = np.array(2.0)
    g = d.gradient(lambda t: t ** 3)(x)
    assert isinstance(g, np.ndarray) and g.shape == ()
    close(g, 12.0, name)
    H = d.hessian(lambda t: t ** 3)(x)
    assert H.shape == ()
    close(H, 12.0, name, 1000)
    g = d.gradient(lambda t: t ** 3)(2.0)  # a number: a number back, as a number leaf
    assert isinstance(g, float)
    close(g, 12.0, name)


def dict_outputs(x):
    """{"square": x^2, "total": sum x, "pair": ([x0 x1], [x2])} (a tuple of plain numbers
    would be one vector, as for inputs: the pair holds arrays)."""
    xp = difflab.namespace(x)
    return {"square": x ** 2, "total": xp.sum(x), "pair": (x[:1] * x[1:2], x[2:])}


@pytest.mark.parametrize("name", METHODS)
def test_jacobian_of_dict_outputs(name):
    d = difflab.get(name)
    J = d.jacobian(dict_outputs)(X)
    assert set(J) == {"square", "total", "pair"} and type(J["pair"]) is tuple
    close(J["square"], np.diag(2 * X), name)
    close(J["total"], [[1.0, 1.0, 1.0]], name)
    close(J["pair"][0], [[X[1], X[0], 0.0]], name)
    close(J["pair"][1], [[0.0, 0.0, 1.0]], name)
    v = np.array([1.0, 2.0, 3.0])
    y, Jv = d.jvp(dict_outputs, with_value=True)(X, v)
    close(y["square"], X ** 2, name)
    close(Jv["square"], 2 * X * v, name)
    close(Jv["total"], 6.0, name)
    close(Jv["pair"][0], X[1] * v[0] + X[0] * v[1], name)
    u = {"square": np.array([1.0, 0.0, -1.0]), "total": 2.0, "pair": (np.array([1.0]), np.array([0.5]))}
    close(d.vjp(dict_outputs)(X, u), [2 * X[0] + 2 + X[1], 2 + X[0], -2 * X[2] + 2 + 0.5], name)


def test_jacobian_of_dict_outputs_with_trees_and_batches():
    d = difflab.get("reverse")
    J = d.jacobian(lambda p: {"y": p["a"] * 2.0})({"a": np.array([1.0, 2.0])})
    np.testing.assert_allclose(J["y"]["a"], 2 * np.eye(2))
    Js = d.jacobian(dict_outputs, batched=True)(np.array([X, 2 * X]))
    assert Js["square"].shape == (2, 3, 3) and Js["total"].shape == (2, 1, 3)
    np.testing.assert_allclose(Js["square"][1], np.diag(4 * X))


@pytest.mark.skipif("jax" not in METHODS, reason="jax is not installed")
def test_in_axes_of_the_points_alone_keeps_the_vmap():
    Ws = np.array([[0.5, -1.0], [1.0, 1.0], [-2.0, 0.25]])
    d = difflab.get("jax").gradient(squared_error, batched=True, in_axes=(0, None, None))
    close(d(Ws, DATA_X, DATA_Y), [2 * DATA_X.T @ (DATA_X @ w - DATA_Y) for w in Ws], "jax", 100)
    assert d.how.endswith("vectorised with jax.vmap")
