"""``difflab solve``: the table, the peers, the crawl report, the plot and its refusal."""
from __future__ import annotations

import json

import numpy as np
import pytest

import difflab
from difflab.cli import SUBCOMMANDS, _Parser, solve


def run_solve(*argv):
    parser = _Parser(prog="difflab solve")
    solve.add_arguments(parser)
    return solve.run(parser.parse_args(list(argv)))


def test_solve_is_the_registered_subcommand():
    assert SUBCOMMANDS["solve"][0] == "solve"


def test_linreg_table_lists_solvers_and_peers(capsys, monkeypatch):
    from difflab.console import console

    monkeypatch.setattr(console, "_width", 250)
    assert run_solve("linreg", "--data", "brazing", "--solvers", "lstsq,gd,newton",
                     "--differentiator", "reverse") == 0
    out = capsys.readouterr().out
    for words in ("least squares (SVD)", "gradient descent", "newton", "BFGS", "Newton-CG", "iterations",
                  "seconds", "distance to", "condition number 1"):
        assert words in out


def test_linreg_json_distances_are_measured_to_lstsq(capsys):
    assert run_solve("linreg", "--solvers", "lstsq,gd,newton", "-d", "forward", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "difflab.solve/1" and doc["differentiator"] == "forward"
    rows = {r["solver"]: r for r in doc["records"]}
    assert list(rows) == ["lstsq", "gd", "newton", "bfgs", "newton-cg"]
    assert rows["newton"]["result"]["nit"] == 1 and rows["newton"]["result"]["nhev"] == 1
    assert all(r["distance"] < 1e-6 for r in rows.values())
    assert all(r["result"]["success"] for r in rows.values())


def test_raw_inputs_report_the_crawl(capsys):
    assert run_solve("linreg", "--raw", "--solvers", "gd", "--no-peers", "--max-iter", "500", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    (gd,) = doc["records"]
    assert not gd["result"]["success"] and gd["distance"] > 0.1
    assert "condition number 2.68e+09" in doc["note"] and "crawls" in doc["note"]


def test_rosenbrock_newton_with_sympy(capsys):
    try:
        difflab.method_class("sympy")
    except ImportError as exc:
        pytest.skip(f"sympy method not importable yet: {exc}")
    assert run_solve("rosenbrock", "--solver", "newton", "--differentiator", "sympy", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    newton = doc["records"][0]
    assert newton["solver"] == "newton" and newton["result"]["success"]
    assert np.max(np.abs(np.array(newton["result"]["x"]) - 1.0)) < 1e-8


def test_plot_is_written_and_not_overwritten(tmp_path, capsys):
    path = tmp_path / "convergence.png"
    assert run_solve("worked", "-d", "forward", "--plot", str(path)) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = path.stat().st_mtime_ns
    with pytest.raises(difflab.InputError, match="exists; pass --overwrite"):
        run_solve("worked", "-d", "forward", "--plot", str(path))
    assert path.stat().st_mtime_ns == before
    assert run_solve("worked", "-d", "forward", "--plot", str(path), "--overwrite") == 0


@pytest.mark.parametrize("argv, words", [
    (("rosenbrock", "--solvers", "lstsq"), "needs the linreg data problem"),
    (("expfit", "--solvers", "newton"), "needs a scalar objective"),
    (("linreg", "--solvers", "gd,simplex"), "unknown solver"),
    (("linreg", "--differentiator", "nope"), "unknown method"),
])
def test_bad_requests_are_input_errors(argv, words):
    with pytest.raises(difflab.InputError, match=words):
        run_solve(*argv)


def test_expfit_runs_gauss_newton_beside_scipy(capsys):
    assert run_solve("expfit", "-d", "forward", "--json") == 0
    rows = {r["solver"]: r for r in json.loads(capsys.readouterr().out)["records"]}
    assert set(rows) == {"gauss-newton", "lm", "scipy-lsq"}
    assert np.allclose(rows["gauss-newton"]["result"]["x"], rows["scipy-lsq"]["result"]["x"], atol=1e-8)


def test_a_zero_learning_rate_is_refused_not_replaced_by_the_default(capsys):
    # issue 15: refused while parsing, under the flag's name (not the solver's learning_rate)
    with pytest.raises(SystemExit) as stop:
        run_solve("worked", "--lr", "0")
    assert stop.value.code == 2
    assert "argument --lr/--learning-rate: must be a number > 0, not '0'" in capsys.readouterr().err


def test_a_plot_into_a_missing_folder_is_refused_before_any_solver_runs(monkeypatch):
    from difflab.solvers import compare

    ran = []
    monkeypatch.setattr(compare, "run_solvers", lambda *a, **k: ran.append(a))
    with pytest.raises(difflab.InputError, match="folder no-such-folder does not exist"):
        run_solve("worked", "--plot", "no-such-folder/convergence.png")
    assert not ran


def test_max_iter_reaches_newton_and_gauss_newton(capsys):
    assert run_solve("rosenbrock", "--solvers", "newton", "--no-peers", "--max-iter", "3", "--json") == 0
    (newton,) = json.loads(capsys.readouterr().out)["records"]
    assert newton["result"]["nit"] == 3 and not newton["result"]["success"]
    assert "max_iter (3)" in newton["result"]["message"]
    assert run_solve("expfit", "--solvers", "lm", "--no-peers", "--max-iter", "2", "--json") == 0
    (lm,) = json.loads(capsys.readouterr().out)["records"]
    assert lm["result"]["nit"] == 2 and not lm["result"]["success"]


def test_each_solver_prepares_its_own_derivatives(capsys):
    # with one shared differentiator the peers would get the first solver's SymPy work for free
    try:
        difflab.method_class("sympy")
    except ImportError as exc:
        pytest.skip(f"sympy method not importable yet: {exc}")
    assert run_solve("worked", "-d", "sympy", "--json") == 0
    records = json.loads(capsys.readouterr().out)["records"]
    assert len(records) == 4 and all(r["result"]["setup_seconds"] > 0 for r in records)
