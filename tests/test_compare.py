"""``difflab.compare``: statuses, error figures against closed forms, JSON, timing, tables."""
from __future__ import annotations

import io
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import rosen_der, rosen_hess

import difflab
from difflab.interface import registry
from difflab.analysis.comparison import SCHEMA, Comparison, MethodResult, compare, correct_digits, errors
from difflab.console import make_console
from difflab.interface.differentiator import Differentiator
from difflab.errors import InputError
from difflab.reporting.report import comparison_table, matrix_table, methods_table
from difflab.analysis.timing import Timing, format_seconds, measure

RESULT_KEYS = {"method", "family", "status", "value", "max_abs_error", "max_rel_error",
               "setup_seconds", "call_seconds", "message",
               "import_seconds"}  # issue 15: a framework's import, apart from its setup
#: DESIGN.md §6's keys, plus "variables" and "expression" (issue 10: null unless the
#: function was typed as an expression).
COMPARISON_KEYS = {"schema", "function", "derivative", "dim", "dtype", "x", "variables",
                   "expression", "reference", "results", "environment", "vector", "kink"}
FAST = {"repeat": 1, "min_time": 0.0}


def rosenbrock(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


ROSEN = difflab.Function(rosenbrock, name="rosenbrock", gradient=rosen_der, hessian=rosen_hess)
X = np.array([-1.2, 1.0, 0.7, 1.9])


def render(table) -> str:
    console = make_console(record=True, width=250, file=io.StringIO())
    console.print(table)
    return console.export_text()


# ---------------------------------------------------------------------- error figures
def test_errors_are_normwise_relative_to_the_largest_reference_entry():
    assert errors([1.0, 2.5], np.array([1.0, 2.0])) == (0.5, 0.25)
    # a tiny reference component does not blow the relative error up
    assert errors([1e-20, 4.0], np.array([0.0, 4.0]))[1] == pytest.approx(2.5e-21)
    # an all-zero reference: any error is enormous, so zero correct digits
    abs_err, rel_err = errors([1e-9], np.array([0.0]))
    assert abs_err == 1e-9 and correct_digits(rel_err) == 0.0


@pytest.mark.parametrize("rel, digits", [(0.0, 16.0), (1e-8, 8.0), (1e-20, 16.0), (10.0, 0.0),
                                         (None, None), (math.nan, None)])
def test_correct_digits(rel, digits):
    assert correct_digits(rel) == digits


# ---------------------------------------------------------------------- against closed forms
def test_gradient_errors_match_the_closed_form():
    c = compare(ROSEN, X, methods=["manual", "forward", "reverse", "fd-central", "fd-forward"], **FAST)
    exact = rosen_der(X)
    assert c.function == "rosenbrock" and c.dim == 4 and c.derivative == "gradient"
    np.testing.assert_allclose(c.reference, exact, rtol=1e-15)
    for r in c.results:
        assert r.status == "ok", r.message
        measured = np.max(np.abs(r.value - exact))
        assert r.max_abs_error == pytest.approx(measured, rel=1e-6, abs=1e-13)
        assert r.max_rel_error == pytest.approx(r.max_abs_error / np.max(np.abs(exact)))
        assert r.setup_seconds >= 0 and r.call_seconds > 0
    for name in ("manual", "forward", "reverse"):
        assert c.result(name).max_rel_error < 1e-14 and c.result(name).digits > 14
    central, forward = c.result("fd-central"), c.result("fd-forward")
    assert 1e-13 < central.max_rel_error < 1e-6      # truncation and rounding, not exact
    assert forward.max_rel_error > central.max_rel_error  # first order is worse


def test_hessian_against_scipy_rosen_hess():
    c = compare(ROSEN, X, methods=["forward", "reverse", "fd-central", "manual"],
                derivative="hessian", **FAST)
    for r in c.results:
        assert r.status == "ok", r.message
        assert r.value.shape == (4, 4)
        np.testing.assert_allclose(r.value, rosen_hess(X), rtol=1e-5, atol=1e-5)
    assert c.result("reverse").max_rel_error < 1e-14
    assert c.result("fd-central").max_rel_error > 1e-12


def test_jacobian_of_a_vector_map():
    W = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])

    def layer(x):
        xp = difflab.namespace(x)
        return xp.tanh(xp.asarray(W) @ x)

    x = np.array([0.3, -0.2])
    exact = (1 - np.tanh(W @ x) ** 2)[:, None] * W
    c = compare(layer, x, methods=["forward", "reverse"], derivative="jacobian", **FAST)
    for r in c.results:
        np.testing.assert_allclose(r.value, exact, rtol=1e-14)
        assert r.digits > 14


def test_float32_loses_half_the_digits():
    c = compare(ROSEN, X, methods=["reverse"], dtype="float32", **FAST)
    r = c.result("reverse")
    assert c.dtype == "float32" and r.status == "ok"
    assert 5 < r.digits < 10


def test_a_method_without_the_derivative_is_unsupported():
    bare = difflab.Function(rosenbrock, name="bare")
    r = compare(bare, X, methods=["manual"], **FAST).result("manual")
    assert r.status == "unsupported" and "hand-written" in r.message
    assert r.value is None and r.max_rel_error is None and r.digits is None


# ---------------------------------------------------------------------- misbehaving methods
class _Boom(Differentiator):
    name, family, native = "boom", "numeric", frozenset({"gradient"})

    def _build(self, kind, function, x):
        def fail(x):
            raise RuntimeError("kaboom\nsecond line")
        return fail


class _NaN(_Boom):
    name = "nan"

    def _build(self, kind, function, x):
        return lambda x: np.full(x.size, np.nan)


class _Absent(_Boom):
    name, library = "absent", "no-such-distribution-difflab-test"


class _JacobianOnly(_Boom):
    """Only Jacobians natively: its gradient is derived, and the note says how."""

    name, native = "jacobian-only", frozenset({"jacobian"})

    def _build(self, kind, function, x):
        return difflab.get("forward").jacobian(function)


@pytest.fixture
def misbehaving(monkeypatch):
    monkeypatch.setattr(registry, "_extra", dict(registry._extra))
    monkeypatch.setattr(registry, "_classes", dict(registry._classes))
    for cls in (_Boom, _NaN, _Absent, _JacobianOnly):
        registry.register(cls.name, cls)


def test_errors_and_absent_libraries_are_rows_not_crashes(misbehaving):
    c = compare(ROSEN, X, methods=["boom", "nan", "absent", "reverse"], **FAST)
    boom, nan, absent, reverse = c.results
    assert (boom.status, boom.message) == ("error", "RuntimeError: kaboom")
    assert nan.status == "error" and "NaN" in nan.message
    assert absent.status == "unsupported"
    assert absent.message == "no-such-distribution-difflab-test is not installed"
    assert reverse.status == "ok"
    assert "although rosenbrock(x) is finite" in nan.message  # the boundary returns no NaN
    doc = c.to_dict()
    json.dumps(doc, allow_nan=False)
    assert doc["results"][1]["value"] is None


def test_a_derived_derivative_says_how_in_its_message(misbehaving):
    r = compare(ROSEN, X, methods=["jacobian-only"], **FAST).result("jacobian-only")
    assert r.status == "ok" and r.digits > 14
    assert r.message == "the only row of the Jacobian"


def test_callback_sees_each_result_in_order():
    seen = []
    compare(ROSEN, X, methods=["reverse", "forward"], on_result=lambda r: seen.append(r.method), **FAST)
    assert seen == ["reverse", "forward"]


@pytest.mark.parametrize("kwargs, words", [
    ({"methods": ["revers"]}, "did you mean reverse"),
    ({"derivative": "laplacian"}, "derivative"),
    ({"dtype": "float16"}, "dtype"),
])
def test_bad_requests_raise_input_error(kwargs, words):
    with pytest.raises(InputError, match=words):
        compare(ROSEN, X, **kwargs)


@pytest.mark.parametrize("x, words", [([1.0, math.nan], "NaN"), ([], "non-empty"),
                                      ({"w": [1.0, 2.0]}, "difflab.ravel"), ([1.0, "a"], "numbers")])
def test_bad_points_raise_input_error(x, words):
    with pytest.raises(InputError, match=words):
        compare(ROSEN, x, methods=["reverse"])


def test_point_length_must_match_the_function_dim():
    f = difflab.Function(rosenbrock, dim=3)
    with pytest.raises(InputError, match="takes 3 input"):
        compare(f, X, methods=["reverse"])


def test_expression_strings_are_accepted():
    c = compare("sin(x)*exp(y) + x**2*y", [1.0, 2.0], methods=["reverse"], **FAST)
    x, y = 1.0, 2.0
    exact = [math.cos(x) * math.exp(y) + 2 * x * y, math.sin(x) * math.exp(y) + x ** 2]
    np.testing.assert_allclose(c.result("reverse").value, exact, rtol=1e-15)


# ---------------------------------------------------------------------- JSON
def test_to_dict_has_exactly_the_design_keys():
    c = compare(ROSEN, X, methods=["reverse", "manual"], **FAST)
    doc = json.loads(json.dumps(c.to_dict(), allow_nan=False))
    assert set(doc) == COMPARISON_KEYS
    assert doc["schema"] == SCHEMA == "difflab.compare/1"
    assert doc["reference"] == {"method": "oracle", "digits": 50}
    assert (doc["function"], doc["dim"], doc["dtype"], doc["x"]) == ("rosenbrock", 4, "float64", X.tolist())
    assert doc["variables"] is None and doc["expression"] is None
    for r in doc["results"]:
        assert set(r) == RESULT_KEYS
    assert doc["results"][0]["value"] == pytest.approx(rosen_der(X).tolist(), rel=1e-14)
    env = doc["environment"]
    for lib in ("python", "numpy", "scipy", "sympy"):
        assert env[lib]


def test_environment_reads_versions_without_importing_frameworks():
    code = ("import sys, difflab.analysis.environment as e; env = e.environment(); "
            "print(sorted(m for m in ('torch', 'tensorflow', 'jax') if m in sys.modules)); "
            "print(env.get('torch'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, torch_version = out.stdout.splitlines()
    assert heavy == "[]"
    from importlib.metadata import PackageNotFoundError, version

    try:
        expected = version("torch")
    except PackageNotFoundError:
        expected = "None"
    assert torch_version == expected


# ---------------------------------------------------------------------- timing
class FakeClock:
    """``perf_counter`` for difflab.analysis.timing that moves only when the timed function says so:
    the tests check what measure decides (samples, calls, when it stops), not the machine's
    speed."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now

    def costing(self, seconds, calls):
        def fn(*args):
            calls.append(args)
            self.now += seconds
        return fn


@pytest.fixture
def clock(monkeypatch):
    import types

    from difflab.analysis import timing

    fake = FakeClock()
    monkeypatch.setattr(timing, "time", types.SimpleNamespace(perf_counter=fake.perf_counter))
    return fake


def test_measure_takes_repeated_samples_and_a_median(clock):
    calls = []
    per_call = 2.0 ** -13   # 122 µs: exact in binary, so the fake clock adds up exactly
    t = measure(clock.costing(per_call, calls), 1, repeat=5, min_time=0.0, warmup=2)
    # calibration: 1 call (shorter than a sample must be, 200 µs), then 2 calls (kept as the
    # first sample); then 4 more samples of 2 calls
    assert isinstance(t, Timing)
    assert (t.samples, t.number, t.calls) == (5, 2, 1 + 2 + 4 * 2)
    assert len(calls) == 2 + t.calls
    assert t.median == t.best == per_call and t.total == t.calls * per_call


def test_measure_respects_max_calls_and_max_time(clock):
    calls = []
    measure(clock.costing(0.0, calls), 1, repeat=100, min_time=10.0, max_calls=50, warmup=0)
    assert 0 < len(calls) <= 50
    slow_calls = []
    per_call = 2.0 ** -6    # 15.6 ms
    slow = measure(clock.costing(per_call, slow_calls), 1, repeat=10, min_time=10.0,
                   max_time=0.04, warmup=0)
    # one call per sample (long enough); it stops at the first sample past max_time
    assert (slow.samples, slow.number, len(slow_calls)) == (3, 1, 3)
    assert slow.median == per_call and slow.total == 3 * per_call


@pytest.mark.parametrize("seconds, text", [(2.3e-5, "23 µs"), (1.5, "1.5 s"), (0.0042, "4.2 ms"),
                                           (3e-9, "3 ns"), (None, "—")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


# ---------------------------------------------------------------------- tables
def _result(method, status, rel=None):
    return MethodResult(method, "automatic", status, max_rel_error=rel,
                        value=np.zeros(2) if status == "ok" else None, message="why" * (status != "ok"))


def test_comparison_table_shows_every_column_and_row():
    c = Comparison("f", "gradient", "float64", np.ones(2), np.ones(2),
                   [_result("reverse", "ok", 1e-16), _result("torch", "unsupported")])
    text = render(comparison_table(c))
    for words in ("method", "family", "status", "rel error", "digits", "setup", "per call", "note",
                  "reverse", "16.0", "torch", "unsupported", "why"):
        assert words in text


def test_matrix_cells_are_coloured_digits():
    a = Comparison("f", "gradient", "float64", np.ones(2), np.ones(2),
                   [_result("reverse", "ok", 1e-16), _result("fd", "ok", 1e-7), _result("x", "error")])
    b = Comparison("g", "gradient", "float64", np.ones(3), np.ones(3),
                   [_result("reverse", "ok", 1e-3)])
    table = matrix_table([a, b])
    assert [col.header for col in table.columns] == ["function", "n", "reverse", "fd", "x"]
    cells = [list(col.cells) for col in table.columns]
    assert [str(c) for c in cells[2]] == ["16.0", "3.0"]
    assert [c.style for c in cells[2]] == ["green", "red"]
    assert cells[3][0].style == "yellow" and str(cells[4][0]) == "error"
    assert str(cells[3][1]) == ""  # g was not compared with fd


def test_methods_table_lists_the_registry():
    from difflab.analysis.environment import method_infos

    text = render(methods_table(method_infos()))
    for name in registry.methods():
        assert name in text


def test_compare_says_when_x_is_on_a_kink_and_each_methods_tie_rule():
    """At (0, 0) abs(x) + maximum(x, y) has no gradient: the one-sided derivatives are
    (-1, 2) along x and (0, 1) along y; the note names them and the measured tie rules."""
    f = difflab.Function.from_expression("abs(x) + maximum(x, y)")
    cmp = difflab.compare(f, [0.0, 0.0], methods=["reverse", "fd-forward"], repeat=1, min_time=0)
    assert cmp.kink is not None
    assert "x (left -1, right 2)" in cmp.kink and "y (left 0, right 1)" in cmp.kink
    # reverse's 1/2 at a tie of maximum, fd-forward's one-sided 1, measured by running them
    assert "1/2 (oracle, reverse)" in cmp.kink and "1 (fd-forward)" in cmp.kink
    assert cmp.to_dict()["kink"] == cmp.kink
    assert "kink" in str(cmp)


def test_compare_looks_for_a_kink_only_where_a_method_disagrees():
    f = difflab.Function.from_expression("abs(x) + maximum(x, y)")
    assert difflab.compare(f, [0.5, -1.0], methods=["reverse"], repeat=1, min_time=0).kink is None
    smooth = difflab.Function.from_expression("1/(x - 0.999) + y")  # a pole nearby, no kink
    cmp = difflab.compare(smooth, [1.0, 2.0], methods=["fd-forward"], repeat=1, min_time=0)
    assert cmp.results[0].max_rel_error > 1e-6   # it disagrees, but there is no kink
    assert cmp.kink is None
