"""Optimisers with Keras 3's update rules and defaults, acting on one flat parameter vector.

``step(theta, grad)`` updates ``theta`` in place. Every optimiser accepts a float learning
rate or a schedule (:class:`ExponentialDecay`), called with the number of steps taken.
"""
from __future__ import annotations

import numpy as np

from ._lookup import lookup


class ExponentialDecay:
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (floored with ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        if decay_steps <= 0:
            raise ValueError(f"decay_steps must be positive, got {decay_steps}")
        self.initial_learning_rate, self.decay_steps = float(initial_learning_rate), decay_steps
        self.decay_rate, self.staircase = float(decay_rate), bool(staircase)

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (np.floor(p) if self.staircase else p)

    def get_config(self):
        return {"class_name": "ExponentialDecay", **{k: getattr(self, k) for k in (
            "initial_learning_rate", "decay_steps", "decay_rate", "staircase")}}


class Optimizer:
    """Base: the learning rate (or schedule), the step count, and per-parameter slots."""

    #: Constructor arguments, for get_config (and saving).
    _config: tuple = ()

    def __init__(self, learning_rate=0.001):
        if not callable(learning_rate) and not float(learning_rate) >= 0:
            raise ValueError(f"learning_rate must be a non-negative number or a schedule, got {learning_rate}")
        self.learning_rate = learning_rate
        self.iterations = 0
        self._slots: dict[str, np.ndarray] = {}

    def current_learning_rate(self) -> float:
        lr = self.learning_rate
        return float(lr(self.iterations) if callable(lr) else lr)

    def slot(self, name, like, fill=0.0):
        s = self._slots.get(name)
        if s is None or s.shape != like.shape:
            s = self._slots[name] = np.full_like(like, fill, dtype=float)
        return s

    def step(self, theta: np.ndarray, grad: np.ndarray) -> None:
        """One update of ``theta`` (in place) from ``grad``."""
        self._update(theta, grad, self.current_learning_rate())
        self.iterations += 1

    def _update(self, theta, grad, lr):
        raise NotImplementedError

    def get_config(self) -> dict:
        lr = self.learning_rate
        return {"class_name": type(self).__name__,
                "learning_rate": lr.get_config() if hasattr(lr, "get_config") else float(lr),
                **{k: getattr(self, k) for k in self._config}}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "class_name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Plain, momentum or Nesterov gradient descent (Keras: learning_rate 0.01)."""

    _config = ("momentum", "nesterov")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _update(self, theta, grad, lr):
        if not self.momentum:
            theta -= lr * grad
            return
        m = self.slot("momentum", theta)
        m *= self.momentum
        m -= lr * grad
        theta += self.momentum * m - lr * grad if self.nesterov else m


class Adagrad(Optimizer):
    _config = ("initial_accumulator_value", "epsilon")

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
        super().__init__(learning_rate)
        self.initial_accumulator_value, self.epsilon = float(initial_accumulator_value), float(epsilon)

    def _update(self, theta, grad, lr):
        acc = self.slot("accumulator", theta, self.initial_accumulator_value)
        acc += grad * grad
        theta -= lr * grad / np.sqrt(acc + self.epsilon)


class RMSprop(Optimizer):
    _config = ("rho", "momentum", "epsilon", "centered")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
        super().__init__(learning_rate)
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.centered = bool(centered)

    def _update(self, theta, grad, lr):
        v = self.slot("velocity", theta)
        v *= self.rho
        v += (1.0 - self.rho) * grad * grad
        denominator = v + self.epsilon
        if self.centered:
            avg = self.slot("average_gradient", theta)
            avg *= self.rho
            avg += (1.0 - self.rho) * grad
            denominator = denominator - avg * avg
        increment = lr * grad / np.sqrt(denominator)
        if self.momentum:
            m = self.slot("momentum", theta)
            m *= self.momentum
            m += increment
            increment = m
        theta -= increment


class Adam(Optimizer):
    """Adam as Keras writes it: bias correction folded into the step, epsilon added after sqrt."""

    _config = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _update(self, theta, grad, lr):
        t = self.iterations + 1
        alpha = lr * np.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)
        m, v = self.slot("m", theta), self.slot("v", theta)
        m += (grad - m) * (1.0 - self.beta_1)
        v += (grad * grad - v) * (1.0 - self.beta_2)
        theta -= alpha * m / (np.sqrt(v) + self.epsilon)


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam}


def get(optimizer, learning_rate=None) -> Optimizer:
    """An optimiser from an instance, a name (``"adam"``) or a config dict."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, dict):
        config = dict(optimizer)
        cls = lookup("optimizer", config.pop("class_name", ""), OPTIMIZERS)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            lr = dict(lr)
            lr.pop("class_name")
            config["learning_rate"] = ExponentialDecay(**lr)
        return cls(**config)
    cls = lookup("optimizer", optimizer, OPTIMIZERS)
    return cls() if learning_rate is None else cls(learning_rate=learning_rate)
