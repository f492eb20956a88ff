"""Fusing the compiled tape's elementwise rows into numba kernels: one loop, no temporaries.

The program :mod:`codegen` writes is a list of rows, each one NumPy call; a chain of
elementwise rows (``t3 = square(t2); t4 = subtract(t1, t3); ...``) is as many passes over
memory, each with its temporary. :func:`fuse` groups such chains (rows whose ufunc is in
:data:`FUSABLE`, of one shape and one float dtype) into one loop compiled by numba: the
values only the group uses stay in registers, the others are written once.

The kernels are generated from the program's rows, which the rule table wrote (the ufunc of
each row is called on scalars inside the loop, the same ufunc NumPy would run on arrays), so
there is no second rule set. Rows that are not elementwise (reductions, indexing, the calls
of rules that look at values, guards, in-place accumulations) stay NumPy rows of the
program; a group may be scheduled across pure rows that do not depend on it (moved before
it) and rows that do (moved after it), never across a guard.

Numba is optional: ``difflab.get("reverse", jit="numba")`` asks for it, ``jit=True`` uses
it when it imports and the pure-NumPy program otherwise. Its compilation (at preparation:
each kernel is run once on the trace's values) is cached by the kernel's text, so another
program with the same chain reuses the machine code.
"""
from __future__ import annotations

import functools
import threading

import numpy as np

#: The ufuncs a kernel may call on scalars: exact IEEE operations in every float dtype.
EXACT = frozenset({np.add, np.subtract, np.multiply, np.true_divide, np.negative, np.square,
                   np.sqrt, np.absolute})
#: Transcendental ufuncs, fused in float64 only: numba's libm and NumPy's SIMD loops may
#: round an ulp apart, which float32's 1e-7 would show and float64's 1e-16 does not.
TRANSCENDENTAL = frozenset({np.exp, np.log, np.sin, np.cos, np.tanh, np.log1p, np.expm1})
#: Fewest rows worth a kernel.
MIN_ROWS = 2

_kernels: dict = {}
_kernels_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """Whether numba imports (only asked when a program is written with ``jit=True``)."""
    try:
        import numba  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure to import means: not available
        return False
    return True


class _Row:
    """A statement of the program as the fusion sees it: its ufunc and operand codes."""

    __slots__ = ("index", "operands", "statement", "ufunc")

    def __init__(self, index, statement, ufunc, operands):
        self.index, self.statement, self.ufunc, self.operands = index, statement, ufunc, operands


def fuse(statements, builder, inputs: dict, live_out) -> list:
    """``statements`` with chains of elementwise rows replaced by kernel calls.

    ``inputs``: the program's argument names and their trace-time values (``x``, ``u``, the
    data); ``live_out``: the names the program returns. Returns a new statement list whose
    kernels write into ``_np.empty`` rows (which :func:`codegen.assign_buffers` may give
    persistent buffers); the kernels are compiled here, on the trace's values."""
    from .codegen import Statement

    values = dict(inputs)
    roots: dict = {}  # name -> the arrays it may be a view of (in-place rows change them all)
    for s in statements:
        if s.kind == "assign":
            values[s.target] = s.value
            roots[s.target] = {s.target} if s.fresh else set().union(*(roots.get(u, {u}) for u in s.uses))

    def reach(uses):
        return set().union(*(roots.get(u, {u}) for u in uses)) if uses else set()
    out: list = []
    group: list[_Row] = []
    hoisted: list = []
    deferred: list = []
    blocked: set = set()      # names the group or the rows deferred after it make or change
    later: set = set()        # names the rows deferred after it make or change
    key = None                # (shape, dtype) of the open group

    def flush():
        nonlocal group, hoisted, deferred, blocked, later, key
        out.extend(hoisted)
        rows = None
        if len(group) >= MIN_ROWS:
            try:
                rows = _kernel_rows(group, statements, builder, values, live_out, Statement)
            except Exception:  # noqa: BLE001 - numba refused the kernel: the rows stay NumPy
                rows = None
        out.extend(rows if rows is not None else [r.statement for r in group])
        out.extend(deferred)
        group, hoisted, deferred, blocked, later, key = [], [], [], set(), set(), None
        read_later.clear()

    read_later: set = set()   # names the deferred rows read (they must see the group's values)
    for i, s in enumerate(statements):
        row = _fusable(i, s, builder, values)
        uses = reach(s.uses) | set(s.uses)
        if row is None and group and s.kind == "inplace":
            row = _accumulation(i, s, {r.statement.target for r in group}, read_later)
        if row is not None and group and len(group) < MIN_ROWS and s.kind == "assign" \
                and row_key(s) != key and s.value.ndim >= len(key[0]):
            flush()  # a lone row of another shape: it stays NumPy, a chain of as many axes opens
        if row is not None and (key is None or s.kind == "inplace" or row_key(s) == key) \
                and not (uses & later):
            if key is None:
                key = row_key(s)
            group.append(row)
            blocked.add(s.target)
            continue
        if not group:
            out.append(s)
            continue
        if s.kind in ("assign", "guard") and not (uses & blocked):
            hoisted.append(s)          # pure, and independent of the group: before the kernel
        elif s.kind in ("assign", "inplace"):
            deferred.append(s)         # after the kernel, in their order
            read_later.update(s.uses)
            blocked.add(s.target)
            later.add(s.target)
            if s.kind == "inplace":    # it changes the arrays its target may be a view of
                later.update(reach([s.target]))
            blocked.update(later)
        else:                          # a guard on the group's values, an effect: a barrier
            flush()
            out.append(s)
    if group:
        flush()
    return out


def _accumulation(i, s, made, read_later):
    """``a += b`` (or ``-=``) of two values of the open group, as one more kernel row: the
    accumulator stays in a register (nothing outside the group has read ``a`` yet)."""
    parts = s.code.split(" ")
    if len(parts) != 3 or parts[1] not in ("+=", "-=") or parts[0] != s.target:
        return None
    a, b = parts[0], parts[2]
    if a not in made or b not in made or a in read_later:
        return None
    return _Row(i, s, np.add if parts[1] == "+=" else np.subtract, [a, b])


def row_key(s):
    return s.value.shape, s.value.dtype.str


def _fusable(i, s, builder, values):
    """The row as a kernel row, or None: an elementwise ufunc of arrays of its own shape and
    dtype and scalars of that dtype (the program's ``_k`` constants)."""
    if s.kind != "assign" or not s.ufunc or not s.operands or not s.fresh:
        return None
    v = s.value
    if type(v) is not np.ndarray or v.dtype.kind != "f" or v.ndim == 0:
        return None
    ufunc = getattr(np, s.ufunc[4:], None) if s.ufunc.startswith("_np.") else builder.constants.get(s.ufunc)
    if ufunc not in EXACT and not (ufunc in TRANSCENDENTAL and v.dtype == np.float64):
        return None
    if ufunc.nin != len(s.operands):
        return None
    for code in s.operands:
        a = values.get(code, builder.constants.get(code))
        if type(a) is not np.ndarray or a.dtype != v.dtype or a.ndim > v.ndim or (
                a.ndim and a.shape != v.shape[v.ndim - a.ndim:]):
            return None  # an operand of fewer axes is broadcast along the leading ones (a batch)
        if a.ndim == 0 and code in values:  # a number the program computes: not a constant
            return None
    return _Row(i, s, ufunc, list(s.operands))


def _kernel_rows(group, statements, builder, values, live_out, Statement):
    """The rows that run ``group`` as one kernel: an ``_np.empty`` for each value used after
    it, then the kernel's call."""
    made = {r.statement.target for r in group}
    members = {id(r.statement) for r in group}
    used_after = set(live_out)
    for s in statements:
        if id(s) not in members:
            used_after.update(s.uses)
    outputs = list(dict.fromkeys(r.statement.target for r in group if r.statement.target in used_after))
    arrays, scalars = [], []
    for r in group:
        for code in r.operands:
            if code in made or code in arrays or code in scalars:
                continue
            a = values.get(code, builder.constants.get(code))
            (scalars if a.ndim == 0 else arrays).append(code)
    shape, dtype = group[0].statement.value.shape, group[0].statement.value.dtype
    ranks = [np.ndim(values.get(c, builder.constants.get(c))) for c in arrays]
    source, ufuncs = _kernel_source(group, arrays, scalars, outputs, shape, ranks)
    kernel = _compiled(source, ufuncs)
    # scalars go in as NumPy scalars of the dtype: numba types them as float32/float64
    scalar_codes = []
    for code in scalars:
        scalar_codes.append(builder.constant(np.asarray(values.get(code, builder.constants.get(code)))[()], "_q"))
    kname = builder.constant(kernel, "_kernel")
    rows = []
    for name in outputs:
        value = next(r.statement.value for r in group if r.statement.target == name)
        rows.append(Statement(name, f"_np.empty({shape!r}, {builder.constant(dtype)})", [], "assign",
                              fresh=True, value=value))
    call_args = arrays + scalar_codes + outputs
    rows.append(Statement(None, f"{kname}({', '.join(call_args)})", arrays + outputs, "effect"))
    # compiled now, on the trace's own values (preparation time, not the first call's): the
    # inputs are only read, and keep the layout (a strided view stays strided) of each call
    kernel(*[values[c] if c in values else builder.constants[c] for c in arrays],
           *[builder.constants[c] for c in scalar_codes], *[np.empty(shape, dtype) for _ in outputs])
    return rows


def _kernel_source(group, arrays, scalars, outputs, shape, ranks):
    """The kernel's text: nested loops over ``shape``, one scalar statement per row."""
    names = {}
    for k, code in enumerate(arrays):
        names[code] = f"a{k}"
    for k, code in enumerate(scalars):
        names[code] = f"s{k}"
    ufuncs = {}
    idx = ", ".join(f"j{d}" for d in range(len(shape)))
    params = [names[c] for c in arrays] + [names[c] for c in scalars] + [f"o{k}" for k in range(len(outputs))]
    lines = [f"def kernel({', '.join(params)}):"]
    indent = "    "
    for d in range(len(shape)):  # the sizes from the arrays: one kernel serves every n
        lines.append(f"{indent}for j{d} in range(o0.shape[{d}]):")
        indent += "    "
    for code, a in zip(arrays, ranks):  # an operand of fewer axes: its trailing indices
        lines.append(f"{indent}v_{names[code]} = {names[code]}[{', '.join(f'j{d}' for d in range(len(shape) - a, len(shape)))}]")
    local = {c: f"v_{names[c]}" for c in arrays}
    local.update({c: names[c] for c in scalars})
    for k, r in enumerate(group):
        fname = f"_u_{r.ufunc.__name__}"
        ufuncs[fname] = r.ufunc
        lines.append(f"{indent}r{k} = {fname}({', '.join(local[c] for c in r.operands)})")
        local[r.statement.target] = f"r{k}"  # after: an accumulation reads its old value
    for k, name in enumerate(outputs):
        lines.append(f"{indent}o{k}[{idx}] = {local[name]}")
    return "\n".join(lines) + "\n", ufuncs


def _compiled(source, ufuncs):
    """The numba dispatcher for ``source`` (one per text: programs share machine code)."""
    with _kernels_lock:
        kernel = _kernels.get(source)
        if kernel is None:
            import numba

            namespace = dict(ufuncs)
            # difflab's own generated text (ufunc names and numbered locals), never user text
            exec(compile(source, "<difflab fused kernel>", "exec"), namespace)  # noqa: S102
            kernel = numba.njit(nogil=True, error_model="numpy", cache=False)(namespace["kernel"])
            _kernels[source] = kernel
        return kernel
