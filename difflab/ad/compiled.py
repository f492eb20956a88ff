"""The compiled tape: trace once per input shape, then run one flat generated NumPy function.

``difflab.get("reverse", jit=True)``. The first call for an input shape traces the function
onto the tape (:mod:`tracing`), then writes one Python function (:mod:`codegen`) that
computes the value and the cotangent sweep with no Node objects, no namespace dispatch, the
shapes and broadcast axes resolved at trace time, seed and +-1 partials folded, indexed
cotangents scattered straight into their accumulator, accumulation in place into arrays the
program owns, and large temporaries in persistent buffers shared by liveness.

Guards: every decision the trace took on a value is checked again by each call, from the
program's own intermediate values; when one differs the call returns a miss, another cached
program for the shape is tried, and otherwise the function is traced again (at most
:data:`PROGRAMS_PER_SHAPE` programs kept). After :data:`RETRACE_LIMIT` retraces for a shape
the evaluator gives up compiling and runs the tape engine. Closed-over arrays are read
afresh by each call (their paths from :mod:`trace_sources`), so rebinding or changing them in
place gives the new answer.

A flat program runs no Python of the user's: a side effect in the function (a print, a
counter) happens when it is traced, not at every call.
"""
from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict

import numpy as np

from ..errors import not_finite, not_scalar
from ..namespaces import NUMPY
from ..namespaces.numpy_ns import _is_basic
from ..namespaces.precision import computing_in
from . import fusion, reverse
from .codegen import (
    WRITER,
    Builder,
    Expr,
    Symbolic,
    assign_buffers,
    exact_product,
    fold_scatters,
    prune,
    render,
    writing,
)
from .reverse import Node
from .rules import MINUS_ONE, ONE, RULES, keepdims_shape, unbroadcast
from .trace_sources import find_sources
from .tracing import DataArray, trace

#: Programs kept per input shape (one per set of branch decisions seen).
PROGRAMS_PER_SHAPE = 8
#: Retraces per shape after which the tape engine is used instead (a guard that never holds).
RETRACE_LIMIT = 32
#: Kinds the compiled tape writes programs for; the others run on the tape engine.
COMPILED_KINDS = frozenset({"gradient", "value_and_gradient", "vjp", "jacobian", "hvp", "hessian"})

MISS = object()
_GETITEM = RULES["getitem"]
_programs = itertools.count()


class Program:
    """One generated function: ``run(x[, u]) -> (value, cotangent of x)`` or :data:`MISS`;
    the cotangent a new array at each call, in x's dtype (the caller's to keep)."""

    def __init__(self, run, source: str, operations: int, buffers: int, value_shape: tuple):
        self.run, self.source, self.operations, self.buffers = run, source, operations, buffers
        self.value_shape = value_shape


def compile_program(fn, x, with_cotangent_input: bool, scalar_output: bool,
                    returns_value: bool = True, data: tuple = (), fused: bool = False,
                    sweep: bool = True) -> Program:
    """Trace ``fn`` at ``x`` and write the flat program of its value and VJP (``None`` for
    the value, and no statement computing it, when ``returns_value`` is False).

    ``data``: arrays passed to ``fn`` after ``x`` (``fn(x, *data)``) that the program takes
    as arguments too (``program(x, a0, a1, ...)``), read at each call like closed-over data:
    the hvp's direction, given per call, so that calls in several threads never share it.
    ``fused``: chains of elementwise rows run as numba kernels (:mod:`fusion`).
    ``sweep``: False writes the value alone, no cotangent sweep (``run(x) -> (value, None)``,
    the value a new array at each call): the batched Hessian, whose value is its answer.
    """
    sources = find_sources(fn)
    inputs = [f"a{i}" for i in range(len(data))]
    for name, array in zip(inputs, data):
        sources.paths[id(array)], sources.arrays[id(array)] = name, array
    out, tape = trace((lambda y: fn(y, *data)) if data else fn, x, sources)
    writer = _Writer(tape, sources, x)
    b = writer.b
    with writing(b):
        value = writer.forward(out)
        if scalar_output and value.size != 1:
            raise not_scalar("gradient", getattr(fn, "__name__", "the function"), value.shape)
        if sweep:
            seed = writer.seed(value, with_cotangent_input)
            grad = writer.backward(out, seed)
    if not sweep:
        return _value_program(b, writer, value, tape, x, inputs, fused, data)
    live = [value.code, grad.code] if returns_value else [grad.code]
    args = ["x"] + (["u"] if with_cotangent_input else []) + inputs
    returned = value.code if returns_value else None
    return _program(b, tape, x, inputs, fused, data, live, grad, args, value.shape,
                    lambda result: f"return {returned}, {result}")


def _value_program(b, writer, value, tape, x, inputs, fused, data) -> Program:
    """The program of the traced value alone (no sweep): ``program(x, a0, ...) -> (value,
    None)``, the value a new array of x's dtype at each call."""
    return _program(b, tape, x, inputs, fused, data, [value.code], value, ["x"] + inputs,
                    value.shape, lambda result: f"return {result}, None")


def _program(b, tape, x, inputs, fused, data, live, out, args, value_shape, return_line) -> Program:
    """Prune, fold, fuse and buffer the recorded statements that ``live`` needs, and compile
    them to ``program(*args)``, whose last line is ``return_line`` of ``out`` as a new array
    of x's dtype at each call."""
    statements = fold_scatters(prune(b.statements, live), b, live)
    if fused:
        statements = fusion.fuse(statements, b, dict(zip(["x", *inputs], [x, *data])), live)
    buffers = assign_buffers(statements, live, b)
    result = out.code if _own_result(statements, buffers, out.code) else f"{out.code}.copy()"
    if np.result_type(out.value) != x.dtype:  # in x's dtype, as Derivative's
        result = f"_np.array({out.code}, {b.constant(x.dtype)})"
    body = render(statements, buffers, b) + [return_line(result)]
    source = f"def program({', '.join(args)}):\n" + "\n".join("    " + line for line in body) + "\n"
    namespace = dict(b.constants, _MISS=MISS)
    # difflab's own generated text, never user text: user names and keys live in numbered
    # slots of the namespace (tests/test_generated_source.py asserts no user text in the source)
    exec(compile(source, f"<difflab compiled tape {next(_programs)}>", "exec"), namespace)  # noqa: S102
    tape.close()
    return Program(namespace["program"], source, len(statements), len(b.buffers), value_shape)


def _own_result(statements, buffers, code) -> bool:
    """Make the returned cotangent an array of its own at each call (the caller's to keep):
    True when its statement allocates it (its persistent buffer, if any, is dropped: a new
    array costs no more than the copy the caller would otherwise make), False when the
    program must copy it (a constant, a view, a value shared with the forward pass)."""
    for i, s in enumerate(statements):
        if s.target == code and s.kind == "assign":
            if not s.fresh:  # an alias of an array the program made (a folded scatter): that one
                return s.uses == [s.code] and _own_result(statements, buffers, s.code)
            buffers.pop(i, None)
            return True
    return False


class _Writer:
    """Writes one traced tape as statements: forward values, guards, then the sweep."""

    def __init__(self, tape, sources, x):
        self.tape, self.sources, self.b = tape, sources, Builder()
        self.fwd: dict[int, Expr] = {}       # id(node) -> its value
        self.args: dict[int, list] = {}      # id(node) -> its arguments
        self.data: dict[int, Expr] = {}      # id(array) -> its expression (sources, derived...)
        self.leaf = tape.inputs
        self.consumed = {id(a) for node in tape for a in node.args}
        self.consumed.update(id(a) for _, values, _ in tape.derived.values() for a in values)
        self.fwd[id(self.leaf)] = Expr("x", x)
        self.data[id(x)] = self.fwd[id(self.leaf)]

    # ---- constants and data ------------------------------------------------------------
    def operand(self, v):
        """The expression for an argument that is not traced at this level."""
        if isinstance(v, Node):
            return self.fwd[id(v)]
        if type(v) is DataArray or id(v) in self.tape.aliases:
            return self.data_operand(self.tape.aliases.get(id(v), v))
        if type(v) is not np.ndarray:
            if isinstance(v, (list, tuple)) and any(type(e) is np.ndarray and self.tape.tracks(e) for e in v):
                return type(v)(self.operand(e) for e in v)
            return v if _is_plain_literal(v) else Expr(self.b.constant(v), v)
        known = self.data.get(id(v))
        if known is not None:
            return known
        tape, b = self.tape, self.b
        if id(v) in tape.values:                      # a value taken off the tape
            e = self.fwd[id(tape.values[id(v)])]
        elif id(v) in self.sources.paths:            # closed-over data: read at each call
            e = b.assign(self.sources.paths[id(v)], [], v, prefix="d")
            b.constants.update(self.sources.roots)
            b.effect(f"if type({e.code}) is not _ndarray or {e.code}.shape != {v.shape!r} "
                     f"or {e.code}.dtype != {b.constant(v.dtype)}: return _MISS", [e], "guard")
        elif id(v) in tape.conversions:              # xp.asarray of data, at another dtype
            data, dtype = tape.conversions[id(v)]
            src = self.operand(data)
            e = b.assign(f"_np.asarray({src.code}, {b.constant(dtype)})", [src], v)
        elif id(v) in tape.derived:                  # an operation on data alone
            name, values, params = tape.derived[id(v)]
            e = self.apply(RULES[name], [self.operand(a) for a in values], params, v)
        elif id(v) in tape.masks:                    # a comparison used as data (a where mask)
            op, lhs, rhs = tape.masks[id(v)]
            e = self.b.binary(op, self.operand(lhs), self.operand(rhs))
        else:                                        # made inside the function: a constant
            return Expr(b.constant(v), v)
        self.data[id(v)] = e
        return e

    def data_operand(self, v):
        """A :class:`DataArray`: recompute it from the data as the trace saw it made."""
        known = self.data.get(id(v))
        if known is not None:
            return known
        how, b = self.tape.data.get(id(v)), self.b
        plain = v.view(np.ndarray)
        if how is None:                              # NumPy made it some way not recorded
            return Expr(b.constant(plain.copy()), plain)
        if how[0] == "alias":
            e = self.operand(how[1])
        elif how[0] == "getitem":
            base = self.data_operand(how[1])
            e = b.assign(f"{base.code}[{b.literal(how[2])}]", [base], plain)
        else:
            _, ufunc, method, inputs, kwargs = how
            args = [self.data_operand(i) if type(i) is DataArray else self.operand(i) for i in inputs]
            fname = b.constant(ufunc if method == "__call__" else getattr(ufunc, method), "_f")
            # the keywords (the user's NumPy call's) as one constant dict: no user text in source
            text = ", ".join([b.code(a) for a in args] + ([f"**{b.constant(dict(kwargs))}"] if kwargs else []))
            e = b.assign(f"{fname}({text})", [a for a in args if isinstance(a, Expr)], plain)
        e.value = plain
        self.data[id(v)] = e
        return e

    def apply(self, rule, args, params, value):
        """Emit ``rule.impl`` on ``args``: written out, or a call of the table's impl."""
        e = _run_rule(self.b, rule.impl, [WRITER] + list(args), params, value)
        e.value = value
        e.fresh = False  # a forward value is shared: no accumulator may take it over
        return e

    # ---- forward --------------------------------------------------------------------------
    def forward(self, out) -> Expr:
        guards = sorted(self.tape.guards, key=lambda g: g.position)
        gi = 0
        for pos, node in enumerate(self.tape):
            while gi < len(guards) and guards[gi].position <= pos:
                self.guard(guards[gi])
                gi += 1
            active = {i for i, _ in node.parents}
            parents = dict(node.parents)
            args = [self.fwd[id(parents[i])] if i in active else self.operand(a)
                    for i, a in enumerate(node.args)]
            params = dict(node.params or {})
            if node.rule is _GETITEM:
                self.index_guards(params["index"])
            self.args[id(node)] = args
            self.fwd[id(node)] = self.apply(node.rule, args, params, node.value)
        for g in guards[gi:]:
            self.guard(g)
        if isinstance(out, Node) and out.tape is self.tape:
            return self.fwd[id(out)]
        return Expr(self.b.constant(out), out) if not _is_plain_literal(out) else \
            Expr(repr(out), np.asarray(out))

    def guard(self, g):
        b = self.b
        lhs = self.operand(g.lhs)
        if g.kind == "value":
            check = {"bool": f"bool({lhs.code})", "float": f"float({lhs.code})",
                     "int": f"int({lhs.code})"}[g.op]
            b.effect(f"if {check} != {b.literal(g.result)}: return _MISS", [lhs], "guard")
            return
        rhs = self.operand(g.rhs)
        test = f"({b.code(lhs)} {g.op} {b.code(rhs)})"
        uses = [v for v in (lhs, rhs) if isinstance(v, Expr)]
        result = g.result
        if type(result) is np.ndarray and result.size > 1:
            if id(result) in self.consumed:  # the mask is data of the program (a where): no guard
                return
            b.effect(f"if not _np.array_equal({test}, {b.constant(result)}): return _MISS", uses, "guard")
        else:
            b.effect(f"if {'not ' if bool(result) else ''}{test}: return _MISS", uses, "guard")

    def index_guards(self, index):
        """An index array computed from values must be the same again."""
        for part in index if isinstance(index, tuple) else (index,):
            if type(part) is np.ndarray and self.tape.tracks(part):
                e = self.operand(part)
                self.b.effect(f"if not _np.array_equal({e.code}, {self.b.constant(part.copy())}): "
                              "return _MISS", [e], "guard")

    # ---- the sweep --------------------------------------------------------------------------
    def seed(self, value, from_input):
        b = self.b
        dtype = np.result_type(value.value) if np.result_type(value.value).kind == "f" else np.float64
        if from_input:
            shape = value.shape
            return b.assign(f"u.reshape({shape!r})", [], np.ones(shape, dtype), prefix="u")
        return b.filled(1.0, value.shape, dtype)

    def backward(self, out, seed) -> Expr:
        b = self.b
        x = self.fwd[id(self.leaf)].value
        if not (isinstance(out, Node) and out.tape is self.tape):
            return Expr(b.constant(np.zeros(np.shape(x))), np.zeros(np.shape(x)))
        cot: dict[int, Expr] = {id(out): seed}
        owned: set = set()
        for node in reversed(self.tape):
            g = cot.pop(id(node), None)
            if g is None:
                continue
            args, ans = self.args[id(node)], self.fwd[id(node)]
            if node.rule is _GETITEM:
                self.scatter(cot, owned, node.parents[0][1], node.params["index"], g, args[0])
                continue
            for i, parent in node.parents:
                c = self.vjp(node, args, ans, g, i)
                self.accumulate(cot, owned, parent, c, g)
        grad = cot.get(id(self.leaf))
        if grad is None:
            return Expr(b.constant(np.zeros(np.shape(x))), np.zeros(np.shape(x)))
        return b._plain(grad) if grad.fill is not None else grad

    def vjp(self, node, args, ans, g, i):
        rule, params, b = node.rule, dict(node.params or {}), self.b
        if rule.kind == "elementwise":
            partial = _run_rule(b, rule.partials[i], [WRITER, ans] + args, params)
            return unbroadcast(WRITER, _scale(b, partial, g), np.shape(args[i].value if isinstance(args[i], Expr) else args[i]))
        if rule.kind == "reduction":
            x = args[0]
            axis, keepdims = params.get("axis"), params.get("keepdims", False)
            kd = keepdims_shape(x.shape, axis)
            g_kd = g if keepdims else WRITER.reshape(g, kd)
            ans_kd = ans if keepdims else WRITER.reshape(ans, kd)
            partial = _run_rule(b, rule.partials[0], [WRITER, ans_kd, x], params)
            c = _scale(b, partial, g_kd)
            return c if c.shape == x.shape else WRITER.broadcast_to(c, x.shape)
        function = rule.transpose if rule.kind == "linear" else rule.vjp
        return _run_rule(b, function, [WRITER, g, i, ans] + args, params)

    def accumulate(self, cot, owned, parent, c, g):
        b, key = self.b, id(parent)
        if not isinstance(c, Expr):
            c = Expr(b.literal(c) if _is_plain_literal(c) else b.constant(c), np.asarray(c))
        current = cot.get(key)
        if current is None:
            cot[key] = c
            if c.fresh and c is not g and c.code != g.code:
                owned.add(key)
            return
        current, c = b._plain(current), b._plain(c)
        sub = c.negated is not None and c.negated.fill is None
        term = c.negated if sub else c
        sym = "-" if sub else "+"
        if (key in owned and type(current.value) is np.ndarray and term.shape == current.shape
                and np.can_cast(term.dtype, current.dtype)):
            b.effect(f"{current.code} {sym}= {term.code}", [current, term], "inplace", target=current.code)
            current.scaled = current.negated = None  # no longer what it was made as
            current.value = _combine(sym, current.value, term.value)
            cot[key] = current
        else:
            new = b.binary(sym, current, term)
            cot[key] = new
            owned.add(key)

    def scatter(self, cot, owned, parent, index, g, x):
        """The transpose of ``x[index]``, added straight into the parent's accumulator."""
        b, key = self.b, id(parent)
        g = b._plain(g)
        current = cot.get(key)
        dtype = np.result_type(g.dtype, np.float32)
        if current is None and self.fill_by_slice(cot, owned, key, index, g, x, dtype):
            return
        if not (key in owned and type(current.value) is np.ndarray and np.can_cast(g.dtype, current.dtype)):
            zeros = b.assign(f"_np.zeros({x.shape!r}, {b.constant(np.dtype(dtype))})", [],
                             np.zeros(x.shape, dtype), fresh=True)
            if current is not None:
                current = b._plain(current)
                b.effect(f"{zeros.code} += {current.code}", [zeros, current], "inplace", target=zeros.code)
                zeros.value = zeros.value + current.value
            current = zeros
            owned.add(key)
        idx = b.literal(index)
        if _is_basic(index):
            sym, g = ("-", g.negated) if g.negated is not None and g.negated.fill is None else ("+", g)
            b.effect(f"{current.code}[{idx}] {sym}= {g.code}", [current, g], "inplace", target=current.code)
        else:
            b.effect(f"_np.add.at({current.code}, {idx}, {g.code})", [current, g], "inplace",
                     target=current.code)
        current.scaled = current.negated = None  # no longer what it was made as
        cot[key] = current


    def fill_by_slice(self, cot, owned, key, index, g, x, dtype) -> bool:
        """A first cotangent ``g`` into ``x[a:b]`` of a vector: write it, and zeros around it,
        into an uninitialised array (one pass, not a zero fill and an add)."""
        b = self.b
        if not (type(index) is slice and index.step in (None, 1) and len(x.shape) == 1
                and type(g.value) is np.ndarray and g.shape == np.zeros(x.shape)[index].shape
                and np.can_cast(g.dtype, dtype)):
            return False
        start, stop, _ = index.indices(x.shape[0])
        acc = b.assign(f"_np.empty({x.shape!r}, {b.constant(np.dtype(dtype))})", [],
                       np.zeros(x.shape, dtype), fresh=True)
        if start > 0:
            b.effect(f"{acc.code}[:{start}] = 0.0", [acc], "inplace", target=acc.code)
        if stop < x.shape[0]:
            b.effect(f"{acc.code}[{stop}:] = 0.0", [acc], "inplace", target=acc.code)
        neg = g.negated is not None and g.negated.fill is None and type(g.negated.value) is np.ndarray
        scaled = g.scaled if g.scaled is not None else (
            (-g.negated.scaled[0], g.negated.scaled[1]) if neg and g.negated.scaled is not None else None)
        if scaled is not None and isinstance(scaled[1], Expr) and scaled[1].shape == g.shape:
            c, base = scaled  # c * base written straight into the slice
            b.effect(f"_np.multiply({base.code}, {b.scalar_code(c, base, b.literal(c))}, "
                     f"out={acc.code}[{start}:{stop}])",
                     [acc, base], "inplace", target=acc.code)
        elif neg:
            b.effect(f"_np.negative({g.negated.code}, out={acc.code}[{start}:{stop}])", [acc, g.negated],
                     "inplace", target=acc.code)
        else:
            b.effect(f"{acc.code}[{start}:{stop}] = {g.code}", [acc, g], "inplace", target=acc.code)
        acc.value[index] = g.value
        owned.add(key)
        cot[key] = acc
        return True


def _combine(sym, a, b):
    return a + b if sym == "+" else a - b


def _is_plain_literal(v):
    return v is None or type(v) in (bool, int) or (type(v) is float and math.isfinite(v))


def _scale(b, partial, g):
    """``partial * g`` with the ONE/MINUS_ONE shortcuts and the filled seed folded in."""
    if partial is ONE:
        return g
    if partial is MINUS_ONE:
        return -g
    if g.fill is not None:
        if type(partial) in (int, float) and exact_product(partial, g.fill):
            return b.filled(partial * g.fill, g.shape, g.dtype)
        if isinstance(partial, Expr) and partial.shape == g.shape and partial.dtype == g.dtype:
            if g.fill == 1.0:
                shared = Expr(partial.code, partial.value)  # shared: not for in-place accumulation
                shared.scaled = partial.scaled
                return shared
            if exact_product(g.fill, 1.0) and type(partial.value) is np.ndarray:
                return b.binary("*", partial, g.fill)
    return b.binary("*", partial, g) if isinstance(partial, Expr) or isinstance(g, Expr) else partial * g


def _run_rule(b, function, args, params, value=None):
    """Run a table entry on stand-ins; if it must see values, emit a call of it instead."""
    mark = b.mark()
    try:
        out = function(*args, **params)
        if isinstance(out, Expr) or out is ONE or out is MINUS_ONE or type(out) in (int, float):
            return out
        raise Symbolic("a rule returned a computed array")
    except (Symbolic, TypeError, ValueError):
        b.rollback(mark)
    plain = [NUMPY] + [a.value if isinstance(a, Expr) else a for a in args[1:]]
    result = function(*plain, **params) if value is None else value
    fname = b.constant(function, "_r")
    codes = ["_NP"] + [b.code(b._plain(a)) if isinstance(a, Expr) else b.literal(a) for a in args[1:]]
    kw = "".join(f", {k}={b.literal(v)}" for k, v in params.items())
    if result is ONE or result is MINUS_ONE:
        return result
    return b.assign(f"{fname}({', '.join(codes)}{kw})", [a for a in args if isinstance(a, Expr)], result)


# ---------------------------------------------------------------------- the evaluator
class CompiledEvaluator:
    """The compiled derivative at one input shape: programs cached per branch decisions.

    Safe from any number of threads: a call reads the list of programs (replaced whole,
    never changed in place) without a lock; a miss (tracing again, falling back to the tape)
    takes the evaluator's lock, so programs are written one at a time and none is lost.
    ``data`` (the hvp's direction): arrays passed after ``x`` to ``fn`` and to each call.
    """

    def __init__(self, fn, kind, x, data=(), fused=False):
        self.fn, self.kind, self.fused = fn, kind, fused
        self.with_u = kind == "vjp"
        self.data_count = len(data)
        self.returns_value = kind != "hvp"  # the hvp needs only the outer sweep's cotangent
        self.sweep = kind != "tangents"  # the batched Hessian: its value is the answer
        self.programs: OrderedDict = OrderedDict()
        self.retraces = 0
        self.traces = 0
        self.fell_back = False
        self._runs: list = []
        self._lock = threading.RLock()
        with self._lock:
            self._retrace(x, *data)

    def _retrace(self, x, *args):
        data = args[len(args) - self.data_count:] if self.data_count else ()
        with computing_in(x.dtype):  # closed-over float data comes in at x's precision
            program = compile_program(self.fn, x, self.with_u,
                                      self.kind in ("gradient", "value_and_gradient", "hvp"),
                                      self.returns_value, data, self.fused, self.sweep)
        self.traces += 1
        self.value_shape = program.value_shape
        key = next(_programs)
        self.programs[key] = program
        self.programs.move_to_end(key, last=False)
        while len(self.programs) > PROGRAMS_PER_SHAPE:
            self.programs.popitem(last=True)
        self._runs = [p.run for p in self.programs.values()]  # a new list: readers keep theirs
        return program

    def value_and_cotangent(self, x, *args):
        """``(value, cotangent)`` at ``x``; ``args``: the cotangent ``u`` of a vjp, or the data
        (the hvp's direction)."""
        if type(x) is not np.ndarray:  # x traced by another differentiation: the tape nests
            return self._on_tape(x, *args)
        for run in self._runs:
            out = run(x, *args)
            if out is not MISS:
                return out
        if self.fell_back:  # the tape engine, with no lock: calls in several threads run at once
            with computing_in(x.dtype):
                return self._on_tape(x, *args)
        with self._lock:
            return self._missed(x, *args)

    def _missed(self, x, *args):
        """No program's guards hold at ``x``: try the programs again (another thread may have
        traced meanwhile), then trace again, or fall back to the tape engine."""
        for run in self._runs:
            out = run(x, *args)
            if out is not MISS:
                return out
        if self.fell_back:
            with computing_in(x.dtype):
                return self._on_tape(x, *args)
        self.retraces += 1
        if self.retraces > RETRACE_LIMIT:  # the guards keep changing: run the tape engine
            self.fell_back = True
            self.programs.clear()
            self._runs = []
            return self._missed(x, *args)
        out = self._retrace(x, *args).run(x, *args)
        if out is MISS:  # the guards of a fresh trace hold at its own point
            raise RuntimeError("compiled tape: a fresh trace missed its own guards")
        return out

    def _on_tape(self, x, *args):
        """The tape engine's answer (nested differentiation, or a function that keeps retracing)."""
        fn, u = self.fn, args
        if self.data_count:
            data, u = args[len(args) - self.data_count:], args[:len(args) - self.data_count]
            fn = lambda y: self.fn(y, *data)  # noqa: E731
        if not self.sweep:
            return fn(x), None
        value, pullback = reverse.vjp(fn, x)
        if self.kind in ("gradient", "value_and_gradient") and np.size(reverse.strip(value)) != 1:
            raise not_scalar("gradient", getattr(self.fn, "__name__", "the function"),
                             np.shape(reverse.strip(value)))
        seed = u[0] if u else np.ones(np.shape(reverse.strip(value)),
                                      dtype=getattr(reverse.strip(x), "dtype", np.float64))
        return value, pullback(seed, last=True)

    @property
    def program(self) -> Program:
        """The most recently traced program (its ``source`` is the generated text)."""
        with self._lock:
            return next(iter(self.programs.values())) if self.programs else None


def build(fn, kind, x, name="f", fused=False):
    """An evaluator for ``kind`` (a compiled kind) at inputs shaped like ``x``; a gradient
    checks the value it computes anyway (NaN or infinite f: :class:`difflab.NotFinite`).
    ``fused``: elementwise chains run as numba kernels (:mod:`fusion`)."""
    if kind == "hvp":
        return build_hvp(fn, x, fused)
    if kind == "hessian":
        return build_hessian(fn, x, fused)
    if kind == "jacobian":
        ev = CompiledEvaluator(fn, "vjp", x, fused=fused)
        m = math.prod(ev.value_shape)  # one shape per evaluator: no look at the programs
        # m >= n outputs: the n columns as one batch of tangents (one program, forward mode);
        # fewer outputs: one compiled VJP per row
        rows = batched_rows(fn, x, fused) if m >= x.size else None

        def jacobian(x):
            if rows is not None and type(x) is np.ndarray:
                return rows(x).T  # row j of rows: J e_j
            eye = np.eye(m, dtype=x.dtype)
            return np.stack([np.array(ev.value_and_cotangent(x, e)[1], copy=True) for e in eye], axis=0)

        jacobian.evaluator = ev
        jacobian.sets_precision = True
        return jacobian
    ev = CompiledEvaluator(fn, kind, x, fused=fused)
    if kind == "gradient":
        def run(x):
            if type(x) is np.ndarray:  # the plain call: a program's result is a new array
                for program in ev._runs:
                    out = program(x)
                    if out is not MISS:
                        value, grad = out
                        if not math.isfinite(value):  # a NumPy scalar (f's value in NumPy)
                            raise not_finite(name)
                        return grad
                value, grad = ev.value_and_cotangent(x)  # a miss: traced again, or the tape
                if not math.isfinite(value):
                    raise not_finite(name)
                return np.array(grad, dtype=x.dtype, copy=True)
            value, grad = ev.value_and_cotangent(x)
            if not math.isfinite(value):
                raise not_finite(name)
            return grad
    elif kind == "value_and_gradient":
        run = lambda x: ev.value_and_cotangent(x)
    else:  # vjp
        run = lambda x, u: ev.value_and_cotangent(x, u)[1]
    run.evaluator = ev
    run.sets_precision = True
    # a gradient's result: a new array of x's shape and dtype (Derivative._call_prepared)
    run.returns_fresh = kind == "gradient"
    return run


def build_hvp(fn, x, fused=False):
    """``(x, v) -> H(x) v`` as one compiled program: reverse over reverse.

    The program is the compiled gradient of ``y -> grad f(y) . v``: the tape engine's
    backward sweep of ``f`` is itself recorded on the outer trace (difflab's engines nest by
    levels), so the generated code holds the forward pass, the inner sweep and the outer
    sweep, flat. ``v`` is data the program reads at each call, like any closed-over array:
    one program serves every direction. ``v`` is an argument of the program, not state of
    the evaluator, so calls in several threads with different directions never mix them.
    """
    from ..namespaces import namespace
    from . import reverse

    def directional(y, v):
        xp = namespace(y)
        return xp.sum(reverse.gradient(fn, y) * xp.asarray(v))

    ev = CompiledEvaluator(directional, "hvp", x, data=(np.zeros(np.shape(x), dtype=x.dtype),),
                           fused=fused)

    def hvp(x, v):
        v = np.asarray(v, dtype=x.dtype).reshape(np.shape(x))  # an argument of the call: no
        if type(x) is np.ndarray:                              # state shared between threads
            for program in ev._runs:
                out = program(x, v)
                if out is not MISS:
                    return out[1]  # a new array of x's dtype
            return np.array(ev.value_and_cotangent(x, v)[1], dtype=x.dtype, copy=True)
        return ev.value_and_cotangent(x, v)[1]

    hvp.evaluator = ev
    hvp.sets_precision = True
    hvp.returns_fresh = True  # H v: a new array of x's shape and dtype (Derivative)
    return hvp


#: Elements of one direction batch (k directions of n each) in a batched Hessian program:
#: its intermediates are (k, n) arrays, so k = HESSIAN_BATCH // n (one batch up to n = 1024).
HESSIAN_BATCH = 1 << 20


def build_hessian(fn, x, fused=False):
    """``x -> H(x)`` as one program over a batch of directions: forward over reverse.

    The program is the traced forward-mode Jacobian of the reverse-mode gradient with ``k``
    tangents at once (:func:`forward.tangent_rows`, the rules' ``batched`` forms: the
    tangents carry a leading batch axis ``(k, ...)``), so the value, the sweep and the k
    directional derivatives run as one flat program, ``(k, n)`` arrays throughout
    (:func:`batched_rows`). Row j is H e_j (H symmetric, as the hvp per direction gave it).
    A value another differentiation traces goes to the tape engine's Hessian (nesting).
    """
    rows = batched_rows(lambda z: reverse.gradient(fn, z), x, fused)

    def hessian(x):
        if type(x) is not np.ndarray:
            return reverse.hessian(fn, x)
        return rows(x)  # a new array

    hessian.evaluator = rows.evaluator
    hessian.sets_precision = True
    hessian.returns_fresh = True  # a new (n, n) array of x's dtype (Derivative)
    return hessian


def batched_rows(g, x, fused=False):
    """``x -> R``, row j of R the derivative of ``g`` along ``e_j`` (``(n, m)``): the traced
    forward-mode pass with k tangents at once, one program per batch of k directions.

    The directions are data of the call (rows of the identity), made traced by ``0 * y + V``
    so every operation on them is recorded and one program serves every batch of k; for
    ``n > sqrt(HESSIAN_BATCH)`` the rows come in batches of ``k = HESSIAN_BATCH // n``
    (memory: a few (k, n) arrays, 8 MiB each in float64), the last batch its own program.
    """
    from . import forward

    n = x.size
    k = max(1, min(n, HESSIAN_BATCH // max(n, 1)))

    def directions(y, v):
        xp = forward.namespace(y)
        seeds = 0.0 * y + xp.asarray(v)  # traced (k, n): every op on the tangents is recorded
        return forward.tangent_rows(g, y, seeds)

    def evaluator(size):
        return CompiledEvaluator(directions, "tangents", x, data=(eye[:size],), fused=fused)

    eye = np.eye(n, dtype=x.dtype)
    evs = {k: evaluator(k)}
    if n % k:
        evs[n % k] = evaluator(n % k)

    def batch(x, v):
        ev = evs[v.shape[0]]
        for program in ev._runs:
            out = program(x, v)
            if out is not MISS:
                return out[0]
        return np.asarray(ev.value_and_cotangent(x, v)[0], dtype=x.dtype)

    def rows(x):
        if k == n:
            return batch(x, eye)
        first = batch(x, eye[:k])
        out = np.empty((n,) + first.shape[1:], dtype=x.dtype)
        out[:k] = first
        for start in range(k, n, k):
            out[start:start + k] = batch(x, eye[start:start + k])
        return out

    rows.evaluator = evs[k]
    return rows
