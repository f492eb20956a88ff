"""``difflab.trace()`` shows its tables in a notebook and a REPL, not a dataclass dump."""
import math

import difflab

EXPR = "log(x1) + x1*x2 - sin(x2)"


def _trace():
    return difflab.trace(EXPR, [2.0, 5.0])


def test_repr_is_one_short_line_with_the_gradient():
    text = repr(_trace())
    assert "\n" not in text and len(text) <= 200 and text.startswith("<evaluation trace of")
    # the gradient (1/x1 + x2, x1 - cos x2) at (2, 5), by hand
    assert f"gradient ({0.5 + 5:g}, {2 - math.cos(5):.6f})" in text
    assert f"f = {math.log(2) + 10 - math.sin(5):.6f}" in text


def test_str_and_ipython_show_both_tables():
    trace = _trace()
    text = str(trace)
    assert "evaluation trace and forward sweep" in text and "reverse sweep" in text
    assert "log(v_-1)" in text and "Row(" not in text and "array(" not in text

    class Printer:
        def __init__(self):
            self.out = []

        def text(self, value):
            self.out.append(value)

    printer = Printer()
    trace._repr_pretty_(printer, cycle=False)
    assert printer.out == [text]


def test_jupyter_draws_the_tables_as_html():
    html = _trace()._repr_html_()
    assert html.count("<table>") == 2 and "log(v_-1)" in html and "Row(" not in html
    assert f"{2 - math.cos(5):.6f}" in html
