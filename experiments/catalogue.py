"""Finding functions for the studies: a ``difflab.functions`` name, or an expression.

``lookup(spec, dim)`` resolves a catalogue name (with its ``dim`` where it scales), else a
expression in difflab's own grammar (``Function.from_expression``).
"""
from __future__ import annotations

from typing import Optional

import numpy as np


def names() -> list[str]:
    """Every catalogue name."""
    from difflab.analysis import functions

    return functions.names()


def default_names() -> list[str]:
    """The catalogue's scalar functions at their default sizes (the comparison set)."""
    from difflab.analysis import functions

    return [f.name for f in functions.default_set()]


def lookup(spec: str, dim: Optional[int] = None):
    """A ``difflab.Function`` for a catalogue name (at ``dim`` where it scales) or an expression."""
    import difflab
    from difflab.analysis import functions

    if spec in functions.names():
        return functions.get(spec, dim)
    if spec.isidentifier():   # a name, not a formula: as `difflab compare`, an unknown function
        import difflib

        close = difflib.get_close_matches(spec, functions.names(), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(functions.names())}"
        raise difflab.InputError(f"unknown function {spec!r}; {hint} (or give an expression such as 'sin(x)*y')")
    try:
        return difflab.Function.from_expression(spec)
    except difflab.InputError as exc:   # keep the parser's reason: it names the bad piece
        raise difflab.InputError(f"{spec!r} is not a catalogue function (see 'difflab functions'), "
                                 f"and as an expression: {exc}") from None


def point(f, dim: Optional[int] = None, seed: int = 0) -> np.ndarray:
    """A test point of size ``dim`` (or the function's own default)."""
    if dim is None:
        return f.default_point()
    return np.asarray(f.sample(np.random.default_rng(seed), dim), dtype=np.float64)
