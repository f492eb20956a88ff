"""What the three studies share: records to JSON, the environment, timing, growth fits.

Every study computes dataclass records first; the CLI tables, the JSON and the plots are
all built from the same records. Nothing here prints.
"""
from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from difflab.console.json_numbers import jsonable


# ---------------------------------------------------------------------- records -> JSON
#: Dataclasses, NumPy scalars and arrays to plain JSON values; NaN and inf become None.
to_jsonable = jsonable


def dumps(document: dict) -> str:
    return json.dumps(to_jsonable(document), indent=2, allow_nan=False)


def write_json(document: dict, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(document) + "\n")
    return path


# ---------------------------------------------------------------------- environment
def environment() -> dict:
    """Machine and library versions, for every report and JSON document: difflab's own
    :func:`difflab.analysis.environment.environment` plus the machine."""
    from difflab.analysis.environment import environment as versions

    env = {"python": platform.python_version(), "platform": platform.platform(),
           "machine": platform.machine(), "cpus": os.cpu_count()}
    env.update({k: v for k, v in versions().items() if v is not None})
    for lib in ("matplotlib",):
        try:
            env[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            pass
    return env


def load_average() -> str:
    """The machine's 1-, 5- and 15-minute load averages, for a benchmark's reader."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return "unknown"


def environment_line(env: Optional[dict] = None) -> str:
    env = env or environment()
    machine = ("python", "platform", "machine", "cpus")
    libs = ", ".join(f"{k} {v}" for k, v in env.items() if k not in machine)
    return (f"Python {env['python']} on {env['platform']} ({env['cpus']} CPUs); {libs}")


# ---------------------------------------------------------------------- timing
def median_time(fn: Callable[[], object], repeat: int = 5, min_time: float = 0.02,
                max_time: float = 2.0) -> float:
    """Seconds per call of ``fn()``: the median of repeated samples (``difflab.analysis.timing``)."""
    from difflab.analysis.timing import measure

    return measure(fn, repeat=repeat, min_time=min_time, max_time=max_time).median


def minor_faults() -> Optional[int]:
    """This process's minor page faults so far (``getrusage`` ``ru_minflt``); None where the
    platform has no ``resource`` module."""
    try:
        import resource
    except ImportError:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def timed_with_faults(fn: Callable[[], object], repeat: int = 5, min_time: float = 0.02,
                      max_time: float = 2.0) -> tuple[float, Optional[float]]:
    """``(seconds per call, minor page faults per call)`` of ``fn()``: the median of repeated
    samples (``difflab.analysis.timing``), and the faults counted around that same timing loop."""
    from difflab.analysis.timing import measure

    before = minor_faults()
    timing = measure(fn, repeat=repeat, min_time=min_time, max_time=max_time)
    after = minor_faults()
    return timing.median, None if before is None else (after - before) / timing.calls


def interleaved_times(fns: dict, rounds: int = 7, min_time: float = 0.01,
                      faults: Optional[dict] = None) -> dict:
    """Median seconds per call of each ``fns[name]()``, sampled round-robin.

    Each callable's loop count is calibrated with :func:`difflab.analysis.timing.measure`; then every
    round takes one sample of each in turn, so a change in machine load during the run hits
    all of them alike (peers compared in one run stay comparable). None maps to None.
    Given a dict ``faults``, it receives each name's median minor page faults per call,
    counted around the same sampling loops (None where not measurable).
    """
    from difflab.analysis.timing import measure

    numbers = {k: max(1, int(math.ceil(min_time / max(measure(fn, repeat=1, min_time=0).median, 1e-9))))
               for k, fn in fns.items() if fn is not None}
    samples = {k: [] for k in numbers}
    faulted = {k: [] for k in numbers}
    for _ in range(max(1, rounds)):
        for k, number in numbers.items():
            fn = fns[k]
            before = minor_faults()
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[k].append((time.perf_counter() - start) / number)
            if before is not None:
                faulted[k].append((minor_faults() - before) / number)
    if faults is not None:
        faults.update({k: (float(np.median(faulted[k])) if faulted.get(k) else None) for k in fns})
    return {k: (float(np.median(samples[k])) if k in samples else None) for k in fns}


def timer_name() -> str:
    return "difflab.analysis.timing.measure (median of repeated samples)"


def available_methods() -> list[str]:
    """Registered methods that can run here (their library installed and their module loading)."""
    from difflab.analysis.environment import method_infos

    return [info.name for info in method_infos() if info.available]


def stopwatch(fn: Callable[[], object]):
    """``(result, seconds)`` of one call."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


# ---------------------------------------------------------------------- growth fits
@dataclasses.dataclass
class Growth:
    """How a size grows with n: the log-log slope (power law) and the ratio per step
    (exponential), with which of the two fits the data better."""

    quantity: str
    slope: Optional[float]            # d log(y) / d log(n)
    ratio_per_step: Optional[float]   # exp(d log(y) / d n), per unit of n
    model: str                        # "power", "exponential", "constant" or "n/a"

    def describe(self) -> str:
        if self.model == "constant":
            return "constant"
        if self.model == "exponential":
            return f"x{self.ratio_per_step:.2f} per unit of n (exponential; log-log slope {self.slope:.2f})"
        if self.model == "power":
            return f"~ n^{self.slope:.2f} (power law; x{self.ratio_per_step:.2f} per unit of n)"
        return "n/a"


def fit_growth(quantity: str, ns: Sequence[float], ys: Sequence[Optional[float]]) -> Growth:
    """Fit ``y`` against ``n`` both as a power law and as an exponential (least squares on
    log y) and keep the one with the smaller residual. With five or more points the smallest
    third is left out: growth rates are about large n, where start-up terms have died out."""
    pts = [(float(n), float(y)) for n, y in zip(ns, ys)
           if y is not None and n is not None and y > 0 and n > 0]
    if len(pts) >= 5:
        pts = pts[len(pts) // 3:]
    if len(pts) < 2 or len({p[0] for p in pts}) < 2:
        return Growth(quantity, None, None, "n/a")
    n = np.array([p[0] for p in pts])
    logy = np.log([p[1] for p in pts])
    slope, res_pow = _line(np.log(n), logy)
    rate, res_exp = _line(n, logy)
    if abs(slope) < 0.05 and np.ptp(logy) < 0.05:
        model = "constant"
    else:
        model = "exponential" if res_exp < res_pow else "power"
    return Growth(quantity, float(slope), float(math.exp(rate)), model)


def _line(x, y):
    coef, residual, *_ = np.polyfit(x, y, 1, full=True)
    return coef[0], float(residual[0]) if len(residual) else 0.0


def correct_digits(rel_error: Optional[float], cap: float = 17.0) -> Optional[float]:
    """-log10 of a relative error, in [0, cap]; None stays None."""
    if rel_error is None or not math.isfinite(rel_error):
        return None
    if rel_error <= 0:
        return cap
    return float(min(cap, max(0.0, -math.log10(rel_error))))


def rel_error(value, reference) -> float:
    """Max-norm relative error of ``value`` against ``reference`` (absolute where the
    reference is tiny)."""
    value = np.asarray(value, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if value.shape != reference.shape:
        value = value.reshape(reference.shape)
    scale = max(float(np.max(np.abs(reference))) if reference.size else 0.0, 1e-300)
    err = float(np.max(np.abs(value - reference))) if reference.size else 0.0
    return err / scale if math.isfinite(err) else float("inf")


def progress_noop(description: str = "", advance: float = 0, total: Optional[float] = None) -> None:
    """The progress protocol, doing nothing: a study calls ``progress(total=N)`` to announce
    work, ``progress("what now")`` as it starts a unit and ``progress(advance=1)`` when done."""
