"""The record every solver returns, shaped like :class:`scipy.optimize.OptimizeResult`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class OptimizeResult:
    """What a solver found and what it cost.

    Attributes
    ----------
    x : ndarray
        The solution (a float for ``newton_root`` on a scalar equation).
    fun : float or ndarray
        The objective at ``x`` (the residual vector for ``newton_root``, ``0.5 * ||r||^2``
        for ``gauss_newton``, as in ``scipy.optimize.least_squares``'s ``cost``).
    nit : int
        Iterations (steps taken; epochs for the data-driven gradient descent).
    nfev, njev, nhev : int
        Calls of the function, of its gradient or Jacobian, and of its Hessian.
    success : bool
        Whether the stopping test was met; ``False`` comes with the reason in ``message``.
    message : str
    history : dict
        ``"x"`` (nit + 1, n) and ``"fun"`` (nit + 1,): the start and every iterate.
    method : str
        The solver (``"newton"``).
    differentiator : str
        The method that gave the derivatives (``""`` when none was used).
    seconds : float
        Wall time of the whole solve, preparation included.
    setup_seconds : float
        Of which preparing the derivatives (tracing, symbolic differentiation).
    info : dict
        Solver-specific extras: condition numbers, the convergence rate of ``newton_root``,
        the number of modified Newton steps ...
    """

    x: Any
    fun: Any
    nit: int = 0
    nfev: int = 0
    njev: int = 0
    nhev: int = 0
    success: bool = False
    message: str = ""
    history: dict = field(default_factory=dict, repr=False)
    method: str = ""
    differentiator: str = ""
    seconds: float = 0.0
    setup_seconds: float = 0.0
    info: dict = field(default_factory=dict)

    # dict-style access, as SciPy's OptimizeResult allows (``res["x"]``)
    def __getitem__(self, key):
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def keys(self):
        return list(self.__dataclass_fields__)

    def to_dict(self) -> dict:
        """JSON-ready: arrays become lists, the history included."""
        return {k: _plain(getattr(self, k)) for k in self.keys()}


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
