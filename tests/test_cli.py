"""``difflab list``, ``difflab functions`` and ``difflab compare`` through ``difflab.cli.main``."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import rosen_der

import difflab
from difflab.interface import registry
from cli_helpers import run
from difflab.cli import main

RESULT_KEYS = {"method", "family", "status", "value", "max_abs_error", "max_rel_error",
               "setup_seconds", "call_seconds", "message", "import_seconds"}
COMPARISON_KEYS = {"schema", "function", "derivative", "dim", "dtype", "x", "variables", "expression", "reference",
                   "results", "environment", "vector", "kink"}




# ---------------------------------------------------------------------- list, functions
def test_list_names_every_registered_method(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in registry.methods():
        assert name in out
    assert "automatic" in out and "numeric" in out


def test_list_json_says_why_not(capsys):
    code, out, _ = run(capsys, "list", "--json")
    doc = json.loads(out)
    assert doc["schema"] == "difflab.list/1" and set(doc) == {"schema", "methods"}
    rows = {r["name"]: r for r in doc["methods"]}
    assert code == 0 and list(rows) == registry.methods()
    for row in rows.values():
        assert set(row) == {"name", "family", "available", "reason", "library", "version"}
        assert row["available"] or row["reason"]


def test_list_imports_no_framework_and_no_heavy_library():
    """``difflab list`` answers from the registry: nothing heavy is imported (this is what
    keeps it quick; its speed is not asserted, the machines are shared)."""
    heavy = ("torch", "tensorflow", "jax", "autograd", "sympy", "matplotlib", "networkx", "sklearn",
             "dask", "distributed", "numba", "scipy", "mpmath", "nets")
    code = (f"import sys; from difflab.cli import main; main(['list']); "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_functions_lists_the_catalogue(capsys):
    code, out, _ = run(capsys, "functions")
    assert code == 0
    for name in difflab.functions.names():
        assert name in out


# ---------------------------------------------------------------------- compare one function
def test_compare_catalogue_function_json(capsys):
    code, out, err = run(capsys, "compare", "rosenbrock", "--dim", "3", "--at", "-1.2,1,0.5e0",
                         "--methods", "forward,reverse,fd-central", "--json")
    assert code == 0
    doc = json.loads(out)  # stdout is the JSON document and nothing else
    assert set(doc) == COMPARISON_KEYS and doc["schema"] == "difflab.compare/1"
    assert (doc["function"], doc["dim"], doc["derivative"], doc["dtype"]) == ("rosenbrock", 3, "gradient", "float64")
    assert doc["x"] == [-1.2, 1.0, 0.5]
    assert doc["reference"] == {"method": "oracle", "digits": 50}
    assert [r["method"] for r in doc["results"]] == ["forward", "reverse", "fd-central"]
    exact = rosen_der(np.array(doc["x"]))
    for r in doc["results"]:
        assert set(r) == RESULT_KEYS and r["status"] == "ok"
        np.testing.assert_allclose(r["value"], exact, rtol=1e-5)
        assert r["max_abs_error"] == pytest.approx(np.max(np.abs(np.array(r["value"]) - exact)),
                                                   rel=1e-6, abs=1e-13)
    assert doc["results"][1]["max_rel_error"] < 1e-14
    assert 1e-13 < doc["results"][2]["max_rel_error"] < 1e-6
    assert {"python", "numpy", "scipy", "sympy"} <= set(doc["environment"])


def test_at_sizes_a_scaling_function_but_not_a_fixed_one(capsys):
    code, out, _ = run(capsys, "compare", "rosenbrock", "--at", "1.5,2", "--methods", "reverse", "--json")
    assert code == 0 and json.loads(out)["dim"] == 2
    np.testing.assert_allclose(json.loads(out)["results"][0]["value"], rosen_der([1.5, 2.0]), rtol=1e-15)
    # logistic-map's dim counts terms, not inputs: --at 0.3 keeps the default number of terms
    code, out, _ = run(capsys, "compare", "logistic-map", "--at", "0.3", "--methods", "reverse", "--json")
    default = difflab.functions.get("logistic-map")
    assert code == 0
    np.testing.assert_allclose(json.loads(out)["results"][0]["value"], default.gradient(np.array([0.3])),
                               rtol=1e-13)


def test_compare_expression_against_its_closed_form(capsys):
    code, out, _ = run(capsys, "compare", "sin(x)*exp(y) + x**2*y", "--at", "1,2",
                       "--methods", "reverse,sympy", "--json")
    assert code == 0
    x, y = 1.0, 2.0
    exact = [math.cos(x) * math.exp(y) + 2 * x * y, math.sin(x) * math.exp(y) + x ** 2]
    for r in json.loads(out)["results"]:
        assert r["status"] == "ok"
        np.testing.assert_allclose(r["value"], exact, rtol=1e-14)


def test_compare_hessian_of_an_expression(capsys):
    code, out, _ = run(capsys, "compare", "x**3*y", "--at", "2,3", "--methods", "forward",
                       "--derivative", "hessian", "--json")
    assert code == 0
    value = json.loads(out)["results"][0]["value"]
    np.testing.assert_allclose(value, [[6 * 2 * 3, 3 * 4], [3 * 4, 0]], rtol=1e-15)


def test_compare_hvp_along_the_seeded_vector_shown_in_the_json(capsys):
    from scipy.optimize import rosen_hess_prod

    code, out, _ = run(capsys, "compare", "rosenbrock", "--dim", "6", "--methods", "reverse,manual",
                       "--derivative", "hvp", "--json")
    assert code == 0
    doc = json.loads(out)
    x, v = np.array(doc["x"]), np.array(doc["vector"])
    np.testing.assert_array_equal(v, np.random.default_rng(0).standard_normal(6))
    for result in doc["results"]:
        assert result["status"] == "ok"
        np.testing.assert_allclose(result["value"], rosen_hess_prod(x, v), rtol=1e-13)
    assert doc["results"][0]["message"].startswith("native (forward over reverse")
    code, out, _ = run(capsys, "compare", "rosenbrock", "--methods", "reverse", "--json")
    assert json.loads(out)["vector"] is None


def test_compare_table_shows_statuses_and_notes(capsys):
    code, out, _ = run(capsys, "compare", "x*y", "--at", "1,2", "--methods", "reverse,manual")
    assert code == 0
    for words in ("reverse", "ok", "16.0", "manual", "unsupported", "hand-written"):
        assert words in out


def test_compare_float32(capsys):
    code, out, _ = run(capsys, "compare", "exp(x)*y", "--at", "0.5,3", "--methods", "reverse",
                       "--dtype", "float32", "--json")
    r = json.loads(out)["results"][0]
    assert code == 0 and json.loads(out)["dtype"] == "float32"
    assert 1e-10 < r["max_rel_error"] < 1e-6


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("argv, words", [
    (["compare", "sin(x"], "cannot parse"),
    (["compare", "x +* y"], "cannot parse"),
    (["compare", "rosenbrok"], "did you mean rosenbrock"),
    (["compare", "rosenbrock", "--methods", "revers"], "did you mean reverse"),
    (["compare", "rosenbrock", "--dim", "0"], "positive integer"),
    (["compare", "rosenbrock", "--dim", "-3"], "positive integer"),
    (["compare", "rosenbrock", "--dim", "two"], "positive integer"),
    (["compare", "rosenbrock", "--dim", "3", "--at", "1,2"], "--at has 2 value"),
    (["compare", "x*y", "--at", "1,2,3"], "--at has 3 value"),
    (["compare", "rosenbrock", "--at", "1,nan"], "NaN"),
    (["compare", "x*y", "--at", "1,inf"], "NaN or infinity"),
    (["compare", "x*y", "--at", "1,two"], "comma-separated numbers"),
    (["compare", "x*y", "--dim", "3"], "2 variable"),
    (["compare", "x*y", "--derivative", "laplacian"], "invalid choice"),
    (["compare", "--at", "1,2"], "need a FUNCTION"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("error:") and words in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# ---------------------------------------------------------------------- compare the catalogue
def test_compare_without_function_prints_the_matrix(capsys, tiny_catalogue):
    code, out, err = run(capsys, "compare", "--methods", "reverse,fd-forward,manual")
    assert code == 0
    for words in ("square-sum", "sin-prod", "reverse", "fd-forward", "manual", "16.0"):
        assert words in out
    assert err == ""  # no progress bar when stderr is not a terminal


def test_compare_without_function_json_has_one_comparison_per_function(capsys, tiny_catalogue):
    code, out, _ = run(capsys, "compare", "--methods", "reverse,forward", "--json")
    doc = json.loads(out)
    assert code == 0 and set(doc) == {"schema", "comparisons"}
    assert doc["schema"] == "difflab.compare/1"
    assert [c["function"] for c in doc["comparisons"]] == ["square-sum", "sin-prod"]
    first = doc["comparisons"][0]
    assert set(first) == COMPARISON_KEYS and first["x"] == [1.0, 2.0, 3.0]
    for r in first["results"]:
        assert r["value"] == pytest.approx([2.0, 4.0, 6.0], rel=1e-15)
    second = doc["comparisons"][1]["results"][0]["value"]
    assert second == pytest.approx([math.cos(0.5) * 2.0, math.sin(0.5)], rel=1e-15)


def test_piped_tables_keep_every_column(capsys):
    from rich.table import Table

    from difflab.console import print_table

    headers = [f"method-number-{i:02d}" for i in range(20)]  # ~320 columns: wider than any default
    table = Table()
    for h in headers:
        table.add_column(h)
    table.add_row(*["15.8"] * len(headers))
    print_table(table)
    out = capsys.readouterr().out
    assert all(h in out for h in headers)


def test_error_lines_keep_square_brackets(capsys):
    assert main(["compare", "x[0] +"]) == 2
    err = capsys.readouterr().err
    assert "'x[0] +'" in err and err.count("\n") == 1


def test_warnings_on_the_command_line_are_one_line(capsys):
    import warnings

    from difflab.cli import _warnings_as_lines

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        with _warnings_as_lines():
            warnings.warn("expect minutes per batch [sympy]", UserWarning)
    err = capsys.readouterr().err
    assert err.strip() == "warning: expect minutes per batch [sympy]"
