"""Every registered method against independent references: SciPy's Rosenbrock derivatives,
the oracle on the catalogue, and the derivative kinds derived from each other.

Exact methods (AD, symbolic) must agree to rounding; finite differences to their stencil's
accuracy. Methods that cannot do something must say so with NotSupported.
"""
import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der, rosen_hess

import difflab
from difflab.analysis import functions
from difflab.interface.registry import method_class, methods


def available_methods():
    out = []
    for name in methods():
        try:
            cls = method_class(name)
        except ImportError:
            continue
        if cls.available():
            out.append(name)
    return out


METHODS = available_methods()
#: relative tolerance per method family for first and second derivatives.
FD_TOLERANCE = {"fd-forward": (1e-6, 1e-3), "fd-central": (1e-8, 1e-5), "fd-five-point": (1e-10, 1e-5),
                "fd-complex": (1e-13, 1e-6), "fd-richardson": (1e-10, 1e-5),
                "fd-numdifftools": (1e-10, 1e-5), "fd-scipy": (1e-10, 1e-5)}
EXACT = (1e-12, 1e-12)


def tolerance(name, order):
    return FD_TOLERANCE.get(name, EXACT)[order - 1]


def relative_error(value, reference):
    scale = max(np.max(np.abs(reference)), 1e-300)
    return np.max(np.abs(np.asarray(value) - reference)) / scale


def attempt(call):
    try:
        return call()
    except difflab.NotSupported as exc:
        pytest.skip(f"NotSupported: {exc}")


@pytest.mark.parametrize("method", [m for m in METHODS if m != "manual"])
@pytest.mark.parametrize("n", [2, 5, 40])
def test_rosenbrock_gradient_and_hessian_match_scipy(method, n):
    x = np.random.default_rng(n).uniform(-2, 2, n)
    f = functions.get("rosenbrock", dim=n)
    d = difflab.get(method)
    assert relative_error(attempt(lambda: d.gradient(f)(x)), rosen_der(x)) < tolerance(method, 1)
    if n <= 5 or d.family != "symbolic":
        assert relative_error(attempt(lambda: d.hessian(f)(x)), rosen_hess(x)) < tolerance(method, 2)


def test_manual_rosenbrock_is_independent_of_scipy_and_agrees():
    x = np.random.default_rng(3).uniform(-2, 2, 7)
    f = functions.get("rosenbrock", dim=7)
    np.testing.assert_allclose(f.gradient(x), rosen_der(x), rtol=1e-13)
    np.testing.assert_allclose(f.hessian(x), rosen_hess(x), rtol=1e-13)
    assert float(f(x)) == pytest.approx(rosen(x), rel=1e-14)


#: catalogue functions whose derivative every float64 method computes with cancellation.
ILL_CONDITIONED = {"sinc": 1e-8}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", [n for n in functions.names() if functions.CATALOGUE[n].outputs == "scalar"])
def test_catalogue_gradient_matches_oracle(method, name):
    f = functions.get(name)
    for x in (f.default_point(), f.sample(np.random.default_rng(11))):
        reference = difflab.reference(f, x)
        d = difflab.get(method)
        if d.exact:
            value = attempt(lambda: d.gradient(f)(x))
            limit = max(tolerance(method, 1), ILL_CONDITIONED.get(name, 0.0))
            assert relative_error(value, reference) < limit, (method, name, x)
        else:  # finite differences: within the error bound the method itself reports
            est = d.estimate(f, x)
            # error models assume f itself is evaluated well; sinc's cancellation is beyond them
            floor = max(1e-15, ILL_CONDITIONED.get(name, 0.0)) * np.max(np.abs(reference))
            slack = 4.0 * est.error + floor
            assert np.all(np.abs(est.value - reference) <= slack), (method, name, x, est.error)


@pytest.mark.parametrize("method", METHODS)
def test_catalogue_jacobian_matches_oracle(method):
    f = functions.get("tanh-layer", dim=3)
    x = f.default_point()
    d = difflab.get(method)
    J = attempt(lambda: d.jacobian(f)(x))
    assert J.shape == (6, 3)
    assert relative_error(J, difflab.reference(f, x, "jacobian")) < tolerance(method, 1)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "manual"])
def test_every_kind_is_consistent_with_the_oracle(method):
    f = functions.get("mlp-loss", dim=11)
    x = f.default_point()
    d = difflab.get(method)
    g_ref = difflab.reference(f, x)
    H_ref = difflab.reference(f, x, "hessian")
    rng = np.random.default_rng(0)
    v, u = rng.normal(size=x.size), np.array(1.5)
    tol1, tol2 = tolerance(method, 1), tolerance(method, 2)
    value, grad = attempt(lambda: d.value_and_gradient(f)(x))
    assert value == pytest.approx(float(f(x)), rel=1e-13)
    assert relative_error(grad, g_ref) < tol1
    assert relative_error(attempt(lambda: d.jacobian(f)(x)), g_ref[None, :]) < tol1
    assert relative_error(attempt(lambda: d.jvp(f)(x, v)), np.array([g_ref @ v])) < tol1
    assert relative_error(attempt(lambda: d.vjp(f)(x, u)), 1.5 * g_ref) < tol1
    assert relative_error(attempt(lambda: d.hessian(f)(x)), H_ref) < tol2
    assert relative_error(attempt(lambda: d.hvp(f)(x, v)), H_ref @ v) < tol2


def test_control_flow_is_followed_by_ad_and_fd_and_refused_by_sympy():
    f = functions.get("control-flow", dim=4)
    for x in (np.array([0.9, 0.8, -0.4, 0.1]), np.array([-0.9, 0.8, -0.4, 0.1])):
        reference = f.gradient(x)
        for method in ("forward", "reverse", "fd-central"):
            assert relative_error(difflab.get(method).gradient(f)(x), reference) < tolerance(method, 1)
    if "sympy" in METHODS:
        with pytest.raises(difflab.NotSupported, match="sympy"):
            difflab.get("sympy").gradient(f)(np.array([0.9, 0.8, -0.4, 0.1]))


def test_manual_without_derivative_is_not_supported():
    f = difflab.Function(lambda x: difflab.namespace(x).sum(x ** 3))
    with pytest.raises(difflab.NotSupported, match="no hand-written gradient"):
        difflab.get("manual").gradient(f)(np.ones(3))


def test_reverse_hessian_is_forward_over_reverse_and_exact_for_a_cubic():
    # f = sum x_i^3 + x_0 x_1 x_2 has Hessian diag(6x) + the mixed terms, exactly.
    def f(x):
        return difflab.namespace(x).sum(x ** 3) + x[0] * x[1] * x[2]
    x = np.array([1.5, -2.0, 0.25])
    H = np.diag(6 * x)
    H[0, 1] = H[1, 0] = x[2]
    H[0, 2] = H[2, 0] = x[1]
    H[1, 2] = H[2, 1] = x[0]
    for method in ("forward", "reverse"):
        np.testing.assert_array_equal(difflab.get(method).hessian(f)(x), H)


def test_forward_jacobian_of_wide_map_is_one_pass():
    """Vector mode: one evaluation of f with n tangents gives all m rows."""
    calls = []

    def f(x):
        calls.append(1)
        xp = difflab.namespace(x)
        return xp.sin(xp.asarray(np.ones((64, 1))) @ xp.reshape(x, (1, 4)))[:, 0] * x[1]

    jacobian = difflab.get("forward").jacobian(f)
    jacobian.prepare(np.arange(1.0, 5.0))  # the boundary evaluates f once when it prepares
    calls.clear()
    jacobian(np.arange(1.0, 5.0))
    assert len(calls) == 1


def test_float32_computes_in_float32():
    f = functions.get("rosenbrock", dim=6)
    x = f.default_point()
    reference = rosen_der(x)
    for method in ("forward", "reverse"):
        err32 = relative_error(difflab.get(method, dtype="float32").gradient(f)(x), reference)
        err64 = relative_error(difflab.get(method).gradient(f)(x), reference)
        assert 1e-9 < err32 < 1e-5 and err64 < 1e-14
