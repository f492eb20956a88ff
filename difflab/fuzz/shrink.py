"""Shrinking a failing case to the smallest program that still fails (delta debugging).

Each pass tries, at every node, replacing the subtree by one of its own arguments of the
same shape, by a constant (its value at the point, to 3 significant digits), or by a
single variable; a candidate is kept when it still respects the generator's margin and
still fails the same way. Passes repeat until none shrinks the tree, or the budget of
checks is spent. The point ``x`` and the vectors stay as they are.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from . import generate as gen
from . import program
from .generate import Case
from .program import Node

#: Most candidate checks one shrink spends (each check is an oracle call and a method call).
BUDGET = 150


def _replace(tree: Node, path: tuple, new: Node) -> Node:
    if not path:
        return new
    args = list(tree.args)
    args[path[0]] = _replace(args[path[0]], path[1:], new)
    return Node(tree.op, tuple(args), tree.value)


def _paths(tree: Node, path=()):
    yield path, tree
    for i, a in enumerate(tree.args):
        yield from _paths(a, path + (i,))


def _shape(node: Node, x):
    with np.errstate(all="ignore"):
        try:
            return np.shape(program.build(node)(x))
        except Exception:  # noqa: BLE001 - a subtree that does not stand alone
            return None


def candidates(case: Case):
    """Smaller trees, smallest first: (tree) for each replacement of the module docstring."""
    x = case.point()
    tree = case.tree
    variables = program.variables(tree) or [0]
    out = []
    for path, node in _paths(tree):
        if not node.args:
            continue
        shape = _shape(node, x)
        options = [a for a in node.args if _shape(a, x) == shape]
        if shape == ():
            with np.errstate(all="ignore"):
                value = float(np.asarray(program.build(node)(x), dtype=np.float64))
            if np.isfinite(value):
                options.append(Node("const", (), float(f"{value:.3g}")))
            options.extend(Node("var", (), i) for i in variables)
        elif shape == x.shape:
            options.append(Node("x"))
        for new in options:
            if new != node:
                out.append(_replace(tree, path, new))
    out.sort(key=lambda t: t.size())
    return out


def valid(case: Case, tree: Node) -> Case | None:
    """The case with ``tree``, or None where the tree leaves the margin or reads nothing."""
    if not gen.depends(tree):
        return None
    m = gen.margin(tree, case.point())
    if not (m >= min(gen.MARGIN, case.margin)):  # a program at a kink may stay at one
        return None
    return dataclasses.replace(case, tree=tree, margin=m)


def shrink(case: Case, fails: Callable[[Case], bool], budget: int = BUDGET) -> tuple:
    """``(smallest failing case, checks spent)``; ``fails(case)`` must hold for ``case``."""
    spent = 0
    improved = True
    while improved and spent < budget:
        improved = False
        for tree in candidates(case):
            if tree.size() >= case.tree.size():
                continue
            smaller = valid(case, tree)
            if smaller is None:
                continue
            spent += 1
            if fails(smaller):
                case, improved = smaller, True
                break
            if spent >= budget:
                break
    return case, spent
