"""The problems the solver study, the CLI and the tests share.

Each objective is written once against ``difflab.namespace`` (so every method can
differentiate it) and carries hand-written derivatives for the ``manual`` method.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from ..errors import InputError
from ..interface.function import Function
from ..namespaces import namespace


@dataclass
class Problem:
    """An objective with a start, the known answer and a sensible learning rate.

    Attributes
    ----------
    f : Function
        The objective (or, for ``kind="residuals"``, the residual vector).
    x0 : ndarray
    solution : ndarray
        The answer distances are measured to (the least-squares answer for ``linreg``).
    learning_rate : float
        Gradient descent's default step for this problem.
    kind : str
        ``"minimize"`` or ``"residuals"``.
    info : dict
        Problem facts the reports print (condition numbers, data set).
    """

    name: str
    f: Function
    x0: np.ndarray
    solution: Optional[np.ndarray]
    learning_rate: float = 1e-3
    kind: str = "minimize"
    description: str = ""
    info: dict = field(default_factory=dict)
    data: Any = None


def design_matrix(X) -> np.ndarray:
    """``[1, X]``: a column of ones for the intercept, then the inputs."""
    X = np.asarray(X, dtype=np.float64)
    return np.column_stack([np.ones(len(X)), X])


def mse_rows(w, A, b):
    """``||A w - b||^2 / (2 m)`` over the ``m`` rows given: the mean loss data-driven descent takes."""
    xp = namespace(w)
    r = xp.matmul(xp.asarray(A), w) - xp.asarray(b)
    return xp.sum(r * r) / (2.0 * r.shape[0])


def mse_objective(A, b, name: str = "least squares") -> Function:
    """``f(w) = ||A w - b||^2 / (2 m)`` on the whole of ``A, b``, with its gradient and Hessian by hand."""
    A, b = np.asarray(A, dtype=np.float64), np.asarray(b, dtype=np.float64)
    m = len(b)
    return Function(lambda w: mse_rows(w, A, b), name=name, gradient=lambda w: A.T @ (A @ w - b) / m,
                    hessian=lambda w: A.T @ A / m, dim=A.shape[1],
                    description=f"||A w - b||^2 / (2m), A {A.shape[0]}x{A.shape[1]}")


def linreg(data: str = "brazing", standardize: bool = True) -> Problem:
    """Linear regression of the brazing residual stress on its four inputs (plus intercept)."""
    if data != "brazing":
        raise InputError(f"unknown data set {data!r}; the solvers know 'brazing'")
    from .datasets import load_brazing

    X, y = load_brazing(standardize=standardize)
    A = design_matrix(X)
    f = mse_objective(A, y, name=f"linreg on {'standardised' if standardize else 'raw'} brazing")
    hessian = A.T @ A / len(y)
    eig = np.linalg.eigvalsh(hessian)
    solution = np.linalg.lstsq(A, y, rcond=None)[0]
    return Problem(
        name="linreg", f=f, x0=np.zeros(A.shape[1]), solution=solution,
        learning_rate=0.5 / eig[-1], data=(A, y),
        description=f"least-squares fit of the brazing stress, {'standardised' if standardize else 'raw'} inputs",
        info={"cond_A": float(np.linalg.cond(A)), "cond_hessian": float(eig[-1] / eig[0]),
              "L": float(eig[-1]), "mu": float(eig[0]), "standardize": standardize})


def rosenbrock(dim: int = 2) -> Problem:
    """SciPy's ``rosen`` from the classic start (-1.2, 1, 1, ...)."""
    from ..analysis import functions

    x0 = np.ones(dim)
    x0[0] = -1.2
    f = functions.get("rosenbrock", dim=dim)
    return Problem(name="rosenbrock", f=f, x0=x0, solution=np.ones(dim), learning_rate=1e-3,
                   description=f"Rosenbrock's valley, n = {dim}")


def exponential_data(n: int = 30, seed: int = 0):
    """``t`` on [0, 4] and ``y = 2.5 exp(-1.3 t)`` plus seeded noise (sd 0.05)."""
    t = np.linspace(0.0, 4.0, n)
    y = 2.5 * np.exp(-1.3 * t) + 0.05 * np.random.default_rng(seed).standard_normal(n)
    return t, y


def expfit(n: int = 30, seed: int = 0) -> Problem:
    """Residuals ``p0 exp(p1 t) - y`` of an exponential fit (Gauss-Newton's problem)."""
    t, y = exponential_data(n, seed)

    def residuals(p):
        xp = namespace(p)
        return p[0] * xp.exp(p[1] * xp.asarray(t)) - xp.asarray(y)

    def jacobian(p):
        e = np.exp(p[1] * t)
        return np.column_stack([e, p[0] * t * e])

    f = Function(residuals, name="exponential fit", jacobian=jacobian, dim=2,
                 description="r(p) = p0 exp(p1 t) - y")
    return Problem(name="expfit", f=f, x0=np.array([1.0, -0.5]), solution=None, kind="residuals",
                   description="fit y = p0 exp(p1 t) to 30 noisy points", data=(t, y))


def worked_example() -> Problem:
    """The seeds' loss ``(w + 1)^2`` from ``w0 = 5``."""
    f = Function(lambda w: (w[0] + 1.0) ** 2, name="(w+1)^2",
                 gradient=lambda w: 2.0 * (w + 1.0), hessian=lambda w: np.array([[2.0]]), dim=1)
    return Problem(name="worked", f=f, x0=np.array([5.0]), solution=np.array([-1.0]),
                   learning_rate=0.2, description="the seeds' (w+1)^2 from w0 = 5")


#: Problem name -> constructor (the CLI's PROBLEM argument).
PROBLEMS: dict[str, Callable[..., Problem]] = {
    "linreg": linreg, "rosenbrock": rosenbrock, "expfit": expfit, "worked": worked_example,
}
