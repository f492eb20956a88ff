"""Symbolic preparation at scale: how long each symbolic method takes to prepare rosenbrock's
gradient at n = 100, 300, 1000, and the exponent of a power-law fit (setup ~ n^k).

The methods: ``sympy`` (trace a tree, ``diff`` per summand, ``cse``, ``lambdify``),
``pytensor`` (trace a graph, ``pytensor.grad``, rewrites and compilation in the method's
default mode), ``casadi`` with ``graph="sx"`` and ``graph="mx"`` (trace, ``casadi.gradient``,
one ``casadi.Function``). Each preparation is timed once with a fresh function object, so no
cache of difflab's is reused; each method first prepares n = 10 untimed, so that one-time
costs (imports, Numba's compilation of PyTensor's generic kernels) are not charged to n = 100.
``run`` returns records and prints nothing; :func:`table` renders them.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

import numpy as np

from .records import environment, fit_growth

SCHEMA = "difflab.symbolic_setup/1"
#: Label -> (registry name, options).
METHODS = {"sympy": ("sympy", {}), "pytensor": ("pytensor", {}),
           "casadi-sx": ("casadi", {"graph": "sx"}), "casadi-mx": ("casadi", {"graph": "mx"})}
SIZES = (100, 300, 1000)


@dataclasses.dataclass
class SetupRow:
    method: str
    n: int
    setup_seconds: Optional[float]   # None: not installed, refused or over the budget
    message: str = ""


@dataclasses.dataclass
class SetupResult:
    rows: list
    environment: dict

    def exponents(self) -> dict:
        """Label -> the fitted power-law exponent of setup seconds against n (None: < 2 points)."""
        out = {}
        for label in dict.fromkeys(r.method for r in self.rows):
            rows = [r for r in self.rows if r.method == label]
            growth = fit_growth(label, [r.n for r in rows], [r.setup_seconds for r in rows])
            out[label] = growth.slope if growth.slope is not None and math.isfinite(growth.slope) else None
        return out

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "rows": [dataclasses.asdict(r) for r in self.rows],
                "exponents": self.exponents(), "environment": self.environment}


def rosenbrock(x):
    import difflab

    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def measure(label: str, n: int, max_seconds: Optional[float] = 600.0) -> SetupRow:
    """One preparation of rosenbrock's gradient by ``label`` at size ``n``."""
    import difflab

    name, options = METHODS[label]
    if not difflab.method_class(name).available():
        return SetupRow(label, n, None, f"{name} is not installed")
    fresh = lambda x: rosenbrock(x)  # noqa: E731 - a new object: no cached preparation
    d = difflab.get(name, max_seconds=max_seconds, **options).gradient(fresh)
    x = np.linspace(-1.0, 1.0, n)
    try:
        seconds = d.prepare(x)
        d(x)
    except (difflab.NotSupported, difflab.InputError) as exc:
        return SetupRow(label, n, None, str(exc).splitlines()[0])
    return SetupRow(label, n, seconds)


def run(methods: Sequence[str] = tuple(METHODS), sizes: Sequence[int] = SIZES,
        max_seconds: Optional[float] = 600.0) -> SetupResult:
    """Every method at every size, smallest first."""
    from difflab.errors import InputError

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"unknown method label(s) {', '.join(unknown)}; known: {', '.join(METHODS)}")
    rows = []
    for m in methods:
        measure(m, 10, max_seconds)  # one-time costs, untimed
        rows += [measure(m, int(n), max_seconds) for n in sizes]
    return SetupResult(rows, environment())


def table(result: SetupResult) -> str:
    """A Markdown table: setup seconds per size and the fitted exponent, one row per method."""
    sizes = sorted({r.n for r in result.rows})
    cells = {(r.method, r.n): r for r in result.rows}
    exponents = result.exponents()
    lines = ["| method | " + " | ".join(f"n = {n}" for n in sizes) + " | exponent |",
             "|---|" + "---:|" * (len(sizes) + 1)]
    for label in dict.fromkeys(r.method for r in result.rows):
        row = [cells[(label, n)] for n in sizes]
        shown = [f"{r.setup_seconds:.3g} s" if r.setup_seconds is not None else "—" for r in row]
        k = exponents[label]
        lines.append(f"| {label} | " + " | ".join(shown) + f" | {'—' if k is None else f'{k:.2f}'} |")
    return "\n".join(lines)
