"""The graph-symbolic methods, pytensor and casadi (SX and MX): derivatives against closed
forms (SciPy's Rosenbrock), ``where`` as a graph node, refusals of control flow on values,
options, ``describe()``, closure snapshots and calls from 8 threads at once.

The registry-wide tests (interface, boundary, agreement, dtype, ops conformance, compare)
pick both methods up from the registry; this file checks what is particular to them.
"""
from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der, rosen_hess

import difflab

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # PyTensor's Rop notice

CASES = [("casadi", {}), ("casadi", {"graph": "mx"}), ("pytensor", {})]
IDS = ["casadi-sx", "casadi-mx", "pytensor"]


def _get(case, **more):
    name, options = case
    if not difflab.method_class(name).available():
        pytest.skip(f"{name} is not installed")
    return difflab.get(name, **options, **more)


def rosenbrock(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


X = np.array([0.3, -0.7, 1.1, 0.4, -0.2])
V = np.array([1.0, -2.0, 0.5, 0.25, 3.0])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_kind_of_rosenbrock_matches_scipy(case):
    d = _get(case)
    H = rosen_hess(X)
    value, grad = d.value_and_gradient(rosenbrock)(X)
    assert value == pytest.approx(rosen(X), rel=1e-15)
    np.testing.assert_allclose(grad, rosen_der(X), rtol=1e-14, atol=1e-12)
    np.testing.assert_allclose(d.gradient(rosenbrock)(X), rosen_der(X), rtol=1e-14, atol=1e-12)
    np.testing.assert_allclose(d.hessian(rosenbrock)(X), H, rtol=1e-14, atol=1e-12)
    np.testing.assert_allclose(d.hvp(rosenbrock)(X, V), H @ V, rtol=1e-13, atol=1e-11)
    np.testing.assert_allclose(d.jacobian(rosenbrock)(X), rosen_der(X)[None, :], rtol=1e-14, atol=1e-12)
    np.testing.assert_allclose(d.jvp(rosenbrock)(X, V), [rosen_der(X) @ V], rtol=1e-13)
    np.testing.assert_allclose(d.vjp(rosenbrock)(X, np.array(2.0)), 2 * rosen_der(X), rtol=1e-14, atol=1e-12)
    assert all(d.how(kind).startswith("native") for kind in difflab.KINDS)


def vector_where(x):
    """|x| by where, times x0: a vector function with a selection node."""
    xp = difflab.namespace(x)
    return xp.where(x > 0.0, x, -x) * x[0]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_where_is_a_graph_node_and_differentiates(case):
    J = difflab.get(case[0], **case[1]).jacobian(vector_where)(X) if difflab.method_class(
        case[0]).available() else pytest.skip("not installed")
    want = np.diag(np.sign(X) * X[0])
    want[:, 0] += np.abs(X)
    np.testing.assert_allclose(J, want, rtol=1e-15)


def branching(x):
    xp = difflab.namespace(x)
    if x[0] > 0:
        return xp.sum(x ** 2)
    return xp.sum(x ** 3)


def equality(x):
    """PyTensor's own == is identity (False for every x): must not pick the second branch."""
    xp = difflab.namespace(x)
    if x[0] == 0:
        return xp.sum(x)
    return xp.sum(x ** 2)


@pytest.mark.parametrize("f", [branching, equality])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_control_flow_on_a_value_is_refused_naming_where(case, f):
    d = _get(case)
    with pytest.raises(difflab.NotSupported, match="data-dependent control flow.*xp.where"):
        d.gradient(f)(X)


def test_options_are_checked():
    with pytest.raises(difflab.InputError, match="graph must be 'sx' or 'mx'"):
        difflab.get("casadi", graph="tree")
    with pytest.raises(difflab.InputError, match="mode must be one of"):
        difflab.get("pytensor", mode="FASTEST")
    assert difflab.get("casadi").family == difflab.get("pytensor").family == "symbolic"


@pytest.mark.parametrize("graph", ["sx", "mx"])
def test_casadi_describes_its_graph_and_node_counts(graph):
    d = _get(("casadi", {"graph": graph}))
    d.gradient(rosenbrock)(X)
    d.hessian(rosenbrock)(X)
    graph_info = d.describe()["graph"]
    assert graph_info["type"] == graph.upper()
    counts = graph_info["n_nodes"]
    assert set(counts) == {"rosenbrock value_and_gradient n=5", "rosenbrock hessian n=5"}
    assert all(isinstance(c, int) and c > 10 for c in counts.values())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_changed_closure_data_is_seen(case):
    d = _get(case)
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])

    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.asarray(w) * x ** 2)

    g = d.gradient(f)
    np.testing.assert_allclose(g(X), 2 * w * X, rtol=1e-15)
    w[2] = -7.0
    np.testing.assert_allclose(g(X), 2 * w * X, rtol=1e-15)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_one_derivative_called_from_8_threads_gives_the_answers_of_one(case):
    """A compiled PyTensor function owns its input and output storage, and a CasADi Function
    its work memory: shared by 8 threads, every answer is still the one-thread answer."""
    d = _get(case)
    g, hvp = d.gradient(rosenbrock), d.hvp(rosenbrock)
    rng = np.random.default_rng(0)
    points = [rng.uniform(-1.5, 1.5, X.size) for _ in range(16)]
    want = [(g(x), hvp(x, V)) for x in points]
    for x, (grad, _) in zip(points, want):
        np.testing.assert_allclose(grad, rosen_der(x), rtol=1e-13, atol=1e-11)
    barrier, bad = threading.Barrier(8), []

    def work(t):
        barrier.wait()
        for k in range(60):
            i = (t * 7 + k) % len(points)
            if not (np.array_equal(g(points[i]), want[i][0])
                    and np.array_equal(hvp(points[i], V), want[i][1])):
                bad.append((t, k))

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
    finally:
        sys.setswitchinterval(previous)
    assert bad == []


@pytest.mark.parametrize("case", [*CASES[:2], pytest.param(CASES[2], marks=pytest.mark.slow)], ids=IDS)
def test_fresh_derivatives_first_called_in_8_threads(case):
    """8 functions whose tracing and compilation race: each gets its own right answer
    (pytensor's 8 C compilations under -m slow)."""
    d = _get(case)
    x = np.linspace(-1.0, 1.0, 4)
    made = [(lambda c: lambda y: difflab.namespace(y).sum(c * difflab.namespace(y).sin(y)))(t + 1.0)
            for t in range(8)]
    barrier, out = threading.Barrier(8), [None] * 8

    def work(t):
        barrier.wait()
        out[t] = d.gradient(made[t])(x)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    for t in range(8):
        np.testing.assert_allclose(out[t], (t + 1.0) * np.cos(x), rtol=1e-15)


def test_casadi_float32_rounds_its_double_results():
    out = _get(("casadi", {}), dtype="float32").gradient(rosenbrock)(X)
    assert out.dtype == np.float32
    x32 = X.astype(np.float32).astype(np.float64)  # the float32 point, in double precision
    np.testing.assert_allclose(out, rosen_der(x32).astype(np.float32), rtol=2e-7)  # one rounding


def test_pytensor_computes_in_float32():
    """Python floats and closed-over data enter the graph as float32: the graph stays float32."""
    d = _get(("pytensor", {}), dtype="float32")
    g = d.value_and_gradient(rosenbrock)
    value, grad = g(X)
    assert type(value) is np.float32 and grad.dtype == np.float32
    compiled = g._evaluators[X.shape].compiled
    assert {v.dtype for v in compiled.maker.fgraph.variables if hasattr(v, "dtype")
            and str(v.dtype).startswith("float")} == {"float32"}


# ---------------------------------------------------------------------- the fuzz campaign
def _campaign(methods, cases):
    from difflab.fuzz import run
    from difflab.fuzz.report import Campaign

    spec = run.Spec(2026, cases, methods, ("gradient", "hessian"), chunk=cases)
    campaign = Campaign(spec)
    campaign.add(run.run_local(spec))
    rows = campaign.summary()
    assert rows and all(r["agree"] > 0 for r in rows), rows
    for row in rows:  # refusals (control flow on values) are honest; nothing else may go wrong
        assert row["disagree"] == row["crashed"] == row["timeout"] == 0, row


def test_casadi_on_the_ci_campaigns_first_60_cases():
    """CasADi (SX), gradient and Hessian, against the oracle (measured: 44 of 53
    scalar programs agree, 9 refused for control flow on values, nothing else)."""
    _get(("casadi", {}))
    _campaign(("casadi",), 60)


@pytest.mark.slow
def test_pytensor_on_the_ci_campaigns_first_20_cases():
    """PyTensor compiles every program (seconds each): 20 cases, under -m slow."""
    _get(("pytensor", {}))
    _campaign(("pytensor",), 20)


# ---------------------------------------------------------------------- without the extra
@pytest.mark.parametrize("name", ["pytensor", "casadi"])
def test_without_the_graph_extra_the_method_is_listed_unavailable_and_compare_goes_on(
        name, monkeypatch, capsys):
    """Where pytensor or casadi is not installed (``difflab[graph]`` not asked for), ``difflab
    list`` says so and a comparison reports the method as unsupported, the others unharmed."""
    from cli_helpers import run

    from difflab.backends import _framework

    monkeypatch.setattr(_framework, "installed_distribution", lambda names: None)
    code, out, _ = run(capsys, "list")
    assert code == 0
    line = next(row for row in out.splitlines() if f" {name} " in row)
    assert "no" in line and f"{name} is not installed" in " ".join(out.split())
    result = difflab.compare(rosenbrock, X, methods=[name, "reverse"])
    status = {r.method: r.status for r in result.results}
    assert status == {name: "unsupported", "reverse": "ok"}


def test_casadi_logsumexp_is_shifted_and_stop_gradient_refused():
    """exp(1000) would overflow in CasADi's doubles: the shift keeps logsumexp finite; a
    stop_gradient CasADi cannot hold is refused, never silently differentiated."""
    d = _get(("casadi", {}))
    x = np.array([0.3, 0.5, 1.0])
    g = d.gradient(lambda y: difflab.namespace(y).logsumexp(1000.0 * y))(x)
    e = np.exp(1000.0 * (x - x.max()))
    np.testing.assert_allclose(g, 1000.0 * e / e.sum(), rtol=1e-13, atol=0)
    with pytest.raises(difflab.NotSupported, match="stop_gradient"):
        d.gradient(lambda y: difflab.namespace(y).sum(difflab.namespace(y).stop_gradient(y) * y))(x)
