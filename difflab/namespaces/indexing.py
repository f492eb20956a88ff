"""NumPy's indexing, for the framework namespaces: every form NumPy takes, NumPy's meaning.

TensorFlow reads a list as one position per axis (``x[[0, 1]]`` is ``x[0, 1]``) and refuses
arrays, torch refuses negative slice steps, JAX refuses a bare list. A framework namespace's
``getitem`` keeps the forms its framework reads as NumPy does (``native``) and otherwise
gathers: NumPy itself applies the index to the array of flat positions, so the result is
NumPy's by construction, and the framework's gather carries the derivative (a scatter-add,
so repeated positions add up).
"""
from __future__ import annotations

import numpy as np

from ..errors import NotSupported


def normalise(index):
    """``index`` as a tuple; lists (and tuples inside it) become integer or boolean arrays,
    NumPy integers Python ints. Tensors (a mask computed from x) are left for the caller."""
    if not isinstance(index, tuple):
        index = (index,)
    return tuple(_component(i) for i in index)


def _component(i):
    if isinstance(i, (list, tuple)):
        return np.asarray(i)
    if isinstance(i, np.integer):
        return int(i)
    return i


def is_basic(part) -> bool:
    """An int, slice, ``None`` or ``...``: what every framework reads as NumPy does
    (negative steps apart, see :func:`has_negative_step`)."""
    return part is None or part is Ellipsis or isinstance(part, (int, slice)) and not isinstance(part, bool)


def has_negative_step(index) -> bool:
    return any(isinstance(p, slice) and p.step is not None and p.step < 0 for p in index)


def positions(shape, index):
    """The flat positions ``x[index]`` reads, as NumPy lays them out (IndexError as NumPy's)."""
    if any(s is None for s in shape):
        raise NotSupported(f"indexing with {describe(index)}", "a tensor of unknown shape",
                           "the shape must be known while the function is traced")
    flat = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)
    return np.ascontiguousarray(flat[index])


def check(shape, index) -> None:
    """Raise NumPy's IndexError for an index out of range (frameworks clamp or wrap silently).

    Indexes a zero-stride array of ``shape``, so it costs the result's size, not x's.
    """
    if all(s is not None for s in shape):
        np.broadcast_to(np.zeros((), np.int8), tuple(shape))[index]


def describe(index) -> str:
    """The index's form in words, for refusals."""
    names = []
    for p in index:
        if isinstance(p, np.ndarray):
            names.append("a boolean mask" if p.dtype == bool else "an integer array")
        elif isinstance(p, slice):
            names.append("a slice with a negative step" if p.step is not None and p.step < 0 else "a slice")
        elif p is None:
            names.append("None")
        elif p is Ellipsis:
            names.append("...")
        elif isinstance(p, int):
            names.append("an integer")
        else:
            names.append(f"a {type(p).__name__}")
    return ", ".join(names)
