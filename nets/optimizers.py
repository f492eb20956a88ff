"""Optimisers acting on one flat parameter vector: Keras 3's update rules and defaults, plus
the forms the lecture notes write.

``step(theta, grad)`` updates ``theta`` in place. Every optimiser accepts a float learning
rate or a schedule (:class:`ExponentialDecay`, :class:`InverseTimeDecay`), called with the
number of steps taken.

The notes' rules are options of the same classes, named as PyTorch names them
(:data:`RULE_SETS` lists both forms of the five optimisers the notes compare):

- ``SGD(momentum=0.9, dampening=0.9)``: momentum as an exponential moving average,
  ``m = 0.9 m + 0.1 g`` (PyTorch's ``dampening``; Keras's momentum has no ``1 - beta``).
- ``Adagrad(initial_accumulator_value=0.0)``: the sum of squared gradients from zero
  (Keras starts it at 0.1).
- ``epsilon=0.0`` on Adagrad, RMSprop and Adam: the notes' forms, which have no epsilon. A
  component whose denominator is exactly 0 (its gradients so far all 0) then takes a step of
  0, the limit as epsilon goes to 0, rather than 0/0.
- Where epsilon sits: Adagrad and RMSprop add it *inside* the square root, ``g / sqrt(v +
  eps)`` (Keras); ``epsilon_inside_sqrt=False`` adds it outside, ``g / (sqrt(v) + eps)``
  (PyTorch). Adam adds it to ``sqrt(v)`` of the *uncorrected* second moment (Keras), which is
  the paper's form with ``eps / sqrt(1 - beta_2**t)`` in place of ``eps``; with ``epsilon=0``
  it is exactly the notes' ``m_hat / sqrt(v_hat)``.

Keras 2 habits: ``lr=`` is accepted for ``learning_rate`` and ``decay=`` as Keras 2's
inverse-time decay ``lr / (1 + decay * iterations)`` (an :class:`InverseTimeDecay`), each with
a DeprecationWarning naming the current spelling.
"""
from __future__ import annotations

import inspect
import warnings

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
        return {"class_name": type(self).__name__, **{k: getattr(self, k) for k in (
            "initial_learning_rate", "decay_steps", "decay_rate", "staircase")}}


class InverseTimeDecay(ExponentialDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floored with
    ``staircase``), Keras's schedule; with ``decay_steps=1`` it is Keras 2's ``decay``."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase)
        if self.decay_rate < 0:
            raise ValueError(f"decay_rate must be non-negative, got {decay_rate}")

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate / (1.0 + self.decay_rate * (np.floor(p) if self.staircase else p))


SCHEDULES = {"exponentialdecay": ExponentialDecay, "inversetimedecay": InverseTimeDecay}


def _divide(numerator, denominator):
    """``numerator / denominator``, with 0 where the denominator is 0 (the epsilon -> 0 limit:
    a zero denominator only comes from gradients that were all 0)."""
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def _root(v, epsilon, inside: bool):
    """``sqrt(v + eps)`` (Keras) or ``sqrt(v) + eps`` (PyTorch)."""
    return np.sqrt(v + epsilon) if inside else np.sqrt(v) + epsilon


def _non_negative(value, what):
    value = float(value)
    if not value >= 0:
        raise ValueError(f"{what} must be non-negative, got {value}")
    return value


def _fraction(value, what):
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{what} must be in [0, 1], got {value}")
    return value


class Optimizer:
    """Base: the learning rate (or schedule), the step count, and per-parameter slots.

    ``lr`` and ``decay`` are Keras 2's spellings, accepted with a DeprecationWarning.
    """

    #: Constructor arguments, for get_config (and saving).
    _config: tuple = ()

    def __init__(self, learning_rate=0.001, lr=None, decay=None):
        learning_rate = self._legacy_learning_rate(learning_rate, lr, decay)
        if not callable(learning_rate) and not float(learning_rate) >= 0:
            raise ValueError(f"learning_rate must be a non-negative number or a schedule, got {learning_rate}")
        self.learning_rate = learning_rate
        self.iterations = 0
        self._slots: dict[str, np.ndarray] = {}

    def _legacy_learning_rate(self, learning_rate, lr, decay):
        """``learning_rate`` from Keras 2's ``lr`` and ``decay``, warning about each."""
        name = type(self).__name__
        if lr is not None:
            warnings.warn(f"{name}(lr=...) is Keras 2's spelling; use learning_rate=...",
                          DeprecationWarning, stacklevel=4)
            default = inspect.signature(type(self).__init__).parameters["learning_rate"].default
            if learning_rate is not default and learning_rate != default:
                raise ValueError(f"{name}: give learning_rate or lr (its old name), not both")
            learning_rate = lr
        if decay is not None:
            warnings.warn(f"{name}(decay=...) is Keras 2's inverse-time decay; use learning_rate="
                          f"InverseTimeDecay(learning_rate, decay_steps=1, decay_rate=decay)",
                          DeprecationWarning, stacklevel=4)
            if _non_negative(decay, "decay") > 0:
                if callable(learning_rate):
                    raise ValueError(f"{name}: decay applies to a fixed learning rate, not to a schedule")
                learning_rate = InverseTimeDecay(learning_rate, 1, decay)
        return learning_rate

    def current_learning_rate(self) -> float:
        lr = self.learning_rate
        return float(lr(self.iterations) if callable(lr) else lr)

    def slot(self, name, like, fill=0.0):
        dtype = like.dtype if like.dtype.kind == "f" else np.dtype(float)  # float32 training stays float32
        s = self._slots.get(name)
        if s is None or s.shape != like.shape:
            s = self._slots[name] = np.full_like(like, fill, dtype=dtype)
        elif s.dtype != dtype:  # e.g. loaded from a file
            s = self._slots[name] = s.astype(dtype)
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
    """Plain, momentum or Nesterov gradient descent (Keras: learning_rate 0.01).

    With momentum, ``m = momentum * m - (1 - dampening) * lr * g`` and ``theta += m`` (Keras's
    form when ``dampening=0``). ``dampening=momentum`` is the notes' SGDM, ``m = beta m + (1 -
    beta) g``, ``theta -= lr m``: the same sequence for a constant learning rate (with a
    schedule, Keras's form applies each step's rate as the gradient enters the average).
    PyTorch's buffer starts at the first gradient undamped; this one, like Keras's and the
    notes', starts at zero.
    """

    _config = ("momentum", "nesterov", "dampening")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, dampening=0.0, **legacy):
        super().__init__(learning_rate, **legacy)
        self.momentum, self.nesterov = _fraction(momentum, "momentum"), bool(nesterov)
        self.dampening = _fraction(dampening, "dampening")
        if self.nesterov and self.dampening:
            raise ValueError("Nesterov momentum takes no dampening (as in PyTorch)")

    def _update(self, theta, grad, lr):
        if not self.momentum:
            theta -= lr * grad
            return
        m = self.slot("momentum", theta)
        m *= self.momentum
        m -= (1.0 - self.dampening) * lr * grad
        theta += self.momentum * m - lr * grad if self.nesterov else m


class Adagrad(Optimizer):
    """``acc += g**2``, ``theta -= lr g / sqrt(acc + eps)`` (Keras: acc from 0.1; the notes: from
    0 with no epsilon, ``Adagrad(initial_accumulator_value=0.0, epsilon=0.0)``)."""

    _config = ("initial_accumulator_value", "epsilon", "epsilon_inside_sqrt")

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 epsilon_inside_sqrt=True, **legacy):
        super().__init__(learning_rate, **legacy)
        self.initial_accumulator_value = _non_negative(initial_accumulator_value, "initial_accumulator_value")
        self.epsilon, self.epsilon_inside_sqrt = _non_negative(epsilon, "epsilon"), bool(epsilon_inside_sqrt)

    def _update(self, theta, grad, lr):
        acc = self.slot("accumulator", theta, self.initial_accumulator_value)
        acc += grad * grad
        theta -= _divide(lr * grad, _root(acc, self.epsilon, self.epsilon_inside_sqrt))


class RMSprop(Optimizer):
    """``v = rho v + (1 - rho) g**2``, ``theta -= lr g / sqrt(v + eps)`` (Keras), optionally
    centered and with momentum; ``epsilon=0.0`` is the notes' form."""

    _config = ("rho", "momentum", "epsilon", "centered", "epsilon_inside_sqrt")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 epsilon_inside_sqrt=True, **legacy):
        super().__init__(learning_rate, **legacy)
        self.rho, self.momentum = _fraction(rho, "rho"), _fraction(momentum, "momentum")
        self.epsilon, self.epsilon_inside_sqrt = _non_negative(epsilon, "epsilon"), bool(epsilon_inside_sqrt)
        self.centered = bool(centered)

    def _update(self, theta, grad, lr):
        v = self.slot("velocity", theta)
        v *= self.rho
        v += (1.0 - self.rho) * grad * grad
        if self.centered:
            avg = self.slot("average_gradient", theta)
            avg *= self.rho
            avg += (1.0 - self.rho) * grad
        if self.epsilon_inside_sqrt:
            denominator = v + self.epsilon
            if self.centered:
                denominator = denominator - avg * avg
            denominator = np.sqrt(denominator)
        else:
            denominator = np.sqrt(v - avg * avg if self.centered else v) + self.epsilon
        increment = _divide(lr * grad, denominator)
        if self.momentum:
            m = self.slot("momentum", theta)
            m *= self.momentum
            m += increment
            increment = m
        theta -= increment


class Adam(Optimizer):
    """Adam as Keras writes it: bias correction folded into the step, epsilon added after sqrt
    of the uncorrected second moment; ``epsilon=0.0`` is the notes' form exactly."""

    _config = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **legacy):
        super().__init__(learning_rate, **legacy)
        self.beta_1, self.beta_2 = _fraction(beta_1, "beta_1"), _fraction(beta_2, "beta_2")
        self.epsilon = _non_negative(epsilon, "epsilon")

    def _update(self, theta, grad, lr):
        t = self.iterations + 1
        alpha = lr * np.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)
        m, v = self.slot("m", theta), self.slot("v", theta)
        m += (grad - m) * (1.0 - self.beta_1)
        v += (grad * grad - v) * (1.0 - self.beta_2)
        theta -= _divide(alpha * m, np.sqrt(v) + self.epsilon)


class Adadelta(Optimizer):
    """Adadelta as Keras 3 writes it (learning_rate 0.001, rho 0.95, epsilon 1e-7):
    ``a = rho a + (1 - rho) g**2``, ``d = -sqrt(b + eps) / sqrt(a + eps) g``,
    ``b = rho b + (1 - rho) d**2``, ``theta += lr d``."""

    _config = ("rho", "epsilon")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **legacy):
        super().__init__(learning_rate, **legacy)
        self.rho, self.epsilon = _fraction(rho, "rho"), _non_negative(epsilon, "epsilon")
        if not self.epsilon:
            raise ValueError("Adadelta needs epsilon > 0: its first step is sqrt(epsilon)-sized")

    def _update(self, theta, grad, lr):
        acc_grad, acc_delta = self.slot("accumulated_grad", theta), self.slot("accumulated_delta", theta)
        acc_grad *= self.rho
        acc_grad += (1.0 - self.rho) * grad * grad
        delta = -np.sqrt(acc_delta + self.epsilon) * grad / np.sqrt(acc_grad + self.epsilon)
        acc_delta *= self.rho
        acc_delta += (1.0 - self.rho) * delta * delta
        theta += lr * delta


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "adadelta": Adadelta}

#: The five optimisers the notes compare: name -> (class, Keras's options, the notes' options).
#: Both forms share the learning rate they are given.
RULE_SETS = {
    "sgd": (SGD, {}, {}),
    "sgdm": (SGD, {"momentum": 0.9}, {"momentum": 0.9, "dampening": 0.9}),
    "adagrad": (Adagrad, {}, {"initial_accumulator_value": 0.0, "epsilon": 0.0}),
    "rmsprop": (RMSprop, {}, {"epsilon": 0.0}),
    "adam": (Adam, {}, {"epsilon": 0.0}),
}
#: Which of the two forms: the option sets' positions in RULE_SETS.
RULES = {"keras": 1, "notes": 2}


def with_rules(name: str, rules: str = "keras", learning_rate=None) -> Optimizer:
    """One of :data:`RULE_SETS` (``"sgdm"``, ...) in Keras's form or the notes'."""
    entry = lookup("optimizer", name, RULE_SETS)
    options = dict(entry[lookup("rule set", rules, RULES)])
    if learning_rate is not None:
        options["learning_rate"] = learning_rate
    return entry[0](**options)


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
            config["learning_rate"] = lookup("schedule", lr.pop("class_name", ""), SCHEDULES)(**lr)
        return cls(**config)
    cls = lookup("optimizer", optimizer, OPTIMIZERS)
    return cls() if learning_rate is None else cls(learning_rate=learning_rate)
