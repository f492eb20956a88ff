"""The solver study: gradient descent vs least squares vs Newton (and Gauss-Newton), with
every differentiator that loads here; SciPy's optimisers, fed the same derivatives, as peers.

    python -m difflab_experiments.solver_study            # tables (Markdown) on stdout
    python -m difflab_experiments.solver_study --json out/solver_study.json --img docs/img

Writes docs/img/solvers_*.png; the tables in docs/solvers.md are this script's output.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

import numpy as np

import difflab
from difflab import solvers
from difflab.errors import InputError, NotSupported
from difflab.solvers import compare
from difflab.solvers.problems import expfit, linreg, mse_rows, rosenbrock, worked_example


def usable_methods() -> list[str]:
    """Registered methods whose module imports and whose library is installed."""
    out = []
    for name in difflab.methods():
        try:
            if difflab.method_class(name).available():
                out.append(name)
        except ImportError:
            pass
    return out


def best_of(repeats, fn):
    """(result of the last run, the smallest wall time of ``repeats`` runs)."""
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


# ---------------------------------------------------------------------- studies
def solver_tables(differentiator="reverse"):
    """The CLI's comparison on each problem, with the default solvers and peers."""
    out = {}
    options = compare.Options()
    for name, problem in (("linreg", linreg()), ("linreg-raw", linreg(standardize=False)),
                          ("rosenbrock", rosenbrock()), ("expfit", expfit())):
        solvers_, peers = compare.DEFAULTS[problem.name]
        names = list(solvers_) + (["normal"] if name == "linreg-raw" else []) + list(peers)
        out[name] = (problem, compare.run_solvers(problem, names, differentiator, options))
    return out


def per_method(methods, repeats=3):
    """Newton on Rosenbrock, GD on standardised brazing, LM on the exponential fit, by method."""
    rows = []
    problems = {
        "newton / rosenbrock": (rosenbrock(), lambda p, m: solvers.newton(p.f, p.x0, m),
                                lambda p, r: float(np.max(np.abs(r.x - 1.0)))),
        "gd / brazing": (linreg(), lambda p, m: solvers.gradient_descent(p.f, p.x0, m, learning_rate=0.5, tol=1e-9),
                         lambda p, r: float(np.linalg.norm(r.x - p.solution) / np.linalg.norm(p.solution))),
        "lm / expfit": (expfit(), lambda p, m: solvers.gauss_newton(p.f, p.x0, m, damping=True),
                        None),
    }
    ref_fit = compare.reference(expfit())
    for task, (problem, run, error) in problems.items():
        for m in methods:
            try:
                res, seconds = best_of(repeats, lambda: run(problem, m))
            except (NotSupported, InputError) as exc:
                rows.append({"task": task, "method": m, "status": "unsupported", "message": str(exc)})
                continue
            except Exception as exc:  # noqa: BLE001 - a method's failure is a finding, not a crash of the study
                rows.append({"task": task, "method": m, "status": "error",
                             "message": f"{type(exc).__name__}: {exc}"})
                continue
            err = error(problem, res) if error else float(np.max(np.abs(res.x - ref_fit)))
            rows.append({"task": task, "method": m, "status": "ok" if res.success else "failed",
                         "nit": res.nit, "nfev": res.nfev, "njev": res.njev, "nhev": res.nhev,
                         "seconds": seconds, "setup_seconds": res.setup_seconds, "error": err,
                         "message": res.message})
    return rows


def gd_scaling(max_iter=20000):
    """Plain GD on standardised vs raw brazing inputs, step 1/(2L) each."""
    out = {}
    for label, problem in (("standardised", linreg()), ("raw", linreg(standardize=False))):
        res = solvers.gradient_descent(problem.f, problem.x0, "manual", learning_rate=problem.learning_rate,
                                       max_iter=max_iter, tol=1e-9)
        d = np.linalg.norm(res.history["x"] - problem.solution, axis=1) / np.linalg.norm(problem.solution)
        out[label] = {"problem": problem, "result": res, "distances": d}
    return out


def worked():
    f = worked_example().f
    const = solvers.gradient_descent(f, [5.0], "reverse", learning_rate=0.2, max_iter=30)
    decay = solvers.gradient_descent(f, [5.0], "reverse", learning_rate=0.2,
                                     schedule=solvers.exponential_decay(0.2, 0.99), max_iter=30)
    newton = solvers.newton(f, [5.0], "reverse")
    return {"constant 0.2": const, "0.2 * 0.99^k": decay, "newton": newton}


def roots():
    simple = solvers.newton_root(lambda x: x ** 2 - 2.0, 3.0, "reverse", tol=1e-15)
    double = solvers.newton_root(lambda x: (x - 1.0) ** 2, 3.0, "reverse", tol=1e-15)
    triple = solvers.newton_root(lambda x: (x - 1.0) ** 3, 3.0, "reverse", tol=1e-15)
    return {"x^2 - 2 (simple)": (simple, np.sqrt(2.0)), "(x-1)^2 (double)": (double, 1.0),
            "(x-1)^3 (triple)": (triple, 1.0)}


def batch_modes(differentiator="reverse", epochs=100):
    problem = linreg()
    out = {}
    for label, batch, lr in (("batch", None, 0.5), ("mini-batch (9)", 9, 0.1), ("stochastic (1)", 1, 0.05)):
        schedule = None if batch is None else solvers.inverse_time_decay(lr, 0.05)
        res, seconds = best_of(1, lambda: solvers.data_gradient_descent(
            mse_rows, problem.data, problem.x0, differentiator, learning_rate=lr, schedule=schedule,
            batch_size=batch, epochs=epochs, seed=0))
        d = np.linalg.norm(res.history["x"] - problem.solution, axis=1) / np.linalg.norm(problem.solution)
        out[label] = {"result": res, "distances": d, "seconds": seconds}
    return out


# ---------------------------------------------------------------------- output
def md_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(x, spec=".2e"):
    return "" if x is None else format(x, spec)


def _finish(fig, ax, path, which="major"):
    """Grid, legend, tight layout; save at 120 dpi and free the figure."""
    import matplotlib.pyplot as plt

    ax.grid(True, which=which, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plots(img: Path, tables, scaling, worked_runs, root_runs, modes):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img.mkdir(parents=True, exist_ok=True)
    for name in ("rosenbrock", "linreg", "expfit"):
        problem, records = tables[name]
        compare.plot_convergence(problem, records, img / f"solvers_{name}.png",
                                 title=f"{problem.description}: distance to the answer (reverse mode)")

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, s in scaling.items():
        ax.semilogy(np.maximum(s["distances"], 1e-17),
                    label=f"{label} inputs, cond(Hessian) = {s['problem'].info['cond_hessian']:.3g}")
    ax.set(xlabel="iteration", ylabel="relative distance to lstsq", xscale="symlog",
           title="Plain gradient descent, step 1/(2L): scaling decides everything")
    _finish(fig, ax, img / "solvers_gd_scaling.png", which="both")

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, res in worked_runs.items():
        ax.plot(res.history["x"][:, 0], marker=".", label=label)
    ax.axhline(-1.0, color="k", lw=0.6)
    ax.set(xlabel="epoch", ylabel="w", title="The seeds' loss (w + 1)^2 from w0 = 5")
    _finish(fig, ax, img / "solvers_worked.png")

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, (res, root) in root_runs.items():
        ax.semilogy(np.maximum(np.abs(res.history["x"][:, 0] - root), 1e-17), marker=".", label=label)
    ax.set(xlabel="iteration", ylabel="|x - root|", title="newton_root: quadratic at a simple root, linear at a multiple one")
    _finish(fig, ax, img / "solvers_newton_root.png", which="both")

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, m in modes.items():
        ax.semilogy(np.maximum(m["distances"], 1e-17), label=label)
    ax.set(xlabel="epoch", ylabel="relative distance to lstsq",
           title="Batch, mini-batch and stochastic descent on standardised brazing")
    _finish(fig, ax, img / "solvers_batch_modes.png", which="both")


def report(tables, rows, scaling, worked_runs, root_runs, modes) -> str:
    parts = []
    for _name, (problem, records) in tables.items():
        parts.append(f"### {problem.description}\n")
        parts.append(md_table(
            ["solver", "ok", "iterations", "f evals", "grad evals", "hess evals", "seconds", "distance"],
            [[r.label + (" (peer)" if r.peer else ""), "yes" if r.result.success else "**no**", r.result.nit,
              r.result.nfev, r.result.njev, r.result.nhev, f"{r.result.seconds:.4f}", fmt(r.distance)]
             for r in records]))
        note = compare.crawl_note(problem, records)
        parts.append(f"\n{note}\n" if note else "")
    parts.append("### Per differentiator\n")
    parts.append(md_table(["task", "method", "status", "iterations", "f / grad / hess evals", "seconds (best of 3)",
                           "setup s", "error"],
                          [[r["task"], r["method"], r["status"], r.get("nit", ""),
                            f"{r['nfev']} / {r['njev']} / {r['nhev']}" if "nfev" in r else r["message"][:70],
                            fmt(r.get("seconds"), ".4f"), fmt(r.get("setup_seconds"), ".4f"), fmt(r.get("error"))]
                           for r in rows]))
    parts.append("\n### Scaling\n")
    parts.append(md_table(["inputs", "cond(Hessian)", "steps", "converged", "distance to lstsq"],
                          [[k, f"{s['problem'].info['cond_hessian']:.3g}", s["result"].nit, s["result"].success,
                            fmt(s["distances"][-1])] for k, s in scaling.items()]))
    parts.append("\n### The worked example\n")
    parts.append(md_table(["schedule"] + [f"w{k}" for k in range(5)],
                          [[k] + [f"{w:.6g}" for w in r.history["x"][:5, 0]] + [""] * (5 - min(5, len(r.history["x"])))
                           for k, r in worked_runs.items()]))
    parts.append("\n### newton_root\n")
    parts.append(md_table(["equation", "steps", "convergence", "step ratio", "order", "multiplicity", "error in x"],
                          [[k, r.nit, r.info["convergence"], fmt(r.info["ratio"], ".3f"), fmt(r.info["order"], ".2f"),
                            fmt(r.info["multiplicity"], ".2f"), fmt(abs(r.x - root))] for k, (r, root) in root_runs.items()]))
    parts.append("\n### Batch modes (100 epochs, reverse mode)\n")
    parts.append(md_table(["mode", "gradient calls", "seconds", "distance to lstsq"],
                          [[k, m["result"].njev, f"{m['seconds']:.3f}", fmt(m["distances"][-1])] for k, m in modes.items()]))
    return "\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default="out/solver_study.json")
    parser.add_argument("--img", default="docs/img")
    parser.add_argument("--differentiator", default="reverse")
    args = parser.parse_args(argv)

    methods = usable_methods()
    tables = solver_tables(args.differentiator)
    rows = per_method(methods)
    scaling = gd_scaling()
    worked_runs, root_runs, modes = worked(), roots(), batch_modes(args.differentiator)
    plots(Path(args.img), tables, scaling, worked_runs, root_runs, modes)
    print(report(tables, rows, scaling, worked_runs, root_runs, modes))

    doc = {"schema": "difflab.solver_study/1", "python": platform.python_version(), "methods": methods,
           "tables": {k: [r.to_dict() for r in recs] for k, (_, recs) in tables.items()},
           "per_method": rows,
           "scaling": {k: {"cond_hessian": s["problem"].info["cond_hessian"], "result": s["result"].to_dict()}
                       for k, s in scaling.items()}}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


if __name__ == "__main__":
    main()
