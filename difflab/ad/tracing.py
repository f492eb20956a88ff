"""Tracing for the compiled tape: a reverse-mode recording that also notes what it decided.

A flat program freezes what one run of the function saw. So besides the operations, the
trace records everything the Python code decided on a traced value (comparisons, ``bool``,
``int``/``float`` of a value, indices computed from values) as *guards*, and keeps track of
data: arrays found by :mod:`trace_sources` (closed-over data), their conversions by
``xp.asarray``, results of operations on such data alone, and plain values taken off the tape
(``stop_gradient``, ``strip``). The code generator (:mod:`codegen`) reads it all back.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .reverse import Node, ReverseNamespace, Tape
from .trace_sources import Sources
from .traced import Traced, count_conversion, new_level, strip


@dataclass
class Guard:
    """One decision taken on a traced value, checked again by every call of the program.

    ``kind`` is ``"compare"`` (``op`` is ``<``, ``<=``, ..., operands ``lhs``/``rhs``) or
    ``"value"`` (``op`` is ``bool``, ``float`` or ``int`` of ``lhs``) or ``"index"`` (an
    index array computed from values must be the same again); ``result`` is what tracing
    saw; ``position`` is how many operations were recorded before it.
    """

    kind: str
    op: str
    lhs: object
    rhs: object
    result: object
    position: int


class TraceTape(Tape):
    """A tape that also records guards and where every non-traced array came from."""

    def __init__(self, sources: Sources):
        super().__init__()
        self.sources = sources
        self.guards: list[Guard] = []
        self.values: dict[int, Node] = {}        # id(node.value) -> node (values taken off the tape)
        self.conversions: dict[int, tuple] = {}  # id(asarray result) -> (data, dtype)
        self.derived: dict[int, tuple] = {}      # id(result) -> (rule name, args, params)
        self.masks: dict[int, tuple] = {}        # id(comparison array) -> (op, lhs, rhs)
        self.data: dict[int, tuple] = {}         # id(DataArray) -> how it was made from data
        self.aliases: dict[int, DataArray] = {}  # id(plain view) -> the DataArray it shows
        self.keep: list = []                     # keeps every tracked object alive (ids stay unique)

    def tracks(self, obj) -> bool:
        """True when ``obj`` (a plain array) depends on the input or on closed-over data."""
        i = id(obj)
        return (i in self.values or i in self.sources.paths or i in self.conversions
                or i in self.derived or i in self.masks or i in self.data or i in self.aliases)

    def wrap(self, array, how) -> DataArray:
        """``array`` as a :class:`DataArray` made ``how`` (NumPy on it is then recorded too)."""
        view = np.asarray(array).view(DataArray)
        self.data[id(view)] = how
        self.keep.append((view, how))
        return view

    def plain(self, data: DataArray) -> np.ndarray:
        view = data.view(np.ndarray)
        self.aliases[id(view)] = data
        self.keep.append(view)
        return view

    def guard(self, kind, op, lhs, rhs, result):
        self.keep.append((lhs, rhs, result))
        self.guards.append(Guard(kind, op, lhs, rhs, result, len(self)))


_COMPARISONS = {"__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">=",
                "__eq__": "==", "__ne__": "!="}


class TraceNode(Node):
    """A tape node whose comparisons and conversions to Python values become guards."""

    __slots__ = ()

    def __init__(self, value, level, tape, rule=None, args=(), params=None, parents=()):
        super().__init__(value, level, tape, rule, args, params, parents)
        tape.values[id(value)] = self

    def _compare(self, op, other):
        result = _PLAIN_COMPARE[op](strip(self), strip(other))
        if isinstance(result, np.ndarray) and type(result) is not np.ndarray:
            result = result.view(np.ndarray)  # against closed-over data (a DataArray): a plain mask
        if type(result) is np.ndarray and result.size > 1:
            self.tape.masks[id(result)] = (op, self, other)
            self.tape.keep.append(result)
        self.tape.guard("compare", op, self, other, result)
        return result

    def __bool__(self):
        return self._convert("bool", bool)

    def __float__(self):
        return self._convert("float", float)

    def __int__(self):
        return self._convert("int", int)

    __index__ = __int__

    def _convert(self, op, to):
        if op != "bool":
            count_conversion()
        result = to(strip(self))
        self.tape.guard("value", op, self, None, result)
        return result

    __hash__ = Node.__hash__


_PLAIN_COMPARE = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
                  ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}

def _comparison(op):
    def compare(self, other):
        return self._compare(op, other)
    compare.__name__ = op
    return compare


for _dunder, _op in _COMPARISONS.items():
    setattr(TraceNode, _dunder, _comparison(_op))
TraceNode.__hash__ = Node.__hash__


class DataArray(np.ndarray):
    """Closed-over data brought in with ``xp.asarray`` while tracing.

    Plain NumPy on it (``1.0 - y``, ``y[:, 0]``, ``y.sum()``) is recorded, so the program
    recomputes it from the data of each call instead of freezing the result.
    """

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if any(isinstance(i, Traced) for i in inputs):
            return NotImplemented
        plain = [i.view(np.ndarray) if isinstance(i, DataArray) else i for i in inputs]
        result = getattr(ufunc, method)(*plain, **kwargs)
        tape = _tracing.tape
        if tape is None or method not in ("__call__", "reduce") or "out" in kwargs:
            return result
        return tape.wrap(result, ("ufunc", ufunc, method, inputs, kwargs))

    def __getitem__(self, index):
        result = self.view(np.ndarray)[index]
        tape = _tracing.tape
        if tape is None or isinstance(index, (np.ndarray, DataArray, list)):
            return result
        return tape.wrap(result, ("getitem", self, index))


class TracingNamespace(ReverseNamespace):
    """Reverse mode over :class:`TraceNode`, keeping track of data-derived constants."""

    name = "difflab-reverse-trace"
    traced_type = TraceNode

    def asarray(self, data, dtype=None):
        tape = _tracing.tape
        if type(data) is DataArray:
            data = tape.plain(data) if tape is not None else data.view(np.ndarray)
        out = super().asarray(data, dtype)
        if tape is None or type(data) is not np.ndarray or not tape.tracks(data):
            return out
        if out is not data:
            tape.conversions[id(out)] = (data, out.dtype)
            tape.keep.append((data, out))
        return tape.wrap(out, ("alias", out))

    def apply(self, name, args, params):
        tape = _tracing.tape
        if tape is not None and any(type(a) is DataArray for a in args):
            args = tuple(tape.plain(a) if type(a) is DataArray else a for a in args)
        return super().apply(name, args, params)

    def constant(self, ans, name, values, params):
        tape = _tracing.tape
        if tape is not None and any(type(v) is np.ndarray and tape.tracks(v) for v in values):
            tape.derived[id(ans)] = (name, tuple(values), params)
            tape.keep.append((ans, values))
        return ans


TRACING = TracingNamespace()
TraceNode.namespace = TRACING


class _Tracing(threading.local):
    """The tape this thread is tracing onto (None outside a trace): per thread, so traces
    in several threads at once each record their own data."""

    tape: TraceTape | None = None


_tracing = _Tracing()


def trace(fn, x, sources: Sources):
    """Run ``fn`` once on a traced ``x``: ``(output, tape)`` with the guards and data noted."""
    tape = TraceTape(sources)
    leaf = TraceNode(x, new_level(), tape)
    tape.inputs = leaf
    previous, _tracing.tape = _tracing.tape, tape
    try:
        out = fn(leaf)
    finally:
        _tracing.tape = previous
    return out, tape
