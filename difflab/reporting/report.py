"""Rich tables built from difflab's records: pure functions, no printing.

They read :class:`difflab.analysis.comparison.Comparison` and ``MethodResult`` records (duck-typed:
this module sits above the records and never imports them, so the records' own ``str`` can
call it).

Tests call these without a terminal; the CLI prints what they return with the themed
console of :mod:`difflab.console`.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from rich import box
from rich.table import Table
from rich.text import Text

from ..analysis.comparison import Comparison
from ..analysis.environment import MethodInfo
from ..analysis.timing import format_seconds
from ..console import digits_style
from ..console.display import render
from ..console.table_fit import set_key_columns

#: Cell text for a method that did not produce a number, by status.
STATUS_CELLS = {"unsupported": ("—", "unsupported"), "error": ("error", "error"),
                "skipped": ("skipped", "skipped")}


def format_error(error: Optional[float]) -> str:
    """A relative or absolute error in two significant digits; ``0`` for exact."""
    if error is None or np.isnan(error):
        return "—"
    return "0" if error == 0 else f"{error:.1e}"


def digits_text(digits: Optional[float]) -> Text:
    """Correct digits, one decimal, coloured by :func:`difflab.console.digits_style`."""
    if digits is None:
        return Text("—", style=digits_style(None))
    return Text(f"{digits:.1f}", style=digits_style(digits))


def comparison_title(comparison) -> str:
    """``gradient of rosenbrock at x = [...]``; an expression shows its parsed formula and
    which value of ``--at`` went to which variable."""
    x = comparison.x
    if comparison.variables is not None:
        names = ", ".join(comparison.variables)
        values = ", ".join(f"{v:.4g}" for v in x)
        return (f"{comparison.derivative} of f({names}) = {comparison.expression} "
                f"at ({names}) = ({values}) ({comparison.dtype}){_along(comparison)}")
    shown = ", ".join(f"{v:.4g}" for v in x[:4]) + (", …" if x.size > 4 else "")
    return (f"{comparison.derivative} of {comparison.function} at x = [{shown}] "
            f"(n = {comparison.dim}, {comparison.dtype}){_along(comparison)}")


def _along(comparison) -> str:
    """For an hvp, the direction it was taken along (the JSON has it in full)."""
    v = comparison.vector
    if v is None:
        return ""
    return ", along v = [" + ", ".join(f"{e:.4g}" for e in v[:4]) + (", …" if v.size > 4 else "") + "]"


@render.register(Comparison)
def comparison_table(comparison) -> Table:
    """One row per method: family, status, errors, correct digits, import (where a framework
    was imported for the comparison), setup and call time, note."""
    table = Table(title=comparison_title(comparison), title_style="title", box=box.SIMPLE_HEAD)
    for name in ("method", "family", "status"):
        table.add_column(name, style="method" if name == "method" else None, no_wrap=True,
                         min_width=len(name))
    imported = any(r.import_seconds for r in comparison.results)
    timings = ("import", "setup", "per call") if imported else ("setup", "per call")
    for name in ("rel error", "digits") + timings:
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    table.add_column("note", style="muted", overflow="fold", min_width=12)
    for r in comparison.results:
        times = [format_seconds(r.setup_seconds), format_seconds(r.call_seconds)]
        if imported:
            times.insert(0, format_seconds(r.import_seconds) if r.import_seconds else "")
        table.add_row(r.method, r.family or "?", Text(r.status, style=r.status),
                      format_error(r.max_rel_error), digits_text(r.digits), *times, r.message)
    if comparison.reference is None:
        table.caption = f"no errors: {comparison.reference_message}"
    else:
        table.caption = (f"digits = -log10(rel error) against the oracle "
                         f"({comparison.reference_digits}-digit forward mode)")
    if imported:
        table.caption += "; import: loading the framework, apart from setup"
    if comparison.kink:
        table.caption += f"\n{comparison.kink}"
    return table


def matrix_cell(result) -> Text:
    """Correct digits for an ``ok`` result, else the status in its style."""
    if result is None:
        return Text("")
    if result.status == "ok":
        return digits_text(result.digits)
    text, style = STATUS_CELLS.get(result.status, (result.status, "muted"))
    return Text(text, style=style)


def matrix_table(comparisons) -> Table:
    """Catalogue functions (rows) x methods (columns), in correct digits."""
    methods: list[str] = []
    for c in comparisons:
        methods.extend(r.method for r in c.results if r.method not in methods)
    kinds = sorted({c.derivative for c in comparisons})
    table = Table(title=f"correct digits of the {', '.join(kinds)} against the oracle",
                  title_style="title", box=box.SIMPLE_HEAD)
    set_key_columns(table, 2)  # function and n label every column group
    table.add_column("function", style="method", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    for m in methods:
        table.add_column(m, justify="right", min_width=len(m), no_wrap=True)
    for c in comparisons:
        by_method = {r.method: r for r in c.results}
        table.add_row(c.function, str(c.dim), *[matrix_cell(by_method.get(m)) for m in methods])
    table.caption = "digits = -log10(rel. error); — unsupported; skipped: over the time or memory budget"
    return table


def methods_table(infos: Sequence[MethodInfo]) -> Table:
    """``difflab list``: name, family, available or why not, library and version."""
    table = Table(title="differentiation methods", title_style="title")
    table.add_column("method", style="method")
    table.add_column("family")
    table.add_column("available")
    table.add_column("library")
    table.add_column("version")
    for info in infos:
        status = Text("yes", style="ok") if info.available else Text(f"no: {info.reason}",
                                                                     style="unsupported")
        table.add_row(info.name, info.family or "?", status,
                      info.library or "?",
                      info.version or "")
    return table


def functions_table(functions: Sequence) -> Table:
    """``difflab functions``: name, input size, hand-written derivatives, description."""
    table = Table(title="the catalogue", title_style="title")
    table.add_column("function", style="method")
    table.add_column("n", justify="right")
    table.add_column("manual", style="muted")
    table.add_column("description", overflow="fold")
    for f in functions:
        manual = ", ".join(k for k in ("gradient", "jacobian", "hessian") if getattr(f, k, None))
        table.add_row(f.name, "" if f.dim is None else str(f.dim), manual or "—", f.description)
    return table


__all__ = ["comparison_table", "matrix_table", "methods_table", "functions_table",
           "digits_text", "format_error", "matrix_cell"]
