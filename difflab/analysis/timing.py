"""Repeated timing with a median, autorange-style, for ``compare`` and the speed experiment.

:func:`measure` first finds how many calls make one sample last long enough for the clock
(1, 2, 5, 10, 20, ... calls, as :meth:`timeit.Timer.autorange` does), then takes samples
until ``min_time`` seconds have been spent *and* ``repeat`` samples exist, or ``max_calls``
calls or ``max_time`` seconds are used up. The figure reported is the median of the samples'
seconds per call: one slow outlier (a garbage collection, a cache miss) does not move it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

#: A sample should last at least this long, so the clock's resolution does not matter.
SAMPLE_SECONDS = 2e-4


@dataclass(frozen=True)
class Timing:
    """The outcome of :func:`measure`.

    Attributes
    ----------
    median : float
        Median over samples of seconds per call: the figure to report.
    best : float
        Fastest sample's seconds per call.
    samples : int
        Number of samples taken.
    number : int
        Calls per sample.
    calls : int
        Timed calls in all (calibration included, warm-up not).
    total : float
        Seconds spent in timed calls (calibration included).
    """

    median: float
    best: float
    samples: int
    number: int
    calls: int
    total: float


def measure(fn: Callable, *args, repeat: int = 5, min_time: float = 0.05,
            max_calls: int = 100_000, max_time: float = 2.0, warmup: int = 1) -> Timing:
    """Time ``fn(*args)``: the median over repeated samples of seconds per call.

    Parameters
    ----------
    fn : callable
        Called as ``fn(*args)``; its result is discarded.
    repeat : int
        At least this many samples (fewer only when ``max_time`` or ``max_calls`` stops it).
    min_time : float
        Keep sampling until this many seconds have been spent in timed calls.
    max_calls : int
        Never more calls than this (calibration included).
    max_time : float
        Stop taking samples once this many seconds have been spent (a slow function is
        then timed over fewer samples, at least one).
    warmup : int
        Untimed calls first (caches, lazy compilation).

    Returns
    -------
    Timing
    """
    repeat, max_calls = max(1, int(repeat)), max(1, int(max_calls))
    for _ in range(max(0, int(warmup))):
        fn(*args)
    number, calls, total, per_call = 1, 0, 0.0, []
    # Calibrate: grow the calls per sample 1, 2, 5, 10, ... until a sample is long enough;
    # each calibration sample counts, the last one as a real sample.
    while True:
        seconds = _sample(fn, args, number)
        calls, total = calls + number, total + seconds
        if seconds >= SAMPLE_SECONDS or calls + 2 * number > max_calls or total >= max_time:
            per_call.append(seconds / number)
            break
        number = _next_number(number)
    while ((total < min_time or len(per_call) < repeat)
           and calls + number <= max_calls and total < max_time):
        seconds = _sample(fn, args, number)
        calls, total = calls + number, total + seconds
        per_call.append(seconds / number)
    return Timing(median=float(np.median(per_call)), best=float(min(per_call)),
                  samples=len(per_call), number=number, calls=calls, total=total)


def _sample(fn, args, number) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn(*args)
    return time.perf_counter() - start


def _next_number(number: int) -> int:
    """1, 2, 5, 10, 20, 50, ..."""
    digits = 10 ** (len(str(number)) - 1)
    lead = number // digits
    return {1: 2, 2: 5}.get(lead, 10) * digits


def format_seconds(seconds: float | None) -> str:
    """``2.3e-5`` -> ``"23.0 µs"``; None -> ``"—"``."""
    if seconds is None or not np.isfinite(seconds):
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"
