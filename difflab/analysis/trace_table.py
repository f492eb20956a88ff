"""The two tables of an evaluation trace (forward sweep, reverse sweep), shared by
``difflab trace``, the swell study and :class:`difflab.analysis.evaluation_trace.Trace`'s display."""
from __future__ import annotations

import math

import numpy as np


def trace_tables(record, decimals: int = 6):
    """``(forward, reverse)``: rich tables of a :class:`difflab.analysis.evaluation_trace.Trace`."""
    from rich import box
    from rich.table import Table

    def show(v):
        return summary(v, decimals)

    directions = [_direction_text(d, decimals) for d in record.directions]
    forward = Table(title=f"evaluation trace and forward sweep: {record.name} at "
                          f"({', '.join(show(v) for v in record.x)})",
                    title_style="title", box=box.SIMPLE_HEAD)
    for name in ("v", "operation", "value"):
        forward.add_column(name, justify="right" if name == "value" else "left", no_wrap=True)
    for d in directions:
        forward.add_column(f"v̇ along {d}", justify="right", no_wrap=True)
    for r in record.rows:
        forward.add_row(f"v_{r.index}", r.text, show(r.value), *[show(t) for t in r.tangents])
    forward.add_section()
    forward.add_row("f", f"v_{record.output}", "", *[show(t) for t in record.jvp], style="bold")
    forward.caption = "v̇_i: each row's tangent, from the rule table's partials; the last row is the JVP"

    reverse = Table(title="reverse sweep (last row first)", title_style="title", box=box.SIMPLE_HEAD)
    reverse.add_column("v", no_wrap=True)
    reverse.add_column("v̄ = sum of contributions", justify="right", no_wrap=True)
    reverse.add_column("contributions (from row: amount)", style="muted")
    for r in reversed(record.rows):
        parts = [f"v_{i}: {show(c)}" for i, c in r.contributions]
        if r.index == record.output:
            parts = ["seed: 1"]
        reverse.add_row(f"v̄_{r.index}", show(r.adjoint), " + ".join(parts) or "(unused)")
    reverse.add_section()
    reverse.add_row("gradient", show(record.gradient) if record.gradient.size > 8 else
                    "(" + ", ".join(show(g) for g in record.gradient) + ")", "", style="bold")
    reverse.caption = "v̄_i = d f / d v_i: one reverse sweep gives the whole gradient"
    return forward, reverse


def _direction_text(d, decimals) -> str:
    if d.size <= 4:
        return "(" + ",".join(summary(v, decimals) for v in d) + ")"
    nonzero = [i for i, v in enumerate(d) if v != 0]
    if len(nonzero) == 1 and d[nonzero[0]] == 1:
        return f"e_{nonzero[0] + 1}"
    return "the given direction"


# ---------------------------------------------------------------------- showing numbers
def summary(v, decimals: int = 6) -> str:
    """A number to ``decimals`` places; an array as its shape, min and max."""
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return _fixed(float(a), decimals)
    if a.size == 0:
        return f"{a.shape} empty"
    return (f"{a.shape} min {_fixed(float(a.min()), decimals)} "
            f"max {_fixed(float(a.max()), decimals)}")


def _fixed(v: float, decimals: int) -> str:
    if not math.isfinite(v):
        return str(v)
    text = f"{v:.{decimals}f}"
    return "0" if float(text) == 0 else text.rstrip("0").rstrip(".") if "." in text else text
