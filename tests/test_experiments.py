"""The experiments: schemas, swell counts against SymPy, FD steps against theory, speed records.

Every study runs here at tiny sizes; the real run is ``make experiments``.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import difflab.cli as cli
from difflab_experiments import accuracy, plots, records, speed, swell, tables

SWELL_ROW = {"n", "function_ops", "symbolic_ops", "symbolic_cse_ops", "simplified_ops",
             "ad_tape_ops", "diff_seconds", "compile_seconds", "eval_seconds", "reverse_seconds",
             "reverse_setup_seconds", "pytensor_graph_nodes", "pytensor_nodes",
             "pytensor_scalar_nodes", "pytensor_setup_seconds", "pytensor_eval_seconds",
             "casadi_nodes", "casadi_setup_seconds", "casadi_eval_seconds"}
SPEED_ROW = {"method", "dim", "f_seconds", "setup_seconds", "call_seconds", "ratio", "f_faults",
             "call_faults", "direct_seconds", "adapter_overhead"}


@pytest.fixture(scope="module")
def swell_result():
    return swell.run(["logistic-map", "product"], {"logistic-map": (1, 2, 3, 4, 5), "product": (2, 3, 4)},
                     simplify_cap=1.0, repeat=1)


@pytest.fixture(scope="module")
def accuracy_result():
    return accuracy.run(table=False)


@pytest.fixture(scope="module")
def speed_result():
    return speed.run("rosenbrock", dims=(4, 16), methods=["reverse", "fd-central"], repeat=1,
                     jacobian_ns=(2, 8, 32), jacobian_size=32, setup_dims=(), hessian_dims=(3,))


# ---------------------------------------------------------------------- swell
def test_swell_schema_is_exact(swell_result):
    doc = json.loads(records.dumps(swell_result.to_dict()))
    assert set(doc) == {"schema", "cases", "environment"}
    assert doc["schema"] == "difflab.swell/1"
    assert [c["name"] for c in doc["cases"]] == ["logistic-map", "product"]
    for case in doc["cases"]:
        assert set(case) == {"name", "rows"}
        for row in case["rows"]:
            assert set(row) == SWELL_ROW


def test_swell_counts_agree_with_sympy(swell_result):
    sympy = pytest.importorskip("sympy")
    x = sympy.Symbol("x")
    rows = {r.n: r for r in swell_result.cases[0].rows}
    for n in (3, 5):
        l = x
        for _ in range(n - 1):
            l = 4.0 * l * (1.0 - l)
        d = sympy.diff(l, x)
        replacements, reduced = sympy.cse([d])
        assert rows[n].function_ops == sympy.count_ops(l)
        assert rows[n].symbolic_ops == sympy.count_ops(d)
        assert rows[n].symbolic_cse_ops == (sympy.count_ops([r for _, r in replacements])
                                            + sympy.count_ops(reduced))
    xs = sympy.symbols("x0:4")
    p = xs[0] * xs[1] * xs[2] * xs[3]
    product4 = swell_result.cases[1].rows[-1]
    assert product4.symbolic_ops == sympy.count_ops([sympy.diff(p, s) for s in xs])


def test_swell_tape_grows_linearly_while_the_derivative_swells(swell_result):
    rows = swell_result.cases[0].rows
    tape = [r.ad_tape_ops for r in rows]
    assert len(set(np.diff(tape))) == 1                      # a fixed number of entries per step
    assert rows[-1].symbolic_ops > 4 * rows[-1].symbolic_cse_ops
    assert all(r.eval_seconds > 0 and r.reverse_seconds > 0 for r in rows)


def test_swell_graph_forms_grow_linearly_where_the_tree_grows_exponentially(swell_result):
    """The logistic map's gradient as PyTensor's grad graph and as CasADi SX nodes: a fixed
    number of nodes per step (checked by hand: each step l -> 4 l (1 - l) adds 8 apply nodes
    to PyTensor's graph and 7 to CasADi's), while the tree triples."""
    rows = swell_result.cases[0].rows
    assert [r.n for r in rows] == [1, 2, 3, 4, 5]
    for field, step in (("pytensor_graph_nodes", 8), ("casadi_nodes", 7)):
        counts = [getattr(r, field) for r in rows[1:]]  # n = 1: x itself, no step
        if None in counts:
            pytest.skip("pytensor or casadi is not installed (difflab[graph])")
        assert set(np.diff(counts)) == {step}, (field, counts)
    assert rows[-1].symbolic_ops > 3 * rows[-2].symbolic_ops
    assert all(r.casadi_setup_seconds > 0 and r.casadi_eval_seconds > 0 for r in rows)
    small = rows[1]  # compiled within the cap on any machine: rewritten sizes and a call time
    assert small.pytensor_nodes >= 1 and small.pytensor_scalar_nodes >= small.pytensor_nodes


def test_growth_fit_tells_power_from_exponential():
    ns = list(range(1, 11))
    exp = records.fit_growth("y", ns, [3 * 2.0 ** n for n in ns])
    assert exp.model == "exponential" and exp.ratio_per_step == pytest.approx(2.0)
    power = records.fit_growth("y", ns, [5 * n ** 2 for n in ns])
    assert power.model == "power" and power.slope == pytest.approx(2.0)
    assert records.fit_growth("y", [1, 2], [None, None]).model == "n/a"


# ---------------------------------------------------------------------- accuracy
def test_accuracy_schema_is_exact(accuracy_result):
    doc = json.loads(records.dumps(accuracy_result.to_dict()))
    assert set(doc) == {"schema", "function", "x", "curves", "best", "theory", "environment"}
    assert doc["schema"] == "difflab.accuracy/1" and doc["x"] == [1.5]
    methods = {(c["method"], c["dtype"]) for c in doc["curves"]}
    for m in accuracy.FD_METHODS + ("fd-richardson-estimate",):
        assert {(m, "float64"), (m, "float32")} <= methods
    for c in doc["curves"]:
        assert set(c) == {"method", "dtype", "steps", "errors"}
        assert len(c["steps"]) == len(c["errors"])
        assert c["steps"][0] == pytest.approx(1e-1) and c["steps"][-1] == pytest.approx(1e-20)
    for b in doc["best"]:
        assert set(b) == {"method", "dtype", "step", "error"}


def _best(result, method, dtype="float64"):
    return next(b for b in result.best if b.method == method and b.dtype == dtype)


def test_fd_best_steps_sit_where_floating_point_theory_puts_them(accuracy_result):
    fwd = _best(accuracy_result, "fd-forward")
    assert 1e-10 < fwd.step < 1e-6 and 1e-10 < fwd.error < 1e-6          # ~1e-8 at h ~1e-8
    central = _best(accuracy_result, "fd-central")
    assert 1e-7 < central.step < 1e-4 and 1e-13 < central.error < 1e-9  # ~1e-10..1e-11 at ~1e-5
    assert _best(accuracy_result, "fd-complex").error <= 1e-15           # ~1e-16
    assert _best(accuracy_result, "fd-five-point").error < central.error
    # float32: the same stencils, errors of float32 size
    assert 1e-6 < _best(accuracy_result, "fd-forward", "float32").error < 1e-2


def test_fd_model_optimum_is_the_textbook_one(accuracy_result):
    model = {(t.method, t.dtype): t for t in accuracy_result.theory}
    assert 1e-9 < model[("fd-forward", "float64")].step < 1e-7
    assert 1e-6 < model[("fd-central", "float64")].step < 1e-4
    assert model[("fd-complex", "float64")].error == pytest.approx(np.finfo(np.float64).eps)


def test_digits_table_ranks_exact_methods_above_differences():
    cells = accuracy.digits_table(["rosenbrock"], ["reverse", "fd-central"], ("float64", "float32"))
    digits = {(c.method, c.dtype): c.digits for c in cells}
    assert digits[("reverse", "float64")] >= 14
    assert 6 <= digits[("fd-central", "float64")] <= 13
    assert digits[("reverse", "float32")] < 9


def test_error_estimate_study_sets_the_libraries_beside_richardson():
    """Part 3 on Rosenbrock's gradient (float64): each method's true error against the oracle,
    its reported bound covering it, the libraries' own estimate kept beside; the JSON's
    ``estimates`` holds the cells and a summary; the table lists each method."""
    from difflab_experiments import estimates

    cells = estimates.study(["rosenbrock"], dtypes=("float64",), kinds=("gradient",))
    by = {c.method: c for c in cells}
    assert set(by) == set(estimates.METHODS)
    for c in cells:
        assert c.status == "ok" and c.bounds and c.error < 1e-11 and c.evaluations > 0
    assert by["fd-richardson"].library is None
    assert by["fd-numdifftools"].library is not None and by["fd-scipy"].library is not None
    result = accuracy.AccuracyResult("rosenbrock", [0.0], [], [], [], None, {}, cells)
    doc = json.loads(records.dumps(result.to_dict()))
    assert set(doc["estimates"]) == {"cells", "summary"} and len(doc["estimates"]["summary"]) == 3
    text = tables.render_all([tables.estimates_table(cells)])
    assert all(m in text for m in estimates.METHODS)


# ---------------------------------------------------------------------- speed
def test_speed_schema_and_rows(speed_result):
    doc = json.loads(records.dumps(speed_result.to_dict()))
    assert doc["schema"] == "difflab.speed/1" and doc["function"] == "rosenbrock"
    assert {"schema", "function", "rows"} <= set(doc)
    assert {(r["method"], r["dim"]) for r in doc["rows"]} == {(m, d) for m in ("reverse", "fd-central")
                                                              for d in (4, 16)}
    for r in doc["rows"]:
        assert set(r) == SPEED_ROW
        assert r["f_seconds"] > 0 and r["call_seconds"] > 0 and r["setup_seconds"] >= 0
        assert r["ratio"] == pytest.approx(r["call_seconds"] / r["f_seconds"])
    assert {r["method"] for r in doc["hessian"]} == {"reverse", "fd-central"}


def test_jacobian_crossover_is_interpolated():
    rows = [speed.JacobianRow("forward", n, m, 0.0, t) for n, m, t in ((2, 32, 1.0), (32, 2, 4.0))]
    rows += [speed.JacobianRow("reverse", n, m, 0.0, t) for n, m, t in ((2, 32, 4.0), (32, 2, 1.0))]
    assert speed.jacobian_crossover(rows) == pytest.approx(1.0)
    assert speed.jacobian_crossover(rows[:1] + rows[2:3]) is None


def test_slow_methods_are_skipped_with_an_estimate():
    # the first size is within the cost model's budget; the next ones are predicted from it
    result = speed.run("rosenbrock", dims=(4, 64, 4096), methods=["fd-five-point"], repeat=1,
                       budget=5e-3, jacobian_ns=(), setup_dims=(), hessian_dims=())
    assert [r.dim for r in result.rows] == [4]
    skipped = [s for s in result.skipped if s.method == "fd-five-point"]
    assert [s.dim for s in skipped] == [64, 4096]
    assert skipped[0].estimate_seconds > result.rows[0].call_seconds


# ---------------------------------------------------------------------- reports and plots
def test_tables_and_plots(tmp_path, swell_result, accuracy_result, speed_result):
    for result, build in ((swell_result, tables.swell_tables), (accuracy_result, tables.accuracy_tables),
                          (speed_result, tables.speed_tables)):
        text = tables.render_all(build(result))
        assert text.startswith("#### ") and "|---|" in text
        path = plots.plot(result, tmp_path / f"{type(result).__name__}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_has_no_nan():
    assert records.to_jsonable({"a": [1.0, float("nan"), np.float32(2)], "b": float("inf")}) == \
        {"a": [1.0, None, 2.0], "b": None}


# ---------------------------------------------------------------------- the command line
@pytest.fixture
def main(monkeypatch):
    subs = {k: v for k, v in cli.SUBCOMMANDS.items() if k in ("swell", "accuracy", "speed")}
    monkeypatch.setattr(cli, "SUBCOMMANDS", subs)
    return cli.main


def test_cli_swell_json(main, capsys):
    assert main(["swell", "--quick", "--cases", "product", "--simplify-cap", "0", "--repeat", "1",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "difflab.swell/1" and doc["cases"][0]["name"] == "product"


def test_cli_accuracy_table_lists_versions(main, capsys, tmp_path):
    plot = tmp_path / "acc.png"
    assert main(["accuracy", "--no-table", "--dtypes", "float64", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "fd-central" in out and "numpy" in out and plot.exists()
    assert main(["accuracy", "--no-table", "--plot", str(plot)]) == 2        # no overwrite
    assert "--overwrite" in capsys.readouterr().err


def test_cli_speed_json(main, capsys):
    assert main(["speed", "--dims", "4,8", "--methods", "reverse", "--repeat", "1",
                 "--parts", "gradient", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "difflab.speed/1" and len(doc["rows"]) == 2


@pytest.mark.parametrize("argv", [["speed", "--dims", "0"], ["speed", "--dims", "ten"],
                                  ["speed", "--methods", "nope", "--parts", "gradient"],
                                  ["accuracy", "--at", "nan"], ["accuracy", "--function", "((", "--no-table"],
                                  ["swell", "--cases", "nope"], ["speed", "--parts", "everything"],
                                  ["speed", "--parts", ","], ["speed", "--budget", "-1"],
                                  ["speed", "--budget", "nan"], ["speed", "--repeat", "0"],
                                  ["speed", "--function", "nope"], ["speed", "--function", "rosenbrok"],
                                  ["speed", "--function", "x**2*y", "--dims", "3", "--parts", "gradient"],
                                  ["accuracy", "--function", "nope", "--no-table"],
                                  ["accuracy", "--function", "x**2*y", "--dim", "3", "--no-table"],
                                  ["accuracy", "--at", "1,2", "--no-table"],
                                  ["accuracy", "--table-methods", "nope", "--dtypes", "float64"],
                                  ["swell", "--simplify-cap", "nan", "--quick"],
                                  ["swell", "--simplify-cap", "-1", "--quick"], ["swell", "--repeat", "0"]])
def test_cli_bad_input_is_one_line(main, capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err and err.count("\n") == 1


def test_cli_plot_path_is_checked_before_the_run(main, capsys, tmp_path, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the study ran before the --plot path was checked")

    monkeypatch.setattr(accuracy, "run", never)
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "file").write_text("")
    for plot in (tmp_path / "folder.png", tmp_path / "file" / "a.png", tmp_path / "a.txt"):
        assert main(["accuracy", "--no-table", "--plot", str(plot)]) == 2
        assert capsys.readouterr().err.startswith("error:")


def test_cli_plot_write_failure_is_one_line(main, capsys, tmp_path, monkeypatch):
    def refuse(result, path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(plots, "plot", refuse)
    assert main(["speed", "--dims", "4", "--methods", "reverse", "--repeat", "1", "--parts", "gradient",
                 "--plot", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Permission denied" in err and "Traceback" not in err


def test_speed_runs_a_function_that_does_not_scale_at_its_own_size(main, capsys):
    assert speed.fixed_dim("classic") == 1 and speed.fixed_dim("x**2*y") == 2
    assert speed.fixed_dim("rosenbrock") is None and speed.fixed_dim("mlp-loss") is None
    assert main(["speed", "--function", "classic", "--methods", "reverse", "--repeat", "1",
                 "--parts", "gradient,hessian", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["dim"] for r in doc["rows"]] == [1] and [r["dim"] for r in doc["hessian"]] == [1]


def test_accuracy_resizes_a_scaling_function_to_the_point():
    f, x = accuracy.resolve("rosenbrock", [1.0, 2.0, 0.5])
    assert f.dim == 3 and x.tolist() == [1.0, 2.0, 0.5]
    f, _ = accuracy.resolve("logistic-map", [0.3])   # its size is its number of terms
    assert f.dim == 1 and f.name == accuracy.resolve("logistic-map")[0].name


def test_accuracy_model_without_an_optimum_is_none_not_a_crash():
    # sin at 0: f = 0, so no rounding term; x^2 + 1: f''' = 0, so no truncation term
    for expr, at in (("sin(x)", 0.0), ("x**2 + 1", 0.7)):
        result = accuracy.run(expr, [at], methods=("fd-central", "fd-complex"), dtypes=("float64",),
                              steps=(1e-2, 1e-6), table=False)
        model = {t.method: t for t in result.theory}
        assert model["fd-central"].step is None and model["fd-central"].error is None
        assert all(np.isfinite(v) for t in result.theory for v in t.curve)
        json.loads(records.dumps(result.to_dict()))
        tables.render_all(tables.accuracy_tables(result))


def test_simplify_is_not_retried_past_its_cap(monkeypatch):
    calls = []

    def capped(expressions, cap):
        calls.append(cap)
        return None

    monkeypatch.setattr(swell, "simplified_ops", capped)
    swell.run(["nested"], {"nested": (1, 2, 3)}, simplify_cap=1.0, repeat=1)
    assert calls == [1.0, 0.0, 0.0]


def test_cse_tape_verdict_separates_linear_from_quadratic_ratios():
    from types import SimpleNamespace

    from difflab_experiments.refresh_results import cse_tracks_tape

    def case(pairs):
        return SimpleNamespace(rows=[SimpleNamespace(symbolic_cse_ops=c, ad_tape_ops=t) for c, t in pairs])

    assert cse_tracks_tape(case([(3 * n + 2, n) for n in range(1, 11)])) is True
    assert cse_tracks_tape(case([(n * n, n) for n in range(1, 11)])) is False
    assert cse_tracks_tape(case([(1, 1), (2, 2)])) is None


# ---------------------------------------------------------------------- page faults
def _touch_fresh_pages(pages=64):
    """Map ``pages`` fresh anonymous pages and write one byte in each: one fault per page."""
    import mmap

    with mmap.mmap(-1, pages * mmap.PAGESIZE) as m:
        for i in range(pages):
            m[i * mmap.PAGESIZE] = 1


@pytest.mark.skipif(records.minor_faults() is None, reason="no resource module here")
def test_page_faults_are_counted_around_the_timing_loops():
    _, faults = records.timed_with_faults(_touch_fresh_pages, repeat=3, min_time=0.0)
    _, none = records.timed_with_faults(lambda: None, repeat=3, min_time=0.0)
    assert faults >= 64 and none < 1
    counted: dict = {}
    records.interleaved_times({"touch": _touch_fresh_pages, "idle": lambda: None, "absent": None},
                              rounds=3, min_time=0.0, faults=counted)
    assert counted["touch"] >= 64 and counted["idle"] < 1 and counted["absent"] is None


def test_speed_records_the_allocator_state_and_faults(speed_result):
    doc = json.loads(records.dumps(speed_result.to_dict()))
    assert doc["allocator"] == speed.ALLOCATOR_STATE
    assert all(r["f_faults"] >= 0 and r["call_faults"] >= 0 for r in doc["rows"])


def test_bench_core_measures_allocator_states_in_child_processes():
    from difflab_experiments import bench_core

    row = bench_core.allocator_in_child("retain", 200, repeat=1)
    assert row.error == "" and row.state == bench_core.ALLOCATOR_STATES["retain"]
    assert row.reverse_seconds > 0 and row.f_seconds > 0 and row.reverse_faults >= 0
    assert row.ratio == pytest.approx(row.reverse_seconds / row.f_seconds)
    bad = bench_core.allocator_in_child("no-such-state", 200, repeat=1)
    assert bad.reverse_seconds is None and "unknown allocator state" in bad.error


def test_bench_hvp_rows_agree_with_scipy_and_say_how():
    from difflab_experiments import bench_hvp

    result = bench_hvp.run(dim=6, methods=["reverse", "fd-central", "manual"], repeat=1, max_time=0.05)
    rows = {r.label: r for r in result.rows}
    assert set(rows) == {"reverse", "reverse (jit=True)", "fd-central", "manual"}
    assert rows["reverse"].max_rel_error < 1e-13 and rows["manual"].max_rel_error < 1e-13
    assert rows["reverse (jit=True)"].max_rel_error < 1e-13
    assert rows["reverse (jit=True)"].how.startswith("native, compiled tape (reverse over reverse")
    assert rows["fd-central"].max_rel_error < 1e-5
    assert rows["reverse"].how.startswith("native (forward over reverse")
    assert rows["reverse"].dense_seconds > 0 and rows["manual"].dense_seconds is None
    doc = json.loads(records.dumps(result.to_dict()))
    assert doc["schema"] == "difflab.bench-hvp/1" and len(doc["rows"]) == 4
    assert tables.to_rich(bench_hvp.tables(result)[0]) is not None
    from difflab.errors import InputError

    with pytest.raises(InputError):
        bench_hvp.run(dim=6, methods=["no-such-method"], repeat=1)


def test_symbolic_setup_records_and_fits_an_exponent():
    """The symbolic-preparation study's records: one row per method and size, the fitted
    exponent from them (checked on rows of known growth), a Markdown table."""
    import difflab
    from difflab_experiments import symbolic_setup

    if not difflab.method_class("casadi").available():
        pytest.skip("casadi is not installed")
    result = symbolic_setup.run(["casadi-sx"], sizes=(20, 40))
    assert [(r.method, r.n) for r in result.rows] == [("casadi-sx", 20), ("casadi-sx", 40)]
    assert all(r.setup_seconds > 0 for r in result.rows)
    doc = json.loads(records.dumps(result.to_dict()))
    assert doc["schema"] == "difflab.symbolic_setup/1" and set(doc["exponents"]) == {"casadi-sx"}
    known = symbolic_setup.SetupResult([symbolic_setup.SetupRow("m", n, 1e-3 * n ** 1.5)
                                        for n in (100, 300, 1000)], {})
    assert known.exponents()["m"] == pytest.approx(1.5)
    assert "| m | 1 s | 5.2 s | 31.6 s | 1.50 |" in symbolic_setup.table(known)
