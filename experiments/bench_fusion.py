"""The fused compiled tape's benchmark (issue 24): a section of ``make bench``.

Rows (rosenbrock; CPU time, ``time.process_time``, OMP_NUM_THREADS=1; each figure the minimum
over ``--repeat`` round-robin samples; ratios between peers timed in the same process):

1. compiled gradient / f at n = 1e5 and 1e6, each in a *fresh* subprocess (NumPy and
   difflab only), with numba (``jit="numba"``) and without (``jit="numpy"``); the numba
   preparation (trace, kernel compilation) in seconds. ``--sweep`` adds n = 1e3 .. 1e6: the
   ratio at 1-2e5 is a cache effect (f's temporaries fit the L3 cache, the program's do not).
2. PyTensor's compiled ``grad`` / f beside it (C backend), where pytensor imports.
3. the interface at n = 10: the whole ``Derivative`` call / the generated program alone.
4. compiled hvp / ``jax.jit`` of the JVP of ``jax.grad`` at n = 1e5, and the compiled
   Hessian (one program over the n directions) / ``jax.jit(jax.hessian)`` at n = 100 and
   1000; JAX timed synchronously
   (``block_until_ready``: its CPU dispatch is asynchronous and would look faster).

``python -m difflab_experiments.bench_fusion [--repeat N] [--sweep] [--json FILE]``; ``section(args)``
prints the rows for ``make bench``'s driver.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import subprocess
import sys
import time

import numpy as np

SIZES = (100_000, 1_000_000)
SWEEP = (1_000, 10_000, 50_000, 100_000, 200_000, 500_000, 1_000_000)
BACKENDS = ("numba", "numpy")
HESSIAN_SIZES = (100, 1000)


def cpu_min(fns: dict, repeat: int, min_time: float = 0.02) -> dict:
    """Minimum CPU seconds per call of each ``fns[name]()``, sampled round-robin."""
    numbers = {}
    for name, fn in fns.items():
        fn()
        start, n = time.process_time(), 0
        while time.process_time() - start < min_time / 4 or n < 1:
            fn()
            n += 1
        numbers[name] = max(1, int(min_time / max((time.process_time() - start) / n, 1e-9)))
    best = {name: float("inf") for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.process_time()
            for _ in range(numbers[name]):
                fn()
            best[name] = min(best[name], (time.process_time() - start) / numbers[name])
    return best


def rosenbrock(n):
    from difflab.analysis import functions

    return functions.get("rosenbrock", dim=n), np.random.default_rng(0).uniform(-2.0, 2.0, n)


def fresh_ratio(n: int, backend: str, repeat: int) -> dict:
    """compiled gradient / f at ``n`` in this process (run as a fresh subprocess)."""
    import difflab

    f, x = rosenbrock(n)
    d = difflab.get("reverse", jit=backend).gradient(f)
    start = time.perf_counter()
    d.prepare(x)
    d(x)
    prepare = time.perf_counter() - start
    np.testing.assert_allclose(d(x), f.gradient(x), rtol=1e-10, atol=1e-9)
    s = cpu_min({"compiled": lambda: d(x), "f": lambda: f(x)}, repeat)
    return {"n": n, "backend": backend, "compiled": s["compiled"], "f": s["f"],
            "ratio": s["compiled"] / s["f"], "prepare_seconds": prepare}


def in_fresh_process(n: int, backend: str, repeat: int) -> dict:
    module = __spec__.name if __spec__ else "experiments.bench_fusion"
    out = subprocess.run([sys.executable, "-m", module, "--fresh", str(n), backend, "--repeat", str(repeat)],
                         capture_output=True, text=True, check=True, env=dict(os.environ))
    return json.loads(out.stdout.strip().splitlines()[-1])


def pytensor_ratio(n: int, repeat: int) -> dict | None:
    """PyTensor's compiled gradient / f (C backend), in this process."""
    try:
        import pytensor
        import pytensor.tensor as pt
    except Exception:  # noqa: BLE001 - not installed, or no compiler: no row
        return None
    v = pt.dvector("x")
    cost = pt.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2)
    grad = pytensor.function([v], pt.grad(cost, v))
    f, x = rosenbrock(n)
    np.testing.assert_allclose(grad(x), f.gradient(x), rtol=1e-10, atol=1e-9)
    s = cpu_min({"pytensor": lambda: grad(x), "f": lambda: f(x)}, repeat)
    return {"n": n, "ratio": s["pytensor"] / s["f"], "pytensor": s["pytensor"], "f": s["f"]}


def interface_overhead(repeat: int) -> dict:
    """The whole call / the generated program alone, n = 10, per backend."""
    import difflab

    f, x = rosenbrock(10)
    rows = {}
    for backend in BACKENDS:
        d = difflab.get("reverse", jit=backend).gradient(f)
        d(x)
        program = d._evaluators[x.shape].evaluator.program.run
        s = cpu_min({"call": lambda d=d: d(x), "program": lambda p=program: p(x)}, repeat)
        rows[backend] = {"call": s["call"], "program": s["program"], "ratio": s["call"] / s["program"]}
    return rows


def jax_peers():
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def rosen(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    hvp = jax.jit(lambda x, v: jax.jvp(jax.grad(rosen), (x,), (v,))[1])
    return jax, hvp, jax.jit(jax.hessian(rosen))


def second_order(repeat: int) -> dict:
    """hvp at 1e5 and the Hessian at 1000 against jax.jit, synchronously."""
    peers = jax_peers()
    rows = {}
    for backend in BACKENDS:
        rows[f"hvp-{backend}"] = _hvp_row(backend, peers, repeat)
        for n in HESSIAN_SIZES:
            rows[f"hessian{n}-{backend}"] = _hessian_row(backend, peers, max(3, repeat // 3), n)
    return rows


def _hvp_row(backend, peers, repeat):
    import difflab

    f, x = rosenbrock(100_000)
    v = np.random.default_rng(1).normal(size=x.size)
    h = difflab.get("reverse", jit=backend).hvp(f)
    h(x, v)
    fns = {"compiled": lambda: h(x, v)}
    if peers is not None:
        jh = peers[1]
        jh(x, v).block_until_ready()
        np.testing.assert_allclose(h(x, v), np.asarray(jh(x, v)), rtol=1e-10, atol=1e-8)
        fns["jax"] = lambda: jh(x, v).block_until_ready()
    s = cpu_min(fns, repeat)
    return {**s, "ratio": s["compiled"] / s["jax"] if "jax" in s else None}


def _hessian_row(backend, peers, repeat, n=1000):
    """The compiled Hessian (one program over the n directions as a batch) against
    ``jax.jit(jax.hessian)``, synchronously (block_until_ready), at n."""
    import difflab

    f, x = rosenbrock(n)
    H = difflab.get("reverse", jit=backend).hessian(f)
    H(x)
    fns = {"compiled": lambda: H(x)}
    if peers is not None:
        jH = peers[2]
        jH(x).block_until_ready()
        np.testing.assert_allclose(H(x), np.asarray(jH(x)), rtol=1e-10, atol=1e-8)
        fns["jax"] = lambda: jH(x).block_until_ready()
    s = cpu_min(fns, repeat)
    return {**s, "ratio": s["compiled"] / s["jax"] if "jax" in s else None}


def measure(repeat: int = 7, sweep: bool = False) -> dict:
    sizes = SWEEP if sweep else SIZES
    fresh = [in_fresh_process(n, b, repeat) for n in sizes for b in BACKENDS]
    return {"schema": "difflab.bench-fusion/1", "load": os.getloadavg(), "fresh": fresh,
            "pytensor": [r for r in (pytensor_ratio(n, repeat) for n in SIZES) if r is not None],
            "interface": interface_overhead(repeat), "second_order": second_order(repeat)}


def print_rows(r: dict) -> None:
    print(f"fused compiled tape (issue 24); load average {r['load'][0]:.2f} {r['load'][1]:.2f} "
          f"{r['load'][2]:.2f}; CPU time, OMP_NUM_THREADS=1")
    for row in r["fresh"]:
        print(f"  compiled/f  n={row['n']:>8.0e}  {row['backend']:6s} {row['ratio']:5.2f}x   "
              f"({row['compiled'] * 1e3:.3f} ms vs f {row['f'] * 1e3:.3f} ms; "
              f"prepare {row['prepare_seconds']:.2f} s; fresh process)")
    for row in r["pytensor"]:
        print(f"  pytensor grad/f  n={row['n']:>8.0e}  {row['ratio']:5.2f}x")
    for backend, row in r["interface"].items():
        print(f"  call/program  n=10  {backend:6s} {row['ratio']:5.2f}x   "
              f"({row['call'] * 1e6:.1f} us vs {row['program'] * 1e6:.1f} us)")
    for name, row in r["second_order"].items():
        ratio = f"{row['ratio']:5.2f}x" if row["ratio"] is not None else "  (no jax)"
        what = "hvp/jax.jit(jvp of grad) n=1e5" if name.startswith("hvp") else \
            f"hessian/jax.jit(hessian) n={name.split('-')[0][7:]:<4s}"
        print(f"  {what}  {name.split('-')[1]:6s} {ratio}   ({row['compiled'] * 1e3:.3f} ms)")


def run(repeat: int = 7, sweep: bool = False) -> dict:
    """Measure and print this section's rows; returns the record."""
    r = measure(repeat, sweep)
    print_rows(r)
    return r


def section(args) -> None:
    """``make bench``'s section (experiments/bench.py)."""
    run(repeat=3 if getattr(args, "quick", False) else 7)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--sweep", action="store_true", help="n = 1e3 .. 1e6 in fresh processes")
    p.add_argument("--json", help="also write the record here")
    p.add_argument("--fresh", nargs=2, metavar=("N", "BACKEND"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.fresh:
        print(json.dumps(fresh_ratio(int(a.fresh[0]), a.fresh[1], a.repeat)))
        return
    r = run(a.repeat, a.sweep)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(r, fh, indent=1)


if __name__ == "__main__":
    main()
