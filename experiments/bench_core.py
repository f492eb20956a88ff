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
3. Allocator states at the largest n: every timing loop above also counts the process's
   minor page faults (``getrusage``), per call. At n = 1e5 the tape holds dozens of 800 kB
   arrays at once, so glibc grows and trims its heap every call and the gradient faults on
   every page it touches, while ``f``'s few temporaries stay in memory glibc keeps: the
   two are not measured in the same allocator state, and reverse / f says so only with the
   fault counts beside it. So reverse and f are also timed in fresh child processes, in
   each state: glibc's defaults, after ``import torch`` (whose start-up was once said to
   remove the effect), and after :func:`difflab.analysis.memory.retain_freed_memory` (both fault-free:
   the same state for both).

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
#: The allocator states the child processes measure (section 3), in report order.
ALLOCATOR_STATES = {"fresh": "fresh process, glibc defaults",
                    "torch": "fresh process, after import torch",
                    "retain": "fresh process, after difflab.analysis.memory.retain_freed_memory()"}


@dataclasses.dataclass
class GradientBench:
    dim: int
    seconds: dict                 # peer -> seconds per call (None where not installed)
    faults: dict = dataclasses.field(default_factory=dict)  # peer -> minor page faults per call

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
class AllocatorBench:
    """reverse and f at one n in one allocator state, timed in one process."""

    state: str                    # a description (ALLOCATOR_STATES, or this run's)
    dim: int
    reverse_seconds: Optional[float]
    f_seconds: Optional[float]
    reverse_faults: Optional[float]   # minor page faults per call
    f_faults: Optional[float]
    error: str = ""               # why the child process gave no figures

    @property
    def ratio(self) -> Optional[float]:
        if self.reverse_seconds is None or not self.f_seconds:
            return None
        return self.reverse_seconds / self.f_seconds


@dataclasses.dataclass
class BenchResult:
    gradients: list
    jacobian: JacobianBench
    environment: dict
    allocator: list = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict:
        return {"schema": SCHEMA,
                "gradients": [{"dim": g.dim, "seconds": g.seconds, "faults_per_call": g.faults,
                               "reverse_over_autograd": g.ratio("reverse", "autograd"),
                               "reverse_over_torch": g.ratio("reverse", "torch"),
                               "reverse_over_f": g.ratio("reverse", "numpy f")}
                              for g in self.gradients],
                "jacobian": dataclasses.asdict(self.jacobian),
                "allocator": [dict(dataclasses.asdict(a), reverse_over_f=a.ratio) for a in self.allocator],
                "environment": self.environment}


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


def run(dims=DIMS, repeat: int = 41, progress=progress_noop,
        allocator_states=tuple(ALLOCATOR_STATES)) -> BenchResult:
    """Time every peer at every size, then the R^4 -> R^64 Jacobian, in this one run; then
    reverse and f at the largest size in a fresh child process per allocator state."""
    from difflab.analysis.functions import rosenbrock

    from .speed import jacobian_map

    peers = {"reverse": _reverse(rosenbrock), "autograd": _autograd(), "torch": _torch(),
             "numpy f": rosenbrock}
    progress("bench", total=len(dims) * len(peers) + 2 + len(allocator_states))
    gradients = []
    for dim in dims:
        progress(f"bench: rosenbrock n={dim:,}")
        x = np.random.default_rng(dim).uniform(-2.0, 2.0, size=dim)
        check = peers["reverse"](x)
        for name in ("autograd", "torch"):
            if peers[name] is not None:
                np.testing.assert_allclose(peers[name](x), check, rtol=1e-12, atol=1e-9)
        calls = {name: (None if fn is None else (lambda fn=fn: fn(x))) for name, fn in peers.items()}
        faults: dict = {}
        seconds = interleaved_times(calls, rounds=repeat, min_time=0.004, faults=faults)
        gradients.append(GradientBench(dim, seconds, faults))
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
    largest = max(dims)
    last = gradients[-1]
    allocator = [AllocatorBench("this run (frameworks loaded, after the other sizes)", largest,
                                last.seconds["reverse"], last.seconds["numpy f"],
                                last.faults.get("reverse"), last.faults.get("numpy f"))]
    for state in allocator_states:
        progress(f"bench: n={largest:,} in a fresh process, {state}")
        allocator.append(allocator_in_child(state, largest, repeat))
        progress(advance=1)
    return BenchResult(gradients, JacobianBench(4, 64, times["forward"], times["reverse"]),
                       environment(), allocator)


# ---------------------------------------------------------------------- allocator states
def allocator_in_child(state: str, dim: int, repeat: int, timeout: float = 600.0) -> AllocatorBench:
    """reverse and f at ``dim``, timed in a fresh Python process put in ``state`` first."""
    import json
    import subprocess

    module = __spec__.name if __spec__ is not None else __name__
    code = (f"import json, {module} as b; "
            f"print(json.dumps(b.measure_allocator_state({state!r}, {int(dim)}, {int(repeat)})))")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=timeout, check=True)
        out = json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        reason = (detail.strip().splitlines() or [str(exc)])[-1]
        return AllocatorBench(ALLOCATOR_STATES.get(state, state), dim, None, None, None, None, reason)
    return AllocatorBench(ALLOCATOR_STATES[state], dim, **out)


def measure_allocator_state(state: str, dim: int, repeat: int) -> dict:
    """Put this (fresh) process in ``state``, then time reverse and f (with page faults)."""
    if state == "torch":
        import torch

        torch.set_num_threads(1)
    elif state == "retain":
        from difflab.analysis.memory import retain_freed_memory

        retain_freed_memory()
    elif state != "fresh":
        raise ValueError(f"unknown allocator state {state!r}")
    from difflab.analysis.functions import rosenbrock

    x = np.random.default_rng(dim).uniform(-2.0, 2.0, size=dim)
    grad = _reverse(rosenbrock)
    grad(x)
    faults: dict = {}
    seconds = interleaved_times({"reverse": lambda: grad(x), "f": lambda: rosenbrock(x)},
                                rounds=repeat, min_time=0.004, faults=faults)
    return {"reverse_seconds": seconds["reverse"], "f_seconds": seconds["f"],
            "reverse_faults": faults["reverse"], "f_faults": faults["f"]}


# ---------------------------------------------------------------------- report
def tables(result: BenchResult):
    from difflab.analysis.timing import format_seconds

    from .tables import Table

    def r(v):
        return "—" if v is None else f"{v:.2f}"

    def faults(v):
        return "—" if v is None else f"{v:,.0f}"

    rows = [[f"{g.dim:,}"] + [format_seconds(g.seconds.get(p)) for p in PEERS]
            + [r(g.ratio("reverse", "autograd")), r(g.ratio("reverse", "torch")), r(g.ratio("reverse", "numpy f"))]
            + [faults(g.faults.get("reverse")), faults(g.faults.get("numpy f"))]
            for g in result.gradients]
    grad = Table("Rosenbrock gradient, seconds per call (one run)",
                 ["n", "reverse", "autograd", "torch eager", "f (NumPy)", "reverse/autograd",
                  "reverse/torch", "reverse/f", "faults/call reverse", "faults/call f"], rows,
                 "Targets: reverse/autograd <= 1 at every n; reverse/f <= 6 (aim 4) at n = 100,000. "
                 "faults/call: minor page faults per call (getrusage) over the same timing loops; "
                 "where reverse faults and f does not, reverse/f compares two allocator states "
                 "(see the next tables).")
    j = result.jacobian
    jac = Table(f"Jacobian of sin(A tanh(x)), R^{j.n} -> R^{j.m}", ["forward", "reverse", "reverse/forward"],
                [[format_seconds(j.forward_seconds), format_seconds(j.reverse_seconds),
                  f"{j.reverse_seconds / j.forward_seconds:.2f}"]],
                "Target: forward faster than reverse (reverse/forward > 1).")
    out = [grad, jac]
    if result.allocator:
        a0 = result.allocator[0]
        rows = [[a.state, format_seconds(a.reverse_seconds), format_seconds(a.f_seconds), r(a.ratio),
                 faults(a.reverse_faults), faults(a.f_faults)] if not a.error
                else [a.state, "—", "—", "—", "—", f"failed: {a.error}"] for a in result.allocator]
        out.append(Table(f"Rosenbrock gradient at n = {a0.dim:,} by allocator state",
                         ["state", "reverse", "f (NumPy)", "reverse/f", "faults/call reverse",
                          "faults/call f"], rows,
                         "Each fresh-process row is one child process (difflab and NumPy only, plus "
                         "torch where named). A row where only reverse faults does not compare like "
                         "with like; the retain_freed_memory row does (neither faults)."))
    return out


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


def section(args) -> None:
    """``make bench``'s section (experiments/bench.py)."""
    main(["--repeat", "9"] if getattr(args, "quick", False) else [])


if __name__ == "__main__":
    sys.exit(main())
