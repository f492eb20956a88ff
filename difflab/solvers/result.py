"""The record every solver returns, shaped like :class:`scipy.optimize.OptimizeResult`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..console.display import Tabular


@dataclass(repr=False)
class OptimizeResult(Tabular):
    """What a solver found and what it cost.

    One line in a REPL, a table of its fields by ``str()`` and in Jupyter, and
    ``to_records()`` (one dict of its scalar fields, ``x`` as a list) for pandas.

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

    def summary(self) -> str:
        """``OptimizeResult newton (reverse): success after 5 steps, fun 1.2e-20, x [1, 1]``."""
        from ..console.wording import count

        who = self.method + (f" ({self.differentiator})" if self.differentiator else "")
        verdict = "success" if self.success else "FAILED"
        x = np.atleast_1d(np.asarray(self.x, dtype=float))
        shown = ", ".join(f"{v:.6g}" for v in x[:4]) + (", …" if x.size > 4 else "")
        fun = np.asarray(self.fun, dtype=float)
        fun_text = f"{float(fun):.3g}" if fun.size == 1 else f"|r| {np.linalg.norm(fun):.3g}"
        return (f"OptimizeResult {who}: {verdict} after {count(self.nit, 'step')}, "
                f"fun {fun_text}, x [{shown}]")

    def to_records(self) -> list:
        """``[{field: value}]``: every field but ``history`` and ``info``, arrays as lists."""
        return [{k: _plain(getattr(self, k)) for k in self.keys() if k not in ("history", "info")}]

    def rich_table(self):
        """Field and value, one row each (``history`` summarised by its length)."""
        from rich.table import Table

        table = Table(title=f"{self.method or 'solver'} result", title_style="title")
        table.add_column("field", style="method")
        table.add_column("value", overflow="fold")
        for key in self.keys():
            value = getattr(self, key)
            if key == "history":
                value = f"{len(value.get('fun', []))} iterates" if value else "—"
            table.add_row(key, _shown(value))
        return table


def _shown(value) -> str:
    """A field as table text: arrays and floats compact."""
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}"
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=6, threshold=20)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_shown(v)}" for k, v in value.items()) or "—"
    return str(value)


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
