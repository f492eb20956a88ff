"""difflab.solvers: each claim checked against a closed form or an independent peer
(NumPy's lstsq, SciPy), never against the solver itself."""
from __future__ import annotations

import numpy as np
import pytest

import difflab
from difflab import solvers
from difflab.interface.differentiator import Differentiator
from difflab.solvers import compare
from difflab.solvers.problems import expfit, linreg, mse_rows, rosenbrock, worked_example

#: The exact methods the issue names, and two framework peers; each test runs on those that load here.
EXACT = ["reverse", "forward", "sympy", "autograd", "torch"]


def method(name):
    """``name`` if its module loads and its library is installed, else skip (saying why)."""
    try:
        cls = difflab.method_class(name)
    except ImportError as exc:
        pytest.skip(f"method {name!r} is not importable yet: {exc}")
    ok, why = cls.availability()
    if not ok:
        pytest.skip(f"method {name!r}: {why}")
    return name


def relative(x, ref):
    return np.linalg.norm(np.asarray(x) - ref) / np.linalg.norm(ref)


# --------------------------------------------------------------------------- the seeds' example
def test_worked_example_constant_rate_matches_closed_form():
    # w_{k+1} = w_k - 0.2 * 2 (w_k + 1)  =>  w_k = -1 + 6 * 0.6^k: 5, 2.6, 1.16, 0.296, ...
    res = solvers.gradient_descent(worked_example().f, [5.0], "manual", learning_rate=0.2, max_iter=8)
    k = np.arange(9)
    np.testing.assert_allclose(res.history["x"][:, 0], -1.0 + 6.0 * 0.6 ** k, rtol=0, atol=1e-14)
    np.testing.assert_allclose(res.history["x"][:4, 0], [5.0, 2.6, 1.16, 0.296], atol=1e-14)
    assert not res.success and "max_iter" in res.message


def test_worked_example_exponential_decay_matches_closed_form():
    # lr_k = 0.2 * 0.99^k  =>  w_k = -1 + 6 * prod_{j<k} (1 - 0.4 * 0.99^j): 5, 2.6, 1.1744, 0.321948...
    schedule = solvers.exponential_decay(0.2, 0.99)
    res = solvers.gradient_descent(worked_example().f, [5.0], "manual", learning_rate=0.2,
                                   schedule=schedule, max_iter=8)
    factors = np.concatenate([[1.0], np.cumprod(1.0 - 0.4 * 0.99 ** np.arange(8))])
    np.testing.assert_allclose(res.history["x"][:, 0], -1.0 + 6.0 * factors, atol=1e-14)
    np.testing.assert_allclose(res.history["x"][:4, 0], [5.0, 2.6, 1.1744, 0.321948], atol=1e-6)


def test_counts_are_honest_for_gradient_descent():
    res = solvers.gradient_descent(worked_example().f, [5.0], "manual", learning_rate=0.2, max_iter=5)
    # x0..x5: six values for the history, six gradients (the last one to test convergence)
    assert (res.nit, res.nfev, res.njev, res.nhev) == (5, 6, 6, 0)


def test_momentum_follows_the_heavy_ball_recursion():
    # v1 = -0.2 * 12 = -2.4, x1 = 2.6; v2 = 0.5 * -2.4 - 0.2 * 7.2 = -2.64, x2 = -0.04
    res = solvers.gradient_descent(worked_example().f, [5.0], "manual", learning_rate=0.2, momentum=0.5,
                                   max_iter=2)
    np.testing.assert_allclose(res.history["x"][:, 0], [5.0, 2.6, -0.04], atol=1e-14)


def test_schedules():
    assert solvers.step_decay(0.1, factor=0.5, every=10)(25) == pytest.approx(0.025)
    assert solvers.inverse_time_decay(0.1, rate=0.5)(2) == pytest.approx(0.05)
    assert solvers.constant(0.3)(1000) == 0.3
    with pytest.raises(difflab.InputError, match="unknown schedule"):
        solvers.gradient_descent(worked_example().f, [5.0], "manual", schedule="cosine")


# --------------------------------------------------------------------------- least squares
@pytest.mark.parametrize("how", ["svd", "qr", "normal"])
def test_least_squares_matches_numpy_lstsq(how):
    A, y = linreg().data
    res = solvers.least_squares(A, y, method=how)
    assert res.success
    assert relative(res.x, np.linalg.lstsq(A, y, rcond=None)[0]) < 1e-12


def test_least_squares_reports_conditioning_of_the_normal_equations():
    A, y = linreg(standardize=False).data
    res = solvers.least_squares(A, y, method="normal")
    s = np.linalg.svd(A, compute_uv=False)
    assert res.info["cond"] == pytest.approx(s[0] / s[-1], rel=1e-10)
    assert res.info["cond_normal"] == pytest.approx(res.info["cond"] ** 2, rel=1e-3)
    assert "cond(A^T A)" in res.message


def test_rank_deficient_least_squares_refuses_rather_than_guesses():
    A = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    b = np.array([1.0, 2.0, 3.0])
    qr = solvers.least_squares(A, b, method="qr")
    assert not qr.success and np.all(np.isnan(qr.x)) and "rank 1" in qr.message
    svd = solvers.least_squares(A, b, method="svd")
    assert svd.success and "minimum-norm" in svd.message
    np.testing.assert_allclose(A @ svd.x, b, atol=1e-12)


@pytest.mark.parametrize("A, b, words", [
    (np.ones((3, 2)), np.ones(4), "rows"),
    (np.ones(3), np.ones(3), "2-D"),
    (np.ones((2, 3)), np.ones(2), "at least as many rows"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones(2), "finite"),
])
def test_least_squares_bad_shapes(A, b, words):
    with pytest.raises(difflab.InputError, match=words):
        solvers.least_squares(A, b)


# --------------------------------------------------------------------------- brazing regression
@pytest.mark.parametrize("name", EXACT)
def test_gradient_descent_on_standardised_brazing_reaches_lstsq(name):
    problem = linreg(standardize=True)
    A, y = problem.data
    res = solvers.gradient_descent(problem.f, problem.x0, method(name), learning_rate=0.5, tol=1e-9)
    assert res.success, res.message
    assert relative(res.x, np.linalg.lstsq(A, y, rcond=None)[0]) < 1e-6


@pytest.mark.parametrize("name", EXACT)
def test_newton_takes_one_step_on_the_brazing_quadratic(name):
    problem = linreg(standardize=True)
    A, y = problem.data
    res = solvers.newton(problem.f, problem.x0, method(name))
    assert res.success, res.message
    assert (res.nit, res.nhev) == (1, 1)
    assert relative(res.x, np.linalg.lstsq(A, y, rcond=None)[0]) < 1e-12


def test_raw_brazing_makes_gradient_descent_crawl():
    problem = linreg(standardize=False)
    A, y = problem.data
    x_ls = np.linalg.lstsq(A, y, rcond=None)[0]
    res = solvers.gradient_descent(problem.f, problem.x0, "manual", learning_rate=problem.learning_rate,
                                   max_iter=3000)
    assert not res.success and "max_iter" in res.message
    assert relative(res.x, x_ls) > 0.1  # still far away after 3000 steps
    assert problem.info["cond_hessian"] > 1e8
    note = compare.crawl_note(problem, [compare.Record("gd", "gd", False, res, None, None)])
    assert "condition number 2.68e+09" in note and "crawls" in note
    # ... while Newton, with the same derivatives, needs one step.
    assert solvers.newton(problem.f, problem.x0, "manual").nit == 1


# --------------------------------------------------------------------------- newton
@pytest.mark.parametrize("name", EXACT)
def test_newton_solves_rosenbrock_from_the_classic_start(name):
    problem = rosenbrock()
    res = solvers.newton(problem.f, [-1.2, 1.0], method(name))
    assert res.success, res.message
    assert np.max(np.abs(res.x - 1.0)) < 1e-8
    assert res.nhev == res.nit and res.njev == res.nit + 1


def test_newton_modifies_an_indefinite_hessian_and_still_descends():
    # f = x^4 - x^2 + y^2 has f_xx = 12x^2 - 2 < 0 at x = 0.1: the pure Newton step heads for
    # the saddle at 0; the shifted Hessian turns it downhill, to a minimum at x = +-1/sqrt(2).
    f = difflab.Function(lambda v: v[0] ** 4 - v[0] ** 2 + v[1] ** 2, name="double well",
                         gradient=lambda v: np.array([4 * v[0] ** 3 - 2 * v[0], 2 * v[1]]),
                         hessian=lambda v: np.array([[12 * v[0] ** 2 - 2, 0.0], [0.0, 2.0]]))
    res = solvers.newton(f, [0.1, 1.0], "manual")
    assert res.success and res.info["modified_steps"] >= 1
    np.testing.assert_allclose(np.abs(res.x), [2 ** -0.5, 0.0], atol=1e-10)
    assert np.all(np.diff(res.history["fun"]) < 0)


def test_newton_says_when_it_stopped_at_a_saddle():
    # f = x^2 - y^2 from (1, 0): every (shifted) step goes downhill along y = 0, into the saddle
    res = solvers.newton(lambda v: v[0] ** 2 - v[1] ** 2, [1.0, 0.0], "reverse")
    assert np.allclose(res.x, 0.0, atol=1e-8)
    assert "saddle point" in res.message and res.info["last_hessian_shift"] > 0
    ok = solvers.newton(rosenbrock().f, [-1.2, 1.0], "manual")
    assert "saddle" not in ok.message and ok.info["last_hessian_shift"] == 0


def test_newton_non_convergence_is_reported_not_raised():
    res = solvers.newton(rosenbrock().f, [-1.2, 1.0], "manual", max_iter=3)
    assert not res.success and "max_iter (3)" in res.message and res.nit == 3


# --------------------------------------------------------------------------- newton_root
def test_newton_root_scalar_simple_root_is_quadratic():
    res = solvers.newton_root(lambda x: x ** 2 - 2.0, 1.0, "forward")
    assert res.success and isinstance(res.x, float)
    assert res.x == pytest.approx(np.sqrt(2.0), abs=1e-15)


def test_newton_root_double_root_converges_linearly_and_says_so():
    g = difflab.Function(lambda x: (x - 1.0) ** 2, name="(x-1)^2", jacobian=lambda x: np.array([[2 * (x[0] - 1.0)]]))
    res = solvers.newton_root(g, 2.0, "manual")
    assert res.success
    assert res.info["convergence"] == "linear"
    assert res.info["ratio"] == pytest.approx(0.5, abs=1e-6)  # e_{k+1} = e_k / 2 exactly
    assert res.info["multiplicity"] == pytest.approx(2.0, abs=1e-4)
    assert "linearly" in res.message and "multiplicity about 2.0" in res.message
    assert "|g|^(1/2)" in res.message
    assert abs(res.x - 1.0) < 1e-5  # a double root is only accurate to sqrt(tol)


def test_newton_root_triple_root_reports_the_cube_root_accuracy():
    res = solvers.newton_root(lambda x: (x - 1.0) ** 3, 3.0, "forward", tol=1e-15)
    assert res.success and res.info["convergence"] == "linear"
    assert res.info["ratio"] == pytest.approx(2.0 / 3.0, abs=1e-6)
    assert "multiplicity about 3.0" in res.message and "|g|^(1/3)" in res.message
    assert 1e-7 < abs(res.x - 1.0) < 1e-4  # the cube root of the residual, not the residual


def test_newton_root_vector_system():
    # x^2 + y^2 = 4 and x = y: the root (sqrt 2, sqrt 2)
    g = difflab.Function(lambda v: np.array([v[0] ** 2 + v[1] ** 2 - 4.0, v[0] - v[1]]), name="circle",
                         jacobian=lambda v: np.array([[2 * v[0], 2 * v[1]], [1.0, -1.0]]))
    res = solvers.newton_root(g, [1.0, 2.0], "manual")
    assert res.success and res.info["convergence"] in ("quadratic", "too few steps to tell")
    np.testing.assert_allclose(res.x, [np.sqrt(2.0)] * 2, atol=1e-14)


def test_newton_root_wants_a_square_system():
    g = difflab.Function(lambda v: np.array([v[0], v[0], v[0]]), jacobian=lambda v: np.ones((3, 1)))
    with pytest.raises(difflab.InputError, match="as many equations as unknowns"):
        solvers.newton_root(g, [1.0], "manual")


# --------------------------------------------------------------------------- gauss-newton
def scipy_expfit():
    """SciPy's tightly converged exponential fit, with the Jacobian written out here."""
    from scipy.optimize import least_squares as scipy_lsq

    t, y = expfit().data
    return scipy_lsq(lambda p: p[0] * np.exp(p[1] * t) - y, expfit().x0,
                     jac=lambda p: np.column_stack([np.exp(p[1] * t), p[0] * t * np.exp(p[1] * t)]),
                     xtol=1e-15, ftol=1e-15, gtol=1e-15)


@pytest.mark.parametrize("damping", [None, True])
def test_gauss_newton_matches_scipy_least_squares(damping):
    problem = expfit()
    peer = scipy_expfit()
    res = solvers.gauss_newton(problem.f, problem.x0, "manual", damping=damping)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, peer.x, rtol=0, atol=1e-8)
    assert res.fun == pytest.approx(peer.cost, rel=1e-12)
    # SciPy promises the solution and its cost, not an iteration count. What difflab's own
    # counts promise: one Jacobian at x0 and one after each accepted step, none for a step
    # Levenberg-Marquardt rejects (a rejected step still counts as an iteration).
    assert res.nhev == 0 and 1 <= res.njev <= res.nit + 1
    if damping is None:
        assert res.njev == res.nit + 1


@pytest.mark.parametrize("name", EXACT)
def test_gauss_newton_with_each_exact_method(name):
    problem = expfit()
    res = solvers.gauss_newton(problem.f, problem.x0, method(name), damping=True)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, scipy_expfit().x, rtol=0, atol=1e-8)


def test_levenberg_marquardt_survives_a_start_where_gauss_newton_needs_care():
    problem = expfit()
    res = solvers.gauss_newton(problem.f, [5.0, 1.0], "manual", damping=True)
    assert res.success and np.allclose(res.x, scipy_expfit().x, rtol=0, atol=1e-8)
    # rejected trial steps count as iterations and keep x: one history row per iteration
    assert res.nfev > res.njev and len(res.history["x"]) == res.nit + 1


def test_the_expfit_reference_is_scipy_with_an_exact_jacobian():
    # a finite-difference Jacobian would leave the reference ~1e-10 off: the distances would
    # then measure the reference's error, not the solvers'
    ref = compare.reference(expfit())
    np.testing.assert_allclose(ref, scipy_expfit().x, rtol=0, atol=1e-13)


# --------------------------------------------------------------------------- data-driven descent
def test_batch_mode_is_plain_gradient_descent():
    problem = linreg()
    A, y = problem.data
    batch = solvers.data_gradient_descent(mse_rows, (A, y), problem.x0, "forward", learning_rate=0.3,
                                          epochs=20)
    plain = solvers.gradient_descent(problem.f, problem.x0, "forward", learning_rate=0.3, max_iter=20)
    np.testing.assert_allclose(batch.history["x"], plain.history["x"], rtol=1e-7)
    assert batch.success and batch.info["sample_gradients"] == 0


@pytest.mark.parametrize("batch_size, lr", [(1, 0.05), (9, 0.1)])
def test_stochastic_and_mini_batch_descent_approach_lstsq_and_are_seeded(batch_size, lr):
    problem = linreg()
    A, y = problem.data
    x_ls = np.linalg.lstsq(A, y, rcond=None)[0]
    kwargs = dict(learning_rate=lr, epochs=100, batch_size=batch_size, seed=3,
                  schedule=solvers.inverse_time_decay(lr, 0.05))
    a = solvers.data_gradient_descent(mse_rows, (A, y), problem.x0, "forward", **kwargs)
    b = solvers.data_gradient_descent(mse_rows, (A, y), problem.x0, "forward", **kwargs)
    np.testing.assert_array_equal(a.x, b.x)
    assert relative(a.x, x_ls) < 1e-3
    assert a.info["sample_gradients"] == 100 * 27  # every sample once per epoch
    assert a.njev == a.info["sample_gradients"]  # no tolerance: no full gradients


def test_data_descent_rejects_bad_data():
    with pytest.raises(difflab.InputError, match="same"):
        solvers.data_gradient_descent(mse_rows, (np.ones((3, 2)), np.ones(4)), [0.0, 0.0], "forward")
    with pytest.raises(difflab.InputError, match="batch_size"):
        solvers.data_gradient_descent(mse_rows, (np.ones((3, 2)), np.ones(3)), [0.0, 0.0], "forward",
                                      batch_size=5)


# --------------------------------------------------------------------------- peers
@pytest.mark.parametrize("peer", ["BFGS", "Newton-CG"])
def test_scipy_peers_get_the_same_derivatives(peer):
    res = solvers.scipy_minimize(rosenbrock().f, [-1.2, 1.0], peer, "manual", tol=1e-10)
    assert res.success and np.allclose(res.x, 1.0, atol=1e-6)
    # difflab's own counts of the calls SciPy made agree with SciPy's
    assert (res.nfev, res.njev) == (res.info["scipy_nfev"], res.info["scipy_njev"])
    assert res.nhev == (res.info["scipy_nhev"] if peer == "Newton-CG" else 0)
    assert len(res.history["x"]) == res.nit + 1


def test_scipy_least_squares_peer_counts_and_history():
    problem = expfit()
    res = solvers.scipy_least_squares(problem.f, problem.x0, "manual")
    assert res.success
    np.testing.assert_allclose(res.x, scipy_expfit().x, rtol=0, atol=1e-9)
    assert (res.nfev, res.njev) == (res.info["scipy_nfev"], res.info["scipy_njev"])
    np.testing.assert_array_equal(res.history["x"][0], problem.x0)
    np.testing.assert_array_equal(res.history["x"][-1], res.x)


# --------------------------------------------------------------------------- bad input
class GradientOnly(Differentiator):
    """A method with gradients and no way to a Hessian."""

    name, family = "gradient-only", "manual"
    native = frozenset({"gradient"})

    def _build(self, kind, function, x):
        return function.gradient


def test_a_differentiator_without_hessians_is_named_in_the_error():
    f = rosenbrock().f
    with pytest.raises(difflab.InputError, match="newton needs the hessian.*'gradient-only'"):
        solvers.newton(f, [-1.2, 1.0], GradientOnly())
    # a Differentiator instance works wherever a name does
    assert solvers.gradient_descent(f, [-1.2, 1.0], GradientOnly(), learning_rate=1e-3, max_iter=2).nit == 2


def test_manual_without_a_hand_written_hessian():
    f = difflab.Function(lambda x: x[0] ** 2, name="f", gradient=lambda x: 2.0 * x)
    with pytest.raises(difflab.InputError, match="newton needs the hessian of f.*'manual' cannot give it"):
        solvers.newton(f, [1.0], "manual")
    assert solvers.gradient_descent(f, [1.0], "manual", learning_rate=0.5).x == pytest.approx([0.0])


@pytest.mark.parametrize("solve", [
    lambda p: solvers.newton(p.f, np.zeros(3), "reverse"),
    lambda p: solvers.gradient_descent(p.f, np.zeros(3), "manual"),
    lambda p: solvers.scipy_minimize(p.f, np.zeros(3), "BFGS", "reverse"),
    lambda p: solvers.data_gradient_descent(mse_rows, p.data, np.zeros(3), "reverse"),
])
def test_a_start_of_the_wrong_size_is_one_clear_error(solve):
    with pytest.raises(difflab.InputError, match=r"cannot be evaluated at x0 \(size 3.*size 3 is different from 5"):
        solve(linreg())


@pytest.mark.parametrize("x0, words", [([np.nan, 1.0], "finite"), ([[1.0, 2.0]], "1-D"),
                                       ([], "non-empty"), (["a"], "numbers")])
def test_bad_starts(x0, words):
    with pytest.raises(difflab.InputError, match=words):
        solvers.newton(rosenbrock().f, x0, "manual")


@pytest.mark.parametrize("kwargs, words", [(dict(learning_rate=-1.0), "learning_rate"),
                                           (dict(momentum=1.0), "momentum"),
                                           (dict(momentum="fast"), "momentum must be a number"),
                                           (dict(max_iter=2.5), "max_iter"),
                                           (dict(differentiator="no-such-method"), "unknown method"),
                                           (dict(differentiator=3), "registry name")])
def test_bad_options(kwargs, words):
    with pytest.raises(difflab.InputError, match=words):
        solvers.gradient_descent(rosenbrock().f, [0.0, 0.0], **{"differentiator": "manual", **kwargs})


def test_vector_valued_objective_is_refused():
    f = difflab.Function(lambda x: x * 2.0, gradient=lambda x: x)
    with pytest.raises(difflab.InputError, match="must return a scalar"):
        solvers.gradient_descent(f, [1.0, 2.0], "manual")


def test_divergence_is_success_false_not_an_exception():
    res = solvers.gradient_descent(worked_example().f, [5.0], "manual", learning_rate=1.5, max_iter=5000)
    assert not res.success and "diverged" in res.message


def test_result_reads_like_scipy():
    res = solvers.newton(worked_example().f, [5.0], "manual")
    assert res["x"] is res.x and "nhev" in res.keys()
    d = res.to_dict()
    assert d["x"] == pytest.approx([-1.0], abs=1e-14) and d["history"]["x"][0] == [5.0]

