"""Per-call overhead of the framework methods against ``reverse``, and their import times.

Run on demand (not part of ``make test``)::

    python -m difflab_experiments.bench_frameworks [--sizes 10,100000] [--json out.json]

For each method (``jit`` variants included where the framework has one) and size, the
gradient of Rosenbrock is prepared once (``setup``: tracing, compiling, the framework's
first use) and then timed with :func:`difflab.analysis.timing.measure` (median seconds per call,
NumPy in and out). ``ratio`` is per call over ``reverse``'s. Import times are measured in a
fresh interpreter per framework, so nothing is already loaded.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

import difflab
from difflab.analysis.timing import measure

#: (label, registry name, options)
METHODS = [
    ("numpy f(x)", None, {}),
    ("reverse", "reverse", {}),
    ("autograd", "autograd", {}),
    ("torch", "torch", {}),
    ("tensorflow", "tensorflow", {}),
    ("tensorflow jit", "tensorflow", {"jit": True}),
    ("jax", "jax", {}),
    ("jax jit", "jax", {"jit": True}),
]
FRAMEWORK_MODULES = ("autograd", "torch", "tensorflow", "jax")


def rosenbrock(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def bench_calls(sizes, max_time=2.0):
    rows = []
    for n in sizes:
        x = np.random.default_rng(0).uniform(-2.0, 2.0, n)
        for label, name, options in METHODS:
            if name is not None and not difflab.method_class(name).available():
                rows.append({"method": label, "n": n, "status": "not installed"})
                continue
            if name is None:
                fn, setup = rosenbrock, 0.0
            else:
                fn = difflab.get(name, **options).gradient(rosenbrock)
                start = time.perf_counter()
                fn.prepare(x)
                setup = time.perf_counter() - start
            timing = measure(fn, x, max_time=max_time)
            rows.append({"method": label, "n": n, "status": "ok", "setup_seconds": setup,
                         "call_seconds": timing.median, "samples": timing.samples})
    for n in sizes:
        base = next((r["call_seconds"] for r in rows if r["n"] == n and r["method"] == "reverse"), None)
        for r in rows:
            if r["n"] == n and r["status"] == "ok" and base:
                r["ratio_to_reverse"] = r["call_seconds"] / base
    return rows


def import_seconds(module: str, repeat: int = 3) -> float | None:
    """Median wall time of ``import module`` in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    times = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        if out.returncode != 0:
            return None
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def _fmt(seconds):
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100000", help="comma-separated n (default 10,100000)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh-interpreter imports per module")
    parser.add_argument("--max-time", type=float, default=2.0, help="seconds of timing per row at most")
    parser.add_argument("--json", help="also write the records to this file")
    args = parser.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",")]

    rows = bench_calls(sizes, args.max_time)
    print("gradient of rosenbrock, median seconds per call (NumPy in and out)")
    print(f"{'method':<16}{'n':>8}{'setup':>12}{'per call':>12}{'x reverse':>11}")
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['method']:<16}{r['n']:>8}  {r['status']}")
            continue
        ratio = r.get("ratio_to_reverse")
        print(f"{r['method']:<16}{r['n']:>8}{_fmt(r['setup_seconds']):>12}{_fmt(r['call_seconds']):>12}"
              f"{(f'{ratio:.2f}' if ratio else '-'):>11}")

    imports = {m: import_seconds(m, args.repeat) for m in ("difflab", *FRAMEWORK_MODULES)}
    print("\nimport time in a fresh interpreter (median of", args.repeat, "runs)")
    for module, seconds in imports.items():
        print(f"  {module:<12}{_fmt(seconds) if seconds is not None else 'not importable':>10}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"schema": "difflab.bench_frameworks/1", "calls": rows, "imports": imports,
                       "environment": {"python": sys.version.split()[0],
                                       **{m: difflab.method_class(m).version() for m in FRAMEWORK_MODULES}}},
                      fh, indent=2)


if __name__ == "__main__":
    main()
