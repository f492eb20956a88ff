"""Adapter overhead: difflab's framework methods against the same framework called directly.

For each framework method (torch; jax eager and ``jit=True``; tensorflow eager and
``jit=True``; autograd) and size n, the gradient of one function is prepared once through
``difflab.get(m).gradient(f)`` and compared with the framework's own gradient called directly
with NumPy in and out, the yardstick a user would write:

- torch: ``torch.from_numpy(x).requires_grad_()``, ``torch.autograd.grad``, ``.numpy()``;
- jax: ``jax.grad(f)`` (``jax.jit(jax.grad(f))`` for ``jit=True``) on the NumPy array, 64-bit,
  then ``np.asarray``;
- tensorflow: a ``GradientTape`` on ``tf.constant(x)`` (in a ``tf.function`` with a fixed
  signature for ``jit=True``), then ``.numpy()``;
- autograd: ``autograd.grad(f)`` on the NumPy array.

``overhead = difflab's seconds per call / the direct call's``, both timed in the same
process, round-robin (so a change in machine load hits both alike), as CPU time
(``time.process_time``), the minimum and the median over samples.

Synchronous timing: JAX dispatches asynchronously on the CPU; a call that returns before its
computation ends, timed by CPU time, charges the hand-off between threads to the call
(``jax.jit`` at n = 1000: 87 us asynchronous, 22 us synchronous, measured). Both sides here
end in a NumPy array, which waits for the result, and :func:`synchronous_dispatch` turns
JAX's asynchronous CPU dispatch off (``jax_cpu_enable_async_dispatch=False``) when JAX has
not started its backend yet, as it does in a benchmark's own process. Every row records the
dispatch it was measured under.

The direct formula: rosenbrock written in the framework's own operations (``torch.sum``,
``jnp.sum``, ``tf.reduce_sum``, ``autograd.numpy.sum``) where the function is rosenbrock, so
the overhead includes difflab's namespace; any other function is called directly on the
framework's tensor (through ``difflab.namespace``, without difflab's views and checks).
"""
from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence

import numpy as np

from .records import load_average

#: (label, registry name, options) of each framework method measured.
FRAMEWORKS = (("torch", "torch", {}), ("jax (jit)", "jax", {"jit": True}), ("jax", "jax", {}),
              ("tensorflow", "tensorflow", {}), ("tensorflow (jit)", "tensorflow", {"jit": True}),
              ("autograd", "autograd", {}))
DIMS = (10, 1_000, 100_000)
#: What the direct calls and difflab's are timed by.
TIMER = "CPU time (time.process_time), round-robin samples, min and median"


@dataclasses.dataclass
class OverheadRow:
    framework: str
    dim: int
    difflab_seconds: float          # median seconds per call through difflab
    direct_seconds: float           # median seconds per call of the framework directly
    overhead: float                 # difflab / direct, of the medians
    overhead_min: float             # of the minima (the samples least disturbed by load)
    dispatch: str                   # "synchronous" or how the results were waited for
    direct: str                     # which direct formula


def synchronous_dispatch() -> str:
    """Turn off JAX's asynchronous CPU dispatch where JAX has not started its backend; say
    what the dispatch is. Without JAX installed: "no jax". Imports JAX (call it only where
    JAX is to be timed)."""
    try:
        import jax
        from jax._src import xla_bridge
    except ImportError:
        return "no jax"
    if not xla_bridge.backends_are_initialized():
        jax.config.update("jax_cpu_enable_async_dispatch", False)
    if not jax.config.read("jax_cpu_enable_async_dispatch"):
        return "synchronous (jax_cpu_enable_async_dispatch=False)"
    return "asynchronous dispatch, each call waits for its NumPy result (JAX had started)"


# ---------------------------------------------------------------------- the direct calls
def _rosenbrock(t, total):
    return total(100.0 * (t[1:] - t[:-1] ** 2) ** 2 + (1.0 - t[:-1]) ** 2)


def direct_gradient(method: str, options: dict, fn: Callable | None = None) -> Callable:
    """The framework's own gradient of ``fn`` (rosenbrock in the framework's operations
    when None), called with a NumPy array, returning a NumPy array, synchronously."""
    jit = bool(options.get("jit"))
    return _DIRECT[method](fn, jit)


def _torch(fn, jit):
    import torch

    f = fn or (lambda t: _rosenbrock(t, torch.sum))

    def gradient(x):
        t = torch.from_numpy(x).requires_grad_(True)
        (g,) = torch.autograd.grad(f(t), t)
        return g.numpy()
    return gradient


def _jax(fn, jit):
    import jax
    import jax.numpy as jnp

    f = fn or (lambda t: _rosenbrock(t, jnp.sum))
    g = jax.jit(jax.grad(f)) if jit else jax.grad(f)

    def gradient(x):
        with jax.enable_x64(True):
            return np.asarray(g(x))
    return gradient


def _tensorflow(fn, jit):
    import tensorflow as tf

    f = fn or (lambda t: _rosenbrock(t, tf.reduce_sum))

    def tape(t):
        with tf.GradientTape() as recorder:
            recorder.watch(t)
            y = f(t)
        return recorder.gradient(y, t)
    signatures = {}

    def gradient(x):
        op = tape
        if jit:
            op = signatures.get(x.shape)
            if op is None:
                op = signatures[x.shape] = tf.function(
                    tape, input_signature=[tf.TensorSpec(x.shape, tf.float64)])
        return op(tf.constant(x, dtype=tf.float64)).numpy()
    return gradient


def _autograd(fn, jit):
    import autograd
    import autograd.numpy as anp

    return autograd.grad(fn or (lambda t: _rosenbrock(t, anp.sum)))


_DIRECT = {"torch": _torch, "jax": _jax, "tensorflow": _tensorflow, "autograd": _autograd}


# ---------------------------------------------------------------------- timing
def paired_times(a: Callable, b: Callable, x, repeat: int = 15, sample: float = 0.005):
    """``((min, median) of a, (min, median) of b)``: CPU seconds per call, sampled round-robin."""
    numbers = [_calibrate(fn, x, sample) for fn in (a, b)]
    samples = ([], [])
    for _ in range(max(1, repeat)):
        for fn, number, out in zip((a, b), numbers, samples):
            start = time.process_time()
            for _ in range(number):
                fn(x)
            out.append((time.process_time() - start) / number)
    return tuple((min(s), float(np.median(s))) for s in samples)


def _calibrate(fn, x, sample) -> int:
    fn(x)
    number = 1
    while True:
        start = time.process_time()
        for _ in range(number):
            fn(x)
        if time.process_time() - start >= sample or number >= 1 << 16:
            return number
        number *= 2


def overhead_row(label, method, options, function, x, repeat=15, direct_fn=None,
                 dispatch="") -> OverheadRow:
    """One framework at one point: difflab's prepared gradient against the direct call.
    The two gradients must agree (rtol 1e-10) before anything is timed."""
    import difflab

    d = difflab.get(method, **options).gradient(function)
    d.prepare(x)
    direct = direct_gradient(method, options, direct_fn)
    ours, theirs = d(x), direct(x)
    if not np.allclose(ours, theirs, rtol=1e-10, atol=1e-12 * (1 + float(np.max(np.abs(theirs))))):
        raise AssertionError(f"{label}: difflab's gradient and the direct one differ at n = {x.size}")
    (d_min, d_med), (r_min, r_med) = paired_times(d, direct, x, repeat)
    return OverheadRow(label, int(x.size), d_med, r_med, d_med / r_med, d_min / r_min, dispatch,
                       "framework's own rosenbrock" if direct_fn is None else "f on the framework's tensor")


def run(dims: Sequence[int] = DIMS, frameworks=FRAMEWORKS, repeat: int = 15, budget: float = 20.0,
        progress=None) -> list:
    """Rows for every installed framework and size; a framework whose call at a size would
    take more than ``budget`` seconds to time (slow eager modes at 1e5) is left out there."""
    import difflab

    from .catalogue import lookup

    installed = [(lab, m, o) for lab, m, o in frameworks if difflab.method_class(m).available()]
    dispatch = synchronous_dispatch() if any(m == "jax" for _, m, _ in installed) else "synchronous"
    rows = []
    for n in dims:
        f = lookup("rosenbrock", n)
        x = np.random.default_rng(0).uniform(-2.0, 2.0, n)
        for label, method, options in installed:
            if progress is not None:
                progress(f"adapters: {label} n={n}")
            probe = difflab.get(method, **options).gradient(f)
            probe.prepare(x)
            start = time.process_time()
            probe(x)
            if (time.process_time() - start) * 2 * repeat * 40 > budget:
                continue
            rows.append(overhead_row(label, method, options, f, x, repeat,
                                     dispatch=dispatch if method == "jax" else "synchronous"))
    return rows


def table(rows) -> tuple[list, list]:
    """``(headers, rows of strings)``: overhead (median; min) per framework and n."""
    from difflab.analysis.timing import format_seconds

    dims = sorted({r.dim for r in rows})
    frameworks = list(dict.fromkeys(r.framework for r in rows))
    cell = {(r.framework, r.dim): r for r in rows}
    out = []
    for fw in frameworks:
        line = [fw]
        for n in dims:
            r = cell.get((fw, n))
            line.append("—" if r is None else
                        f"{r.overhead:.2f}x ({r.overhead_min:.2f}x min); "
                        f"{format_seconds(r.difflab_seconds)} / {format_seconds(r.direct_seconds)}")
        out.append(line)
    return ["framework"] + [f"n = {n:,}" for n in dims], out


def main(argv=None) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m difflab_experiments.adapters",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--dims", default=",".join(map(str, DIMS)), metavar="N,N")
    parser.add_argument("--repeat", type=int, default=15, help="samples per side (min and median)")
    parser.add_argument("--json", metavar="FILE", default=None)
    args = parser.parse_args(argv)
    rows = run([int(float(d)) for d in args.dims.split(",")], repeat=args.repeat)
    print_section(rows)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"schema": "difflab.adapters/1", "timer": TIMER,
                       "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                       "load": load_average(), "rows": [dataclasses.asdict(r) for r in rows]}, fh, indent=1)
    return 0


def section(args) -> None:
    """``make bench``'s section (experiments/bench.py)."""
    print_section(run(repeat=5 if getattr(args, "quick", False) else 15))


def print_section(rows) -> None:
    headers, lines = table(rows)
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *lines)]
    print("Adapter overhead: difflab.get(m).gradient(rosenbrock) / the framework called directly "
          "(NumPy in and out)")
    for line in [headers] + lines:
        print("  " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths)))
    dispatch = sorted({r.dispatch for r in rows if r.framework.startswith("jax")})
    print(f"  {TIMER}; median (min) of the ratio; difflab / direct seconds per call. "
          f"JAX: {', '.join(dispatch) or 'not installed'}; load {load_average()}.")


if __name__ == "__main__":
    import sys

    sys.exit(main())
