"""The gradient of a model's loss by any difflab method, chosen by name at ``compile``.

The whole forward pass and the loss are one function of the flat parameter vector
(:meth:`nets.Sequential.objective`), written with ``difflab.namespace``. Its data, the
current batch, is read from ``model.batch`` rather than closed over, so one
:class:`difflab.Function` serves the whole training run and a method's preparation (its
cache is per function object and per input shape) is done once, not once per batch.

The compiled tape (``reverse`` with ``jit=True``, the training default) runs a program
traced once per parameter shape, and reads the batch through the same ``model.batch``
attribute at each call: the batch is an input of the program, not a constant (a last, smaller
batch is a second program, kept beside the first).

That only holds for methods that re-run the Python function at every call. A method that
freezes closed-over data when it prepares (``sympy``, whose expression keeps the batch's
numbers as constants; ``jax``/``tensorflow`` with ``jit=True``, whose compiled program does;
see :mod:`difflab.interface.snapshot`) would have to prepare again at every new batch. For such methods :class:`GradientSource` prepares once per
distinct batch (keyed by the batch's contents, a few kept): exact, and affordable for the
tiny networks of the worked examples with one full batch, and hopeless beyond them, which
is why compiling a bigger network with ``sympy`` warns. The jit methods compile once per
distinct batch too: one compile for full-batch training.
"""
from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict

import difflab
from difflab.interface.snapshot import freezes_closure

from .backprop import Backprop

#: Options a method trains with unless compile() names them: difflab's reverse mode trains
#: on the compiled tape (measured faster than the tape engine and than hand-written backprop
#: per epoch on iris and digits; docs/methods.md). ``compile(..., jit=False)`` keeps the tape.
#: The loss brings every piece of data in with ``xp.asarray`` (inputs, targets and dropout
#: masks, which the compiled program reads afresh at each call), so the closure check that
#: guards users' functions (``check_closure``, see difflab.backends.own_ad) is not needed:
#: tests/test_compiled.py checks training with dropout against the tape.
TRAINING_DEFAULTS = {"reverse": {"jit": True, "check_closure": False}}
#: How many prepared batches a method that freezes data keeps.
PREPARED_BATCHES_KEPT = 8
#: Above this many parameters x batch values, a data-tracing method warns that it is slow.
SYMBOLIC_SIZE_WARNING = 2_000


class GradientSource:
    """``source(theta) -> (loss, gradient)`` for ``model.batch``, by the method ``name``."""

    def __init__(self, model, name: str, **options):
        self.name = str(name)
        options = {**TRAINING_DEFAULTS.get(self.name, {}), **options}
        self.method = difflab.get(self.name, **options)
        self._options = options  # dtype and budgets included, for each batch's own method
        ok, why = self.method.availability()
        if not ok:
            raise ValueError(f"differentiator {self.name!r} is not available: {why}")
        self.model = model
        if self.method.family == "manual":
            backprop = Backprop(model)
            self._function = lambda: difflab.Function(backprop.value, gradient=backprop.gradient,
                                                      name=f"{model.name} loss (backprop)")
        else:
            self._function = lambda: difflab.Function(model.objective, name=f"{model.name} loss")
        self.traces_data = freezes_closure(self.method)
        self._prepared: OrderedDict = OrderedDict()
        self._single = None if self.traces_data else self.method.value_and_gradient(self._function())

    def warn_if_large(self, batch_size: int) -> None:
        size = self.model.parameters.size * batch_size
        if self.method.family == "symbolic" and size > SYMBOLIC_SIZE_WARNING:
            warnings.warn(
                f"{self.name} derives a symbolic expression of the loss for every distinct batch "
                f"({self.model.parameters.size} parameters x {batch_size} samples); expect minutes "
                "per batch. It is meant for the tiny worked examples; use an AD method for training.",
                UserWarning, stacklevel=3)

    def __call__(self, theta):
        if self._single is not None:
            return self._single(theta)
        batch = self.model.batch
        arrays = [*_arrays(batch.x), *_arrays(batch.y), *batch.masks.values()]
        key = hashlib.sha1(b"".join(a.tobytes() for a in arrays)).hexdigest()
        derivative = self._prepared.pop(key, None)
        if derivative is None:
            derivative = difflab.get(self.name, **self._options).value_and_gradient(self._function())
        self._prepared[key] = derivative
        while len(self._prepared) > PREPARED_BATCHES_KEPT:
            self._prepared.popitem(last=False)
        return derivative(theta)


def _arrays(data) -> list:
    """An array, or the arrays of a functional model's several inputs or targets."""
    return list(data) if isinstance(data, (list, tuple)) else [data]
