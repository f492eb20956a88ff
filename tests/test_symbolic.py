"""The sympy method: exact against SciPy and the oracle, control flow refused with the
reason, expression sizes for the swell experiment, caching, float32."""
import numpy as np
import pytest
from scipy.optimize import rosen_der, rosen_hess

import difflab
import difflab.analysis.functions as catalogue


def rosenbrock(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def relative(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.fixture
def sympy_method():
    return difflab.get("sympy")


@pytest.mark.parametrize("n", [2, 5, 12])
def test_rosenbrock_gradient_and_hessian_are_exact(sympy_method, n):
    x = np.random.default_rng(n).uniform(-2, 2, n)
    assert relative(sympy_method.gradient(rosenbrock)(x), rosen_der(x)) < 1e-13
    assert relative(sympy_method.hessian(rosenbrock)(x), rosen_hess(x)) < 1e-13
    value, grad = sympy_method.value_and_gradient(rosenbrock)(x)
    assert value == pytest.approx(float(rosenbrock(x)), rel=1e-14)
    assert relative(grad, rosen_der(x)) < 1e-13


@pytest.mark.parametrize("fname", ["nested", "product", "logsumexp", "softmax-xent", "mlp-loss", "classic"])
def test_agrees_with_the_oracle_on_the_catalogue(sympy_method, fname):
    f = catalogue.get(fname)
    x = f.default_point()
    assert relative(sympy_method.gradient(f)(x), difflab.reference(f, x)) < 1e-13


def test_jacobian_and_derived_products_of_a_vector_map(sympy_method):
    f = catalogue.get("tanh-layer")
    x = f.default_point()
    J = difflab.reference(f, x, "jacobian")
    assert relative(sympy_method.jacobian(f)(x), J) < 1e-13
    v, u = np.linspace(-1, 1, x.size), np.linspace(1, 2, J.shape[0])
    assert relative(sympy_method.jvp(f)(x, v), J @ v) < 1e-13
    assert relative(sympy_method.vjp(f)(x, u), u @ J) < 1e-13
    assert sympy_method.how("jvp") == "Jacobian times vector"


def test_kinks_abs_and_max_differentiate_to_the_one_sided_rule(sympy_method):
    def kinky(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.abs(x) * x + xp.maximum(x, 0.3) * xp.sin(x)) + xp.max(x) ** 2 + xp.min(x * x)

    x = np.array([-0.7, -0.2, 0.1, 0.4, 0.9, 1.3])
    assert relative(sympy_method.gradient(kinky)(x), difflab.reference(kinky, x)) < 1e-14


def test_closed_over_data_arrays(sympy_method):
    data = np.linspace(0.1, 0.9, 4)

    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.exp(data * x)) / 3.0

    x = np.array([0.5, -1.0, 2.0, 0.25])
    # constants reach the compiled code exactly (no 15-digit printing of 0.1 or 1/3)
    assert np.array_equal(sympy_method.gradient(f)(x), data * np.exp(data * x) / 3.0)


def test_data_dependent_if_is_not_supported_and_says_why(sympy_method):
    def branchy(x):
        if x[0] > 0:
            return x[0] ** 2
        return x[1]

    with pytest.raises(difflab.NotSupported) as info:
        sympy_method.gradient(branchy)(np.array([1.0, 2.0]))
    assert info.value.by == "sympy"
    assert "control flow" in str(info.value)
    # the methods that can follow the branch do
    assert difflab.get("fd-central").gradient(branchy)(np.array([1.0, 2.0])) == pytest.approx([2.0, 0.0])


def test_catalogue_control_flow_and_while_loops_are_refused(sympy_method):
    f = catalogue.get("control-flow")
    with pytest.raises(difflab.NotSupported, match="control flow"):
        sympy_method.hessian(f)(f.default_point())


def test_float32_evaluates_in_float32():
    x = np.random.default_rng(3).uniform(-2, 2, 6)
    d32 = difflab.get("sympy", dtype="float32")
    g = d32.gradient(rosenbrock)(x)
    exact = rosen_der(x.astype(np.float32).astype(np.float64))
    err = relative(g, exact)
    assert g.dtype == np.float32  # the dtype rule: float32 in, float32 out
    assert 1e-12 < err < 1e-5  # float32 rounding, not float64 in disguise


def test_preparation_is_cached_per_shape(sympy_method):
    traces = []

    def f(x):
        traces.append(x.dtype)
        return rosenbrock(x)

    grad = sympy_method.gradient(f)
    grad(np.ones(3))
    # the boundary's check of f(x) in NumPy first, the budget's probes (NumPy, then mpmath
    # numbers, which count f's operations), then SymPy's one trace
    prepared = list(traces)
    assert prepared[0] == np.dtype(np.float64) and prepared[-1] == np.dtype(object)
    for x in (np.zeros(3), np.ones(3) * 2):
        grad(x)
    assert traces == prepared  # later calls only evaluate
    grad(np.ones(4))  # a new shape: checked, probed and traced again
    assert len(traces) > len(prepared) + 2 and traces[len(prepared)] == np.dtype(np.float64)
    assert grad.setup_seconds > 0


def test_expression_sizes_measure_swell_and_cse(sympy_method):
    sizes = sympy_method.expression_sizes(catalogue.get("product"), 8)
    assert set(sizes) >= {"function_ops", "symbolic_ops", "symbolic_cse_ops",
                          "diff_seconds", "compile_seconds"}
    # prod of 8 variables: 7 multiplications; its gradient: 8 products of 7 factors
    # (6 multiplications each) unsimplified; CSE shares the partial products.
    assert sizes["function_ops"] == 7
    assert sizes["symbolic_ops"] == 8 * 6
    assert sizes["symbolic_cse_ops"] < sizes["symbolic_ops"]
    hess = sympy_method.expression_sizes(catalogue.get("product"), 4, kind="hessian")
    assert hess["entries"] == 4 * 5 // 2


def test_expression_swell_grows_with_the_logistic_map(sympy_method):
    ops = [sympy_method.expression_sizes(catalogue.get("logistic-map", dim=k), 1)["symbolic_ops"]
           for k in (2, 4, 6)]
    assert ops[0] < ops[1] < ops[2]
    assert ops[2] > 4 * ops[1]  # the raw derivative swells faster than linearly


def test_expression_sizes_input_errors(sympy_method):
    with pytest.raises(difflab.InputError):
        sympy_method.expression_sizes(rosenbrock, 0)
    with pytest.raises(difflab.InputError):
        sympy_method.expression_sizes(rosenbrock, 3, kind="jvp")


def test_gradient_of_a_vector_map_is_an_input_error(sympy_method):
    with pytest.raises(difflab.InputError, match="scalar"):
        sympy_method.gradient(lambda x: x * 2.0)(np.ones(3))


def _truthy(x):
    if x[0]:
        return x[0] ** 2
    return x[1]


def _equal_zero(x):
    if x[0] == 0:
        return 1.0 + 0.0 * x[1]
    return x[0] ** 2 + x[1]


def _not_equal_reflected(x):
    if 0 != x[1]:
        return x[0] ** 2
    return x[1]


def _where_equal(x):
    xp = difflab.namespace(x)
    return xp.sum(xp.where(x == 0, 1.0, xp.sin(x) / x))


@pytest.mark.parametrize("branchy", [_truthy, _equal_zero, _not_equal_reflected, _where_equal])
def test_truth_value_and_equality_tests_on_symbols_are_refused(sympy_method, branchy):
    # SymPy answers bool(x0) (True) and x0 == 0 (False) without deciding anything: left
    # alone, the trace would keep one branch for every x and give wrong numbers at x0 = 0.
    with pytest.raises(difflab.NotSupported, match="control flow"):
        sympy_method.gradient(branchy)(np.array([0.0, 2.0]))
    import sympy

    x0 = sympy.Symbol("x0")
    assert bool(x0) is True and (x0 == 0) is False and (x0 != 0) is True   # restored afterwards
    assert "__bool__" not in vars(sympy.Basic)


def test_text_returned_while_tracing_is_never_run(tmp_path):
    """sympify runs a string as Python: a function that returns text only for symbols
    (numbers for NumPy, so the boundary's check passes) must be refused, not executed."""
    marker = tmp_path / "pwned"

    def f(x):
        if isinstance(x[0], float):
            return x[0] * x[1]
        return f"__import__('os').system('touch {marker}')"

    with pytest.raises(difflab.InputError, match="returned text"):
        difflab.get("sympy").gradient(f)(np.array([1.0, 2.0]))
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["gradient", "hessian", "jacobian", "hvp"])
def test_a_later_point_outside_the_domain_is_refused(kind):
    """The derivative formula of log is finite at x = -1 (1/x); f is not: refused, not -1."""
    f = difflab.Function.from_expression("log(x)*y")
    d = getattr(difflab.get("sympy"), kind)(f)
    args = (lambda x: (x, np.ones(2))) if kind == "hvp" else (lambda x: (x,))
    d(*args(np.array([2.0, 3.0])))
    with pytest.raises(difflab.InputError, match="NaN or infinite"):
        d(*args(np.array([-1.0, 3.0])))


@pytest.mark.parametrize("program", [
    lambda xp, x: xp.abs(xp.sin(x[0]) * x[1]) * x[0],
    lambda xp, x: xp.maximum(x[0] * x[0], x[1]) + xp.minimum(x[0], x[1] ** 3),
    lambda xp, x: xp.clip(x[0] * x[1], -0.5, 0.5) * xp.exp(x[1]),
    lambda xp, x: xp.abs(x[0] / x[1] - x[1] / (x[0] + 2.0)) * x[0],  # d/dx sign(u) left unevaluated
], ids=["abs", "max-min", "clip", "abs-of-quotients"])
def test_hessians_through_kinks_away_from_them_match_the_oracle(program):
    """SymPy's second derivative of a kink holds DiracDelta (found by difflab fuzz: it used to
    crash the lambdified code with a NameError); away from the kink it is 0."""
    f = lambda x: program(difflab.namespace(x), x)  # noqa: E731
    x, v = np.array([0.7, 1.3]), np.array([0.3, -1.1])
    d = difflab.get("sympy")
    np.testing.assert_allclose(d.hessian(f)(x), difflab.reference(f, x, "hessian"), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(d.hvp(f)(x, v), difflab.reference(f, x, "hvp", vector=v), rtol=1e-13, atol=1e-13)
