"""difflab.testing: the checker passes what is right and catches what is wrong.

Wrong derivatives are made on purpose (off by a factor 1 + 1e-4, a missing term, a
transposed Jacobian); correct ones are checked in float64 and float32; kinks are reported
as kinks.
"""

import numpy as np
import pytest

import difflab
from difflab.testing import (KinkWarning, assert_gradients_agree, check_gradient, check_hessian,
                             check_jacobian, check_jvp, check_methods, check_vjp)

OWN = ["reverse", "forward"]


# ---------------------------------------------------------------------- functions and derivatives
ROSEN = difflab.functions.get("rosenbrock", dim=5)     # with hand-written gradient and Hessian
rosen, rosen_grad, rosen_hess = ROSEN.fn, ROSEN.gradient, ROSEN.hessian


def rosen_grad_missing_term(x):
    """The classic slip: the (1 - x)^2 part forgotten."""
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2)
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def scaled(fn, index, factor):
    def wrong(x):
        out = np.array(fn(x), dtype=float)
        out[index] *= factor
        return out
    return wrong


def field(x):
    """R^3 -> R^2, a non-square Jacobian."""
    xp = difflab.namespace(x)
    return xp.stack([x[0] * xp.sin(x[1]), xp.exp(x[2]) * x[0] + x[1] ** 2])


def field_jac(x):
    return np.array([[np.sin(x[1]), x[0] * np.cos(x[1]), 0.0],
                     [np.exp(x[2]), 2 * x[1], x[0] * np.exp(x[2])]])


def softmax_ce(x):
    xp = difflab.namespace(x)
    return xp.logsumexp(x) - x[1]


def softmax_ce_grad(x):
    p = np.exp(x - np.max(x))
    p /= p.sum()
    p[1] -= 1.0
    return p


X = np.array([0.3, 0.7, 1.2, -0.4, 0.9])


# ---------------------------------------------------------------------- methods vs the oracle
def test_correct_methods_agree_and_report_errors():
    report = assert_gradients_agree(rosen, X, methods=OWN)
    assert report.ok
    assert report.max_rel_error < 1e-14
    assert {m.method for m in report.methods} == set(OWN)
    assert len(report.rows) == 2 * X.size


@pytest.mark.parametrize("derivative, f", [("jacobian", field), ("hessian", rosen)])
def test_jacobians_and_hessians_of_methods(derivative, f):
    x = X[:3]
    assert assert_gradients_agree(f, x, methods=OWN, derivative=derivative).ok


def test_manual_derivative_of_a_function_is_checked_by_default_when_present():
    wrong = difflab.Function(rosen, gradient=scaled(rosen_grad, 2, 1 + 1e-4))
    with pytest.raises(AssertionError) as info:
        assert_gradients_agree(wrong, X, methods=["manual", "reverse"])
    message = str(info.value)
    assert "manual" in message and "[2]" in message
    report = check_methods(wrong, X, methods=["manual", "reverse"])
    assert [m.status for m in report.methods] == ["fail", "ok"]
    assert report.worst_index == (2,)


def test_default_methods_include_manual_and_every_exact_method(monkeypatch):
    from difflab.interface import registry

    monkeypatch.setattr(registry, "exact_methods", lambda available_only=True: ["reverse"])
    good = difflab.Function(rosen, gradient=rosen_grad)
    report = assert_gradients_agree(good, X)
    assert [m.method for m in report.methods] == ["manual", "reverse"]
    plain = assert_gradients_agree(rosen, X)
    assert [m.method for m in plain.methods] == ["reverse"]


def test_failure_message_is_a_table_naming_both_sides():
    wrong = difflab.Function(rosen, gradient=scaled(rosen_grad, 1, 1 + 1e-4))
    with pytest.raises(AssertionError) as info:
        assert_gradients_agree(wrong, X, methods=["manual"])
    lines = str(info.value).splitlines()
    assert "1 of 5 compared numbers disagree" in lines[0]
    assert "value = the method under test" in lines[1] and "reference = the oracle" in lines[1]
    header = next(line for line in lines if line.startswith("method"))
    for column in ("index", "value", "reference", "abs err", "rel err", "tolerance", "status"):
        assert column in header
    first_row = lines[lines.index(header) + 2]
    assert first_row.split()[:2] == ["manual", "[1]"] and first_row.endswith("fail")


@pytest.mark.parametrize("method", ["fd-central", "fd-five-point", "fd-richardson", "fd-complex",
                                    "fd-forward", "fd-numdifftools", "fd-scipy"])
def test_finite_differences_pass_within_their_own_error_estimate(method):
    report = assert_gradients_agree(rosen, X, methods=[method])
    assert "error estimate" in report.methods[0].tolerance_model
    assert report.max_rel_error > 0  # not exact, and still accepted


def test_user_tolerances_replace_the_model():
    wrong = difflab.Function(rosen, gradient=scaled(rosen_grad, 0, 1 + 1e-4))
    assert assert_gradients_agree(wrong, X, methods=["manual"], rtol=1e-3).ok
    with pytest.raises(AssertionError):
        assert_gradients_agree(wrong, X, methods=["manual"], rtol=1e-6)


def test_several_points_are_checked_and_numbered():
    report = assert_gradients_agree(rosen, X, methods=["reverse"], points=3, seed=1)
    assert len(report.points) == 3 and {r.point for r in report.rows} == {0, 1, 2}
    assert not np.allclose(report.points[1], report.points[0])
    again = check_methods(rosen, X, methods=["reverse"], points=3, seed=1)
    np.testing.assert_array_equal(again.points[2], report.points[2])


def test_unsupported_method_is_reported_not_failed():
    def branchy(x):
        xp = difflab.namespace(x)
        return xp.sum(x ** 2) if x[0] > 0 else xp.sum(x)

    report = check_methods(branchy, X, methods=["sympy", "reverse"])
    assert report.ok
    assert report.methods[0].status == "unsupported" and "sympy" in report.methods[0].message


def test_bad_input_is_an_input_error():
    with pytest.raises(difflab.InputError, match="unknown method"):
        assert_gradients_agree(rosen, X, methods=["nope"])
    with pytest.raises(difflab.InputError, match="derivative"):
        assert_gradients_agree(rosen, X, derivative="laplacian")
    with pytest.raises(difflab.InputError, match="NaN"):
        assert_gradients_agree(rosen, [1.0, np.nan])
    with pytest.raises(difflab.InputError, match="mpmath"):  # plain NumPy: the oracle cannot run it
        check_gradient(lambda x: np.sum(np.sin(x)), np.cos, X)
    with pytest.raises(difflab.InputError, match="mpmath"):
        check_gradient(lambda x: np.sum(np.sin(x)), np.cos, X, directions=2)


def log_sum(x):
    xp = difflab.namespace(x)
    return xp.sum(xp.log(x))


def sqrt_sum(x):
    xp = difflab.namespace(x)
    return xp.sum(xp.sqrt(x))


@pytest.mark.parametrize("call, message", [
    (lambda: check_methods(log_sum, [-1.0, 2.0], methods=["reverse"]), "not finite"),
    (lambda: check_gradient(log_sum, lambda x: 1 / x, [-1.0, 2.0], directions=2), "not finite"),
    (lambda: check_methods(sqrt_sum, [0.0, 2.0], methods=["reverse"]), "may not exist"),
    (lambda: check_methods(lambda x: None, [1.0, 2.0], methods=["reverse"]), "returned None"),
    (lambda: check_methods(lambda x: x[0] * 1j, [1.0, 2.0], methods=["reverse"]), "complex"),
    (lambda: check_methods(lambda x: "a", [1.0], methods=["reverse"]), "not numbers"),
    (lambda: check_methods(rosen, [[1.0, 2.0]], methods=["reverse"]), "1-D"),
    (lambda: check_methods(rosen, [], methods=["reverse"]), "empty"),
    (lambda: check_methods(ROSEN, X[:3], methods=["reverse"]), "x has 3 value"),
    (lambda: check_methods(rosen, X, methods=["reverse"], rtol=-1.0), "rtol"),
    (lambda: check_gradient(rosen, rosen_grad, X, atol=float("nan")), "atol"),
    (lambda: check_gradient(rosen, rosen_grad, X, atol=float("nan"), directions=2), "atol"),
])
def test_points_without_a_derivative_and_bad_values_are_input_errors(call, message):
    """Before the fix, f = None "agreed" everywhere and a NaN rtol failed every component."""
    with pytest.raises(difflab.InputError, match=message):
        call()


def arcsin_sum(x):
    xp = difflab.namespace(x)
    return xp.sum(xp.arcsin(x))


def test_condition_is_measured_inside_the_domain_next_to_its_edge():
    """x (1 + 1e-7) leaves arcsin's domain at 1 - 1e-8: the tolerance must stay finite."""
    x = np.array([0.5, 1.0 - 1e-8])
    report = check_methods(arcsin_sum, x, methods=["reverse"])
    assert report.ok and all(np.isfinite(r.tolerance) for r in report.rows)
    exact = lambda x: 1.0 / np.sqrt(1.0 - x ** 2)
    assert check_gradient(arcsin_sum, exact, x, directions=2).ok
    assert not check_gradient(arcsin_sum, scaled(exact, 1, 1 + 1e-4), x).ok


# ---------------------------------------------------------------------- float32
def _float32_methods():
    names = ["reverse", "forward"]
    for name in ("torch", "jax", "autograd"):
        if difflab.method_class(name).available():
            names.append(name)
    return names


@pytest.mark.parametrize("f", [rosen, softmax_ce, field], ids=["rosen", "softmax_ce", "field"])
def test_correct_float32_functions_pass(f):
    rng = np.random.default_rng(3)
    derivative = "jacobian" if f is field else "gradient"
    for _ in range(3):
        x = rng.uniform(-1.5, 1.5, 5 if f is not field else 3).astype(np.float32)
        report = assert_gradients_agree(f, x, methods=["reverse", "forward"], derivative=derivative)
        assert all(m.dtype == "float32" for m in report.methods)
        assert report.max_rel_error > 1e-9  # really computed in float32


@pytest.mark.slow
@pytest.mark.parametrize("f", [rosen, softmax_ce], ids=["rosen", "softmax_ce"])
def test_correct_float32_functions_pass_in_every_framework(f):
    x = np.random.default_rng(4).uniform(-1.5, 1.5, 5).astype(np.float32)
    assert assert_gradients_agree(f, x, methods=_float32_methods()).ok


def test_float32_user_gradient_is_judged_in_float32():
    x = X.astype(np.float32)
    report = check_gradient(rosen, lambda x: rosen_grad(np.asarray(x, dtype=np.float32)), x)
    assert report.ok and report.methods[0].dtype == "float32"
    # the same numbers claimed as float64 are far off
    claimed64 = check_gradient(rosen, lambda x: rosen_grad(np.float32(x)).astype(float), X)
    assert not claimed64.ok


def test_a_1e4_relative_bug_fails_in_float64():
    for index in range(X.size):
        assert not check_gradient(rosen, scaled(rosen_grad, index, 1 + 1e-4), X).ok


# ---------------------------------------------------------------------- the user's own derivative
def test_check_gradient_report():
    good = check_gradient(rosen, rosen_grad, X)
    assert good.ok and good.max_abs_error < 1e-12 and len(good.rows) == X.size
    bad = check_gradient(rosen, scaled(rosen_grad, 3, 1 + 1e-4), X)
    assert not bad.ok
    assert bad.worst_index == (3,)
    assert bad.max_rel_error == pytest.approx(1e-4, rel=1e-6)
    assert [r.index for r in bad.failures] == [(3,)]
    assert "rosen_grad" not in str(bad) and "wrong" in str(bad)  # named after the user's function


def test_missing_term_is_caught():
    report = check_gradient(rosen, rosen_grad_missing_term, X)
    assert not report.ok
    assert {r.index for r in report.failures} == {(i,) for i in range(X.size - 1)}


def test_transposed_jacobian_is_caught():
    assert check_jacobian(field, field_jac, X[:3]).ok
    transposed = check_jacobian(field, lambda x: field_jac(x).T, X[:3])
    assert not transposed.ok
    assert "transposed" in transposed.methods[0].message

    def square(x):
        xp = difflab.namespace(x)
        return xp.stack([x[0] * x[1], x[1] ** 3])

    square_jac = lambda x: np.array([[x[1], x[0]], [0.0, 3 * x[1] ** 2]])
    assert check_jacobian(square, square_jac, [0.5, 2.0]).ok
    report = check_jacobian(square, lambda x: square_jac(x).T, [0.5, 2.0])
    assert {r.index for r in report.failures} == {(0, 1), (1, 0)}


def test_hessian_check():
    assert check_hessian(rosen, rosen_hess, X).ok
    report = check_hessian(rosen, scaled(rosen_hess, (1, 1), 1 + 1e-4), X)
    assert [r.index for r in report.failures] == [(1, 1)]


def test_a_gradient_that_raises_propagates_a_method_that_raises_is_a_row():
    def broken(x):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        check_gradient(rosen, broken, X)

    def value_error(x):
        raise ValueError("my own bug")

    for x in (X, X.astype(np.float32)):  # float32: no dtype probe call before the check
        with pytest.raises(ValueError, match="my own bug"):
            check_gradient(rosen, value_error, x)
        with pytest.raises(ValueError, match="my own bug"):
            check_gradient(rosen, value_error, x, directions=2)
    report = check_methods(difflab.Function(rosen, gradient=broken), X, methods=["manual", "reverse"])
    assert not report.ok and report.methods[0].status == "error"
    assert "RuntimeError: boom" in str(report)


# ---------------------------------------------------------------------- random directions
def big(x):
    xp = difflab.namespace(x)
    return xp.sum(xp.sin(x) * x[::-1]) + 0.5 * xp.sum(x ** 2) ** 2


def big_grad(x):
    return np.cos(x) * x[::-1] + np.sin(x[::-1]) + 2.0 * np.sum(x ** 2) * x


def test_random_directions_for_large_n():
    x = np.random.default_rng(0).standard_normal(300)
    good = check_gradient(big, big_grad, x, directions=4)
    assert good.ok and len(good.rows) == 4 and good.rows[0].index == ("dir", 0)
    for index in (0, 137, 299):  # one component in 300 off by 1e-4 shows in every direction
        bad = check_gradient(big, scaled(big_grad, index, 1 + 1e-4), x, directions=2)
        assert not bad.ok and len(bad.failures) == 2


def test_random_directions_in_float32():
    seen = []

    def grad32(x):
        seen.append(np.asarray(x).dtype)
        return rosen_grad(np.asarray(x, dtype=np.float32))

    report = check_gradient(rosen, grad32, X.astype(np.float32), directions=3)
    assert report.ok and report.methods[0].dtype == "float32"
    assert set(seen) == {np.dtype(np.float32)}  # the user's function sees the float32 point
    # float32 output, float64 point: judged in float32 (was float64, from u and v)
    assert check_gradient(rosen, grad32, X, directions=3).methods[0].dtype == "float32"
    assert not check_gradient(rosen, lambda x: rosen_grad(np.float32(x)).astype(float), X,
                              directions=3).ok
    assert not check_gradient(rosen, scaled(rosen_grad, 1, 1 + 1e-3), X.astype(np.float32),
                              directions=3).ok


@pytest.mark.parametrize("grad, message", [
    (lambda x: None, "returned None"),
    (lambda x: "abc", "not an array of numbers"),
    (lambda x: np.ones(4), "returned shape (4,), expected (5,)"),
])
def test_random_directions_bad_output_is_an_error_row(grad, message):
    report = check_gradient(rosen, grad, X, directions=2)
    assert not report.ok and report.methods[0].status == "error"
    assert message in report.methods[0].message


def test_directional_jacobian_hessian_jvp_vjp():
    x = X[:3]
    assert check_jacobian(field, field_jac, x, directions=3).ok
    assert not check_jacobian(field, lambda x: field_jac(x) * [[1, 1, 1], [1, 1 + 1e-4, 1]], x,
                              directions=3).ok
    assert check_hessian(rosen, rosen_hess, X, directions=3).ok
    assert not check_hessian(rosen, scaled(rosen_hess, (0, 1), 1 + 1e-4), X, directions=3).ok
    jvp = lambda x, v: field_jac(x) @ v
    vjp = lambda x, u: u @ field_jac(x)
    assert check_jvp(field, jvp, x).ok and check_vjp(field, vjp, x).ok
    assert not check_jvp(field, lambda x, v: field_jac(x).T[:2] @ v[:2], x).ok
    assert not check_vjp(field, lambda x, u: 1.001 * (u @ field_jac(x)), x).ok


# ---------------------------------------------------------------------- kinks
def relu_abs(x):
    xp = difflab.namespace(x)
    return xp.sum(xp.maximum(x, 0.0)) + xp.abs(x[1])


def test_relu_and_abs_at_zero_are_reported_as_kinks():
    x = np.array([0.0, 0.0, 1.0])
    with pytest.warns(KinkWarning, match="kink"):
        report = assert_gradients_agree(relu_abs, x, methods=["fd-forward", "reverse"])
    assert report.ok
    sides = {(r.method, r.index): (r.left, r.right) for r in report.kinks}
    assert sides == {("fd-forward", (0,)): (0.0, 1.0), ("fd-forward", (1,)): (-1.0, 2.0)}


def test_user_gradient_at_a_kink_between_the_sides_passes_outside_fails():
    x = np.array([0.0, 0.0, 1.0])
    between = lambda x: np.array([0.25, 1.5, 1.0])   # d/dx0 in [0, 1]; d/dx1 in [-1, 2]
    with pytest.warns(KinkWarning, match="kink at"):
        report = check_gradient(relu_abs, between, x)
    assert report.ok and {r.index for r in report.kinks} == {(0,), (1,)}
    row = next(r for r in report.kinks if r.index == (1,))
    assert (row.left, row.right) == (-1.0, 2.0)
    outside = check_gradient(relu_abs, lambda x: np.array([3.0, 0.5, 1.0]), x, kinks="ignore")
    assert not outside.ok
    assert outside.failures[0].index == (0,) and outside.failures[0].left == 0.0
    assert "left 0, right 1" in str(outside)
    with pytest.raises(AssertionError, match="kink"):
        assert_gradients_agree(relu_abs, x, methods=["fd-forward"], kinks="fail")


def test_smooth_function_has_no_kink_even_where_the_gradient_vanishes():
    from difflab.analysis.kinks import one_sided

    sides = one_sided(lambda x: (x ** 2).sum(), np.zeros(2), np.array([1.0, 0.0]))
    assert not sides.kink and abs(sides.left) < 1e-20
    sides = one_sided(lambda x: abs(x[0]) * x[0], np.zeros(1), np.ones(1), second=np.ones(1))
    assert sides.kink and (sides.left, sides.right) == pytest.approx((-2.0, 2.0))


def test_report_to_dict_is_json():
    import json

    report = check_gradient(rosen, scaled(rosen_grad, 0, 2.0), X)
    document = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert document["ok"] is False and document["worst_index"] == [0]
    assert document["failures"][0]["index"] == [0]
