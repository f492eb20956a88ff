"""The records a gradient check produces, and the table an ``AssertionError`` shows.

A :class:`CheckReport` holds one :class:`Row` per derivative component (or per random
direction) per method per point, and one :class:`MethodOutcome` per method. Everything a
failure message, the ``difflab check`` table and its JSON show is computed from these.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

from ..console.display import Tabular, html_table
from ..console.json_numbers import number

VALUE_SIDE = "value = the method under test"
REFERENCE_SIDE = "reference = the oracle"


@dataclass
class Row:
    """One compared number: the method's value against the reference.

    ``status`` is ``"ok"`` (within tolerance), ``"fail"``, or ``"kink"`` (the derivative
    does not exist here and the value lies between the one-sided derivatives).
    ``index`` is the component (``(i,)`` for a gradient, ``(i, j)`` for a Jacobian or
    Hessian) or, in the random-direction mode, ``("dir", k)`` for the k-th direction.
    ``left``/``right`` are the one-sided derivatives where the status is ``"kink"``.
    """

    method: str
    point: int
    index: tuple
    value: float
    reference: float
    abs_error: float
    rel_error: float
    tolerance: float
    status: str = "ok"
    left: Optional[float] = None
    right: Optional[float] = None

    @property
    def ratio(self) -> float:
        """Error over tolerance: above 1 is a failure."""
        if self.abs_error == 0:
            return 0.0
        return self.abs_error / self.tolerance if self.tolerance > 0 else float("inf")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["index"] = list(self.index)
        return {k: _json_number(v) for k, v in d.items()}


@dataclass
class MethodOutcome:
    """What happened to one method: its status, a message, and how its tolerance was set.

    ``status`` is ``"ok"``, ``"fail"`` (some row failed), ``"unsupported"`` (the method
    raised NotSupported: not a failure) or ``"error"`` (it raised anything else: a failure).
    """

    method: str
    status: str
    dtype: str = "float64"
    tolerance_model: str = ""
    message: str = ""


@dataclass(repr=False)
class CheckReport(Tabular):
    """The outcome of a gradient check.

    In a REPL its ``repr`` is one line (the verdict and the worst number); ``str()`` is the
    failure message with the table of the worst rows (what ``assert report.ok, str(report)``
    shows); Jupyter shows the per-method table (and the worst components where some
    disagree); ``to_records()`` gives one dict per compared number (pandas).

    Attributes
    ----------
    ok : bool
        True when every compared number agrees (kinks count as agreeing unless
        ``kinks="fail"`` was asked for) and no method raised an error.
    max_abs_error, max_rel_error : float
        Over every compared number of every method and point.
    worst_index : tuple or None
        The index of the row with the largest error relative to its tolerance.
    rows : list of Row
    methods : list of MethodOutcome
    """

    function: str
    derivative: str
    points: list
    reference: str
    rows: list = field(default_factory=list)
    methods: list = field(default_factory=list)
    fail_on_kinks: bool = False

    # ------------------------------------------------------------------ summary
    @property
    def failures(self) -> list:
        bad = ("fail", "kink") if self.fail_on_kinks else ("fail",)
        return [r for r in self.rows if r.status in bad]

    @property
    def kinks(self) -> list:
        return [r for r in self.rows if r.status == "kink"]

    @property
    def errors(self) -> list:
        return [m for m in self.methods if m.status == "error"]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.failures and not self.errors

    @property
    def max_abs_error(self) -> float:
        return max((r.abs_error for r in self.rows), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((r.rel_error for r in self.rows), default=0.0)

    @property
    def worst(self) -> Optional[Row]:
        return max(self.rows, key=lambda r: r.ratio, default=None)

    @property
    def worst_index(self):
        worst = self.worst
        return None if worst is None else worst.index

    def worst_rows(self, limit: int = 10) -> list:
        """The rows furthest beyond (or closest to) their tolerance, failures and kinks first."""
        rank = {"fail": 0, "kink": 1, "ok": 2}
        return sorted(self.rows, key=lambda r: (rank[r.status], -r.ratio))[:limit]

    def method_summary(self) -> list:
        """Per method: status, max errors, worst row (for the CLI table and JSON)."""
        out = []
        for m in self.methods:
            rows = [r for r in self.rows if r.method == m.method]
            worst = max(rows, key=lambda r: r.ratio, default=None)
            status = m.status
            if status == "ok" and any(r.status == "kink" for r in rows):
                status = "kink"
            out.append({"method": m.method, "status": status, "dtype": m.dtype,
                        "max_abs_error": max((r.abs_error for r in rows), default=None),
                        "max_rel_error": max((r.rel_error for r in rows), default=None),
                        "worst_index": None if worst is None else list(worst.index),
                        "worst_ratio": None if worst is None else worst.ratio,
                        "tolerance_model": m.tolerance_model, "message": m.message})
        return out

    # ------------------------------------------------------------------ rendering
    def table(self, limit: int = 10) -> str:
        """A plain-text table of the worst rows, with which side is which."""
        return format_table(self.worst_rows(limit), len(self.points) > 1)

    def message(self, limit: int = 10) -> str:
        """What an AssertionError says: the verdict, the worst rows, kinks, method errors."""
        n_fail, n_kink = len(self.failures), len(self.kinks)
        verdict = (f"{n_fail} of {len(self.rows)} compared numbers disagree with the reference"
                   if n_fail else f"all {len(self.rows)} compared numbers agree")
        if n_kink and not self.fail_on_kinks:
            verdict += f" ({n_kink} at a kink)"
        head = f"{self.derivative} of {self.function}: {verdict}"
        lines = [head, f"({VALUE_SIDE}; {REFERENCE_SIDE}: {self.reference})"]
        if self.rows:
            lines += ["", self.table(limit)]
        if self.kinks:
            lines += ["", _kink_note(self.kinks, [m.method for m in self.methods if m.status in ("ok", "fail")])]
        for m in self.methods:
            if m.status in ("error", "unsupported"):
                lines.append(f"{m.method}: {m.status}: {m.message}")
        if not self.rows and not self.errors:
            lines.append("no method could compute this derivative")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message()

    def summary(self) -> str:
        """``CheckReport gradient of f: FAILED, 2 of 6 numbers disagree; worst reverse [1] ...``."""
        head = f"CheckReport {self.derivative} of {self.function}"
        methods = ", ".join(m.method for m in self.methods)
        if self.ok:
            return f"{head}: ok, all {len(self.rows)} compared numbers agree ({methods})"
        if not self.rows and not self.errors:
            return f"{head}: FAILED, no method could compute this derivative ({methods})"
        parts = [f"{head}: FAILED"]
        if self.failures:
            parts.append(f"{len(self.failures)} of {len(self.rows)} numbers disagree")
        if self.errors:
            parts.append("error in " + ", ".join(m.method for m in self.errors))
        worst = self.worst
        text = ", ".join(parts)
        if self.failures and worst is not None:
            text += (f"; worst {worst.method} {_index(worst.index)}: rel error "
                     f"{worst.rel_error:.1e}, tolerance {worst.tolerance:.1e}")
        return text

    def rich_table(self):
        """The per-method table of ``difflab check``."""
        return check_methods_table(self)

    def _repr_html_(self) -> str:
        shown = html_table(self.rich_table())
        if self.failures or self.kinks:
            shown += html_table(components_table(self))
        return shown

    def to_records(self) -> list:
        """One flat dict per compared number: method, point, index, value, reference,
        errors, tolerance, status (``pandas.DataFrame(report.to_records())``)."""
        return [{"function": self.function, "derivative": self.derivative, **r.to_dict()}
                for r in self.rows]

    def to_dict(self) -> dict:
        return {"function": self.function, "derivative": self.derivative, "ok": self.ok,
                "reference": self.reference,
                "points": [np.asarray(p, dtype=float).tolist() for p in self.points],
                "max_abs_error": _json_number(self.max_abs_error),
                "max_rel_error": _json_number(self.max_rel_error),
                "worst_index": None if self.worst_index is None else list(self.worst_index),
                "methods": [{k: _json_number(v) for k, v in m.items()} for m in self.method_summary()],
                "kinks": [r.to_dict() for r in self.kinks],
                "failures": [r.to_dict() for r in self.failures]}


TABLE_COLUMNS = ("method", "point", "index", "value", "reference", "abs err", "rel err",
                 "tolerance", "status")


def table_cells(row: Row, with_point: bool = True) -> list:
    """The text of one table row; shared by the plain table and the CLI's rich table."""
    status = row.status
    if row.left is not None:
        status += f" (left {_num(row.left)}, right {_num(row.right)})"
    cells = [row.method, str(row.point), _index(row.index), _num(row.value), _num(row.reference),
             f"{row.abs_error:.1e}", f"{row.rel_error:.1e}", f"{row.tolerance:.1e}", status]
    return cells if with_point else cells[:1] + cells[2:]


def format_table(rows: list, with_point: bool = True) -> str:
    header = list(TABLE_COLUMNS) if with_point else [c for c in TABLE_COLUMNS if c != "point"]
    body = [table_cells(r, with_point) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(header)]
    fmt = lambda cells: "  ".join(c.ljust(w) if i in (0, len(cells) - 1) else c.rjust(w)
                                  for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(b) for b in body])


def _kink_note(kinks: list, methods=()) -> str:
    from ..analysis.kinks import tie_rules_note

    where = ", ".join(sorted({_index(r.index) for r in kinks}))
    rules = tie_rules_note(methods)
    return (f"kink at {where}: the one-sided derivatives differ there, so the derivative does "
            f"not exist; a method's value between them is accepted" + (f"\n{rules}" if rules else ""))


def _index(index) -> str:
    if index and index[0] == "dir":
        return f"dir {index[1]}"
    return "[" + ", ".join(str(i) for i in index) + "]"


def _num(v) -> str:
    return "nan" if v is None else f"{v:.9g}"


def _json_number(v):
    return number(v) if isinstance(v, (float, np.floating)) else v


# ---------------------------------------------------------------------- rich tables
def check_methods_table(report):
    """One row per method: status, max errors, the worst component and its error/tolerance."""
    from rich.table import Table
    from rich.text import Text

    from ..reporting.report import format_error
    from ..console.wording import count

    x = report.points[0]
    shown = ", ".join(f"{v:.4g}" for v in x[:4]) + (", …" if x.size > 4 else "")
    table = Table(title=f"{report.derivative} of {report.function} at x = [{shown}]"
                        + (f" and {count(len(report.points) - 1, 'more point')}" if len(report.points) > 1 else ""),
                  title_style="title")
    for name, justify in (("method", "left"), ("status", "left"), ("max abs error", "right"),
                          ("max rel error", "right"), ("worst", "right"), ("err/tol", "right"),
                          ("note", "left")):
        table.add_column(name, justify=justify, style="method" if name == "method" else None,
                         overflow="fold")
    styles = {"ok": "ok", "fail": "failed", "kink": "unsupported", "unsupported": "unsupported",
              "error": "error"}
    models = []
    for m in report.method_summary():
        worst = "" if m["worst_index"] is None else "[" + ", ".join(map(str, m["worst_index"])) + "]"
        ratio = "" if m["worst_ratio"] is None else f"{m['worst_ratio']:.2g}"
        table.add_row(m["method"], Text(m["status"], style=styles.get(m["status"], "")),
                      format_error(m["max_abs_error"]), format_error(m["max_rel_error"]), worst,
                      ratio, m["message"])
        if m["tolerance_model"] and m["tolerance_model"] not in models:
            models.append(m["tolerance_model"])
    table.caption = (f"reference: {report.reference}. err/tol: the worst error over its "
                     f"tolerance; a method agrees when it is at most 1. Tolerances: "
                     + "; ".join(models) + " (see docs/testing.md)")
    return table


def components_table(report, limit: int = 10):
    """The failed and kink components, worst first: the same cells as the AssertionError."""
    from rich.table import Table

    with_point = len(report.points) > 1
    columns = [c for c in TABLE_COLUMNS if with_point or c != "point"]
    table = Table(title="worst components (value: the method; reference: the oracle)", title_style="title")
    for c in columns:
        table.add_column(c, justify="left" if c in ("method", "status") else "right")
    for row in report.worst_rows(limit):
        if row.status != "ok":
            table.add_row(*table_cells(row, with_point))
    return table
