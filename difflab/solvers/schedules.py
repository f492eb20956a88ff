"""Learning-rate schedules: callables ``epoch -> learning rate`` (epoch counts from 0).

>>> exponential_decay(0.2, 0.99)(1)
0.198
"""
from __future__ import annotations

import math

from ..errors import InputError


class Schedule:
    """Base of the schedules; ``repr`` is what reports print."""

    def __call__(self, epoch: int) -> float:
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class constant(Schedule):
    """``lr`` at every epoch."""

    def __init__(self, lr: float):
        self.lr = _positive("lr", lr)

    def __call__(self, epoch):
        return self.lr


class exponential_decay(Schedule):
    """``lr * rate ** epoch`` (the seeds' 0.2 * 0.99^epoch)."""

    def __init__(self, lr: float, rate: float = 0.99):
        self.lr, self.rate = _positive("lr", lr), _positive("rate", rate)

    def __call__(self, epoch):
        return self.lr * self.rate ** epoch


class step_decay(Schedule):
    """``lr * factor ** (epoch // every)``."""

    def __init__(self, lr: float, factor: float = 0.5, every: int = 100):
        self.lr, self.factor = _positive("lr", lr), _positive("factor", factor)
        self.every = int(_positive("every", every))

    def __call__(self, epoch):
        return self.lr * self.factor ** (epoch // self.every)


class inverse_time_decay(Schedule):
    """``lr / (1 + rate * epoch)``, the Robbins-Monro decay stochastic descent needs."""

    def __init__(self, lr: float, rate: float = 0.01):
        self.lr, self.rate = _positive("lr", lr), float(rate)

    def __call__(self, epoch):
        return self.lr / (1.0 + self.rate * epoch)


#: Names the CLI accepts for ``--schedule``.
SCHEDULES = {"constant": constant, "exponential": exponential_decay, "step": step_decay,
             "inverse-time": inverse_time_decay}


def make_schedule(schedule, lr: float) -> Schedule:
    """A schedule from ``None`` (constant ``lr``), a name in :data:`SCHEDULES`, or a callable."""
    if schedule is None:
        return constant(lr)
    if isinstance(schedule, str):
        if schedule not in SCHEDULES:
            raise InputError(f"unknown schedule {schedule!r}; choose from {', '.join(SCHEDULES)}")
        return SCHEDULES[schedule](lr)
    if callable(schedule):
        return schedule
    raise InputError(f"schedule must be a name, a callable epoch -> lr or None, not {schedule!r}")


def _positive(name, value):
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a positive number, got {value!r}")
    return value
