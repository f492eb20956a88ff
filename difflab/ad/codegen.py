"""Code generation for the compiled tape: one flat Python function of NumPy calls.

The rule table is *run* to write the program: each partial, transpose and VJP of
:mod:`rules` is called with :class:`Expr` values, symbolic stand-ins that emit one statement
per operation and carry the trace-time value (for shapes, dtypes and broadcast axes, all
resolved here, once). A rule that decides on values (``np.where`` on a comparison, a zero
test) cannot run on stand-ins; it is emitted as a call of that same table entry on the
program's NumPy arrays. Either way there is one rule table and no second rule set.

Statements are then pruned (dead code), large fresh results get persistent buffers (``out=``
of the ufunc, shared between values whose lifetimes do not overlap), and the text is compiled.

Threads: the builder being written to is per thread (:func:`writing`), and the persistent
buffers are per thread too (:class:`ThreadBuffers`: each thread running a program gets its
own set, made at its first call), so any number of threads may write and run programs at once.
"""
from __future__ import annotations

import contextlib
import math
import threading
from fractions import Fraction

import numpy as np

from ..namespaces import NUMPY
from ..namespaces.shaped import Shaped

#: Fresh results with at least this many elements get a persistent buffer.
BUFFER_MIN = 1024

_UFUNC_OPS = {"+": "add", "-": "subtract", "*": "multiply", "/": "true_divide", "**": "power",
              "@": "matmul", "<": "less", "<=": "less_equal", ">": "greater",
              ">=": "greater_equal", "==": "equal", "!=": "not_equal"}
#: NumPy functions whose result never aliases an argument.
_FRESH_FUNCTIONS = frozenset({"stack", "concatenate", "where", "clip", "prod", "max", "min",
                              "mean", "logsumexp", "matmul", "dot", "scatter", "sum"})


class Symbolic(TypeError):
    """Raised when a rule tries to decide on a stand-in's value: emit a runtime call instead."""


class Expr(Shaped):
    """A value of the program being written: its code (a name or literal) and trace-time value.

    ``fresh``: the statement that made it allocated a new array nobody else refers to, so an
    accumulator may take it over and add into it in place. ``fill``: every element equals this
    Python number (the seed and what it becomes), folded into the partials it meets.
    ``negated``: it is ``-other``, so an accumulation can subtract ``other`` instead.
    """

    __slots__ = ("code", "value", "fresh", "fill", "negated", "scaled")
    __array_ufunc__ = None
    __array_priority__ = 10_000

    def __init__(self, code, value, fresh=False, fill=None, negated=None):
        self.code, self.value, self.fresh, self.fill, self.negated = code, value, fresh, fill, negated
        self.scaled = None  # (c, base) when this is the number c times base: scalings fold

    def __array__(self, *args, **kwargs):
        raise Symbolic("a rule needs the value")

    def __bool__(self):
        raise Symbolic("a rule decides on the value")

    __float__ = __int__ = __index__ = __bool__

    @property
    def shape(self):
        return tuple(np.shape(self.value))

    @property
    def dtype(self):
        return np.result_type(self.value)

    # ---- arithmetic: one statement each ------------------------------------------------------
    def _bin(self, sym, other, reflected=False):
        a, b = (other, self) if reflected else (self, other)
        return _builder().binary(sym, a, b)

    def __add__(self, o):      return self._bin("+", o)
    def __radd__(self, o):     return self._bin("+", o, True)
    def __sub__(self, o):      return self._bin("-", o)
    def __rsub__(self, o):     return self._bin("-", o, True)
    def __mul__(self, o):      return self._bin("*", o)
    def __rmul__(self, o):     return self._bin("*", o, True)
    def __truediv__(self, o):  return self._bin("/", o)
    def __rtruediv__(self, o): return self._bin("/", o, True)
    def __pow__(self, o):      return self._bin("**", o)
    def __rpow__(self, o):     return self._bin("**", o, True)
    def __matmul__(self, o):   return self._bin("@", o)
    def __rmatmul__(self, o):  return self._bin("@", o, True)
    def __lt__(self, o):       return self._bin("<", o)
    def __le__(self, o):       return self._bin("<=", o)
    def __gt__(self, o):       return self._bin(">", o)
    def __ge__(self, o):       return self._bin(">=", o)
    def __eq__(self, o):       return self._bin("==", o)
    def __ne__(self, o):       return self._bin("!=", o)
    __hash__ = object.__hash__

    def __neg__(self):
        b = _builder()
        if self.fill is not None:
            return b.filled(-self.fill, self.shape, self.dtype)
        if self.scaled is not None:
            out = b.binary("*", self.scaled[1], -self.scaled[0])
            out.negated = self
            return out
        out = b.assign(f"-{self.code}", [self], -self.value, fresh=True, ufunc="_np.negative",
                       operands=[self.code])
        out.negated = self
        return out

    def __pos__(self):
        return self

    def __getitem__(self, index):
        b = _builder()
        return b.assign(f"{self.code}[{b.literal(index)}]", [self], self.value[index])

    @property
    def T(self):
        return NamespaceWriter().transpose(self)

    def reshape(self, *shape):
        return NamespaceWriter().reshape(self, shape[0] if len(shape) == 1 else shape)


class Statement:
    """One line of the program: ``target = code`` (or an effect, ``target`` None)."""

    __slots__ = ("target", "code", "uses", "kind", "ufunc", "operands", "fresh", "value")

    def __init__(self, target, code, uses, kind="assign", ufunc=None, operands=None, fresh=False,
                 value=None):
        self.target, self.code, self.uses, self.kind = target, code, uses, kind
        self.ufunc, self.operands, self.fresh, self.value = ufunc, operands, fresh, value


class Builder:
    """Collects the program's statements and the constants its text refers to."""

    def __init__(self):
        self.statements: list[Statement] = []
        self.constants: dict[str, object] = {"_np": np, "_NP": NUMPY, "_ndarray": np.ndarray,
                                             "_getattr": getattr}
        self._const_ids: dict[int, str] = {}
        self._scalars: dict[tuple, str] = {}
        self._count = 0
        self.buffers: dict[str, tuple] = {}  # name -> (shape, dtype), made per thread
        self.scatters: dict[str, tuple] = {}  # name -> (code of g, index code): basic scatters

    # ---- names and literals ----------------------------------------------------------------
    def name(self, prefix="t"):
        self._count += 1
        return f"{prefix}{self._count}"

    def constant(self, obj, prefix="_c") -> str:
        key = id(obj)
        name = self._const_ids.get(key)
        if name is None or self.constants.get(name) is not obj:
            name = f"{prefix}{len(self.constants)}"
            self.constants[name] = obj
            self._const_ids[key] = name
        return name

    def literal(self, obj) -> str:
        """Code for a static value: a Python literal where exact, else a named constant."""
        if obj is None or type(obj) in (bool, int) or obj is Ellipsis:
            return repr(obj)
        if type(obj) is float and math.isfinite(obj):
            return repr(obj)
        if type(obj) is slice and all(v is None or type(v) is int for v in (obj.start, obj.stop, obj.step)):
            return self.constant(obj, "_s")
        if type(obj) is tuple and all(_is_static(v) for v in obj):
            return "(" + "".join(self.literal(v) + ", " for v in obj) + ")"
        return self.constant(obj)

    def code(self, v) -> str:
        return v.code if isinstance(v, Expr) else self.literal(v)

    # ---- statements ------------------------------------------------------------------------
    def assign(self, code, uses, value, fresh=False, ufunc=None, operands=None, prefix="t") -> Expr:
        target = self.name(prefix)
        names = [u.code for u in uses if isinstance(u, Expr)]
        self.statements.append(Statement(target, code, names, "assign", ufunc, operands, fresh, value))
        return Expr(target, value, fresh=fresh)

    def effect(self, code, uses, kind="effect", target=None):
        names = [u.code if isinstance(u, Expr) else u for u in uses]
        self.statements.append(Statement(target, code, names, kind))

    def filled(self, fill, shape, dtype) -> Expr:
        value = np.full(shape, fill, dtype=dtype)
        return Expr(self.constant(value), value, fill=fill)

    def binary(self, sym, a, b) -> Expr:
        a, b = self._plain(a), self._plain(b)
        value = _PY_OPS[sym](_value(a), _value(b))
        ca, cb = self.code(a), self.code(b)
        if sym == "*" and type(a) in (int, float) and isinstance(b, Expr):
            a, b, ca, cb = b, a, cb, ca
        if sym in ("+", "-", "*", "/"):  # a Python number meeting an array: a 0-d array of the
            ca, cb = self.scalar_code(a, b, ca), self.scalar_code(b, a, cb)  # array's dtype converts faster
        if sym == "*" and type(b) in (int, float) and isinstance(a, Expr):
            if a.scaled is not None and exact_product(a.scaled[0], b):
                c, base = a.scaled  # c2 * (c1 * e) -> (c1 c2) * e: one pass, and the same bits
                return self.binary("*", base, c * b)
            out = self.assign(f"({ca} * {cb})", [a], value, fresh=True, ufunc="_np.multiply",
                              operands=[ca, cb])
            out.scaled = (b, a)
            return out
        if (sym == "*" and isinstance(a, Expr) and isinstance(b, Expr)
                and (a.scaled is not None or b.scaled is not None)
                and all(exact_product(v.scaled[0] if v.scaled is not None else 1.0, 0.0)
                        for v in (a, b))):  # (2 a) * (4 b) -> (a * b) * 8: exact for powers of two
            ca_, a_ = a.scaled if a.scaled is not None else (1.0, a)
            cb_, b_ = b.scaled if b.scaled is not None else (1.0, b)
            return self.binary("*", self.binary("*", a_, b_), ca_ * cb_)
        if sym == "*" and isinstance(a, Expr) and isinstance(b, Expr) and a.scaled and b.scaled:
            for p, q in ((a, b), (b, a)):  # (2 u) * (c v) -> u * ((2 c) v): exact, one pass less
                if exact_product(p.scaled[0], 0.0):
                    return self.binary("*", p.scaled[1], self.binary("*", q, p.scaled[0]))
        if sym == "**" and type(b) in (int, float) and b == 2:  # the fast square, as NumPy's
            return self.assign(f"_np.square({ca})", [a], value, fresh=True, ufunc="_np.square",
                               operands=[ca])
        return self.assign(f"({ca} {sym} {cb})", [a, b], value, fresh=True,
                           ufunc=f"_np.{_UFUNC_OPS[sym]}", operands=[ca, cb])

    def scalar_code(self, number, other, code):
        """Code for ``number`` next to the array ``other``: a 0-d array of its float dtype
        (the same value NumPy would convert the Python number to, without the conversion)."""
        if type(number) not in (int, float) or not isinstance(other, Expr):
            return code
        v = other.value
        if type(v) is not np.ndarray or v.ndim == 0 or v.dtype.kind != "f":
            return code
        key = (float(number), v.dtype.str)
        name = self._scalars.get(key)
        if name is None:
            name = self.constant(np.asarray(number, dtype=v.dtype), "_k")
            self._scalars[key] = name
        return name

    def _plain(self, v):
        """A filled stand-in as the constant array it stands for."""
        if isinstance(v, Expr) and v.fill is not None:
            return Expr(v.code, v.value)
        return v

    def call(self, function, args, kwargs, value, fresh=False, ufunc=False) -> Expr:
        """``function(*args, **kwargs)`` with ``function`` bound to a constant of the program."""
        fname = self.constant(function, "_f")
        codes = [self.code(self._plain(a)) for a in args]
        text = ", ".join(codes + [f"{k}={self.literal(v)}" for k, v in kwargs.items()])
        return self.assign(f"{fname}({text})", [a for a in args if isinstance(a, Expr)], value,
                           fresh=fresh, ufunc=fname if ufunc else None, operands=codes if ufunc else None)

    def buffer(self, shape, dtype) -> str:
        """The name of a new per-thread buffer (see :class:`ThreadBuffers`)."""
        name = f"_b{len(self.buffers)}"
        self.buffers[name] = (tuple(shape), np.dtype(dtype))
        return name

    def mark(self):
        return len(self.statements), self._count

    def rollback(self, mark):
        del self.statements[mark[0]:]


def exact_product(a, b) -> bool:
    """True when folding ``a * b`` into one constant rounds exactly as multiplying in turn:
    one of them is a power of two (or +-1)."""
    return any(v != 0 and math.isfinite(v) and abs(math.frexp(v)[0]) == 0.5 for v in (a, b))


def exact_sum(fill, count, dtype) -> bool:
    """True when ``count`` copies of ``fill`` sum exactly in ``dtype`` (every partial sum is
    representable), so folding the sum of a filled array gives the same bits."""
    if not math.isfinite(fill) or float(np.dtype(dtype).type(fill)) != fill:
        return False
    odd = Fraction(fill).numerator
    while odd and odd % 2 == 0:
        odd //= 2
    return abs(odd) * count < 2 ** (np.finfo(dtype).nmant + 1)


def _is_static(v):
    return v is None or v is Ellipsis or type(v) in (bool, int) or (
        type(v) is slice and all(s is None or type(s) is int for s in (v.start, v.stop, v.step)))


def _value(v):
    return v.value if isinstance(v, Expr) else v


_PY_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
           "/": lambda a, b: a / b, "**": lambda a, b: a ** b, "@": lambda a, b: a @ b,
           "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
           ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


class _Writing(threading.local):
    """The builders this thread is writing to, innermost last."""

    def __init__(self):
        self.stack: list[Builder] = []


_writing = _Writing()


def _builder() -> Builder:
    return _writing.stack[-1]


@contextlib.contextmanager
def writing(builder: Builder):
    """Within the block, stand-ins of this thread emit their statements into ``builder``."""
    _writing.stack.append(builder)
    try:
        yield builder
    finally:
        _writing.stack.pop()


class NamespaceWriter:
    """The array namespace the rule table runs on while writing: each op emits a statement."""

    name = "difflab-codegen"

    def __getattr__(self, op):
        function = getattr(NUMPY, op)

        def emit(*args, **kwargs):
            b = _builder()
            if any(isinstance(a, (list, tuple)) and any(isinstance(e, Expr) for e in a) for a in args):
                raise Symbolic(f"{op} of a sequence")  # stack/concatenate: a runtime call
            value = function(*[_value(b._plain(a)) for a in args], **kwargs)
            ufunc = isinstance(function, np.ufunc) and not kwargs
            out = b.call(function, args, kwargs, value, fresh=op in _FRESH_FUNCTIONS or ufunc,
                         ufunc=ufunc)
            if op == "scatter" and len(args) == 1 and isinstance(args[0], Expr) \
                    and _basic(kwargs.get("index")):
                b.scatters[out.code] = (b._plain(args[0]).code, b.literal(kwargs["index"]))
            return out

        emit.__name__ = op
        return emit

    def sum(self, x, axis=None, keepdims=False):
        b = _builder()
        value = np.sum(_value(x), axis=axis, keepdims=keepdims)
        count = np.size(_value(x)) // max(np.size(value), 1)
        if isinstance(x, Expr) and x.fill is not None and exact_sum(x.fill, count, x.dtype):
            return b.filled(x.fill * count, np.shape(value), x.dtype)
        value = np.add.reduce(_value(x), axis=axis, keepdims=keepdims)
        if not keepdims:
            return b.call(np.add.reduce, [x, axis], {}, value, fresh=True)
        return b.call(np.add.reduce, [x], {"axis": axis, "keepdims": keepdims}, value, fresh=True)

    def reshape(self, x, shape):
        b = _builder()
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        value = np.reshape(_value(x), shape)
        if isinstance(x, Expr) and x.fill is not None:
            return b.filled(x.fill, value.shape, x.dtype)
        if value.shape == np.shape(_value(x)):
            return x
        return b.assign(f"{b.code(x)}.reshape({b.literal(shape)})", [x], value)

    def broadcast_to(self, x, shape):
        b = _builder()
        value = np.broadcast_to(_value(x), tuple(shape))
        if isinstance(x, Expr) and x.fill is not None:
            return b.filled(x.fill, value.shape, x.dtype)
        return b.call(np.broadcast_to, [x, tuple(shape)], {}, value)

    def transpose(self, x, axes=None):
        b = _builder()
        value = np.transpose(_value(x), axes)
        return b.call(np.transpose, [x, axes], {}, value)

    def shape(self, x):
        return tuple(np.shape(_value(x)))


WRITER = NamespaceWriter()


def _basic(index) -> bool:
    """A tuple of slices and ints (NumPy's basic indexing: ``out[index] += g`` is in place)."""
    return type(index) is tuple and all(_is_static(v) and v is not None and v is not Ellipsis
                                        for v in index)


# ---------------------------------------------------------------------- dead code and buffers
def fold_scatters(statements, builder, live_out):
    """``c = a + scatter(g, index)`` -> ``c = a; c[index] += g`` where ``a`` is an array
    the program owns that nothing else reads and the scatter's zeros are read only by the
    sum: one strided pass instead of a zero fill, a write and a full add (the forward-mode
    Hessian's tangents, sums of slices of a batch). Exact: the same additions, in the same
    order per element (a zero plus g is g)."""
    if not builder.scatters:
        return statements
    uses: dict[str, int] = {}
    for s in statements:
        for u in s.uses:
            uses[u] = uses.get(u, 0) + 1
    for name in live_out:
        uses[name] = uses.get(name, 0) + 1
    made = {s.target: s for s in statements if s.kind == "assign"}
    owned = {s.target for s in statements if s.kind == "assign" and s.fresh}
    dropped, out = set(), []
    for s in statements:
        folded = None
        if s.kind == "assign" and s.ufunc == "_np.add" and len(s.operands or ()) == 2:
            for p, q in (s.operands, s.operands[::-1]):
                scatter, base = made.get(p), made.get(q)
                if (p in builder.scatters and uses.get(p) == 1 and q in owned and uses.get(q) == 1
                        and q not in live_out and base is not None and scatter is not None
                        and type(base.value) is np.ndarray and type(s.value) is np.ndarray
                        and base.value.shape == s.value.shape and base.value.dtype == s.value.dtype
                        and np.can_cast(np.result_type(scatter.value), s.value.dtype)):
                    folded = (p, q)
                    break
        if folded is None:
            out.append(s)
            continue
        p, q = folded
        g, index = builder.scatters[p]
        dropped.add(p)
        out.append(Statement(s.target, q, [q], "assign", value=s.value))
        out.append(Statement(s.target, f"{s.target}[{index}] += {g}", [s.target, g], "inplace"))
        owned.add(s.target)
    return [s for s in out if not (s.kind == "assign" and s.target in dropped)]



def prune(statements, live_out):
    """Drop statements whose results no one uses (effects and guards always stay)."""
    live = set(live_out)
    kept = []
    for s in reversed(statements):
        if s.kind in ("guard", "effect"):
            kept.append(s)
            live.update(s.uses)
        elif s.kind == "inplace":
            if s.target in live:
                kept.append(s)
                live.update(s.uses)
        elif s.target in live:
            kept.append(s)
            live.discard(s.target)
            live.update(s.uses)
    kept.reverse()
    return kept


class ThreadBuffers:
    """A program's persistent buffers, one set per thread: ``buffers()`` is the calling
    thread's tuple of arrays, allocated at its first call (a thread never sees another's).

    The buffers outlive a call (the result may be one of them), so a thread's next call of
    the same program may overwrite what its previous call returned; difflab's
    :class:`~difflab.Derivative` copies results before handing them out.
    """

    __slots__ = ("specs", "_local")

    def __init__(self, specs):
        self.specs = tuple(specs)  # (shape, dtype) of each buffer
        self._local = threading.local()

    def __call__(self) -> tuple:
        try:
            return self._local.arrays
        except AttributeError:
            arrays = self._local.arrays = tuple(np.empty(shape, dtype) for shape, dtype in self.specs)
            return arrays


def assign_buffers(statements, live_out, builder):
    """Give large fresh results persistent buffers, sharing one between values whose lifetimes
    (including every view of them) do not overlap. Returns ``{statement index: buffer name}``;
    the buffers' shapes and dtypes are in ``builder.buffers`` (name -> (shape, dtype)), for a
    :class:`ThreadBuffers` that gives each thread its own."""
    last_use: dict[str, int] = {}
    for i, s in enumerate(statements):
        for u in s.uses:
            last_use[u] = i
    end = len(statements)
    for name in live_out:
        last_use[name] = end
    roots: dict[str, set] = {}
    for s in statements:
        if s.kind == "assign":
            roots[s.target] = {s.target} if s.fresh else set().union(*(roots.get(u, set()) for u in s.uses))
    release: dict[str, int] = {}
    for name, rs in roots.items():
        for r in rs:
            release[r] = max(release.get(r, -1), last_use.get(name, -1))
    free: dict[tuple, list] = {}
    busy: list[tuple[int, tuple, str]] = []
    chosen: dict[int, str] = {}
    for i, s in enumerate(statements):
        # a ufunc may write over an operand it reads for the last time (NumPy reads each
        # element before writing it, and buffers an overlap): fewer buffers, less cache
        limit = i + 1 if s.kind == "assign" and s.ufunc else i
        still = []
        for until, key, buf in busy:
            (free.setdefault(key, []).append(buf) if until < limit else still.append((until, key, buf)))
        busy = still
        if not (s.kind == "assign" and s.fresh and (s.ufunc or s.code.startswith(("_np.zeros(", "_np.empty(")))):
            continue
        v = s.value
        if type(v) is not np.ndarray or v.size < BUFFER_MIN:
            continue
        key = (v.shape, v.dtype.str)
        pool = free.get(key)
        buf = pool.pop() if pool else builder.buffer(v.shape, v.dtype)
        chosen[i] = buf
        busy.append((release.get(s.target, end), key, buf))
    return chosen


def render(statements, buffers, builder=None) -> list[str]:
    """The program's body; with per-thread buffers (``builder.buffers``) it starts by taking
    the calling thread's set from the constant ``_buffers``."""
    lines = []
    names = list(builder.buffers) if builder is not None else []
    if names:
        builder.constants["_buffers"] = ThreadBuffers(builder.buffers.values())
        lines.append(f"{', '.join(names)}, = _buffers()")
    for i, s in enumerate(statements):
        buf = buffers.get(i)
        if s.kind == "assign" and buf is not None:
            if s.ufunc:
                lines.append(f"{s.target} = {s.ufunc}({', '.join(s.operands)}, out={buf})")
            else:  # zeros (an uninitialised array needs no filling)
                if s.code.startswith("_np.zeros("):
                    lines.append(f"{buf}.fill(0)")
                lines.append(f"{s.target} = {buf}")
        elif s.kind == "assign":
            lines.append(f"{s.target} = {s.code}")
        else:
            lines.append(s.code)
    return lines

