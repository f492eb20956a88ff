"""Seeded random programs, each drawn on a domain where every op is defined.

A case is identified by ``(seed, index)`` and regenerated alone from
``numpy.random.default_rng([seed, index])``: no case depends on another, so cases can be
run in any order, in any process. Programs are built bottom-up at a fixed point ``x``:
an op is drawn only where its argument lies in its domain with at least :data:`MARGIN`
to spare from every kink and singularity (``abs`` at 0, ``log`` at 0, ``arcsin`` at +-1,
a tie of ``maximum``, the threshold of a ``where`` or an ``if``, a pole of ``tan``, a zero
divisor), and every intermediate value stays below :data:`LARGEST` in size. The smallest
such distance over the program is the case's ``margin``.

Families: ``scalar`` (expressions in 1-6 variables, depth 2-8), ``vector`` (reductions,
matmul, indexing and slicing, where/maximum, broadcasting; scalar or vector output) and
``control`` (scalar expressions with at least one Python ``if`` on a value). The opt-in
family ``kinks`` is a scalar program plus one op placed exactly on its kink (a tie of
``maximum``/``minimum``/``max``, ``abs`` at 0, ``clip`` at its lower end), margin 0 there:
where the derivative does not exist and each method answers by its own convention, which
the campaign compares with the oracle's (difflab's rule table: half to each side of a tie,
0 for ``abs``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..namespaces.ops import UNARY_DOMAINS
from . import program
from .program import Node

FAMILIES = ("scalar", "vector", "control")
#: Families drawn only when asked for (``--families ...,kinks``).
OPT_IN = ("kinks",)
#: Share of each family among those drawn.
FAMILY_WEIGHTS = {"scalar": 0.6, "vector": 0.25, "control": 0.15, "kinks": 0.25}
#: The kinks a "kinks" program sits exactly on.
KINKS = ("maximum", "minimum", "abs", "clip", "max")
#: Least distance of any op's argument from a kink or singularity (absolute).
MARGIN = 0.05
#: Largest size of any intermediate value.
LARGEST = 1e4
DEPTHS = (2, 8)
MAX_VARIABLES = 6
ATTEMPTS = 12


@dataclass(frozen=True)
class Case:
    """One generated program and where to differentiate it.

    ``x`` is the point; ``v`` the direction of jvp and hvp, ``u`` the cotangent of vjp
    (one entry per output); ``margin`` the least distance from a kink or singularity.
    """

    seed: int
    index: int
    family: str
    tree: Node
    x: tuple
    v: tuple
    u: tuple
    margin: float

    @property
    def id(self) -> str:
        return f"{self.seed}:{self.index}"

    @property
    def outputs(self) -> int:
        return len(self.u)

    @property
    def scalar(self) -> bool:
        """Whether the program returns one number (gradient, Hessian and hvp apply)."""
        return _shape(self.tree, len(self.x)) == ()

    def function(self):
        """The program as a plain callable over any difflab namespace."""
        return program.build(self.tree)

    def point(self) -> np.ndarray:
        return np.array(self.x, dtype=np.float64)


def generate(seed: int, index: int, families=FAMILIES) -> Case:
    """The case ``(seed, index)``: the same tree, point and vectors every time."""
    rng = np.random.default_rng([int(seed), int(index)])
    weights = np.array([FAMILY_WEIGHTS[f] for f in families])
    family = str(rng.choice(list(families), p=weights / weights.sum()))
    depth = int(rng.integers(DEPTHS[0], DEPTHS[1] + 1))
    low = 2 if family == "vector" else 1
    n = int(rng.integers(low, MAX_VARIABLES + 1))
    x = np.round(rng.uniform(-2.0, 2.0, n), 3)
    kink = _place_kink(rng, x) if family == "kinks" else None  # ties x_j to x_i first
    gen = _Generator(rng, x, family)
    for _ in range(ATTEMPTS):
        tree, _value = gen.root(depth)
        if tree is not None:
            break
    else:  # pragma: no cover - every family has a fallback that always fits
        raise RuntimeError(f"case {seed}:{index}: no program fits its domain")
    if kink is not None:
        tree = Node(str(rng.choice(["add", "mul"])), (tree, kink))
    value = np.asarray(program.build(tree)(x), dtype=np.float64)
    m = max(1, value.size) if value.ndim else 1
    v = np.round(rng.uniform(-1.0, 1.0, n), 3)
    u = np.round(rng.uniform(-1.0, 1.0, m), 3)
    return Case(int(seed), int(index), family, tree, tuple(float(a) for a in x),
                tuple(float(a) for a in v), tuple(float(a) for a in u), margin(tree, x))


# ---------------------------------------------------------------------- domains
#: unary op -> margin of its argument (inf: defined everywhere; <= 0: outside the domain):
#: each op's row in difflab/ops.py carries it.
DOMAINS = UNARY_DOMAINS
#: exponents of "pow", and whether they need a positive base
POWERS = {2.0: False, 3.0: False, 0.5: True, 1.5: True, -1.0: True, -2.0: True}


def _gap(a) -> float:
    """Distance between the largest two (and the smallest two) entries: a max/min tie."""
    flat = np.sort(np.ravel(a))
    if flat.size < 2:
        return math.inf
    return float(min(flat[-1] - flat[-2], flat[1] - flat[0]))


def node_margin(node: Node, values: list) -> float:
    """The margin of one node given its arguments' values (inf where it has no kink)."""
    op = node.op
    if op in DOMAINS:
        return DOMAINS[op](values[0])
    if op == "pow":
        return float(np.min(values[0])) if POWERS.get(node.value, True) else math.inf
    if op == "div":
        return float(np.min(np.abs(values[1])))
    if op in ("maximum", "minimum"):
        return float(np.min(np.abs(np.asarray(values[0]) - np.asarray(values[1]))))
    if op in ("max", "min"):
        return _gap(values[0])
    if op in ("where", "if"):
        return float(np.min(np.abs(np.asarray(values[0]) - node.value)))
    if op == "clip":
        lo, hi = node.value
        return float(min(np.min(np.abs(values[0] - lo)), np.min(np.abs(values[0] - hi))))
    return math.inf


def margin(tree: Node, x) -> float:
    """The least margin over the program at ``x`` (inf where nothing has a kink); NaN
    where a value is not finite or too large."""
    out = [math.inf]

    def visit(node):
        fn = program.build(node)
        values = [np.asarray(program.build(a)(x), dtype=np.float64) for a in node.args]
        out.append(node_margin(node, values))
        v = np.asarray(fn(x), dtype=np.float64)
        if not np.all(np.isfinite(v)) or np.any(np.abs(v) > LARGEST):
            out.append(math.nan)
        for a in node.args:
            visit(a)
    with np.errstate(all="ignore"):
        visit(tree)
    return math.nan if any(math.isnan(m) for m in out) else float(min(out))


def fits(node: Node, values: list, result) -> bool:
    """Whether ``node`` (with argument ``values``) respects the margin and the size bound."""
    with np.errstate(all="ignore"):
        r = np.asarray(result, dtype=np.float64)
        return (node_margin(node, values) >= MARGIN and bool(np.all(np.isfinite(r)))
                and not np.any(np.abs(r) > LARGEST))


def depends(tree: Node) -> bool:
    """Whether the tree reads ``x`` at all."""
    return any(n.op in ("var", "x") for n in tree.walk())


def _shape(tree: Node, n: int):
    """The shape of the tree's value (from a NumPy evaluation at a harmless point)."""
    with np.errstate(all="ignore"):
        return np.shape(program.build(tree)(np.full(n, 0.5)))


def markers(case: Case) -> set:
    """``{"kink:OP"}`` for a program of the kinks family (OP the op placed on its kink),
    so that known behaviours can name the kink rather than any op of the program."""
    if case.family != "kinks":
        return set()
    return {f"kink:{case.tree.args[1].op}"}


def _place_kink(rng, x) -> Node:
    """An op exactly on its kink at ``x`` (which it may change: ``x_j = x_i`` for a tie)."""
    n = x.size
    kind = str(rng.choice([k for k in KINKS if n >= 2 or k in ("abs", "clip")]))
    i = int(rng.integers(n))
    var = Node("var", (), i)
    if kind in ("maximum", "minimum", "max"):
        j = int(rng.choice([k for k in range(n) if k != i]))
        x[j] = x[i]
        other = Node("var", (), j)
        if kind == "max":  # a reduction over a slice holding both
            lo, hi = min(i, j), max(i, j)
            return Node("max", (Node("slice", (Node("x"),), (lo, hi + 1)),)) if x[lo:hi + 1].max() == x[i] \
                else Node("maximum", (var, other))
        return Node(kind, (var, other))
    if kind == "abs":
        return Node("abs", (Node("sub", (var, Node("const", (), float(x[i])))),))
    return Node("clip", (var,), (float(x[i]), float(x[i]) + 1.0))


# ---------------------------------------------------------------------- drawing
class _Generator:
    """Draws nodes bottom-up at the point ``x``, keeping only those that fit their domain."""

    def __init__(self, rng, x, family):
        self.rng, self.x, self.family, self.n = rng, x, family, x.size

    def root(self, depth):
        if self.family in ("scalar", "kinks"):
            return self.scalar(depth)
        if self.family == "control":
            return self.control(depth)
        if self.rng.random() < 0.5:
            return self.vector(depth)
        return self.reduce(depth)

    # -- helpers
    def value(self, node):
        with np.errstate(all="ignore"):
            try:
                return np.asarray(program.build(node)(self.x), dtype=np.float64)
            except (TypeError, ValueError, ZeroDivisionError, OverflowError):  # a constant part left the reals
                return np.asarray(math.nan)

    def make(self, op, args, value=None):
        """The node, or None where it leaves its domain."""
        node = Node(op, tuple(a[0] for a in args), value)
        if not depends(node.args[0] if op in ("if", "where") else node):
            return None  # a constant part, or a branch that does not depend on x
        result = self.value(node)
        return (node, result) if fits(node, [a[1] for a in args], result) else None

    def const(self):
        c = float(np.round(self.rng.uniform(-2.0, 2.0), 2))
        return Node("const", (), c if c != 0 else 0.5)

    def leaf(self):
        if self.rng.random() < 0.85:
            node = Node("var", (), int(self.rng.integers(self.n)))
        else:
            node = self.const()
        return node, self.value(node)

    def threshold(self, c):
        """A threshold at least 2 MARGIN away from every entry of ``c``."""
        centre = float(np.median(np.ravel(c)))
        for _ in range(ATTEMPTS):
            t = float(np.round(centre + self.rng.uniform(-1.0, 1.0), 2))
            if np.min(np.abs(np.ravel(c) - t)) >= 2 * MARGIN:
                return t
        return float(np.round(float(np.max(c)) + 0.5, 2))

    # -- scalar expressions
    def scalar(self, depth):
        if depth <= 0:
            return self.leaf()
        rng = self.rng
        for _ in range(ATTEMPTS):
            kind = rng.choice(["unary", "arith", "pow", "binary", "clip"], p=[0.42, 0.38, 0.08, 0.08, 0.04])
            a = self.scalar(depth - 1)
            if kind == "unary":
                got = self.make(str(rng.choice(program.UNARY)), [a])
            elif kind == "pow":
                got = self.make("pow", [a], float(rng.choice(list(POWERS))))
            elif kind == "clip":
                lo = float(np.round(a[1] - rng.uniform(0.2, 1.5), 2))
                hi = float(np.round(a[1] + rng.uniform(-0.5, 1.0), 2))
                got = self.make("clip", [a], (lo, max(hi, lo + 0.3)))
            else:
                b = self.scalar(int(rng.integers(0, depth)))
                pair = [a, b] if rng.random() < 0.5 else [b, a]
                op = rng.choice(list(program.ARITHMETIC) if kind == "arith" else program.BINARY)
                got = self.make(str(op), pair)
            if got is not None:
                return got
        return self.leaf()

    def control(self, depth):
        c = self.scalar(int(self.rng.integers(1, 3)))
        a, b = self.scalar(depth - 1), self.scalar(int(self.rng.integers(1, depth)))
        got = self.make("if", [c, a, b], self.threshold(c[1]))
        if got is None:
            return None, None
        if self.rng.random() < 0.5:  # something on top of the branch, now and then
            wrapped = self.make(str(self.rng.choice(["sin", "tanh", "square", "arctan"])), [got])
            return wrapped or got
        return got

    # -- vector programs
    def vector(self, depth):
        """A vector-valued node."""
        rng = self.rng
        if depth <= 0:
            return self.vector_leaf()
        for _ in range(ATTEMPTS):
            kind = rng.choice(["unary", "vec", "scalar", "data", "matmul", "where", "binary"],
                              p=[0.3, 0.15, 0.12, 0.12, 0.12, 0.1, 0.09])
            a = self.vector(depth - 1)
            size = a[1].size
            if kind == "unary":
                got = self.make(str(rng.choice(program.UNARY)), [a])
            elif kind in ("vec", "binary"):
                b = self.vector_like(size, depth - 1)
                if b is None:
                    continue
                op = rng.choice(list(program.ARITHMETIC) if kind == "vec" else program.BINARY)
                got = self.make(str(op), [a, b] if rng.random() < 0.5 else [b, a])
            elif kind == "scalar":  # broadcasting a scalar against the vector
                s = self.scalar(int(rng.integers(0, 3)))
                op = str(rng.choice(list(program.ARITHMETIC) + list(program.BINARY)))
                got = self.make(op, [a, s] if rng.random() < 0.5 else [s, a])
            elif kind == "data":
                d = Node("data", (), tuple(float(v) for v in np.round(rng.uniform(0.5, 2.0, size), 2)))
                op = str(rng.choice(list(program.ARITHMETIC)))
                got = self.make(op, [a, (d, self.value(d))] if rng.random() < 0.5 else [(d, self.value(d)), a])
            elif kind == "matmul":
                k = int(rng.integers(2, 5))
                m = np.round(rng.uniform(-1.0, 1.0, (k, size)), 2)
                d = Node("data", (), tuple(tuple(float(v) for v in row) for row in m))
                got = self.make("matmul", [(d, self.value(d)), a])
            else:
                c = self.vector_like(size, 1)
                b = self.vector_like(size, depth - 1)
                if c is None or b is None:
                    continue
                got = self.make("where", [c, a, b], self.threshold(c[1]))
            if got is not None:
                return got
        return self.vector_leaf()

    def vector_leaf(self):
        x = Node("x")
        if self.n >= 3 and self.rng.random() < 0.3:
            start = int(self.rng.integers(0, self.n - 1))
            stop = int(self.rng.integers(start + 2, self.n + 1))
            node = Node("slice", (x,), (start, stop))
        else:
            node = x
        return node, self.value(node)

    def vector_like(self, size, depth):
        """A vector of ``size`` entries (None where no draw has that size)."""
        for _ in range(3):
            b = self.vector(min(max(depth, 0), 2))
            if b[1].size == size:
                return b
        if size == self.n:
            return self.vector_leaf() if self.n < 3 else (Node("x"), self.value(Node("x")))
        return None

    def reduce(self, depth):
        """A scalar made from a vector: a reduction or an entry, maybe combined further."""
        rng = self.rng
        for _ in range(ATTEMPTS):
            a = self.vector(depth - 1)
            if rng.random() < 0.2:
                got = self.make("index", [a], int(rng.integers(a[1].size)))
            else:
                got = self.make(str(rng.choice(program.REDUCTIONS)), [a])
            if got is not None:
                return got
        return self.make("sum", [(Node("x"), self.value(Node("x")))])
