"""Pytrees: nested dicts, lists and tuples of arrays and numbers, as one flat vector and back.

Every method differentiates a function of one 1-D vector; a function of a dict of parameters
(or of a matrix) is differentiated as ``x_flat -> f(unflatten(treedef, x_flat))`` and its
derivative is unflattened into the structure of the input, as JAX does. The leaves are laid
out in order: dict entries by sorted key, lists and tuples by position, each array row-major.

What is a leaf: an array (any shape), a Python or NumPy number. A list or tuple of plain
numbers (``[1.0, 2.0]``) is an array, as NumPy reads it and as difflab always took it; a list
or tuple holding arrays, containers or dicts is a container. A namedtuple is always a
container and its derivative is the same namedtuple type; ``None`` is structure with no
numbers (kept as ``None`` in every derivative), as in JAX.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import InputError


class TreeDef(NamedTuple):
    """The structure of a pytree: hashable, so prepared derivatives can be cached by it.

    ``kind`` is ``"leaf"``, ``"none"``, ``"dict"``, ``"list"`` or ``"tuple"``; a leaf's
    ``meta`` is its shape (``None`` for a Python or NumPy number, given back as a ``float``),
    a dict's its sorted keys, a tuple's its namedtuple class (``None`` for a plain tuple);
    ``children`` the subtrees.
    """

    kind: str
    meta: object
    children: tuple = ()

    @property
    def size(self) -> int:
        """How many numbers the tree holds (the length of its flat vector)."""
        if self.kind == "leaf":
            return 1 if self.meta is None else int(np.prod(self.meta, dtype=np.int64))
        if self.kind == "none":
            return 0
        return sum(child.size for child in self.children)

    def leaves(self):
        """The leaf TreeDefs in flat order."""
        if self.kind == "leaf":
            yield self
        for child in self.children:
            yield from child.leaves()

    def describe(self) -> str:
        if self.kind == "leaf":
            return "a number" if self.meta is None else f"an array of shape {self.meta}"
        if self.kind == "none":
            return "None"
        if self.kind == "dict":
            return "{" + ", ".join(f"{k!r}: {c.describe()}" for k, c in zip(self.meta, self.children)) + "}"
        inner = ", ".join(c.describe() for c in self.children)
        if self.kind == "tuple" and self.meta is not None:
            return f"{self.meta.__name__}({inner})"
        return f"[{inner}]" if self.kind == "list" else f"({inner})"


def is_flat(x) -> bool:
    """Is ``x`` what difflab always took: a vector, a number, a list or tuple of numbers?"""
    if isinstance(x, dict) or x is None or is_namedtuple(x):
        return False
    if isinstance(x, (list, tuple)):
        return all(not isinstance(item, (dict, list, tuple)) and getattr(item, "ndim", 0) == 0
                   for item in x)
    return getattr(x, "ndim", 0) <= 1


def is_namedtuple(x) -> bool:
    """A ``collections.namedtuple`` or ``typing.NamedTuple`` instance (kept as its type)."""
    return isinstance(x, tuple) and hasattr(type(x), "_fields") and hasattr(x, "_replace")


def structure(tree) -> TreeDef:
    """The TreeDef of ``tree``; InputError for what is neither a container nor numbers."""
    if isinstance(tree, dict):
        try:
            keys = tuple(sorted(tree))
        except TypeError:
            raise InputError("a dict of parameters needs keys that sort (strings, say)") from None
        return TreeDef("dict", keys, tuple(structure(tree[k]) for k in keys))
    if tree is None:
        return TreeDef("none", None)
    if is_namedtuple(tree):
        return TreeDef("tuple", type(tree), tuple(structure(item) for item in tree))
    if isinstance(tree, (list, tuple)) and not (tree and is_flat(tree) and _numbers(tree)):
        if not tree:
            raise InputError("an empty list or tuple has nothing to differentiate")
        return TreeDef(type(tree).__name__ if type(tree) in (list, tuple) else "tuple", None,
                       tuple(structure(item) for item in tree))
    if isinstance(tree, (bool, np.bool_, str, bytes)):
        raise InputError(f"a differentiated argument must hold numbers, not {type(tree).__name__}")
    if isinstance(tree, (int, float, np.integer, np.floating)):
        return TreeDef("leaf", None)
    shape = getattr(tree, "shape", None)
    if shape is None:
        try:
            shape = np.shape(tree)
        except Exception:  # noqa: BLE001 (an object NumPy cannot read)
            raise InputError(f"a differentiated argument must hold numbers, not {type(tree).__name__}") from None
    return TreeDef("leaf", tuple(int(s) for s in shape))


def leaves(tree, treedef: TreeDef) -> list:
    """The leaves of ``tree`` in flat order (``treedef`` from :func:`structure`)."""
    if treedef.kind == "leaf":
        return [tree]
    if treedef.kind == "none":
        return []
    items = [tree[k] for k in treedef.meta] if treedef.kind == "dict" else list(tree)
    return [leaf for item, child in zip(items, treedef.children) for leaf in leaves(item, child)]


def flatten(tree, dtype) -> tuple[np.ndarray, TreeDef]:
    """``tree`` as one 1-D array of ``dtype`` and its structure."""
    treedef = structure(tree)
    if treedef.size == 0:
        raise InputError(f"{treedef.describe()} is empty (it holds no numbers): nothing to differentiate")
    parts = [np.asarray(leaf, dtype=dtype).reshape(-1) if not _is_complex(leaf) else _complex(leaf)
             for leaf in leaves(tree, treedef)]
    return (parts[0] if len(parts) == 1 else np.concatenate(parts)), treedef


def unflatten(treedef: TreeDef, flat, lead: tuple = ()):
    """The tree of ``treedef`` from ``flat``; its last axis runs over the flat inputs.

    ``flat`` is NumPy (a derivative: ``lead`` its leading axes, the Jacobian's outputs, say) or
    a value a method traces (a 1-D vector: leaves are cut out with the method's own ops).
    """
    out, end = _unflatten(treedef, flat, 0, tuple(lead))
    if end != treedef.size:
        raise InputError(f"expected {treedef.size} numbers for {treedef.describe()}, got {end}")
    return out


def _unflatten(treedef, flat, start, lead):
    if treedef.kind == "none":
        return None, start
    if treedef.kind == "leaf":
        size = treedef.size
        stop = start + size
        if isinstance(flat, np.ndarray) and flat.dtype.kind in "fiu":
            part = flat[..., start:stop]
            if treedef.meta is None:
                return (_scalar(part[..., 0]) if not lead else part[..., 0]), stop
            return part.reshape(lead + treedef.meta), stop
        if treedef.meta is None:  # a traced vector: its one entry
            return flat[start], stop
        if treedef.meta == (size,) and start == 0 and _length(flat) == size:
            return flat, stop  # the whole vector: nothing to cut
        from ..namespaces import namespace

        return namespace(flat).reshape(flat[start:stop], treedef.meta), stop
    items = []
    for child in treedef.children:
        item, start = _unflatten(child, flat, start, lead)
        items.append(item)
    return _container(treedef, items), start


def tree_map(fn, tree):
    """``fn`` applied to every leaf of a tree of results (dicts, lists, tuples, namedtuples
    kept; ``None`` kept): how aux values and batches of results are assembled."""
    if tree is None:
        return None
    if isinstance(tree, dict):
        return {k: tree_map(fn, v) for k, v in tree.items()}
    if is_namedtuple(tree):
        return type(tree)(*(tree_map(fn, v) for v in tree))
    if isinstance(tree, (list, tuple)):
        return type(tree)(tree_map(fn, v) for v in tree)
    return fn(tree)


def tree_stack(trees: list):
    """Trees of the same structure stacked leaf by leaf along a new first axis."""
    first = trees[0]
    if first is None:
        return None
    if isinstance(first, dict):
        return {k: tree_stack([t[k] for t in trees]) for k in first}
    if isinstance(first, (list, tuple)):
        items = [tree_stack([t[i] for t in trees]) for i in range(len(first))]
        return type(first)(*items) if is_namedtuple(first) else type(first)(items)
    return np.stack([np.asarray(t) for t in trees])


def ravel(tree, dtype="float64"):
    """``(flat, unravel)``: ``tree`` as one 1-D NumPy vector and the function that rebuilds
    the tree from any vector of that length (NumPy or traced), like JAX's ``ravel_pytree``.

    For what the tree form does not define (the Hessian of a dict of parameters):
    ``flat, unravel = difflab.ravel(params); d.hessian(lambda v: loss(unravel(v)))(flat)``.
    """
    flat, treedef = flatten(tree, np.dtype(dtype))
    return flat, lambda vector: unflatten(treedef, vector)


def _scalar(value):
    """A scalar leaf of a derivative: a Python float from float64, a NumPy scalar of its own
    dtype otherwise (float32 results stay float32)."""
    return value.dtype.type(value) if value.dtype == np.float32 else float(value)


def _numbers(items) -> bool:
    return all(isinstance(i, (int, float, np.integer, np.floating)) and not isinstance(i, bool)
               for i in items)


def _length(flat):
    shape = getattr(flat, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) == 1 else -1


def _is_complex(leaf):
    try:
        return np.iscomplexobj(leaf)
    except (TypeError, ValueError):
        return False


def _complex(leaf):
    raise InputError("x must be real: write a function of complex z on Re z and Im z as separate "
                     "real inputs (docs/frameworks.md, Complex inputs)")


# ---------------------------------------------------------------------- trees of outputs
def is_output_tree(value) -> bool:
    """Does ``f`` return a tree of outputs (a dict, a namedtuple, a list or tuple holding
    arrays), rather than one array or a list of numbers?"""
    return isinstance(value, dict) or is_namedtuple(value) or (
        isinstance(value, (list, tuple)) and not is_flat(value))


def output_structure(value):
    """The TreeDef of a tree of outputs (computed by NumPy), or None for an array."""
    return structure(value) if is_output_tree(value) else None


def flat_outputs(fn):
    """``fn`` with a tree of outputs returned as one vector (leaves raveled, in flat order),
    by the namespace of the values: what a method differentiates. Arrays pass unchanged."""
    def flat(*args, **kwargs):
        out = fn(*args, **kwargs)
        if not is_output_tree(out):
            return out
        parts = leaves(out, structure(out))
        if not parts:
            return out  # only None: check_value says f returned no numbers
        from ..namespaces import namespace

        ns = namespace(*parts)
        return ns.concatenate([ns.reshape(ns.asarray(part), (-1,)) for part in parts])
    return flat


def build(treedef: TreeDef, values: list):
    """The tree of ``treedef`` with its leaves (in flat order) replaced by ``values``."""
    out, rest = _build(treedef, list(values)[::-1])
    return out


def _container(treedef, items):
    """The container of ``treedef`` holding ``items``: a dict, a list, a namedtuple or a tuple."""
    if treedef.kind == "dict":
        return dict(zip(treedef.meta, items))
    if treedef.kind == "list":
        return items
    return treedef.meta(*items) if treedef.meta is not None else tuple(items)


def _build(treedef, stack):
    if treedef.kind == "none":
        return None, stack
    if treedef.kind == "leaf":
        return stack.pop(), stack
    items = []
    for child in treedef.children:
        item, stack = _build(child, stack)
        items.append(item)
    return _container(treedef, items), stack


def split_outputs(tree: TreeDef, out, kind: str, axis: int = 0):
    """A derivative over f's flattened outputs back in f's output structure ``tree``.

    ``jvp``: the vector ``(m,)`` as the tree (each leaf its shape). ``jacobian``: each output
    leaf gets its rows (along ``axis``; of every leaf where ``out`` is a tree of the inputs),
    what ``jacobian`` of that leaf alone returns.
    """
    if kind == "jvp":
        return unflatten(tree, np.asarray(out))
    pieces, start = [], 0
    for leaf in tree.leaves():
        stop = start + leaf.size
        cut = (slice(None),) * axis + (slice(start, stop),)
        pieces.append(tree_map(lambda a, cut=cut: np.asarray(a)[cut], out))
        start = stop
    return build(tree, pieces)
