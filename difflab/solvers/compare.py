"""Run several solvers on one problem and lay the results side by side (the CLI's and the
solver study's shared core): records first, then a rich table and a convergence plot."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import InputError
from .gauss_newton import gauss_newton
from .gradient_descent import data_gradient_descent, gradient_descent
from .least_squares import least_squares
from .newton import newton
from .peers import scipy_least_squares, scipy_minimize
from .problems import Problem, mse_rows
from .result import OptimizeResult
from .schedules import inverse_time_decay
from ..console.wording import count


@dataclass
class Options:
    """The knobs the CLI exposes; ``None`` means the problem's own default."""

    learning_rate: float | None = None
    schedule: str | None = None
    momentum: float = 0.0
    max_iter: int = 10000
    tol: float = 1e-8
    batch_size: int = 1
    epochs: int = 200
    seed: int = 0


def _lr(problem, o):
    # ``is None``, not ``or``: a learning rate of 0 is refused by the solver, not swapped silently
    return problem.learning_rate if o.learning_rate is None else o.learning_rate


def _lstsq(method):
    return lambda p, d, o: least_squares(*p.data, method=method)


def _sgd(p, d, o):
    lr = _lr(p, o)
    schedule = inverse_time_decay(lr, 0.01) if o.schedule is None else o.schedule
    return data_gradient_descent(mse_rows, p.data, p.x0, d, learning_rate=lr, schedule=schedule,
                                 momentum=o.momentum, batch_size=o.batch_size, epochs=o.epochs,
                                 seed=o.seed, tol=o.tol)


@dataclass(frozen=True)
class Solver:
    """A CLI solver: its label, the problems it takes, how to run it, and whether it is a peer."""

    label: str
    takes: str  # "data" (linreg only), "minimize" or "residuals"
    solve: Callable  # (problem, differentiator, options) -> OptimizeResult
    peer: bool = False

    def check(self, name: str, problem: Problem):
        ok = problem.name == "linreg" if self.takes == "data" else problem.kind == self.takes
        if not ok:
            wants = {"data": "the linreg data problem", "minimize": "a scalar objective (linreg, "
                     "rosenbrock, worked)", "residuals": "a residual problem (expfit)"}[self.takes]
            raise InputError(f"solver {name!r} needs {wants}, not {problem.name}")


#: CLI name -> Solver.
SOLVERS: dict[str, Solver] = {
    "lstsq": Solver("least squares (SVD)", "data", _lstsq("svd")),
    "qr": Solver("least squares (QR)", "data", _lstsq("qr")),
    "normal": Solver("normal equations", "data", _lstsq("normal")),
    "gd": Solver("gradient descent", "minimize", lambda p, d, o: gradient_descent(
        p.f, p.x0, d, learning_rate=_lr(p, o), schedule=o.schedule, momentum=o.momentum,
        max_iter=o.max_iter, tol=o.tol)),
    "sgd": Solver("stochastic gradient descent", "data", _sgd),
    "newton": Solver("newton", "minimize", lambda p, d, o: newton(p.f, p.x0, d, max_iter=o.max_iter, tol=o.tol)),
    "gauss-newton": Solver("gauss-newton", "residuals",
                           lambda p, d, o: gauss_newton(p.f, p.x0, d, max_iter=o.max_iter,
                                                          tol=o.tol * 1e-2)),
    "lm": Solver("levenberg-marquardt", "residuals",
                 lambda p, d, o: gauss_newton(p.f, p.x0, d, damping=True, max_iter=o.max_iter,
                                                tol=o.tol * 1e-2)),
    "bfgs": Solver("scipy BFGS", "minimize", lambda p, d, o: scipy_minimize(
        p.f, p.x0, "BFGS", d, tol=o.tol, max_iter=o.max_iter), peer=True),
    "newton-cg": Solver("scipy Newton-CG", "minimize", lambda p, d, o: scipy_minimize(
        p.f, p.x0, "Newton-CG", d, tol=o.tol * 1e-4, max_iter=o.max_iter), peer=True),
    "scipy-lsq": Solver("scipy least_squares", "residuals",
                        lambda p, d, o: scipy_least_squares(p.f, p.x0, d, tol=o.tol * 1e-2), peer=True),
}

#: Problem name -> (default solvers, default peers).
DEFAULTS = {"linreg": (("lstsq", "gd", "newton"), ("bfgs", "newton-cg")),
            "rosenbrock": (("gd", "newton"), ("bfgs", "newton-cg")),
            "worked": (("gd", "newton"), ("bfgs", "newton-cg")),
            "expfit": (("gauss-newton", "lm"), ("scipy-lsq",))}


@dataclass
class Record:
    """One solver's run on a problem, with its distance to the reference answer."""

    solver: str
    label: str
    peer: bool
    result: OptimizeResult
    distance: float | None  # ||x - x*|| / ||x*||
    distances: np.ndarray | None  # per iterate

    def to_dict(self) -> dict:
        return {"solver": self.solver, "label": self.label, "peer": self.peer, "distance": self.distance,
                "result": self.result.to_dict()}

    def __repr__(self) -> str:
        return f"<Record {self.solver}: {self.result.summary()}; distance {self.distance:.2e}>"

    def to_record(self) -> dict:
        """One flat dict: solver, label, peer, distance and the result's fields."""
        return {"solver": self.solver, "label": self.label, "peer": self.peer,
                "distance": self.distance, **self.result.to_records()[0]}


def parse_solvers(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in SOLVERS]
    if unknown or not names:
        raise InputError(f"unknown solver(s) {', '.join(unknown) or '(none given)'}; choose from "
                         f"{', '.join(SOLVERS)}")
    return names


def reference(problem: Problem) -> np.ndarray:
    """The answer distances are measured to: the problem's, or SciPy's tight least squares.

    SciPy gets the problem's hand-written Jacobian where it has one: with its default
    finite-difference Jacobian the reference itself would be ~1e-10 off, and every solver's
    "distance" would measure that error instead of its own.
    """
    if problem.solution is not None:
        return problem.solution
    from scipy.optimize import least_squares as scipy_lsq

    fn = problem.f
    jac = fn.jacobian if fn.jacobian is not None else "3-point"
    return scipy_lsq(lambda x: np.asarray(fn(x), dtype=float), problem.x0, jac=jac, xtol=1e-15,
                     ftol=1e-15, gtol=1e-15).x


def run_solvers(problem: Problem, names, differentiator="reverse", options: Options | None = None,
                progress: Callable | None = None) -> list[Record]:
    """Run each named solver on ``problem``; a solver's bad input raises, non-convergence does not."""
    options = options or Options()
    x_star = reference(problem)
    scale = max(float(np.linalg.norm(x_star)), np.finfo(float).tiny)
    for name in names:
        SOLVERS[name].check(name, problem)
    records = []
    for name in names:
        solver = SOLVERS[name]
        if progress:
            progress(name)
        result = solver.solve(problem, differentiator, options)
        xs = np.asarray(result.history.get("x", np.empty((0, len(x_star)))), dtype=float)
        distances = np.linalg.norm(xs - x_star, axis=1) / scale if xs.size else None
        x = np.asarray(result.x, dtype=float).reshape(-1)
        distance = float(np.linalg.norm(x - x_star) / scale)
        records.append(Record(name, solver.label, solver.peer, result, distance, distances))
    return records


def crawl_note(problem: Problem, records) -> str | None:
    """For linreg: the condition number and how many steps plain GD would need."""
    if problem.name != "linreg":
        return None
    kappa = problem.info["cond_hessian"]
    gd = next((r for r in records if r.solver == "gd"), None)
    lines = [f"Hessian A^T A / m: condition number {kappa:.3g} (cond(A) = {problem.info['cond_A']:.3g})."]
    if gd is not None:
        lr = gd.result.info.get("learning_rate")
        rate = 1.0 - problem.info["mu"] * (lr or problem.learning_rate)
        need = math.log(1e-6) / math.log(rate) if 0 < rate < 1 else float("inf")
        state = "converged" if gd.result.success else "did not converge"
        lines.append(f"Plain GD {state} in {count(gd.result.nit, 'step')}; along the flattest direction the error "
                     f"shrinks by {rate:.10g} per step, so reducing it 1e6-fold takes about {need:.3g} steps.")
        if need > 1e5:
            lines.append("Plain gradient descent crawls here: standardise the inputs "
                         "(linreg without --raw) or use Newton or least squares.")
    return " ".join(lines)


# ---------------------------------------------------------------------- presentation
def render_table(problem: Problem, records, differentiator: str):
    """A rich Table: solver, iterations, evaluations, seconds, distance to the reference."""
    from rich.table import Table

    ref = "least-squares answer" if problem.name == "linreg" else "answer"
    table = Table(title=f"{problem.description} (derivatives: {differentiator})", title_justify="left")
    for col, justify in (("solver", "left"), ("ok", "center"), ("iterations", "right"),
                         ("f evals", "right"), ("grad evals", "right"), ("hess evals", "right"),
                         ("seconds", "right"), ("setup s", "right"), (f"distance to {ref}", "right"),
                         ("message", "left")):
        table.add_column(col, justify=justify, style="method" if col == "solver" else None,
                         overflow="fold", max_width=60 if col == "message" else None)
    for r in records:
        res = r.result
        table.add_row(r.label + (" [muted](peer)[/muted]" if r.peer else ""),
                      "[success]yes[/success]" if res.success else "[failed]no[/failed]",
                      str(res.nit), str(res.nfev), str(res.njev), str(res.nhev),
                      f"{res.seconds:.4f}", f"{res.setup_seconds:.4f}",
                      f"[{_distance_style(r.distance)}]{r.distance:.2e}[/]", res.message)
    return table


def _distance_style(distance):
    if distance is None or not math.isfinite(distance):
        return "failed"
    return "green" if distance <= 1e-8 else "yellow" if distance <= 1e-4 else "red"


def plot_convergence(problem: Problem, records, path, title: str | None = None) -> None:
    """Distance to the reference against iteration, one line per solver, log scale (the SciPy
    peers dashed, so a peer that retraces a solver's path does not hide it)."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    floor = 1e-17
    for r in records:
        if r.distances is None or len(r.distances) < 2:
            continue
        ax.semilogy(np.arange(len(r.distances)), np.maximum(r.distances, floor), marker="." if
                    len(r.distances) < 60 else None, linestyle="--" if r.peer else "-",
                    label=r.label + (" (peer)" if r.peer else ""))
    longest = max((len(r.distances) for r in records if r.distances is not None), default=0)
    if longest > 200:  # a crawling solver would squeeze the fast ones against the axis
        ax.set_xscale("symlog", linthresh=10)
    ax.set_xlabel("iteration")
    ax.set_ylabel("relative distance to the answer")
    ax.set_title(textwrap.fill(title or problem.description, 70), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
