"""NumPy's array methods on the values every method traces: ``x.sum()``, ``x.T``, ``x.mean(axis=0)``.

Each registered method (those whose library is installed) differentiates functions written
with array methods; the gradients are checked against closed forms. The methods were raw
AttributeErrors on reverse, forward and tensorflow, and differently spelt on torch
(``x.size`` a method, ``x.max(axis=0)`` a pair).
"""
import numpy as np
import pytest

import difflab

X = np.array([[0.5, -1.0], [2.0, 0.25], [1.5, 0.75]])   # (3, 2), distinct entries
METHODS = [m for m in difflab.methods() if m != "manual"]


def _method(name, **options):
    d = difflab.get(name, **options)
    if not d.available():
        pytest.skip(f"{name}: {d.availability()[1]}")
    return d


def _tol(d):
    return 1e-10 if d.exact else 1e-5


def structure(x):
    """sum(x^T x) + sum(mean(x, 0)^2) + flat(x).flat(x) * size + reshape(2, 3)[1] . row weights
    + transpose(1, 0)[0] . w + prod of the first column (no branch: sympy takes it too)."""
    w = np.array([1.0, -2.0, 3.0])
    out = (x.T @ x).sum() + (x.mean(axis=0) ** 2).sum()
    out = out + x.flatten().dot(x.ravel()) * x.size / (x.ndim * x.shape[0])
    out = out + x.reshape(2, 3)[1].dot(w) + x.reshape((-1,))[0] * len(x)
    out = out + x.transpose(1, 0)[0].dot(w) + x.transpose()[1].sum(keepdims=True).sum()
    return out + x[:, 0].prod()


def structure_gradient(x):
    n, m = x.shape
    g = 2 * x @ np.ones((m, m))                         # sum(x^T x) = sum over columns pairs
    g = g + 2 * x.mean(axis=0) / n                      # sum(mean(x, 0)^2)
    g = g + 2 * x * (x.size / (x.ndim * n))
    g.reshape(-1)[3:6] += [1.0, -2.0, 3.0]              # reshape(2, 3)[1] . w
    g.reshape(-1)[0] += n
    g[:, 0] += [1.0, -2.0, 3.0]                         # transpose(1, 0)[0] . w
    g[:, 1] += 1.0
    g[:, 0] += np.prod(x[:, 0]) / x[:, 0]
    return g


@pytest.mark.parametrize("method", METHODS)
def test_array_methods_on_every_method(method):
    d = _method(method)
    np.testing.assert_allclose(d.gradient(structure)(X), structure_gradient(X), rtol=_tol(d), atol=_tol(d))


@pytest.mark.parametrize("method", [m for m in METHODS if m != "sympy"])
def test_max_min_and_clip_methods(method):
    """``x.max(axis=0)`` is the maxima (torch's own is a pair); sympy refuses these branches
    as it refuses xp.max."""
    d = _method(method)

    def f(x):
        return x.max(axis=0).sum() + x.min() + x.max(axis=1, keepdims=True).sum() + x.clip(-0.5, 1.0).sum()
    expected = ((X > -0.5) & (X < 1.0)).astype(float)
    expected[np.argmax(X, axis=0), [0, 1]] += 1.0
    expected[np.unravel_index(np.argmin(X), X.shape)] += 1.0
    expected[[0, 1, 2], np.argmax(X, axis=1)] += 1.0
    np.testing.assert_allclose(d.gradient(f)(X), expected, rtol=_tol(d), atol=_tol(d))


def test_sympy_max_is_symbolic_with_the_tie_convention():
    """``x.max()`` is SymPy's Max, not a comparison on symbols, and its gradient follows the
    oracle's convention: the maximum's entry, ties sharing it evenly."""
    d = _method("sympy")
    np.testing.assert_array_equal(d.gradient(lambda y: y.max())(X), [[0, 0], [1, 0], [0, 0]])
    np.testing.assert_array_equal(d.gradient(lambda y: y.max())(np.array([2.0, 2.0, 1.0])),
                                  [0.5, 0.5, 0.0])


@pytest.mark.parametrize("method", METHODS)
def test_astype_own_dtype_and_other_casts(method):
    """``astype`` to the value's own dtype is x everywhere; difflab's own engines refuse other
    casts (they compute at the method's precision) instead of ignoring them."""
    d = _method(method)
    if method in ("sympy", "casadi"):  # symbols have no float dtype
        with pytest.raises(difflab.NotSupported, match="astype"):
            d.gradient(lambda x: x.astype(np.float64).sum())(X)
        return
    if method == "fd-complex":  # NumPy drops the complex step, and says so (docs/api.md)
        with pytest.warns(np.exceptions.ComplexWarning):
            d.gradient(lambda x: x.astype(np.float64).sum())(X)
        return
    g = d.gradient(lambda x: (x.astype(np.float64) ** 2).sum())(X)
    np.testing.assert_allclose(g, 2 * X, rtol=_tol(d), atol=_tol(d))
    if method in ("forward", "reverse"):
        with pytest.raises(difflab.NotSupported, match="astype"):
            d.gradient(lambda x: x.astype(np.float32).sum())(X)


@pytest.mark.parametrize("method", [m for m in METHODS if "jit" in difflab.method_class(m).options])
def test_array_methods_compiled(method):
    d = _method(method, jit=True)
    np.testing.assert_allclose(d.gradient(structure)(X), structure_gradient(X), rtol=1e-10, atol=1e-10)


def _branchy(x):
    xp = difflab.namespace(x)
    s, i = x[0] * 0.0, 0
    while x[i] < 0.5 and i < 2:
        s = s + x[i] ** 2
        i += 1
    if x.sum() > 1.0:
        return xp.sum(x ** 2) + s
    return xp.sum(x ** 3) + s


@pytest.mark.parametrize("method", ["tensorflow", "torch", "jax", "autograd"])
@pytest.mark.parametrize("jit", [False, True])
def test_control_flow_on_views(method, jit):
    """The views keep the frameworks' control flow: eager Python branches, and AutoGraph's
    graph branches under TensorFlow's jit=True (a view is tensor-like to TensorFlow)."""
    if jit and "jit" not in difflab.method_class(method).options:
        pytest.skip("no jit option")
    d = _method(method, **({"jit": True} if jit else {}))
    for x in (np.array([0.3, -1.0, 2.0]), np.array([0.7, 0.2, -2.0])):
        head = x[:np.argmax(~((x < 0.5) & (np.arange(3) < 2)))]
        expected = (2 * x if x.sum() > 1.0 else 3 * x ** 2)
        expected[:head.size] += 2 * head
        if method == "jax" and jit:  # jax.jit traces without values: refused by name
            with pytest.raises(difflab.NotSupported):
                d.gradient(_branchy)(x)
            continue
        np.testing.assert_allclose(d.gradient(_branchy)(x), expected, rtol=1e-12)
