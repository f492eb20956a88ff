"""Finite differences: accuracy against SciPy and the oracle, error estimates, float32,
complex step through non-analytic ops, evaluation counts, the stencil table, options."""
import math

import numpy as np
import pytest
from scipy.optimize import rosen_der, rosen_hess

import difflab
import difflab.analysis.functions as catalogue
from difflab.fd import richardson, steps
from difflab.fd.stencils import STENCILS

FD = ["fd-forward", "fd-central", "fd-five-point", "fd-complex", "fd-richardson"]
#: The libraries' methods (numdifftools, scipy.differentiate) behind the same interface.
PEERS = ["fd-numdifftools", "fd-scipy"]

#: Max relative error (to the largest entry) on rosenbrock, from each error model with margin.
TOLERANCE = {  # method: (gradient, hessian) in float64, then in float32
    "fd-forward": ((1e-6, 1e-3), (3e-2, 2e-1)),
    "fd-central": ((1e-9, 1e-6), (1e-3, 1e-2)),
    "fd-five-point": ((1e-11, 1e-8), (1e-4, 1e-3)),
    "fd-complex": ((1e-14, 1e-8), (1e-5, 1e-2)),
    "fd-richardson": ((1e-12, 1e-10), (1e-4, 1e-3)),
    "fd-numdifftools": ((1e-12, 1e-10), (1e-4, 1e-3)),
    "fd-scipy": ((1e-12, 1e-8), (1e-4, 3e-2)),  # SciPy aims at rtol sqrt(eps); float32 Hessian: below
}


def rosenbrock(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def analytic(x):
    xp = difflab.namespace(x)
    return xp.sum(xp.sin(xp.exp(0.7 * x)) * x) + xp.log(1.0 + xp.sum(x * x))


def relative(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.fixture
def point():
    return np.random.default_rng(7).uniform(-2, 2, 8)


@pytest.mark.parametrize("name", FD + PEERS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_rosenbrock_against_scipy(name, dtype, point):
    d = difflab.get(name, dtype=dtype)
    grad_tol, hess_tol = TOLERANCE[name][dtype == "float32"]
    g = d.gradient(rosenbrock)(point)
    H = d.hessian(rosenbrock)(point)
    assert g.dtype == H.dtype == np.dtype(dtype) and H.shape == (8, 8)  # the dtype rule
    assert relative(g, rosen_der(point)) < grad_tol
    assert relative(H, rosen_hess(point)) < hess_tol
    assert np.array_equal(H, H.T)


@pytest.mark.parametrize("name", ["fd-forward", "fd-central", "fd-five-point"])
def test_float32_really_computes_in_float32(name, point):
    seen = []

    def spy(x):
        seen.append(x.dtype)
        return rosenbrock(x)

    g32 = difflab.get(name, dtype="float32").gradient(spy)(point.astype(np.float32))
    g64 = difflab.get(name).gradient(rosenbrock)(point)
    assert set(seen) == {np.dtype(np.float32)}
    exact = rosen_der(point.astype(np.float32).astype(np.float64))
    # float32-sized: far worse than float64 at the same stencil, but of float32's order.
    assert relative(g32, exact) > 100 * relative(g64, rosen_der(point))
    eps32 = float(np.finfo(np.float32).eps)
    assert relative(g32, exact) < 1e3 * eps32 ** (STENCILS[name[3:]].order / (STENCILS[name[3:]].order + 1))


@pytest.mark.parametrize("name", FD + PEERS)
@pytest.mark.parametrize("kind", ["gradient", "hessian"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("fname", ["rosenbrock", "nested", "logsumexp", "product", "mlp-loss", "classic"])
def test_error_estimate_bounds_the_true_error(name, kind, dtype, fname):
    f = catalogue.get(fname)
    x = f.default_point()
    exact = difflab.reference(f, x, kind)
    est = difflab.get(name, dtype=dtype).estimate(f, x, kind)
    assert est.value.shape == exact.shape == est.error.shape
    err = np.abs(est.value - exact)
    assert np.all(err <= est.error)
    # ... and is an estimate, not a shrug: within four orders of the true error (Richardson's
    # rounding model, 16 ulps amplified by every elimination, is the most pessimistic).
    eps = float(np.finfo(dtype).eps)
    assert np.max(est.error) < 1e4 * max(np.max(err), eps * np.max(np.abs(exact)))


def test_estimate_is_the_value_gradient_returns(point):
    for name in FD + PEERS:
        d = difflab.get(name)
        assert np.array_equal(d.estimate(rosenbrock, point).value, d.gradient(rosenbrock)(point))


def test_richardson_beats_central_and_its_estimate_is_tight_enough(point):
    exact = difflab.reference(analytic, point)
    est = difflab.get("fd-richardson").estimate(analytic, point)
    central = difflab.get("fd-central").gradient(analytic)(point)
    assert np.all(np.abs(est.value - exact) <= est.error)
    assert np.max(est.error) < 1e-10
    assert relative(est.value, exact) < 1e-3 * relative(central, exact)


@pytest.mark.parametrize("n", [1, 5, 40])
def test_complex_step_is_exact_to_rounding_on_analytic_functions(n):
    x = np.random.default_rng(n).uniform(-1, 1, n)
    exact = difflab.reference(analytic, x)
    assert relative(difflab.get("fd-complex").gradient(analytic)(x), exact) < 4e-15


def test_complex_step_through_abs_maximum_minimum_max_min():
    seen = []

    def kinky(x):
        xp = difflab.namespace(x)
        seen.append(xp)
        return (xp.sum(xp.abs(x) * x + xp.maximum(x, 0.3) * xp.sin(x) + xp.minimum(x, -0.1) ** 3)
                + xp.max(x) ** 2 + xp.min(x * x) + xp.sum(xp.clip(x, -0.5, 0.5) ** 2))

    x = np.array([-0.7, -0.2, 0.1, 0.4, 0.9, 1.3])
    exact = difflab.reference(kinky, x)
    got = difflab.get("fd-complex").gradient(kinky)(x)
    assert seen[-1] is difflab.namespaces.COMPLEX_STEP
    assert relative(got, exact) < 1e-15


def test_jacobian_jvp_vjp_of_a_vector_map():
    def f(x):
        xp = difflab.namespace(x)
        return xp.stack([x[0] * x[1], xp.sin(x[2]), xp.exp(x[0]) - x[2] ** 2])

    x = np.array([0.3, -1.2, 0.8])
    J = np.array([[x[1], x[0], 0.0], [0.0, 0.0, np.cos(x[2])], [np.exp(x[0]), 0.0, -2 * x[2]]])
    v, u = np.array([1.0, -2.0, 0.5]), np.array([0.2, 1.0, -1.0])
    for name in FD + PEERS:
        d = difflab.get(name)
        tol = 1e-6 if name == "fd-forward" else 1e-9
        assert np.allclose(d.jacobian(f)(x), J, atol=tol, rtol=0)
        assert np.allclose(d.jvp(f)(x, v), J @ v, atol=tol, rtol=0)
        assert np.allclose(d.vjp(f)(x, u), u @ J, atol=tol, rtol=0)
        assert d.how("jvp") == "native"
        assert np.array_equal(d.jvp(f)(x, np.zeros(3)), np.zeros(3))


@pytest.mark.parametrize("name, per_gradient", [
    ("fd-forward", lambda n: n + 1), ("fd-central", lambda n: 2 * n),
    ("fd-five-point", lambda n: 4 * n), ("fd-complex", lambda n: n + 1),  # + f(x) in the reals
    ("fd-richardson", lambda n: 2 * n * 6)])
def test_evaluation_counts(name, per_gradient):
    calls = []

    def counted(x):
        calls.append(1)
        return rosenbrock(x)

    n = 7
    d = difflab.get(name)
    gradient = d.gradient(counted)
    gradient.prepare(np.linspace(-1, 1, n))  # the boundary evaluates f once when it prepares
    calls.clear()
    gradient(np.linspace(-1, 1, n))
    assert len(calls) == per_gradient(n)
    if name != "fd-complex":  # complex step counts complex evaluations of f
        calls.clear()
        est = d.estimate(counted, np.linspace(-1, 1, n))
        assert est.evaluations == len(calls)


def test_central_hessian_shares_points():
    calls = []

    def counted(x):
        calls.append(1)
        return rosenbrock(x)

    n = 5
    hessian = difflab.get("fd-central").hessian(counted)
    hessian.prepare(np.linspace(-1, 1, n))  # the boundary evaluates f once when it prepares
    calls.clear()
    hessian(np.linspace(-1, 1, n))
    assert len(calls) == 2 * n * n + 1  # x, x ± 2h e_i, x ± h e_i ± h e_j


def test_finite_differences_follow_control_flow():
    f = catalogue.get("control-flow")
    x = f.default_point()
    exact = difflab.reference(f, x)
    for name in FD + PEERS:
        assert relative(difflab.get(name).gradient(f)(x), exact) < 1e-5


@pytest.mark.parametrize("stencil", list(STENCILS.values()), ids=list(STENCILS))
def test_stencil_table_moments(stencil):
    """sum w o^k / k! is 0 for k = 0, 1 for k = 1, 0 up to k = p, and gives C at k = p + 1."""
    def moment(k):
        return sum(w * o ** k for o, w in zip(stencil.offsets, stencil.weights)) / math.factorial(k)

    assert moment(0) == pytest.approx(0, abs=1e-15)
    assert moment(1) == pytest.approx(1)
    for k in range(2, stencil.order + 1):
        assert moment(k) == pytest.approx(0, abs=1e-15)
    assert abs(moment(stencil.order + 1)) == pytest.approx(stencil.truncation)


def test_auto_steps_are_error_optimal_and_scaled():
    eps = np.finfo(np.float64).eps
    assert STENCILS["central"].optimal_step(eps) == pytest.approx((3 * eps) ** (1 / 3))
    assert STENCILS["forward"].optimal_step(eps) == pytest.approx(2 * eps ** 0.5)
    for stencil in STENCILS.values():  # the model's error is smallest at the optimal step
        h = stencil.optimal_step(eps)
        assert stencil.error_bound(h, eps) < min(stencil.error_bound(1.5 * h, eps),
                                                 stencil.error_bound(h / 1.5, eps))
    x = np.array([0.0, 1e-3, -3.0, 1e4, 0.1])
    h = steps.representable(x, steps.steps("auto", 1e-5, steps.scale(x), x.dtype), symmetric=True)
    assert np.array_equal((x + h) - x, h)
    assert np.array_equal(x - (x - h), h)  # the symmetric partner is exact too
    assert np.allclose(np.abs(h), 1e-5 * np.maximum(np.abs(x), 1), rtol=1e-6)


def test_richardson_tableau_removes_the_error_terms():
    h = 0.1 / 2.0 ** np.arange(5)
    estimates = [2.0 + 3 * s ** 2 - 5 * s ** 4 + 7 * s ** 6 for s in h]
    best = richardson.extrapolate(estimates, [0.0] * 5, 2.0, (2, 4, 6, 8))
    assert best.value == pytest.approx(2.0, abs=1e-13)
    assert richardson.halving_error(estimates[0], estimates[1], 2.0, 2) == pytest.approx(
        abs(estimates[1] - 2.0), rel=0.05)


@pytest.mark.parametrize("name", FD + PEERS)
@pytest.mark.parametrize("bad", [0, -1e-3, float("nan"), float("inf"), "big", True, None])
def test_bad_step_is_an_input_error(name, bad):
    with pytest.raises(difflab.InputError):
        difflab.get(name, step=bad)


def test_other_option_errors():
    with pytest.raises(difflab.InputError):
        difflab.get("fd-central", levels=4)  # only fd-richardson has levels
    for bad in (2, 0, 3.5, "six", 18):
        with pytest.raises(difflab.InputError):
            difflab.get("fd-richardson", levels=bad)
    with pytest.raises(difflab.InputError):
        difflab.get("fd-central").estimate(rosenbrock, [1.0, 2.0], kind="jvp")
    with pytest.raises(difflab.InputError):
        difflab.get("fd-central").estimate(rosenbrock, [1.0, float("nan")])


def test_numeric_step_is_used(point):
    f = lambda x: difflab.namespace(x).sum(x ** 3)  # noqa: E731
    x = np.array([1.0])
    # central difference of x^3: 3x^2 + h^2 exactly
    assert difflab.get("fd-central", step=0.125).gradient(f)(x)[0] == pytest.approx(3 + 0.125 ** 2)
    assert difflab.get("fd-forward", step=2.0 ** -10).describe()["options"] == {"step": 2.0 ** -10}


@pytest.mark.parametrize("name", FD + PEERS)
@pytest.mark.parametrize("bad", [1e-50, 1e39])
def test_step_the_dtype_cannot_hold_is_an_input_error(name, bad):
    with pytest.raises(difflab.InputError, match="float32"):
        difflab.get(name, dtype="float32", step=bad)
    difflab.get(name, step=bad)  # float64 holds it


@pytest.mark.parametrize("levels", [3, 10, 17])
def test_richardson_takes_every_allowed_number_of_levels(levels):
    x = np.array([0.4, -1.1])
    est = difflab.get("fd-richardson", levels=levels).estimate(analytic, x)
    assert est.evaluations == 2 * x.size * levels
    assert np.all(np.abs(est.value - difflab.reference(analytic, x)) <= est.error)


@pytest.mark.parametrize("case", ["maximum", "abs", "max", "min-axis", "clip"])
def test_complex_step_takes_the_symmetric_subgradient_at_ties(case):
    """On an exact tie fd-complex makes AD's choice (closed forms below), not one side's."""
    def f(x):
        xp = difflab.namespace(x)
        if case == "maximum":
            return xp.sum(xp.maximum(x, 0.0))
        if case == "abs":
            return xp.sum(xp.abs(x))
        if case == "max":
            return xp.max(x)
        if case == "min-axis":
            return xp.sum(xp.min(xp.reshape(x, (2, 2)), axis=1))
        return xp.sum(xp.clip(x, 0.0, 1.0))

    points = {"maximum": [0.0, 1.0, -1.0, 0.0], "abs": [0.0, 2.0, -3.0, 0.0],
              "max": [1.0, 1.0, 0.5, -2.0], "min-axis": [1.0, 1.0, 0.5, 2.0],
              "clip": [0.0, 1.0, 0.5, 2.0]}
    expected = {"maximum": [0.5, 1.0, 0.0, 0.5], "abs": [0.0, 1.0, -1.0, 0.0],
                "max": [0.5, 0.5, 0.0, 0.0], "min-axis": [0.5, 0.5, 1.0, 0.0],
                "clip": [1.0, 1.0, 1.0, 0.0]}
    x = np.array(points[case])
    assert np.array_equal(difflab.get("fd-complex").gradient(f)(x), expected[case])
    assert np.array_equal(difflab.get("reverse").gradient(f)(x), expected[case])
