"""The evaluation trace (Wengert list) of one recording, with its tangent and adjoint sweeps.

``difflab.trace(f, x)`` records ``f`` once with the reverse engine's tape and lays it out as
the textbooks do: the inputs ``v_{1-n} .. v_0``, then one row ``v_i`` per elementary
operation with its value; the forward sweep (``v̇_i`` for each seed direction, the JVP at the
bottom) and the reverse sweep (``v̄_i`` in reverse order, the contributions summed at each
fan-out shown, the gradient at the bottom). Both sweeps apply the rows of the one rule table
(:mod:`difflab.ad.rules`) through the forward and reverse engines' own per-rule maps, so the
table shows exactly the numbers the engines compute.

Rows are listed by depth (an operation after everything it reads, operations of equal depth
in recording order): the textbook's order, ``v1 = ln v-1, v2 = v-1*v0, v3 = sin v0,
v4 = v1+v2, v5 = v4-v3``, whatever order Python evaluated the formula in.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from ..interface import boundary
from ..errors import InputError
from .trace_table import summary, trace_tables

#: Above this many inputs the default seed is e_1 alone, not every basis vector in turn.
MAX_BASIS_DIRECTIONS = 4
#: A trace with more rows than this is refused (``max_rows``), not printed.
DEFAULT_MAX_ROWS = 100
SCHEMA = "difflab.trace/1"

_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}


@dataclass
class Row:
    """One ``v_i``: an input (``op`` "input") or an elementary operation on earlier rows."""

    index: int
    op: str
    args: tuple            # row indices of the traced arguments, in argument order
    text: str              # "v_-1 * v_0", "log(v_-1)", "x1": the operation as written
    value: object
    tangents: list = field(default_factory=list)   # one per direction
    adjoint: object = None
    contributions: list = field(default_factory=list)  # (row index it came from, amount)


@dataclass(repr=False)
class Trace:
    """An evaluation trace with its forward and reverse sweeps (full precision).

    Shows itself as the textbook tables: ``str()`` and IPython print them, Jupyter draws
    them as HTML; ``repr`` is one line.
    """

    name: str
    x: np.ndarray
    rows: list
    output: int             # index of the output row
    directions: np.ndarray  # (k, n)
    jvp: list               # the output's tangent, one per direction
    gradient: np.ndarray

    def row(self, index: int) -> Row:
        return next(r for r in self.rows if r.index == index)

    def to_dict(self, decimals: int = 6) -> dict:
        """The ``difflab.trace/1`` document; numbers rounded to ``decimals``."""
        def num(v):
            return _json_value(v, decimals)

        return {
            "schema": SCHEMA, "function": self.name, "x": [num(v) for v in self.x],
            "directions": [[num(v) for v in d] for d in self.directions],
            "output": self.output,
            "rows": [{"index": r.index, "op": r.op, "args": list(r.args), "text": r.text,
                      "value": num(r.value), "tangent": [num(t) for t in r.tangents],
                      "adjoint": num(r.adjoint),
                      "contributions": [{"from": i, "amount": num(c)} for i, c in r.contributions]}
                     for r in self.rows],
            "jvp": [num(t) for t in self.jvp],
            "gradient": [num(g) for g in self.gradient],
        }

    def to_json(self, decimals: int = 6) -> str:
        return json.dumps(self.to_dict(decimals), indent=2, allow_nan=False)

    # ------------------------------------------------------------------ display
    def summary(self, decimals: int = 6) -> str:
        """One line: the function, the point, the size of the trace, the gradient."""
        def show(values):
            return "(" + ", ".join(summary(v, decimals) for v in values) + ")"

        steps = sum(1 for r in self.rows if r.op != "input")
        return (f"evaluation trace of {self.name} at {show(self.x[:8])}"
                f"{'…' if self.x.size > 8 else ''}: {steps} operations, "
                f"f = {summary(self.row(self.output).value, decimals)}, gradient "
                f"{show(self.gradient[:8])}{'…' if self.gradient.size > 8 else ''}")

    def tables(self, decimals: int = 6) -> tuple:
        """``(forward, reverse)``: the two rich tables ``difflab trace`` prints."""

        return trace_tables(self, decimals)

    def __repr__(self) -> str:
        from ..console.display import MAX_REPR, shorten

        return f"<{shorten(self.summary(), MAX_REPR - 2)}>"

    def __str__(self) -> str:
        from ..console import plain_text

        return "\n\n".join(plain_text(table) for table in self.tables())

    def __rich__(self):
        from rich.console import Group

        forward, reverse = self.tables()
        return Group(forward, "", reverse)

    def _repr_pretty_(self, printer, cycle) -> None:
        """IPython: the tables, as ``difflab trace`` prints them."""
        printer.text(repr(self) if cycle else str(self))

    def _repr_html_(self) -> str:
        """Jupyter: both tables as HTML."""
        from ..console.display import html_table

        return "".join(html_table(table) for table in self.tables())


def trace(f, x, direction=None, max_rows: int = DEFAULT_MAX_ROWS) -> Trace:
    """The evaluation trace of the scalar ``f`` at ``x`` with both sweeps.

    ``f``: a callable, a :class:`difflab.Function` or an expression's text. ``direction``:
    the seed of the forward sweep (default: each basis vector in turn for up to
    :data:`MAX_BASIS_DIRECTIONS` inputs, else e_1). A trace of more than ``max_rows`` rows is
    an :class:`InputError` that says how long it is.
    """
    from ..ad.reverse import record
    from ..interface.function import as_function

    function = as_function(f)
    x = _point(x)
    directions = _directions(direction, x.size)
    out, tape = record(function.fn, x)
    try:
        return _build(function.name, x, out, tape, directions, max_rows, function.variables)
    finally:
        tape.close()


def _point(x) -> np.ndarray:
    return boundary.check_point(x, np.float64, "the point")


def _directions(direction, n: int) -> np.ndarray:
    if direction is None:
        return np.eye(n)[: n if n <= MAX_BASIS_DIRECTIONS else 1]
    d = np.asarray(direction, dtype=np.float64)
    if d.shape != (n,):
        raise InputError(f"the direction has {d.size} value(s), the point {n}")
    if not np.all(np.isfinite(d)):
        raise boundary.not_finite_input("the direction")
    return d[None, :]


def _build(name, x, out, tape, directions, max_rows, variables=None) -> Trace:
    from ..ad.reverse import Node

    if not (isinstance(out, Node) and out.tape is tape):
        raise InputError(f"{name} does not depend on its input at this point: nothing to trace")
    if np.shape(out.value) not in ((), (1,)):
        raise InputError(f"{name} returns shape {np.shape(out.value)}: the trace's reverse sweep "
                         "is for a scalar function (one sweep per output)")
    leaf = tape.inputs
    inputs = _scalar_inputs(tape, leaf, x.size)
    n_rows = (x.size if inputs is not None else 1) + sum(1 for nd in tape if id(nd) not in (inputs or {}))
    if n_rows > max_rows:
        raise InputError(f"the trace of {name} has {n_rows:,} rows, more than max_rows={max_rows:,}: "
                         f"pass --max-rows {n_rows} to print it all, or trace a smaller input")
    rows, index_of = _input_rows(x, leaf, inputs, directions, variables)
    by_index = {r.index: r for r in rows}
    ops = _by_depth([nd for nd in tape if id(nd) not in (inputs or {})], leaf, inputs)
    for k, node in enumerate(ops, start=1):
        args = tuple(index_of[id(p)] for _, p in node.parents)
        tangents = [_tangent(node, [by_index[a].tangents[j] for a in args])
                    for j in range(directions.shape[0])]
        by_index[k] = Row(k, node.rule.name, args, _text(node, index_of), node.value, tangents)
        rows.append(by_index[k])
        index_of[id(node)] = k
    _reverse_sweep(by_index, ops, index_of, out)
    output = index_of[id(out)]
    gradient = _gradient(rows, inputs, x)
    return Trace(name, x, rows, output, directions,
                 [_scalar(t) for t in by_index[output].tangents], gradient)


def _scalar_inputs(tape, leaf, n):
    """``{id(node): i}`` when every use of the input is ``x[i]`` for an integer i (then the
    inputs are n scalar rows, as in the textbooks), else None (one array input row)."""
    found = {}
    for node in tape:
        for _, parent in node.parents:
            if parent is not leaf:
                continue
            index = node.params.get("index") if node.rule.name == "getitem" else None
            if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
                return None
            found[id(node)] = int(index) % n
    return found


def _input_rows(x, leaf, inputs, directions, variables=None):
    n = x.size
    names = variables if variables is not None and len(variables) == n else \
        [f"x{i + 1}" for i in range(n)]
    if inputs is None:
        row = Row(0, "input", (), "x", x, tangents=[d.copy() for d in directions])
        return [row], {id(leaf): 0}
    rows = [Row(i - n + 1, "input", (), names[i], x[i], tangents=[d[i] for d in directions])
            for i in range(n)]
    index_of = {node_id: i - n + 1 for node_id, i in inputs.items()}
    return rows, index_of


def _by_depth(ops, leaf, inputs):
    """The operations by depth (1 + the deepest argument), ties in recording order."""
    depth = {id(leaf): 0, **{node_id: 0 for node_id in (inputs or {})}}
    for node in ops:
        depth[id(node)] = 1 + max(depth[id(p)] for _, p in node.parents)
    order = sorted(range(len(ops)), key=lambda k: (depth[id(ops[k])], k))
    return [ops[k] for k in order]


def _text(node, index_of) -> str:
    """The operation as written: ``v_-1 * v_0``, ``log(v_-1)``, ``v_3[1:]``, ``v_2 ** 2``."""
    traced = {i: f"v_{index_of[id(p)]}" for i, p in node.parents}
    args = [traced.get(i, _constant_text(a)) for i, a in enumerate(node.args)]
    name = node.rule.name
    if name in _SYMBOLS and len(args) == 2:
        return f"{args[0]} {_SYMBOLS[name]} {args[1]}"
    if name == "neg":
        return f"-{args[0]}"
    if name == "getitem":
        return f"{args[0]}[{_index_text(node.params['index'])}]"
    shown = {k: v for k, v in node.params.items() if v is not None and v is not False}
    params = ", ".join(f"{k}={v}" for k, v in shown.items())
    return f"{name}({', '.join(args)}{', ' + params if params else ''})"


def _constant_text(a) -> str:
    if np.ndim(a) == 0:
        return f"{float(a):g}"
    return f"<constant {np.shape(a)}>"


def _index_text(index) -> str:
    parts = index if isinstance(index, tuple) else (index,)

    def one(p):
        if isinstance(p, slice):
            return ":".join("" if v is None else str(v) for v in (p.start, p.stop)) + (
                f":{p.step}" if p.step is not None else "")
        return str(p) if np.ndim(p) == 0 else f"<index {np.shape(p)}>"
    return ", ".join(one(p) for p in parts)


def _tangent(node, arg_tangents):
    """``v̇`` of ``node`` from its arguments' tangents: the forward engine's map for its rule."""
    from ..ad.forward import _JVP
    from ..namespaces import namespace

    values = list(node.args)
    ts = [np.asarray(t)[None, ...] for t in arg_tangents]  # one direction: a batch of 1
    t = _JVP[node.rule.kind](node.rule, namespace(*values), node.value, values,
                             [i for i, _ in node.parents], ts, node.params)
    return np.asarray(t)[0]


def _reverse_sweep(by_index, ops, index_of, out) -> None:
    """``v̄`` of every row, last to first: the reverse engine's map for each rule, and each
    contribution kept where a row fans out."""
    from ..ad.reverse import _VJP
    from ..namespaces import namespace

    by_index[index_of[id(out)]].adjoint = np.ones_like(np.asarray(out.value, dtype=float))
    for node in reversed(ops):
        row = by_index[index_of[id(node)]]
        if row.adjoint is None:
            continue
        xp = namespace(node.value, row.adjoint)
        for i, parent in node.parents:
            contribution = _VJP[node.rule.kind](node, xp, row.adjoint, i)
            target = by_index[index_of[id(parent)]]
            target.contributions.append((row.index, contribution))
            target.adjoint = contribution if target.adjoint is None else target.adjoint + contribution
    for row in by_index.values():
        if row.adjoint is None:
            row.adjoint = np.zeros_like(np.asarray(row.value, dtype=float))


def _gradient(rows, inputs, x) -> np.ndarray:
    input_rows = sorted((r for r in rows if r.op == "input"), key=lambda r: r.index)
    if inputs is None:
        return np.asarray(input_rows[0].adjoint, dtype=float).reshape(x.shape)
    return np.array([float(r.adjoint) for r in input_rows])


def _scalar(v):
    a = np.asarray(v, dtype=float)
    return float(a.reshape(())) if a.size == 1 else a


# ---------------------------------------------------------------------- showing numbers
def _json_value(v, decimals):
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return _json_number(float(a), decimals)
    return {"shape": list(a.shape),
            "min": _json_number(float(a.min()), decimals) if a.size else None,
            "max": _json_number(float(a.max()), decimals) if a.size else None}


def _json_number(v: float, decimals: int):
    if not math.isfinite(v):
        return str(v)
    r = round(v, decimals)
    return 0.0 if r == 0 else r
