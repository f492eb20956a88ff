"""``batched=True``: gradients at 1,000 points at once, per method (docs/api.md, speed table).

Run on demand (not part of ``make test``)::

    OMP_NUM_THREADS=1 python -m difflab_experiments.bench_batched [--points 1000] [--n 10] [--repeats 5] [--json out.json]

For each method the batched gradient of Rosenbrock (n inputs) is prepared on the batch
once (``setup``: tracing, compiling, vmap), then called ``repeats`` times on the same
(points, n) batch; the table gives the median CPU time of a call (``time.process_time``,
this process's CPU seconds, so other load on a shared machine counts less than in wall time)
and the wall time, per batch and per point, and how each method batches (``vmap`` or a loop).
Every result is checked against SciPy's ``rosen_der`` before it is timed.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from scipy.optimize import rosen_der

import difflab


def rosenbrock(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


#: Compiled variants timed besides every registered method's default: (label, name, options).
VARIANTS = [("jax jit", "jax", {"jit": True}), ("tensorflow jit", "tensorflow", {"jit": True})]


def bench(points=1000, n=10, repeats=5, methods=None):
    X = np.random.default_rng(0).uniform(-2.0, 2.0, size=(points, n))
    want = np.array([rosen_der(x) for x in X])
    rows = []
    runs = [(name, name, {}) for name in methods or difflab.methods()]
    runs += [v for v in VARIANTS if methods is None or v[1] in methods]
    for label, name, options in runs:
        if name == "manual" or not difflab.method_class(name).available():
            continue
        d = difflab.get(name, **options).gradient(rosenbrock, batched=True)
        start = time.perf_counter()
        G = d(X)  # the first call prepares (and checks the result below)
        setup = time.perf_counter() - start
        error = float(np.max(np.abs(G - want)) / np.max(np.abs(want)))
        cpu, wall = [], []
        for _ in range(repeats):
            c0, w0 = time.process_time(), time.perf_counter()
            d(X)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        rows.append({"method": label, "how": d.how.rpartition("batched: ")[2], "points": points, "n": n,
                     "first_call_s": setup, "cpu_s": statistics.median(cpu),
                     "wall_s": statistics.median(wall), "rel_error": error})
    return rows


def table(rows) -> str:
    points = rows[0]["points"] if rows else 0
    lines = [f"| method | batched by | CPU s / {points:,} points | wall s | us / point (CPU) | first call s | rel. error |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['how']} | {r['cpu_s']:.4f} | {r['wall_s']:.4f} | "
                     f"{1e6 * r['cpu_s'] / r['points']:.1f} | {r['first_call_s']:.2f} | {r['rel_error']:.1e} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000, help="points in the batch")
    parser.add_argument("--n", type=int, default=10, help="inputs of Rosenbrock")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per method (median)")
    parser.add_argument("--methods", default=None, help="comma-separated method names (default: all)")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    rows = bench(args.points, args.n, args.repeats, args.methods.split(",") if args.methods else None)
    print(table(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"schema": "difflab.bench_batched/1", "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
