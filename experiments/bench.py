"""``make bench``: the speed benchmarks in one run, one section each.

Each section is a module of this package with a ``section(args)`` function that measures and
prints its tables; :data:`SECTIONS` lists them in the order they run. Adding a benchmark to
``make bench`` is one line here (and its module). ``--sections a,b`` runs some of them.

Every section times in this process with OMP_NUM_THREADS=1 (set here before NumPy loads),
frameworks synchronously (JAX's asynchronous CPU dispatch off, results as NumPy arrays), and
ends with the machine's load, so a reader can judge how disturbed the figures are.

``python -m difflab_experiments.bench [--sections adapters,core] [--quick]``
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import importlib
import sys
import time

from .records import load_average

#: (name, module, title), in the order they run.
SECTIONS = [
    ("adapters", "adapters", "Adapter overhead: difflab's framework methods / the frameworks called directly"),
    ("fusion", "bench_fusion", "The compiled tape: gradient / f (fresh processes), with and without numba; "
     "Hessian and hvp against jax.jit; PyTensor beside it"),
    ("core", "bench_core", "difflab reverse against autograd, torch and f"),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m difflab_experiments.bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default=None, metavar="A,B",
                        help="which sections (default: all): " + ", ".join(n for n, _, _ in SECTIONS))
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    args = parser.parse_args(argv)
    chosen = args.sections.split(",") if args.sections else [n for n, _, _ in SECTIONS]
    unknown = set(chosen) - {n for n, _, _ in SECTIONS}
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}")
    for name, module, title in SECTIONS:
        if name not in chosen:
            continue
        print(f"\n== {title} ==", flush=True)
        start = time.perf_counter()
        importlib.import_module(f"{__package__}.{module}").section(args)
        print(f"   ({time.perf_counter() - start:.0f} s; load average {load_average()})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
