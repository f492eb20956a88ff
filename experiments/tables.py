"""Tables of the three studies, built once as plain data and rendered two ways.

``swell_tables(result)``, ``accuracy_tables(result)`` and ``speed_tables(result)`` return
:class:`Table` records (a title, headers, rows of strings, a note); :func:`to_rich` makes a
``rich`` table for the terminal and :func:`to_markdown` a Markdown table for
docs/results.md. Pure functions: tests call them without a terminal.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

from difflab.analysis.timing import format_seconds


@dataclasses.dataclass
class Table:
    title: str
    headers: list
    rows: list
    note: str = ""


def _num(v, fmt="{:,}") -> str:
    return "—" if v is None else fmt.format(v)


def _sci(v) -> str:
    return "—" if v is None else ("0" if v == 0 else f"{v:.1e}")


def _digits(v) -> str:
    return "—" if v is None else f"{v:.1f}"


# ---------------------------------------------------------------------- swell
def swell_tables(result) -> list[Table]:
    from .swell import COUNTS

    out = []
    for case in result.cases:
        rows = [[str(r.n), _num(r.function_ops), _num(r.symbolic_ops), _num(r.symbolic_cse_ops),
                 _num(r.simplified_ops), _num(r.ad_tape_ops), format_seconds(r.diff_seconds),
                 format_seconds(r.compile_seconds), format_seconds(r.eval_seconds),
                 format_seconds(r.reverse_seconds)] for r in case.rows]
        out.append(Table(f"{case.name}: {case.description}",
                         ["n", "f ops", "diff ops", "cse ops", "simplified", "tape", "diff",
                          "compile", "sympy eval", "reverse eval"], rows))
        out.append(_graph_table(case))
    growth_rows = []
    for case in result.cases:
        growth = {g.quantity: g for g in case.growth()}
        growth_rows.append([case.name] + [growth[q].describe() for q in COUNTS])
    out.append(Table("Growth with n (least-squares fits on the larger sizes)",
                     ["case", "f", "sympy.diff", "after cse", "simplified", "reverse tape",
                      "pytensor grad", "pytensor rewritten scalar", "casadi sx"],
                     growth_rows,
                     f"simplify capped at {result.simplify_cap:g} s per size (— where capped). "
                     "Tape entries are array operations (an MLP layer is a few entries); "
                     "PyTensor counts apply nodes (grad: as pytensor.grad builds them; rewritten "
                     "scalar: after its rewrites, a fused node by the operations inside it), "
                     "CasADi n_nodes."))
    return out


def _graph_table(case) -> Table:
    """The same gradient as a tree and as graphs: sizes, then setup and per-call seconds."""
    rows = [[str(r.n), _num(r.symbolic_ops), _num(r.symbolic_cse_ops), _num(r.pytensor_graph_nodes),
             _num(r.pytensor_nodes), _num(r.pytensor_scalar_nodes), _num(r.casadi_nodes), _num(r.ad_tape_ops),
             format_seconds(r.diff_seconds + r.compile_seconds), format_seconds(r.pytensor_setup_seconds),
             format_seconds(r.casadi_setup_seconds), format_seconds(r.reverse_setup_seconds),
             format_seconds(r.pytensor_eval_seconds), format_seconds(r.casadi_eval_seconds)]
            for r in case.rows]
    return Table(f"{case.name}: trees vs graphs",
                 ["n", "tree", "cse", "pt grad", "pt rewritten", "pt scalar", "casadi sx", "tape",
                  "sympy setup", "pt setup", "casadi setup", "tape setup", "pt eval", "casadi eval"], rows,
                 "pt grad: PyTensor's graph as pytensor.grad builds it; rewritten: apply nodes after "
                 "its rewrites (scalar: fused nodes by their scalar operations; — past --graph-cap "
                 "or where pytensor or casadi is not installed: pip install difflab[graph]).")


# ---------------------------------------------------------------------- accuracy
def accuracy_tables(result) -> list[Table]:
    models = {(t.method, t.dtype): t for t in result.theory}
    rows = []
    for b in result.best:
        t = models.get((b.method, b.dtype))
        rows.append([b.method, b.dtype, _sci(b.step), _sci(b.error),
                     _sci(t.step) if t else "—", _sci(t.error) if t else "—"])
    x = ", ".join(f"{v:g}" for v in result.x)
    out = [Table(f"Best step per finite-difference method: {result.function} at x = {x}",
                 ["method", "dtype", "best h", "error there", "model h*", "model error"], rows,
                 "Relative error against the oracle; steps h = 1e-1 ... 1e-20, four per decade "
                 "(a real stencil's step below the spacing of floats at x is raised to that spacing). "
                 "fd-complex's model optimum is the largest h at which it is reached; "
                 "— where the model has no optimum.")]
    est = _richardson_estimate(result)
    if est:
        out.append(est)
    if result.digits:
        out.extend(digits_tables(result.digits))
    if getattr(result, "estimates", None):
        out.append(estimates_table(result.estimates))
    return out


def estimates_table(cells) -> Table:
    """Part 3: per method, dtype and kind, the medians of true error, reported bound and the
    library's own estimate, and how often each covered the true error entry by entry."""
    from .estimates import summary

    rows = []
    for r in summary(cells):
        own = "—" if r["library_bounded"] is None else f"{r['library_bounded']}/{r['cells']}"
        rows.append([r["method"], r["dtype"], r["kind"], _sci(r["median_error"]),
                     _sci(r["median_bound"]), _sci(r["median_library"]) if r["median_library"] is not None else "—",
                     f"{r['bounded']}/{r['cells']}", own, f"{r['median_evaluations']:.0f}"])
    return Table("Error estimates at the default step: true error, the reported bound, the library's own",
                 ["method", "dtype", "kind", "error", "bound", "library's", "bound covers",
                  "library's covers", "evals"], rows,
                 "Medians over the catalogue's scalar functions of the max-norm error relative to the "
                 "largest exact entry; 'covers': cells where every entry's true error is within it. "
                 "The bound: fd-richardson's own model; for the libraries, their estimate made a "
                 "bound (each output's largest, doubled; fd-scipy adds f's rounding over its first "
                 "step). fd-scipy's float32 Hessian is central differences of its gradient (no "
                 "library estimate).")


def _richardson_estimate(result) -> Optional[Table]:
    """fd-richardson's own error estimate beside its true error, at a few steps."""
    curves = {(c.method, c.dtype): c for c in result.curves}
    rows = []
    for dtype in dict.fromkeys(c.dtype for c in result.curves):
        true, est = curves.get(("fd-richardson", dtype)), curves.get(("fd-richardson-estimate", dtype))
        if not (true and est):
            continue
        for h, e, b in list(zip(true.steps, true.errors, est.errors))[::8]:
            ok = "yes" if (e is not None and b is not None and b >= e) else "no"
            rows.append([dtype, _sci(h), _sci(e), _sci(b), ok])
    if not rows:
        return None
    return Table("fd-richardson: its error estimate vs its true error",
                 ["dtype", "largest step", "true error", "estimate", "bounds it"], rows)


def digits_tables(cells) -> list[Table]:
    """Correct digits, functions x methods, one table per dtype."""
    out = []
    for dtype in dict.fromkeys(c.dtype for c in cells):
        mine = [c for c in cells if c.dtype == dtype]
        methods = list(dict.fromkeys(c.method for c in mine))
        functions = list(dict.fromkeys(c.function for c in mine))
        cell = {(c.function, c.method): c for c in mine}
        rows = [[f] + [_digit_cell(cell.get((f, m))) for m in methods] for f in functions]
        out.append(Table(f"Correct digits of the gradient, {dtype} (oracle: 50-digit forward mode)",
                         ["function"] + methods, rows,
                         "— unsupported or failed (the method says why: `difflab compare FUNCTION`)."))
    return out


def _digit_cell(c) -> str:
    if c is None:
        return ""
    if c.status != "ok":
        return "—"
    return _digits(c.digits)


# ---------------------------------------------------------------------- speed
def speed_tables(result) -> list[Table]:
    out = []
    dims = sorted({r.dim for r in result.rows} | {s.dim for s in result.skipped
                                                   if not s.method.endswith("hessian") and "(" not in s.method})
    methods = list(dict.fromkeys(r.method for r in result.rows))
    cell = {(r.method, r.dim): r for r in result.rows}
    skip = {(s.method, s.dim): s for s in result.skipped}
    f_row = ["f itself"] + [format_seconds(next((r.f_seconds for r in result.rows if r.dim == d), None))
                            for d in dims]
    rows = [f_row]
    for m in methods + [m for m in dict.fromkeys(s.method for s in result.skipped)
                        if m not in methods and " " not in m]:
        row = [m]
        for d in dims:
            r, s = cell.get((m, d)), skip.get((m, d))
            if r is not None:
                row.append(f"{format_seconds(r.call_seconds)} ({r.ratio:.3g}x)")
            elif s is not None and s.estimate_seconds is not None and math.isfinite(s.estimate_seconds):
                row.append(f"skipped (~{format_seconds(s.estimate_seconds)})")
            elif s is not None:
                row.append("skipped")
            else:
                row.append("")
        rows.append(row)
    out.append(Table(f"(a) Gradient of {result.function}: seconds per call (ratio to f)",
                     ["method"] + [f"n = {d:,}" for d in dims], rows,
                     "Median of repeated timings; setup (tracing, compiling) excluded. "
                     "skipped (~t): predicted per-call time past the time budget. "
                     f"Measured in {result.allocator}."))
    overheads = [r for r in result.rows if getattr(r, "adapter_overhead", None) is not None]
    if overheads:
        fw_dims = sorted({r.dim for r in overheads})
        fw_cell = {(r.method, r.dim): r for r in overheads}
        out.append(Table(
            "(a) Adapter overhead: the framework methods / the framework called directly",
            ["method"] + [f"n = {d:,}" for d in fw_dims],
            [[m] + [(f"{fw_cell[m, d].adapter_overhead:.2f}x ({format_seconds(fw_cell[m, d].direct_seconds)} direct)"
                     if (m, d) in fw_cell else "—") for d in fw_dims]
             for m in dict.fromkeys(r.method for r in overheads)],
            "difflab's call / the framework's own gradient on the same function, NumPy in and out, "
            "timed in the same run; frameworks timed synchronously "
            f"({getattr(result, 'dispatch', 'every call ends in a NumPy array')})."))
    fits = getattr(result, "fits", None) or {}
    if fits:
        out.append(Table("(a) Cost growth: gradient time ~ n^k (least squares, n = 1e3 to 1e6)",
                         ["method", "k", "sizes"],
                         [[m, f"{v['k']:.2f}", ", ".join(f"{d:,}" for d in v["dims"])]
                          for m, v in fits.items()],
                         "k = 1: linear in n; a k below 1 means fixed per-call costs still "
                         "dominate at the smaller sizes."))
    faulty = [r for r in result.rows if (r.call_faults or 0) >= 1 or (r.f_faults or 0) >= 1]
    if faulty:
        out.append(Table("(a) Minor page faults per call, where there were any",
                         ["method", "n", "faults/call f", "faults/call method", "ratio"],
                         [[r.method, f"{r.dim:,}", f"{r.f_faults or 0:,.0f}", f"{r.call_faults or 0:,.0f}",
                           f"{r.ratio:.3g}x"] for r in faulty],
                         "A method that faults where f does not is timed in a different allocator "
                         "state than f: its ratio is inflated by the faults (docs/methods.md)."))
    setup_rows = [[r.method, f"{r.dim:,}", format_seconds(r.setup_seconds)] for r in result.rows
                  if r.setup_seconds > 1e-3]
    if setup_rows:
        out.append(Table("(a) Setup of the gradient where it is not negligible (> 1 ms)",
                         ["method", "n", "setup"], setup_rows))
    if result.jacobian:
        by = {}
        for r in result.jacobian:
            by.setdefault((r.n, r.m), {})[r.method] = r.call_seconds
        rows = []
        for (n, m), t in sorted(by.items(), key=lambda kv: kv[0][1] / kv[0][0], reverse=True):
            fw, rv = t.get("forward"), t.get("reverse")
            faster = "—" if fw is None or rv is None else ("forward" if fw < rv else "reverse")
            ratio = "—" if fw is None or rv is None else f"{rv / fw:.3g}"
            rows.append([f"{n:,}", f"{m:,}", f"{m / n:.3g}", format_seconds(fw), format_seconds(rv),
                         ratio, faster])
        cross = result.crossover()
        out.append(Table("(b) Jacobian of sin(A tanh(x)), R^n -> R^m, n m fixed: forward vs reverse",
                         ["n", "m", "m/n", "forward", "reverse", "reverse/forward", "faster"], rows,
                         "Crossover at m/n ~ " + (f"{cross:.3g}" if cross else "— (no crossover in range)")))
    if result.setup:
        rows = [[r.method, f"{r.dim:,}", format_seconds(r.setup_seconds),
                 format_seconds(r.call_seconds), f"{r.calls_per_setup:,.0f}"] for r in result.setup]
        out.append(Table("(c) Setup vs per-call cost (gradient)",
                         ["method", "n", "setup", "per call", "calls per setup"], rows))
    if result.hessian:
        hdims = sorted({r.dim for r in result.hessian})
        hm = list(dict.fromkeys(r.method for r in result.hessian))
        cell = {(r.method, r.dim): r for r in result.hessian}
        rows = [[m, next(r.how for r in result.hessian if r.method == m)]
                + [format_seconds(cell[(m, d)].call_seconds) if (m, d) in cell else "skipped" for d in hdims]
                for m in hm]
        out.append(Table(f"(d) Hessian of {result.function}: seconds per call",
                         ["method", "how"] + [f"n = {d}" for d in hdims], rows))
    notes = [[s.method, f"{s.dim:,}", s.reason] for s in result.skipped
             if not s.reason.startswith("over the time budget at a smaller")]
    if notes:
        out.append(Table("Skipped", ["method", "n", "why"], notes))
    return out


# ---------------------------------------------------------------------- renderers
def to_rich(table: Table):
    from rich.table import Table as RichTable

    t = RichTable(title=table.title, caption=table.note or None, title_justify="left",
                  caption_justify="left")
    for i, h in enumerate(table.headers):
        t.add_column(h, style="method" if i == 0 else None, justify="left" if i == 0 else "right")
    for row in table.rows:
        t.add_row(*[_escape(c) for c in row])
    return t


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(str(text))


def to_markdown(table: Table, heading: str = "####") -> str:
    lines = [f"{heading} {table.title}", "", "| " + " | ".join(table.headers) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(table.headers))) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", table.note]
    return "\n".join(lines) + "\n"


def render_all(tables: Sequence[Table]) -> str:
    return "\n".join(to_markdown(t) for t in tables)
