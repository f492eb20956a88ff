"""Records show themselves (issue 15): a short repr in a REPL, the table as str(), an HTML
table in Jupyter (``_repr_html_``, what IPython's display formatter calls), and plain records
for pandas (``to_records()``)."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

import difflab
from difflab.analysis.comparison import compare
from difflab.testing import check_gradient

FAST = {"repeat": 2, "min_time": 0.0}
X = np.array([-1.2, 1.0, 0.5])


def rosenbrock(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def expression_comparison():
    return compare("sin(x)*exp(y)", [1.0, 2.0], methods=["manual", "reverse", "fd-central"], **FAST)


def assert_short(text):
    assert len(text) < 200 and "\n" not in text, text


# ---------------------------------------------------------------------- Comparison
def test_comparison_repr_is_one_short_line():
    c = compare(rosenbrock, X, methods=["reverse", "fd-central", "fd-forward"], **FAST)
    text = repr(c)
    assert_short(text)
    assert text.startswith("<Comparison gradient of rosenbrock n=3: 3 ok;")
    reverse = c.result("reverse")
    assert f"best reverse {reverse.digits:.1f} digits" in text
    exact = rosen_der(X)
    assert np.max(np.abs(reverse.value - exact)) / np.max(np.abs(exact)) < 1e-15


def test_comparison_repr_counts_statuses():
    text = repr(expression_comparison())
    assert_short(text)
    assert "2 ok, 1 unsupported" in text


def test_comparison_str_is_the_table():
    c = expression_comparison()
    lines = str(c).splitlines()
    assert any("method" in line and "digits" in line and "per call" in line for line in lines)
    for method in ("manual", "reverse", "fd-central"):
        assert any(line.split()[:1] == [method] for line in lines), method
    assert "has no hand-written gradient" in str(c)  # the note column is kept
    assert all(line == line.rstrip() for line in lines)


def test_comparison_html_is_a_table_with_every_method():
    html = expression_comparison()._repr_html_()
    assert html.startswith("<table>") and "</table>" in html
    for method in ("manual", "reverse", "fd-central"):
        assert f"<td>{method}</td>" in html
    assert "<th>method</th>" in html and "sin(x)*exp(y)" in html


def test_comparison_records_hold_the_errors_against_an_independent_reference():
    c = compare(rosenbrock, X, methods=["reverse", "fd-central"], **FAST)
    records = c.to_records()
    assert [r["method"] for r in records] == ["reverse", "fd-central"]
    assert all(r["function"] == "rosenbrock" and r["n"] == 3 for r in records)
    fd = records[1]
    exact = rosen_der(X)
    value = c.result("fd-central").value
    assert fd["max_abs_error"] == pytest.approx(np.max(np.abs(value - exact)), rel=1e-6)
    assert fd["max_rel_error"] == pytest.approx(fd["max_abs_error"] / np.max(np.abs(exact)), rel=1e-6)
    assert records[0]["digits"] > 15.0
    assert "value" not in fd


def test_comparison_records_make_a_data_frame():
    records = expression_comparison().to_records()
    assert isinstance(records, list) and all(isinstance(r, dict) for r in records)
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(records)
    assert list(frame["method"]) == ["manual", "reverse", "fd-central"]


def test_comparison_rich_renderable():
    from rich.table import Table

    assert isinstance(expression_comparison().__rich__(), Table)


# ---------------------------------------------------------------------- CheckReport
def grad_of_sum_sin(x):
    return np.cos(x)


def sum_sin(x):
    return difflab.namespace(x).sum(difflab.namespace(x).sin(x))


def test_check_report_repr_names_the_verdict():
    good = check_gradient(sum_sin, grad_of_sum_sin, [0.5, 1.5])
    bad = check_gradient(sum_sin, lambda x: np.cos(x) * 1.001, [0.5, 1.5])
    assert_short(repr(good))
    assert_short(repr(bad))
    assert repr(good) == "<CheckReport gradient of sum_sin: ok, all 2 compared numbers agree (grad_of_sum_sin)>"
    assert "FAILED, 2 of 2 numbers disagree" in repr(bad)
    worst = max(bad.rows, key=lambda r: r.abs_error / r.tolerance)
    assert f"worst your gradient [{worst.index[0]}]: rel error {worst.rel_error:.1e}" in repr(bad)


def test_check_report_str_html_and_records():
    bad = check_gradient(sum_sin, lambda x: np.cos(x) * 1.001, [0.5, 1.5])
    text = str(bad)
    assert "2 of 2 compared numbers disagree" in text
    assert f"{np.cos(0.5):.9g}" in text and f"{1.001 * np.cos(1.5):.9g}" in text
    html = bad._repr_html_()
    assert "<td>your gradient</td>" in html and html.count("<table>") == 2
    records = bad.to_records()
    assert len(records) == 2 and {r["status"] for r in records} == {"fail"}
    assert records[0]["reference"] == pytest.approx(np.cos(0.5), rel=1e-15)


def test_assert_report_ok_under_pytest_shows_the_verdict(tmp_path):
    """pytest shows a message object by its repr: the one line names the worst number."""
    test = tmp_path / "test_user.py"
    test.write_text(textwrap.dedent("""
        import numpy as np, difflab
        from difflab.testing import check_gradient

        def f(x):
            return difflab.namespace(x).sum(difflab.namespace(x).sin(x))

        def test_wrong_gradient():
            report = check_gradient(f, lambda x: np.cos(x) * 1.001, [0.5, 1.5])
            assert report.ok, report
    """))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 1
    assert "CheckReport gradient of f: FAILED, 2 of 2 numbers disagree" in out.stdout


# ---------------------------------------------------------------------- History
def test_history_shows_its_epochs():
    import nets

    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 2))
    y = x[:, :1] * 2.0 - x[:, 1:]
    model = nets.Sequential([nets.Dense(4, activation="tanh", input_dim=2), nets.Dense(1)], seed=0)
    model.compile(optimizer="sgd", loss="mse", differentiator="reverse")
    history = model.fit(x, y, epochs=3, batch_size=24, verbose=0)
    assert_short(repr(history))
    losses = history.history["loss"]
    assert repr(history).startswith(f"<History 3 epochs: loss {losses[0]:.3g} -> {losses[-1]:.3g};")
    text = str(history)
    for epoch, loss in enumerate(losses, 1):
        assert any([c.strip() for c in line.split("│") if c.strip()][:2] == [str(epoch), f"{loss:.6g}"]
                   for line in text.splitlines())
    records = history.to_records()
    assert [r["epoch"] for r in records] == [1, 2, 3]
    # full batch: the first epoch's loss is the MSE of the initial weights, computed here anew
    assert records[0]["loss"] > records[-1]["loss"]
    assert "<th style=\"text-align:right\">loss</th>" in history._repr_html_()


# ---------------------------------------------------------------------- OptimizeResult
def test_optimize_result_shows_itself():
    from difflab.solvers import newton

    result = newton(difflab.Function(rosenbrock, dim=2, name="rosenbrock"), np.array([-1.2, 1.0]), "reverse")
    assert_short(repr(result))
    assert repr(result).startswith(f"<OptimizeResult newton (reverse): success after {result.nit} steps")
    assert "x [1, 1]" in repr(result)  # the minimum of Rosenbrock's function is (1, 1)
    text = str(result)
    assert "nit" in text and str(result.nit) in text and "history" in text
    (record,) = result.to_records()
    np.testing.assert_allclose(record["x"], [1.0, 1.0], atol=1e-8)
    assert record["fun"] == pytest.approx(rosen(np.array(record["x"])), abs=1e-20)
    assert "history" not in record
    assert "<td>newton</td>" in result._repr_html_()
