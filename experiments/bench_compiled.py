"""The compiled tape's benchmark (issue 11): ``reverse`` with ``jit=True`` against its peers.

1. Rosenbrock's gradient per call at n = 10, 1e3, 1e5: the compiled tape (through the
   Differentiator interface, every check included), the tape engine, ``jax.jit(jax.grad(f))``
   called directly on a NumPy array (64-bit enabled), and the plain function on NumPy.
2. The ratio to f at n = 1e5 in a *fresh* process (a subprocess with NumPy and difflab only)
   and a *warm* one (this process, JAX loaded), with minor page faults per call.
3. A chain of 1,000 scalar operations: microseconds per operation per call.
4. Setup (trace and compile) time for rosenbrock up to n = 1e5 and for the iris network.
5. Seconds per training epoch on iris and digits: hand-written backprop (``manual``), the
   tape engine and the compiled tape (the setups of ``train_study``).

Timing: CPU time (``time.process_time``), OMP_NUM_THREADS=1, each figure the *minimum* over
``--repeat`` samples taken round-robin (the machine is shared: the minimum is the figure least
disturbed by other load). Ratios are between peers measured in the same process.

``python -m difflab_experiments.bench_compiled [--json FILE] [--repeat N] [--quick]``
(or ``python -m experiments.bench_compiled`` from the repository root).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import math
import resource
import subprocess
import sys
import time

import numpy as np

SCHEMA = "difflab.bench-compiled/1"
DIMS = (10, 1_000, 100_000)
CHAIN_OPS = 1000


def cpu_time_per_call(fns: dict, repeat: int, min_time: float = 0.02) -> dict:
    """Minimum CPU seconds per call of each ``fns[name]()``, sampled round-robin."""
    numbers = {}
    for name, fn in fns.items():
        fn()
        start, n = time.process_time(), 0
        while time.process_time() - start < min_time / 4 or n < 1:
            fn()
            n += 1
        per = (time.process_time() - start) / n
        numbers[name] = max(1, int(min_time / max(per, 1e-9)))
    best = {name: math.inf for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            number = numbers[name]
            start = time.process_time()
            for _ in range(number):
                fn()
            best[name] = min(best[name], (time.process_time() - start) / number)
    return best


def faults_per_call(fn, calls: int = 20) -> float:
    fn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def rosenbrock_peers(n: int, with_jax: bool):
    import difflab
    from difflab.analysis import functions

    f = functions.get("rosenbrock", dim=n)
    x = np.random.default_rng(0).uniform(-2.0, 2.0, n)
    compiled = difflab.get("reverse", jit=True).gradient(f)
    tape = difflab.get("reverse").gradient(f)
    compiled(x)
    np.testing.assert_allclose(compiled(x), f.gradient(x), rtol=1e-10, atol=1e-9)
    peers = {"compiled": lambda: compiled(x), "f": lambda: f(x), "tape": lambda: tape(x)}
    if with_jax:
        jitted = jax_gradient()
        if jitted is not None:
            jitted(x).block_until_ready()
            peers["jax.jit"] = lambda: jitted(x).block_until_ready()
        peers["manual"] = lambda: f.gradient(x)   # the hand-written gradient, called directly
        for name in ("torch", "autograd"):        # through difflab's interface, as compare does
            if difflab.method_class(name).available():
                other = difflab.get(name).gradient(f)
                other(x)
                peers[name] = (lambda g: lambda: g(x))(other)
    return peers


def jax_gradient():
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def rosen(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    return jax.jit(jax.grad(rosen))


def bench_rosenbrock(repeat: int, dims=DIMS) -> list:
    rows = []
    for n in dims:
        peers = rosenbrock_peers(n, with_jax=True)
        if n >= 100_000:
            peers["tape"] = None
        seconds = cpu_time_per_call({k: v for k, v in peers.items() if v is not None}, repeat)
        rows.append({"n": n, "seconds": seconds})
    return rows


def bench_allocator(n: int, repeat: int) -> dict:
    """compiled / f and page faults at n, in this (warm) process."""
    peers = rosenbrock_peers(n, with_jax=False)
    seconds = cpu_time_per_call({"compiled": peers["compiled"], "f": peers["f"]}, repeat)
    return {"n": n, "seconds": seconds, "ratio": seconds["compiled"] / seconds["f"],
            "faults_per_call": {k: faults_per_call(peers[k]) for k in ("compiled", "f")}}


def bench_fresh(n: int, repeat: int) -> dict:
    """The same in a fresh subprocess that loads NumPy and difflab only."""
    out = subprocess.run([sys.executable, "-m", __spec__.name if __spec__ else "experiments.bench_compiled",
                          "--fresh", str(n), "--repeat", str(repeat)],
                         capture_output=True, text=True, check=True, env=dict(os.environ))
    return json.loads(out.stdout)


def chain(x):
    """1,000 scalar operations: sin, two scalings and a shift, 250 times."""
    import difflab

    xp = difflab.namespace(x)
    y = x[0]
    for _ in range(CHAIN_OPS // 4):
        y = xp.sin(y) * 1.5 + y * 0.25 - 0.125
    return y


def bench_chain(repeat: int) -> dict:
    import difflab

    x = np.array([0.3])
    grad = difflab.get("reverse", jit=True).gradient(chain)
    grad(x)
    seconds = cpu_time_per_call({"compiled": lambda: grad(x)}, repeat)["compiled"]
    return {"operations": CHAIN_OPS, "seconds_per_call": seconds,
            "microseconds_per_operation": seconds / CHAIN_OPS * 1e6, "setup_seconds": grad.setup_seconds}


def bench_setup(repeat: int, dims=DIMS) -> dict:
    import difflab
    from difflab.analysis import functions

    out = {}
    for n in dims:
        f = functions.get("rosenbrock", dim=n)
        x = np.random.default_rng(0).uniform(-2.0, 2.0, n)
        out[f"rosenbrock n={n}"] = min(difflab.get("reverse", jit=True).gradient(f).prepare(x)
                                       for _ in range(max(3, repeat)))
    out["iris network"] = min(_iris_setup() for _ in range(max(3, repeat)))
    return out


def _iris_setup() -> float:
    import difflab
    import nets

    from .train_study import SETUPS, load_task

    hidden = SETUPS["iris"][0]
    task = load_task("iris")
    model = nets.Sequential([nets.Dense(hidden, activation="relu", input_dim=task.x_train.shape[1]),
                             nets.Dense(task.units, activation=task.activation)], seed=0)
    model.compile(optimizer="adam", loss=task.loss, differentiator="reverse", jit=True)
    model.build(task.x_train.shape[1])
    from nets.model import Batch

    model.batch = Batch(task.x_train[:16], model.loss.prepare_targets(task.y_train[:16], task.units))
    derivative = difflab.get("reverse", jit=True).value_and_gradient(
        difflab.Function(model.objective, name="iris loss"))
    return derivative.prepare(model.parameters.theta)


def bench_training(repeat: int, epochs_scale: float = 1.0) -> list:
    import nets

    from .train_study import SETUPS, load_task

    rows = []
    for dataset in ("iris", "digits"):
        hidden, optimizer, epochs, batch_size = SETUPS[dataset]
        epochs = max(2, int(epochs * epochs_scale))
        task = load_task(dataset)
        best = {}
        for _ in range(repeat):
            for label, method, options in (("manual", "manual", {}), ("tape", "reverse", {"jit": False}),
                                           ("compiled", "reverse", {"jit": True})):
                model = nets.Sequential([nets.Dense(hidden, activation="relu", input_dim=task.x_train.shape[1]),
                                         nets.Dense(task.units, activation=task.activation)], seed=0)
                model.compile(optimizer=optimizer(), loss=task.loss, differentiator=method, **options)
                start = time.process_time()
                history = model.fit(task.x_train, task.y_train, epochs=epochs, batch_size=batch_size, verbose=0)
                per_epoch = (time.process_time() - start) / epochs
                best[label] = min(best.get(label, math.inf), per_epoch)
                best[label + " final loss"] = history.history["loss"][-1]
        rows.append({"dataset": dataset, "epochs": epochs, "seconds_per_epoch": best})
    return rows


def report(doc: dict) -> str:
    lines = ["rosenbrock gradient, CPU us per call (min of repeats):",
             "| n | compiled | jax.jit | f | tape | manual | torch | autograd | compiled/jax.jit | compiled/f |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in doc["rosenbrock"]:
        s = row["seconds"]
        us = [f"{s[k] * 1e6:.1f}" if k in s else "-"
              for k in ("compiled", "jax.jit", "f", "tape", "manual", "torch", "autograd")]
        jx = f"{s['compiled'] / s['jax.jit']:.2f}" if "jax.jit" in s else "-"
        lines.append(f"| {row['n']} | {' | '.join(us)} | {jx} | {s['compiled'] / s['f']:.2f} |")
    for label in ("fresh", "warm"):
        a = doc["allocator"][label]
        lines.append(f"n={a['n']} {label} process: compiled/f = {a['ratio']:.2f}, minor page faults per call "
                     f"compiled {a['faults_per_call']['compiled']:.1f}, f {a['faults_per_call']['f']:.1f}")
    c = doc["chain"]
    lines.append(f"chain of {c['operations']} scalar operations: {c['microseconds_per_operation']:.3f} us per "
                 f"operation per call (setup {c['setup_seconds'] * 1e3:.1f} ms)")
    lines.append("setup (trace + compile), ms: " + ", ".join(f"{k} {v * 1e3:.1f}" for k, v in doc["setup"].items()))
    for row in doc["training"]:
        s = row["seconds_per_epoch"]
        lines.append(f"{row['dataset']} training, ms per epoch ({row['epochs']} epochs): manual {s['manual'] * 1e3:.2f}, "
                     f"tape {s['tape'] * 1e3:.2f}, compiled {s['compiled'] * 1e3:.2f}; compiled/manual "
                     f"{s['compiled'] / s['manual']:.2f}, tape/manual {s['tape'] / s['manual']:.2f}")
    return "\n".join(lines)


def run(repeat: int = 7, quick: bool = False) -> dict:
    """Every figure of the benchmark, as one JSON-ready document."""
    doc = {"schema": SCHEMA, "timer": "time.process_time, minimum over round-robin samples",
           "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "repeat": repeat}
    doc["allocator"] = {"fresh": bench_fresh(100_000, repeat)}
    doc["rosenbrock"] = bench_rosenbrock(repeat)
    doc["allocator"]["warm"] = bench_allocator(100_000, repeat)
    doc["chain"] = bench_chain(repeat)
    doc["setup"] = bench_setup(repeat)
    doc["training"] = bench_training(min(repeat, 3), 0.1 if quick else 1.0)
    return doc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bench_compiled", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="samples per figure (the minimum is kept)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and epochs (a smoke run)")
    parser.add_argument("--fresh", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.fresh:
        print(json.dumps(bench_allocator(args.fresh, args.repeat)))
        return 0
    doc = run(2 if args.quick else args.repeat, quick=args.quick)
    print(report(doc))
    if args.json:
        with open(args.json, "x") as fh:  # never overwrite a user's file
            json.dump(doc, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
