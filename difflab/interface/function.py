"""``difflab.Function``: a plain Python function plus optional metadata.

Any bare callable is accepted wherever a ``Function`` is; :func:`as_function` wraps it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from ..errors import InputError


@dataclass(eq=False)
class Function:
    """A function R^n -> R (or R^m) written against ``difflab.namespace``.

    Parameters
    ----------
    fn : callable
        ``fn(x)`` for a 1-D array ``x``; written with ``xp = difflab.namespace(x)``.
    name : str, optional
        Shown in reports; defaults to ``fn.__name__``.
    gradient, jacobian, hessian : callable, optional
        Hand-written derivatives on NumPy arrays, used by the ``manual`` method.
    domain : callable or (low, high), optional
        Where test points come from: ``domain(rng, n) -> x`` or bounds for a uniform draw.
    dim : int, optional
        The input size this instance was built for (catalogue functions scale with it).
    x0 : array_like, optional
        A default point (the catalogue's choice for ``difflab compare``).
    description : str
        One line for ``difflab functions``.
    """

    fn: Callable[[Any], Any]
    name: Optional[str] = None
    gradient: Optional[Callable] = None
    jacobian: Optional[Callable] = None
    hessian: Optional[Callable] = None
    domain: Any = None
    dim: Optional[int] = None
    x0: Any = None
    description: str = ""
    expression: Any = field(default=None, repr=False)

    def __post_init__(self):
        if not callable(self.fn):
            raise InputError(f"Function needs a callable, got {type(self.fn).__name__}")
        if self.name is None:
            self.name = getattr(self.fn, "__name__", "function")

    def __call__(self, x):
        return self.fn(x)

    def sample(self, rng: np.random.Generator, n: Optional[int] = None) -> np.ndarray:
        """A test point from the function's domain (uniform on [-1, 1] without one)."""
        n = n or self.dim
        if n is None:
            raise InputError(f"{self.name}: say how many inputs (dim) to sample")
        if callable(self.domain):
            return np.asarray(self.domain(rng, n), dtype=float)
        low, high = self.domain if self.domain is not None else (-1.0, 1.0)
        return rng.uniform(low, high, size=n)

    def default_point(self) -> np.ndarray:
        """``x0`` if given, else a seeded sample from the domain."""
        if self.x0 is not None:
            return np.asarray(self.x0, dtype=float).reshape(-1)
        return self.sample(np.random.default_rng(0))

    @property
    def variables(self) -> Optional[tuple]:
        """The variable names of a function made from an expression, in ``x`` order."""
        return None if self.expression is None else self.expression.variables

    @classmethod
    def from_expression(cls, text: str, name: Optional[str] = None) -> "Function":
        """The function of ``text`` in difflab's expression language (never evaluated as
        Python; see :mod:`difflab.interface.expression`), its variables in natural order."""
        from .expression import compile_expression, describe

        fn, expression = compile_expression(text)
        return cls(fn, name=name or text, dim=len(expression.variables), expression=expression,
                   description=describe(expression))


def as_function(f) -> Function:
    """Wrap a bare callable (or pass a Function through)."""
    if isinstance(f, Function):
        return f
    if isinstance(f, str):
        return Function.from_expression(f)
    if not callable(f):
        raise InputError(f"expected a function, got {type(f).__name__}")
    return Function(f)
