"""The core speed benchmark (``make bench``): difflab's ``reverse`` against its peers.

1. Rosenbrock's gradient per call at n = 10, 1e3, 1e5, all measured in one run:
   difflab ``reverse`` (through the Differentiator interface), HIPS autograd
   (``autograd.grad`` on the same formula in ``autograd.numpy``), PyTorch eager
   (``backward()`` on float64 tensors, NumPy in and out, one thread like the others), and
   the plain function on NumPy arrays. Reported as seconds per call (median of samples
   taken round-robin, so load changes hit all peers alike) and as ratios: reverse /
   autograd, reverse / torch, reverse / f.
2. The Jacobian of a map R^4 -> R^64 (``x -> sin(A tanh(x))``): difflab ``forward`` (one
   vector-mode pass with 4 tangents) against ``reverse`` (64 backward sweeps).

Targets (issue 2): reverse no slower than autograd at every n; reverse within 6x (aim 4x)
of f at n = 1e5; forward faster than reverse on the R^4 -> R^64 Jacobian.

``python -m difflab_experiments.bench_core [--json FILE] [--repeat N]``.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Optional

import numpy as np

from .records import dumps, environment, environment_line, interleaved_times, progress_noop

SCHEMA = "difflab.bench-core/1"
DIMS = (10, 1_000, 100_000)
PEERS = ("reverse", "autograd", "torch", "numpy f")


@dataclasses.dataclass
class GradientBench:
    dim: int
    seconds: dict                 # peer -> seconds per call (None where not installed)

    def ratio(self, a: str, b: str) -> Optional[float]:
        x, y = self.seconds.get(a), self.seconds.get(b)
        return None if x is None or y is None else x / y


@dataclasses.dataclass
class JacobianBench:
    n: int
    m: int
    forward_seconds: float
    reverse_seconds: float


@dataclasses.dataclass
class BenchResult:
    gradients: list
    jacobian: JacobianBench
    environment: dict

    def to_dict(self) -> dict:
        return {"schema": SCHEMA,
                "gradients": [{"dim": g.dim, "seconds": g.seconds,
                               "reverse_over_autograd": g.ratio("reverse", "autograd"),
                               "reverse_over_torch": g.ratio("reverse", "torch"),
                               "reverse_over_f": g.ratio("reverse", "numpy f")}
                              for g in self.gradients],
                "jacobian": dataclasses.asdict(self.jacobian), "environment": self.environment}


# ---------------------------------------------------------------------- the peers
def _reverse(f):
    import difflab

    return difflab.get("reverse").gradient(f)


def _autograd():
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None

    def rosen(x):
        return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    return autograd.grad(rosen)


def _torch():
    try:
        import torch
    except ImportError:
        return None
    # One thread, like NumPy and difflab here. With its default thread pool on a small shared
    # machine, torch's workers fight the other peers' samples: at n = 1e5 a call measured
    # ~100x slower (0.35 s) than single-threaded.
    torch.set_num_threads(1)

    def grad(x):
        t = torch.from_numpy(x).requires_grad_(True)
        y = torch.sum(100.0 * (t[1:] - t[:-1] ** 2) ** 2 + (1.0 - t[:-1]) ** 2)
        y.backward()
        return t.grad.numpy()
    return grad


def run(dims=DIMS, repeat: int = 41, progress=progress_noop) -> BenchResult:
    """Time every peer at every size, then the R^4 -> R^64 Jacobian, in this one run."""
    from difflab.functions import rosenbrock

    from .speed import jacobian_map

    peers = {"reverse": _reverse(rosenbrock), "autograd": _autograd(), "torch": _torch(),
             "numpy f": rosenbrock}
    progress("bench", total=len(dims) * len(peers) + 2)
    gradients = []
    for dim in dims:
        progress(f"bench: rosenbrock n={dim:,}")
        x = np.random.default_rng(dim).uniform(-2.0, 2.0, size=dim)
        check = peers["reverse"](x)
        for name in ("autograd", "torch"):
            if peers[name] is not None:
                np.testing.assert_allclose(peers[name](x), check, rtol=1e-12, atol=1e-9)
        calls = {name: (None if fn is None else (lambda fn=fn: fn(x))) for name, fn in peers.items()}
        gradients.append(GradientBench(dim, interleaved_times(calls, rounds=repeat, min_time=0.004)))
        progress(advance=len(peers))
    import difflab

    f = jacobian_map(4, 64)
    x = np.linspace(-1.0, 1.0, 4)
    jacobians = {m: difflab.get(m).jacobian(f) for m in ("forward", "reverse")}
    np.testing.assert_allclose(jacobians["forward"](x), jacobians["reverse"](x), rtol=1e-12, atol=1e-12)
    progress("bench: jacobian 4->64")
    times = interleaved_times({m: (lambda j=j: j(x)) for m, j in jacobians.items()}, rounds=repeat,
                             min_time=0.004)
    progress(advance=2)
    return BenchResult(gradients, JacobianBench(4, 64, times["forward"], times["reverse"]), environment())


# ---------------------------------------------------------------------- report
def tables(result: BenchResult):
    from difflab.timing import format_seconds

    from .tables import Table

    def r(v):
        return "—" if v is None else f"{v:.2f}"

    rows = [[f"{g.dim:,}"] + [format_seconds(g.seconds.get(p)) for p in PEERS]
            + [r(g.ratio("reverse", "autograd")), r(g.ratio("reverse", "torch")), r(g.ratio("reverse", "numpy f"))]
            for g in result.gradients]
    grad = Table("Rosenbrock gradient, seconds per call (one run)",
                 ["n", "reverse", "autograd", "torch eager", "f (NumPy)", "reverse/autograd",
                  "reverse/torch", "reverse/f"], rows,
                 "Targets: reverse/autograd <= 1 at every n; reverse/f <= 6 (aim 4) at n = 100,000.")
    j = result.jacobian
    jac = Table(f"Jacobian of sin(A tanh(x)), R^{j.n} -> R^{j.m}", ["forward", "reverse", "reverse/forward"],
                [[format_seconds(j.forward_seconds), format_seconds(j.reverse_seconds),
                  f"{j.reverse_seconds / j.forward_seconds:.2f}"]],
                "Target: forward faster than reverse (reverse/forward > 1).")
    return [grad, jac]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m difflab_experiments.bench_core",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", default=None, help="also write the records as JSON")
    parser.add_argument("--repeat", type=int, default=41, help="samples per peer (median)")
    args = parser.parse_args(argv)
    from difflab.console import console, print_table

    from .tables import to_rich

    result = run(repeat=args.repeat)
    for t in tables(result):
        print_table(to_rich(t))
    console.print(f"[muted]{environment_line(result.environment)}[/muted]", soft_wrap=True)
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(dumps(result.to_dict()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
