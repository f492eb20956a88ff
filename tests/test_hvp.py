"""Hessian-vector products, ``d.hvp(f)(x, v)``, on every method.

References are independent of the code under test: SciPy's ``rosen_hess_prod`` and the
50-digit oracle's Hessian times v. Exact methods agree to rounding; finite differences
(a central difference of their own gradient along v) to their accuracy.
"""
import numpy as np
import pytest
from scipy.optimize import rosen_hess_prod

import difflab
from difflab.analysis import functions
from difflab.interface.registry import method_class, methods

METHODS = [m for m in methods() if method_class(m).available()]
#: relative tolerance of the hvp, float64 and float32, for the finite differences (their
#: gradient's noise, differenced once more); exact methods: rounding.
FD_TOLERANCE = {"fd-forward": (1e-4, 5e-2), "fd-central": (1e-6, 5e-3), "fd-five-point": (1e-7, 2e-3),
                "fd-complex": (1e-8, 2e-3), "fd-richardson": (1e-8, 2e-3),
                "fd-numdifftools": (1e-8, 2e-3), "fd-scipy": (1e-8, 2e-3)}
EXACT = (1e-12, 1e-5)


def tolerance(method, dtype):
    return FD_TOLERANCE.get(method, EXACT)[0 if dtype == "float64" else 1]


def relative_error(value, reference):
    return np.max(np.abs(np.asarray(value) - reference)) / max(np.max(np.abs(reference)), 1e-300)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("method", METHODS)
def test_rosenbrock_hvp_matches_scipy(method, dtype):
    n = 12
    f = functions.get("rosenbrock", dim=n)
    rng = np.random.default_rng(3)
    x, v = rng.uniform(-2, 2, n), rng.normal(size=n)
    got = difflab.get(method, dtype=dtype).hvp(f)(x, v)
    assert got.shape == (n,) and got.dtype == np.dtype(dtype)
    assert relative_error(got, rosen_hess_prod(x, v)) < tolerance(method, dtype)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "manual"])
@pytest.mark.parametrize("name, dim", [("mlp-loss", 11), ("logsumexp", None), ("control-flow", None)])
def test_catalogue_hvp_matches_oracle_hessian_times_v(method, name, dim):
    f = functions.get(name, dim=dim) if dim else functions.get(name)
    x = f.default_point()
    v = np.random.default_rng(1).normal(size=x.size)
    reference = difflab.reference(f, x, "hessian") @ v
    d = difflab.get(method)
    try:
        got = d.hvp(f)(x, v)
    except difflab.NotSupported as exc:
        assert (method, name) in {(m, "control-flow") for m in ("sympy", "jax", "pytensor", "casadi")}, exc
        return
    assert relative_error(got, reference) < tolerance(method, "float64")


def test_each_method_says_how_it_gets_the_hvp():
    assert difflab.get("reverse").how("hvp").startswith("native (forward over reverse")
    assert difflab.get("forward").how("hvp").startswith("native (forward over forward")
    assert difflab.get("fd-central").how("hvp") == "native (central difference of this method's gradient along v)"
    assert difflab.get("manual").how("hvp") == "Hessian times vector"
    assert "hvp" in difflab.KINDS
    assert difflab.get("reverse").describe()["kinds"]["hvp"] == difflab.get("reverse").how("hvp")


def test_manual_hvp_needs_a_hand_written_hessian():
    f = difflab.Function(lambda x: difflab.namespace(x).sum(x ** 3), gradient=lambda x: 3 * x ** 2)
    with pytest.raises(difflab.NotSupported):
        difflab.get("manual").hvp(f)(np.ones(3), np.ones(3))
    g = difflab.Function(f.fn, gradient=f.gradient, hessian=lambda x: np.diag(6 * x))
    np.testing.assert_array_equal(difflab.get("manual").hvp(g)(np.array([1.0, 2.0, 3.0]), np.ones(3)),
                                  [6.0, 12.0, 18.0])


def test_hvp_of_a_cubic_is_exact_for_the_engines():
    # f = sum x_i^3 + x0 x1 x2: H v is integer-valued, so exact methods must hit it exactly
    f = lambda x: difflab.namespace(x).sum(x ** 3) + x[0] * x[1] * x[2]  # noqa: E731
    x, v = np.array([1.0, -2.0, 3.0]), np.array([1.0, 2.0, -1.0])
    H = np.array([[6.0, 3.0, -2.0], [3.0, -12.0, 1.0], [-2.0, 1.0, 18.0]])
    for method in ("forward", "reverse", "sympy"):
        np.testing.assert_array_equal(difflab.get(method).hvp(f)(x, v), H @ v)


def test_hvp_input_errors():
    d = difflab.get("reverse").hvp(functions.get("rosenbrock", dim=3))
    with pytest.raises(difflab.InputError, match="v has shape"):
        d(np.ones(3), np.ones(4))
    with pytest.raises(difflab.InputError, match=r"hvp takes \(x, vector"):
        d(np.ones(3))


def test_fd_hvp_of_zero_direction_is_zero_without_evaluating():
    calls = []
    f = difflab.Function(lambda x: (calls.append(1), difflab.namespace(x).sum(x ** 4))[1])
    op = difflab.get("fd-central").hvp(f)
    op.prepare(np.ones(4))  # the interface checks f(x) once when it prepares
    calls.clear()
    np.testing.assert_array_equal(op(np.ones(4), np.zeros(4)), np.zeros(4))
    assert calls == []


def test_oracle_hvp_matches_scipy_and_wants_a_vector():
    n = 7
    f = functions.get("rosenbrock", dim=n)
    rng = np.random.default_rng(5)
    x, v = rng.uniform(-2, 2, n), rng.normal(size=n)
    np.testing.assert_allclose(difflab.reference(f, x, "hvp", vector=v), rosen_hess_prod(x, v),
                               rtol=1e-14)
    with pytest.raises(difflab.InputError):
        difflab.reference(f, x, "hvp")
    with pytest.raises(difflab.InputError):
        difflab.reference(f, x, "hvp", vector=v[:3])
    with pytest.raises(difflab.InputError):
        difflab.reference(f, x, "gradient", vector=v)


def test_compare_hvp_takes_a_given_or_the_seeded_vector():
    from difflab.analysis.comparison import compare, hvp_vector

    f = functions.get("rosenbrock", dim=5)
    x = np.linspace(-1.0, 1.5, 5)
    fast = {"repeat": 1, "min_time": 0.0}
    seeded = compare(f, x, methods=["reverse", "fd-central"], derivative="hvp", **fast)
    np.testing.assert_array_equal(seeded.vector, np.random.default_rng(0).standard_normal(5))
    np.testing.assert_array_equal(hvp_vector(5), seeded.vector)
    np.testing.assert_allclose(seeded.reference, rosen_hess_prod(x, seeded.vector), rtol=1e-14)
    assert all(r.status == "ok" for r in seeded.results)
    assert seeded.result("reverse").max_rel_error < 1e-14
    assert 0 < seeded.result("fd-central").max_rel_error < 1e-6
    v = np.arange(5.0)
    given = compare(f, x, methods=["reverse"], derivative="hvp", vector=v, **fast)
    np.testing.assert_allclose(given.result("reverse").value, rosen_hess_prod(x, v), rtol=1e-14)
    assert given.to_dict()["vector"] == v.tolist()
    with pytest.raises(difflab.InputError):
        compare(f, x, methods=["reverse"], derivative="hvp", vector=np.ones(3), **fast)
    with pytest.raises(difflab.InputError):
        compare(f, x, methods=["reverse"], derivative="gradient", vector=v, **fast)


def test_compiled_reverse_compiles_the_hvp_and_says_how():
    f = functions.get("rosenbrock", dim=8)
    rng = np.random.default_rng(9)
    x, v = rng.uniform(-2, 2, 8), rng.normal(size=8)
    d = difflab.get("reverse", jit=True)
    assert d.how("hvp") == "native, compiled tape (reverse over reverse: the gradient of grad f . v)"
    np.testing.assert_allclose(d.hvp(f)(x, v), rosen_hess_prod(x, v), rtol=1e-13)


def test_hvp_of_a_pytree_has_the_trees_structure():
    # f(w, b) = sum(w^2 b) + b^3: H v of the flattened parameters, in the tree's structure
    def f(p):
        xp = difflab.namespace(p["w"])
        return xp.sum(p["w"] ** 2 * p["b"]) + p["b"] ** 3

    p = {"w": np.array([1.0, 2.0]), "b": 3.0}
    v = {"w": np.array([1.0, -1.0]), "b": 2.0}
    flat_p, unravel = difflab.ravel(p)
    flat_v, _ = difflab.ravel(v)
    H = difflab.reference(lambda q: f(unravel(q)), flat_p, "hessian")
    for method in ("reverse", "forward"):
        got = difflab.get(method).hvp(f)(p, v)
        assert set(got) == {"w", "b"}
        np.testing.assert_allclose(difflab.ravel(got)[0], H @ flat_v, rtol=1e-14)
