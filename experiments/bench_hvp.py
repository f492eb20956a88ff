"""Hessian-vector products: every method's ``hvp`` against ``jax.jit`` and the dense route.

Rosenbrock at n (default 1000), float64, one process, along the direction ``difflab compare
--derivative hvp`` uses (:func:`difflab.analysis.comparison.hvp_vector`). For each method: setup and
per-call seconds of ``d.hvp(f)(x, v)`` (median, :func:`difflab.analysis.timing.measure`), how it was
obtained, and its error against SciPy's ``rosen_hess_prod``; for ``reverse`` and ``jax``
with ``jit=True`` also the dense route, the method's Hessian and then ``@ v``. The yardstick
is ``jax.jit(lambda x, v: jax.jvp(jax.grad(f), (x,), (v,))[1])`` called directly on JAX
arrays (no difflab in the loop), where JAX is installed.

Target (issue 11): ``reverse``'s hvp within 3x of that yardstick at n = 1000: met by the
compiled tape (``jit=True``, reverse over reverse), not by the tape engine.

``python -m difflab_experiments.bench_hvp [--dim N] [--methods A,B] [--json FILE]``.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Optional

import numpy as np

from .records import available_methods, dumps, environment, environment_line, progress_noop

SCHEMA = "difflab.bench-hvp/1"
DIM = 1000
#: (registry name, options) whose dense route (Hessian, then @ v) is timed as well.
DENSE = (("reverse", {}), ("jax", {"jit": True}))


@dataclasses.dataclass
class HvpRow:
    label: str
    setup_seconds: Optional[float]
    call_seconds: Optional[float]
    how: str
    max_rel_error: Optional[float]
    dense_seconds: Optional[float] = None    # the method's Hessian, then @ v
    error: str = ""                          # why the method gave no figures


@dataclasses.dataclass
class HvpResult:
    dim: int
    rows: list
    jax_jit_direct_seconds: Optional[float]
    environment: dict

    def ratio(self, row: HvpRow) -> Optional[float]:
        """Per call over the jax.jit yardstick, or None."""
        if row.call_seconds is None or not self.jax_jit_direct_seconds:
            return None
        return row.call_seconds / self.jax_jit_direct_seconds

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "function": "rosenbrock", "dim": self.dim,
                "jax_jit_direct_seconds": self.jax_jit_direct_seconds,
                "rows": [dict(dataclasses.asdict(r), over_jax_jit=self.ratio(r)) for r in self.rows],
                "environment": self.environment}


def _plans(methods):
    plans = [(m, {}) for m in methods]
    if "reverse" in methods:
        plans.append(("reverse", {"jit": True}))   # the compiled tape: reverse over reverse
    if "jax" in methods:
        plans.append(("jax", {"jit": True}))
    return plans


def _label(name, options):
    return name + "".join(f" ({k}={v})" for k, v in options.items())


def jax_jit_direct(x, v, repeat: int) -> Optional[float]:
    """Seconds per call of ``jax.jit`` jvp-of-grad on rosenbrock, called on JAX arrays."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    from difflab.analysis.timing import measure

    def rosen(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    with jax.enable_x64(True):
        hvp = jax.jit(lambda x, v: jax.jvp(jax.grad(rosen), (x,), (v,))[1])
        xj, vj = jnp.asarray(x), jnp.asarray(v)
        hvp(xj, vj).block_until_ready()
        return measure(lambda: hvp(xj, vj).block_until_ready(), repeat=repeat).median


def run(dim: int = DIM, methods=None, repeat: int = 7, max_time: float = 5.0,
        progress=progress_noop) -> HvpResult:
    """Time every method's hvp (and the dense route where listed in DENSE) at ``dim``."""
    import difflab
    from scipy.optimize import rosen_hess_prod

    from difflab.analysis.comparison import hvp_vector
    from difflab.analysis.functions import get
    from difflab.analysis.timing import measure

    methods = available_methods() if methods is None else list(methods)
    for m in methods:
        difflab.method_class(m)   # an unknown name: one clear error (InputError) before timing
    f = get("rosenbrock", dim=dim)
    x = np.random.default_rng(dim).uniform(-2.0, 2.0, size=dim)
    v = hvp_vector(dim)
    exact = rosen_hess_prod(x, v)
    plans = _plans(methods)
    progress("hvp", total=len(plans) + 1)
    rows = []
    for name, options in plans:
        label = _label(name, options)
        progress(f"hvp: {label} n={dim:,}")
        try:
            d = difflab.get(name, **options)
            op = d.hvp(f)
            setup = op.prepare(x)
            value = op(x, v)
            call = measure(op, x, v, repeat=repeat, max_time=max_time).median
            error = float(np.max(np.abs(value - exact)) / np.max(np.abs(exact)))
            dense = None
            if (name, options) in DENSE:
                hessian = d.hessian(f)
                hessian.prepare(x)
                dense = measure(lambda: hessian(x) @ v, repeat=3, max_time=max_time).median
            rows.append(HvpRow(label, setup, call, op.how, error, dense))
        except Exception as exc:  # noqa: BLE001 - one method failing (or unsupported) is a row, not the end
            rows.append(HvpRow(label, None, None, "", None, error=f"{type(exc).__name__}: {exc}"))
        progress(advance=1)
    progress("hvp: jax.jit direct")
    direct = jax_jit_direct(x, v, repeat)
    progress(advance=1)
    return HvpResult(dim, rows, direct, environment())


def tables(result: HvpResult):
    from difflab.analysis.timing import format_seconds

    from .tables import Table

    def num(v, fmt):
        return "—" if v is None else fmt.format(v)

    rows = [[r.label, format_seconds(r.setup_seconds), format_seconds(r.call_seconds),
             num(result.ratio(r), "{:.2f}"), format_seconds(r.dense_seconds),
             num(None if r.dense_seconds is None or not r.call_seconds else r.dense_seconds / r.call_seconds,
                 "{:.0f}"), num(r.max_rel_error, "{:.1e}"), r.how or f"failed: {r.error}"]
            for r in result.rows]
    direct = format_seconds(result.jax_jit_direct_seconds) if result.jax_jit_direct_seconds else "not installed"
    return [Table(f"Hessian-vector product of rosenbrock at n = {result.dim:,}, seconds per call",
                  ["method", "setup", "hvp", "/ jax.jit", "dense H @ v", "dense / hvp", "rel error", "how"],
                  rows, f"/ jax.jit: over jax.jit(jvp of grad) called directly, {direct} per call. "
                        "Target: reverse within 3x. rel error: against scipy.optimize.rosen_hess_prod.")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m difflab_experiments.bench_hvp",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=DIM, help="input size (default 1000)")
    parser.add_argument("--methods", default=None, metavar="A,B", help="methods (default: every available one)")
    parser.add_argument("--repeat", type=int, default=7, help="samples per method (median)")
    parser.add_argument("--json", metavar="FILE", default=None, help="also write the records as JSON")
    args = parser.parse_args(argv)
    if args.dim < 2 or args.repeat < 1:
        parser.error("--dim must be at least 2 and --repeat at least 1")
    from difflab.console import console, print_table

    from .tables import to_rich

    from difflab.errors import InputError

    methods = None if args.methods is None else [m for m in args.methods.split(",") if m]
    try:
        result = run(args.dim, methods, repeat=args.repeat)
    except InputError as exc:
        parser.error(str(exc))
    for t in tables(result):
        print_table(to_rich(t))
    console.print(f"[muted]{environment_line(result.environment)}[/muted]", soft_wrap=True)
    if args.json:
        try:
            with open(args.json, "x") as fh:  # never overwrite a user's file
                fh.write(dumps(result.to_dict()) + "\n")
        except FileExistsError:
            parser.error(f"--json {args.json} exists; give a new file name")
    return 0


if __name__ == "__main__":
    sys.exit(main())
