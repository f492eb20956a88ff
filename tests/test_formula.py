"""The sympy method's formulas (``difflab.get("sympy").formula``): the expressions against
closed forms and the 50-digit oracle, the CSE form against the raw one, the operation
counts against ``sympy.count_ops`` of derivatives built here with SymPy alone; the
printing (width, elision), and ``compare --show formula`` / ``swell --show N``."""
import json
import re

import numpy as np
import pytest
import sympy
from cli_helpers import run

import difflab
import difflab.analysis.functions as catalogue

TEXTBOOK = "log(x1) + x1*x2 - sin(x2)"


@pytest.fixture
def sympy_method():
    return difflab.get("sympy")


def logistic_map(n):
    def f(x):
        v = x[0]
        for _ in range(n - 1):
            v = 4.0 * v * (1.0 - v)
        return v
    return f


def rosenbrock(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def expanded(formula):
    """The CSE form with every replacement substituted back (last first)."""
    out = list(formula.reduced)
    for symbol, expr in reversed(formula.replacements):
        out = [e.xreplace({symbol: expr}) for e in out]
    return out


def values(expressions, symbols, x):
    return np.array([float(e.xreplace(dict(zip(symbols, map(sympy.Float, x))))) for e in expressions])


# ---------------------------------------------------------------------- the expressions
def test_textbook_gradient_is_the_closed_form_and_matches_the_oracle(sympy_method):
    f = difflab.Function.from_expression(TEXTBOOK)
    formula = sympy_method.formula(f, np.array([2.0, 5.0]))
    x1, x2 = formula.variables
    assert [str(v) for v in formula.variables] == ["x1", "x2"]
    closed = [1 / x1 + x2, x1 - sympy.cos(x2)]
    assert all(sympy.simplify(e - c) == 0 for e, c in zip(formula.raw, closed))
    assert formula.positions == ((0,), (1,))
    for point in ([2.0, 5.0], [0.3, -1.7], [7.5, 0.25]):
        x = np.array(point)
        oracle = difflab.reference(f, x)
        assert values(formula.raw, formula.variables, x) == pytest.approx(oracle, rel=1e-14)
        assert values(expanded(formula), formula.variables, x) == pytest.approx(oracle, rel=1e-14)


@pytest.mark.parametrize("kind", ["hessian", "hvp", "jvp", "jacobian"])
def test_other_kinds_equal_sympy_derivatives_built_independently(sympy_method, kind):
    text = "sin(x)*y" if kind in ("jacobian", "jvp") else TEXTBOOK
    f = difflab.Function.from_expression(text)
    formula = sympy_method.formula(f, 2, kind=kind)
    x, y = formula.variables
    expr = sympy.sympify(text.replace("x1", "a").replace("x2", "b"), locals={"a": x, "b": y}) \
        if text == TEXTBOOK else sympy.sin(x) * y
    gradient = [sympy.diff(expr, s) for s in (x, y)]
    if kind == "hessian":
        expected = [sympy.diff(expr, x, x), sympy.diff(expr, x, y), sympy.diff(expr, y, y)]
        assert formula.positions == ((0, 0), (0, 1), (1, 1))
    elif kind == "jacobian":
        expected = gradient
        assert formula.positions == ((0, 0), (0, 1))
    else:
        v = formula.vectors
        assert len(v) == 2 and not set(v) & set(formula.variables)
        matrix = sympy.hessian(expr, (x, y)) if kind == "hvp" else sympy.Matrix([gradient])
        expected = list(matrix * sympy.Matrix(v))
    assert len(formula.raw) == len(expected)
    assert all(sympy.simplify(e - c) == 0 for e, c in zip(formula.raw, expected))
    assert all(sympy.simplify(e - c) == 0 for e, c in zip(expanded(formula), expected))


def test_counts_equal_count_ops_of_a_derivative_built_with_sympy_alone(sympy_method):
    formula = sympy_method.formula(logistic_map(7), 1)
    x = sympy.Symbol("x", real=True)
    raw = sympy.diff(logistic_map(7)([x]), x)
    assert formula.raw_ops == sympy.count_ops(raw) == 2096  # docs/symbolic.md's swell table
    replacements, reduced = sympy.cse([raw])
    assert formula.cse_ops == sympy.count_ops([e for _, e in replacements]) + sympy.count_ops(reduced)
    assert formula.cse_ops < formula.raw_ops / 10 and len(formula.replacements) == len(replacements)
    for point in (0.3, 0.71):
        want = float(raw.subs(x, point))
        assert values(formula.raw, formula.variables, [point]) == pytest.approx([want], rel=1e-12)
        assert values(expanded(formula), formula.variables, [point]) == pytest.approx([want], rel=1e-12)


def test_closed_over_data_and_a_catalogue_function(sympy_method):
    f = catalogue.get("rosenbrock", dim=4)
    formula = sympy_method.formula(f, kind="hessian")  # the size from the function
    from scipy.optimize import rosen_hess

    x = np.array([0.5, -1.2, 0.8, 1.9])
    upper = np.triu_indices(4)
    assert values(formula.raw, formula.variables, x) == pytest.approx(rosen_hess(x)[upper], rel=1e-13)
    assert values(expanded(formula), formula.variables, x) == pytest.approx(rosen_hess(x)[upper], rel=1e-13)


def test_replacement_names_never_shadow_a_variable(sympy_method):
    f = difflab.Function.from_expression("exp(c0*c1)*exp(c0*c1) + c1")
    formula = sympy_method.formula(f, 2)
    assert formula.replacements
    names = {str(s) for s, _ in formula.replacements}
    assert not names & {"c0", "c1"}


# ---------------------------------------------------------------------- refusals
@pytest.mark.parametrize("name", ["reverse", "forward", "fd-central", "manual"])
def test_methods_without_formulas_say_so(name):
    with pytest.raises(difflab.NotSupported) as caught:
        difflab.get(name).formula(difflab.Function.from_expression(TEXTBOOK), 2)
    assert caught.value.what == "formula" and caught.value.by == name and caught.value.reason
    if name == "reverse":
        assert str(caught.value) == ("reverse does not support formula: no closed-form "
                                     "expression; see difflab.trace for its evaluation trace")


def test_tracing_guarantees_hold(sympy_method, tmp_path):
    with pytest.raises(difflab.NotSupported, match="control flow"):
        sympy_method.formula(catalogue.get("control-flow"))
    with pytest.raises(difflab.NotSupported, match="written with NumPy"):
        sympy_method.formula(lambda x: np.sin(x[0]), 1)
    marker = tmp_path / "ran"

    def text(x):
        return x[0] if isinstance(x[0], float) else f"__import__('os').system('touch {marker}')"

    with pytest.raises(difflab.InputError, match="returned text"):
        sympy_method.formula(text, 1)
    assert not marker.exists()


@pytest.mark.parametrize("args, match", [
    ((0,), "positive integer"), ((True,), "positive integer"), ((3,), "takes 2 inputs, not 3"),
    (([1.0, 2.0, 3.0],), "takes 2 inputs"), (([[1.0, 2.0]],), "1-D|shape"),
    (([1.0, np.nan],), "NaN"), (([-1.0, 2.0],), "NaN or infinite"), (("12",), "takes 2 inputs|x must|numbers"),
    ((2, "vjp"), "formula kind"), ((2, "gradient "), "formula kind")])
def test_careless_input_is_one_clear_error(sympy_method, args, match):
    f = difflab.Function.from_expression("log(x)*y")
    with pytest.raises(difflab.InputError, match=match):
        sympy_method.formula(f, *args)


def test_the_size_is_needed_where_the_function_has_none(sympy_method):
    with pytest.raises(difflab.InputError, match="input size n or a point"):
        sympy_method.formula(rosenbrock)


def test_a_gradient_of_a_vector_map_is_refused(sympy_method):
    with pytest.raises(difflab.InputError, match="scalar-valued"):
        sympy_method.formula(lambda x: x * 2.0, 3)


# ---------------------------------------------------------------------- showing
def test_repr_str_html_and_ipython(sympy_method):
    formula = sympy_method.formula(difflab.Function.from_expression(TEXTBOOK), 2)
    text = repr(formula)
    assert "\n" not in text and len(text) <= 200 and "4 operations raw" in text
    drawn = str(formula)
    assert "∂f/∂x1" in drawn and "cos(x₂)" in drawn and "raw: 4 operations" in drawn
    assert "&lt;" not in drawn and formula._repr_html_().startswith("<pre>")

    class Printer:
        def text(self, t):
            self.out = t

    p = Printer()
    formula._repr_pretty_(p, False)
    assert p.out == drawn
    latex = formula.latex()
    assert r"\frac{\partial f}{\partial x_{1}} = x_{2} + \frac{1}{x_{1}}" in latex


@pytest.mark.parametrize("width", [20, 40, 80])
def test_drawn_formulas_fit_the_width(sympy_method, width):
    formula = sympy_method.formula(rosenbrock, 5, kind="hessian")
    for text in (formula.pretty(width=width, max_chars=None), formula.latex(width=width)):
        lines = text.splitlines()
        assert max(map(len, lines)) <= width and all(line == line.rstrip() for line in lines)
    assert formula.pretty(width=width, max_chars=None).count("∂²f/") == 2 * 15  # raw, CSE


def test_a_long_formula_is_cut_and_says_how_much(sympy_method):
    formula = sympy_method.formula(logistic_map(7), 1)
    total = len(sympy.sstr(formula.raw[0]))
    text = formula.pretty(max_chars=500)
    left = int(re.search(r"… ([\d,]+) more characters left out", text).group(1).replace(",", ""))
    assert left == total - 500
    assert "max_chars=None shows everything" in " ".join(text.split())
    everything = formula.pretty(max_chars=None)
    assert "left out" not in everything and len(everything) > total
    with pytest.raises(difflab.InputError):
        formula.pretty(max_chars=0)


# ---------------------------------------------------------------------- the command line
def test_compare_show_formula(capsys):
    code, out, err = run(capsys, "compare", TEXTBOOK, "--at", "2,5", "--methods", "reverse",
                         "--show", "formula")
    assert code == 0 and not err.strip()
    table, _, formula = out.partition("gradient of log(x1)")
    assert "reverse" in table
    assert "∂f/∂x1" in formula and "x₁ - cos(x₂)" in formula and "raw: 4 operations" in formula
    assert max(len(line) for line in out.splitlines()[-12:]) <= 80


def test_compare_show_formula_latex_and_json(capsys):
    code, out, _ = run(capsys, "compare", TEXTBOOK, "--at", "2,5", "--methods", "reverse",
                       "--show", "formula", "--latex", "--derivative", "hessian")
    assert code == 0
    assert r"\frac{\partial^{2} f}{\partial x_{1}^{2}} = - \frac{1}{x_{1}^{2}}" in out
    assert "∂" not in out
    code, out, _ = run(capsys, "compare", TEXTBOOK, "--at", "2,5", "--methods", "reverse",
                       "--show", "formula", "--json")
    document = json.loads(out)
    assert document["schema"] == "difflab.compare/1" and document["results"][0]["method"] == "reverse"
    x1, x2 = sympy.symbols("x1 x2", real=True)
    raw = [sympy.sympify(e, locals={"x1": x1, "x2": x2}) for e in document["formula"]["raw"]]
    assert sympy.simplify(raw[0] - (1 / x1 + x2)) == 0 and sympy.simplify(raw[1] - (x1 - sympy.cos(x2))) == 0
    assert document["formula"]["raw_ops"] == 4 and document["formula"]["kind"] == "gradient"


def test_compare_formula_fits_80_columns_and_width(capsys):
    for extra, width in (((), 80), (("--width", "40"), 40)):
        code, out, _ = run(capsys, "compare", "rosenbrock", "--dim", "6", "--methods", "reverse",
                           "--show", "formula", "--derivative", "hessian", *extra)
        assert code == 0
        formula = out[out.rindex("hessian of rosenbrock by sympy"):]
        assert max(len(line) for line in formula.splitlines()) <= width
        assert formula.count("∂²f/") >= 21  # the 21 entries of the raw upper triangle, none dropped


@pytest.mark.parametrize("argv, message", [
    (("compare", TEXTBOOK, "--at", "2,5", "--latex"), "--latex and --max-chars go with --show formula"),
    (("compare", TEXTBOOK, "--max-chars", "10"), "--latex and --max-chars go with --show formula"),
    (("compare", "--show", "formula"), "needs a FUNCTION"),
    (("compare", TEXTBOOK, "--show", "tape"), "invalid choice"),
    (("compare", TEXTBOOK, "--show", "formula", "--max-chars", "-3"), "whole number >= 0"),
    (("swell", "--show", "0"), "from 1 to 10"),
    (("swell", "--show", "11"), "from 1 to 10"),
    (("swell", "--show", "x"), "invalid int"),
    (("swell", "--show", "2", "--json"), "leave out --json"),
    (("swell", "--show", "2", "--cases", "nope"), "unknown swell case"),
    (("swell", "--max-chars", "9"), "goes with --show"),
])
def test_careless_command_lines_are_one_error_line(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_compare_formula_of_an_untraceable_function_is_a_note(capsys):
    code, out, err = run(capsys, "compare", "control-flow", "--methods", "reverse", "--show", "formula")
    assert code == 0 and "reverse" in out
    assert "no formula:" in err and "control flow" in err and "Traceback" not in err


def test_swell_show_prints_the_formula_and_the_tape(capsys):
    code, out, err = run(capsys, "swell", "--show", "3")
    assert code == 0 and not err.strip()
    x = sympy.Symbol("x")
    raw_ops = sympy.count_ops(sympy.diff(logistic_map(3)([x]), x))
    assert f"raw: {raw_ops} operations" in out and "c₀ = 1.0 - x₁" in out
    assert "v_6   v_4 * v_5" in out                        # the tape's last row
    assert "gradient                   (-4.352)" in out    # d l_3/dx at 0.3, by hand: -4.352
    assert max(len(line) for line in out.splitlines()) <= 80


def test_swell_show_cuts_the_swollen_formula(capsys):
    code, out, _ = run(capsys, "swell", "--show", "7", "--max-chars", "300")
    words = " ".join(out.split())
    assert code == 0 and "more characters left out" in words and "--max-chars 0 shows everything" in words
    code, out, _ = run(capsys, "swell", "--show", "7", "--max-chars", "0")
    assert code == 0 and "left out" not in out
