"""Fuzz programs as plain data: an expression tree, its evaluator, and its printed forms.

A program is a tree of :class:`Node` (frozen, hashable, picklable: it travels to Dask
workers as it is). :func:`build` turns a tree into a Python closure over any difflab
namespace (nothing is evaluated from text); :func:`python_source` prints the same program
as a Python lambda and :func:`expression_text` as difflab's own expression grammar, for
the reproducers.

Node kinds (``op``):

- leaves: ``"var"`` (``x[value]``), ``"x"`` (the whole input vector), ``"const"`` (a float),
  ``"data"`` (a constant vector or matrix, nested tuples);
- elementwise functions of one argument (:data:`UNARY`), ``"pow"`` (exponent in ``value``);
- arithmetic ``"add" "sub" "mul" "div"`` and ``"maximum" "minimum"`` (broadcasting);
- reductions (:data:`REDUCTIONS`) to a scalar; ``"matmul"`` (``data @ a``);
  ``"index"`` (``a[value]``), ``"slice"`` (``a[start:stop]``), ``"clip"`` (``value = (lo, hi)``);
- ``"where"``: ``where(c > value, a, b)``; ``"if"``: Python's ``a if c > value else b``
  (data-dependent control flow).

The elementwise ops are the op list's (each with its domain beside it in
:data:`difflab.namespaces.ops.UNARY_DOMAINS`) but those in :data:`LEFT_OUT`, each with its reason; the
other op sets are explicit subsets of :data:`difflab.namespaces.ops.OPS` (a test checks).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..namespaces.ops import UNARY as UNARY_OPS

#: Elementwise ops of difflab.namespaces.ops.UNARY the generator does not draw, and why.
LEFT_OUT = {"sign": "piecewise constant: its derivative is 0 wherever it exists, so it checks "
                    "nothing a constant does not, and drawing it would reshuffle every campaign"}
#: Elementwise functions the generator draws: the op list's, each with its domain there
#: (difflab.namespaces.ops.UNARY_DOMAINS), but those LEFT_OUT. A new op enters campaigns at the end of
#: the list (it changes which programs a seed draws) unless it is named in LEFT_OUT.
UNARY = tuple(op for op in UNARY_OPS if op not in LEFT_OUT)
ARITHMETIC = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
BINARY = ("maximum", "minimum")
REDUCTIONS = ("sum", "prod", "mean", "max", "min", "logsumexp")
#: Namespace operations the campaign uses, all from difflab.namespaces.ops.OPS.
NAMESPACE_OPS = UNARY + BINARY + REDUCTIONS + ("matmul", "where", "clip", "asarray")
LEAVES = ("var", "x", "const", "data")


@dataclass(frozen=True)
class Node:
    """One node of a program: ``op``, its argument nodes, and an op-specific ``value``."""

    op: str
    args: tuple = ()
    value: Any = None

    def size(self) -> int:
        """Number of nodes in the tree."""
        return 1 + sum(a.size() for a in self.args)

    def ops(self) -> set:
        """The op names used anywhere in the tree."""
        found = {self.op}
        for a in self.args:
            found |= a.ops()
        return found

    def walk(self):
        """Every node, parent before children (pre-order)."""
        yield self
        for a in self.args:
            yield from a.walk()


def _ns(*values):
    from ..namespaces import namespace

    return namespace(*values)


def build(tree: Node, perturb: Callable | None = None) -> Callable:
    """``fn(x)``: the program as a closure, in whatever namespace ``x`` is.

    ``perturb(number, node, argument values, result) -> result``, when given, is applied at
    every non-leaf node (numbered in pre-order): the condition estimate (verdict.py) uses
    it to move every intermediate and every partial derivative a little.
    """
    return _closure(tree, iter(range(10 ** 9)), perturb)


def _closure(node: Node, counter, perturb) -> Callable:
    number = next(counter)
    op, value = node.op, node.value
    if op == "var":
        return lambda x: x[value]
    if op == "x":
        return lambda x: x
    if op == "const":
        return lambda x: value
    if op == "data":
        data = np.array(value, dtype=np.float64)
        return lambda x: _ns(x).asarray(data)
    args = [_closure(a, counter, perturb) for a in node.args]
    if op == "if":  # only the branch taken runs
        c, a, b = args
        if perturb is None:
            return lambda x: a(x) if c(x) > value else b(x)
        return lambda x: perturb(number, node, (), a(x) if c(x) > value else b(x))
    apply = _apply(op, value)
    if perturb is None:
        return lambda x: apply(*[a(x) for a in args])

    def perturbed(x):
        values = [a(x) for a in args]
        return perturb(number, node, values, apply(*values))
    return perturbed


def operation(node: Node) -> Callable:
    """The operation of a non-leaf node other than ``if``, as a function of its arguments."""
    return _apply(node.op, node.value)


def _apply(op, value) -> Callable:
    """The operation of one node as a function of its arguments' values."""
    if op in UNARY:
        return lambda a: _unary(op, a)
    if op in ARITHMETIC:
        return {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
                "mul": lambda a, b: a * b, "div": lambda a, b: a / b}[op]
    if op == "pow":
        return lambda a: a ** value
    if op in BINARY:
        return lambda a, b: _binary(op, a, b)
    if op in REDUCTIONS:
        return lambda a: _reduce(op, a)
    if op == "matmul":
        return _matmul
    if op == "index":
        return lambda a: a[value]
    if op == "slice":
        start, stop = value
        return lambda a: a[start:stop]
    if op == "clip":
        lo, hi = value
        return lambda a: _clip(a, lo, hi)
    if op == "where":
        return lambda c, a, b: _where(c, value, a, b)
    raise ValueError(f"unknown fuzz op {op!r}")


def _unary(op, a):
    return getattr(_ns(a), op)(a)


def _binary(op, a, b):
    return getattr(_ns(a, b), op)(a, b)


def _reduce(op, a):
    return getattr(_ns(a), op)(a)


def _matmul(m, a):
    return _ns(m, a).matmul(m, a)


def _clip(a, lo, hi):
    return _ns(a).clip(a, lo, hi)


def _where(c, threshold, a, b):
    return _ns(c, a, b).where(c > threshold, a, b)


# ---------------------------------------------------------------------- printing
def python_source(tree: Node) -> str:
    """The program as the body of ``lambda x: ...`` with ``xp`` the namespace."""
    return _py(tree)


def _num(v) -> str:
    return repr(float(v))


def _data(v) -> str:
    return f"xp.asarray(np.array({_nested(v)}))"


def _nested(v) -> str:
    if isinstance(v, tuple):
        return "[" + ", ".join(_nested(e) for e in v) + "]"
    return _num(v)


def _py(node: Node) -> str:
    op, v = node.op, node.value
    args = node.args
    if op == "var":
        return f"x[{v}]"
    if op == "x":
        return "x"
    if op == "const":
        return _num(v) if v >= 0 else f"({_num(v)})"
    if op == "data":
        return _data(v)
    if op in UNARY or op in REDUCTIONS:
        return f"xp.{op}({_py(args[0])})"
    if op in ARITHMETIC:
        return f"({_py(args[0])} {ARITHMETIC[op]} {_py(args[1])})"
    if op == "pow":
        return f"({_py(args[0])} ** {_num(v)})"
    if op in BINARY:
        return f"xp.{op}({_py(args[0])}, {_py(args[1])})"
    if op == "matmul":
        return f"xp.matmul({_py(args[0])}, {_py(args[1])})"
    if op == "index":
        return f"{_py(args[0])}[{v}]"
    if op == "slice":
        return f"{_py(args[0])}[{v[0]}:{v[1]}]"
    if op == "clip":
        return f"xp.clip({_py(args[0])}, {_num(v[0])}, {_num(v[1])})"
    if op == "where":
        return f"xp.where({_py(args[0])} > {_num(v)}, {_py(args[1])}, {_py(args[2])})"
    if op == "if":
        return f"({_py(args[1])} if {_py(args[0])} > {_num(v)} else {_py(args[2])})"
    raise ValueError(f"unknown fuzz op {op!r}")


#: Ops difflab's expression grammar can write (elementwise, scalar, no control flow).
_EXPRESSION_OPS = set(UNARY) | set(ARITHMETIC) | set(BINARY) | {"pow", "var", "const"}


def expression_text(tree: Node) -> str | None:
    """The program in difflab's expression grammar (variables ``x0``, ``x1``, ...), or None
    where it uses something the grammar has not (vectors, reductions, control flow)."""
    if not tree.ops() <= _EXPRESSION_OPS:
        return None
    return _expr(tree)


def _expr(node: Node) -> str:
    op, v, args = node.op, node.value, node.args
    if op == "var":
        return f"x{v}"
    if op == "const":
        return _num(v) if v >= 0 else f"({_num(v)})"
    if op in UNARY:
        return f"{op}({_expr(args[0])})"
    if op in ARITHMETIC:
        return f"({_expr(args[0])} {ARITHMETIC[op]} {_expr(args[1])})"
    if op == "pow":
        return f"{_expr(args[0])}^{_num(v) if v >= 0 else f'({_num(v)})'}"
    return f"{op}({_expr(args[0])}, {_expr(args[1])})"


def variables(tree: Node) -> list:
    """The indices of ``x`` the tree reads (all of them where it reads ``x`` whole)."""
    found = sorted({n.value for n in tree.walk() if n.op == "var"})
    return found
