"""The forward pass a layer is called in: its namespace, every layer's weights, the batch.

Every model runs its layers through one :class:`ForwardPass`: a ``Sequential`` chain, a
functional graph and a subclassed model's own ``call`` alike. Inside it, ``layer(x)`` (and a
nested model's ``model(x)``) finds the layer's weights and the batch here, so a subclassed
model's ``call(self, x, training=None)`` is plain Keras code over whatever tensors the
differentiator traces. The ``training`` flag reaches every layer as Keras passes it: a
layer's own ``training=`` argument, else the innermost enclosing call's, else the batch's.
Layers with state that no gradient trains (BatchNormalization's moving statistics) report
their update here when the pass collects updates; the model applies them after the step.

The pass is per thread (a stack, for nested models), so models trained in several threads
do not see each other's passes.
"""
from __future__ import annotations

import contextlib
import dataclasses
import threading

_local = threading.local()


class ForwardPass:
    """One evaluation of a model: ``weights`` maps ``id(layer)`` to its weight arrays.

    ``updates`` (a dict, or None not to collect) receives ``id(layer) -> {weight index:
    value}`` from layers with an ``updated_state`` in training mode. ``builder(layer, x)``,
    when given, builds a layer met for the first time and returns its initial weights (a
    subclassed model's build).
    """

    def __init__(self, xp, weights: dict, batch, updates=None, builder=None):
        self.xp, self.weights, self.batch = xp, weights, batch
        self.training = bool(batch.training)
        self.updates, self.builder = updates, builder

    def apply(self, layer, x, training=None):
        """``layer`` on ``x`` in this pass."""
        flag = self.training if training is None else bool(training)
        batch = self.batch if flag == self.batch.training else dataclasses.replace(self.batch, training=flag)
        weights = self.weights.get(id(layer))
        if weights is None:
            if self.builder is None:
                raise ValueError(f"layer {layer.name or type(layer).__name__} is not one of this "
                                 "model's layers; assign it as an attribute of the model in __init__")
            weights = self.weights[id(layer)] = self.builder(layer, x)
        y = layer.call(self.xp, weights, x, batch)
        if self.updates is not None and flag and hasattr(layer, "updated_state"):
            self.updates[id(layer)] = layer.updated_state(weights, x)
        return y

    @contextlib.contextmanager
    def training_as(self, training):
        """Within: layers called without ``training=`` take ``training`` (None leaves it)."""
        saved = self.training
        if training is not None:
            self.training = bool(training)
        try:
            yield
        finally:
            self.training = saved


def current() -> ForwardPass | None:
    """The innermost pass running in this thread, or None."""
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


@contextlib.contextmanager
def running(forward_pass: ForwardPass):
    """Make ``forward_pass`` the current one within the block."""
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(forward_pass)
    try:
        yield forward_pass
    finally:
        stack.pop()
