"""Symbolic tensors: ``Input`` and the record of a layer called on one (the functional API).

This sits below the layers: :meth:`nets.layers.Layer.__call__` hands a symbolic input to
:func:`call_layer`, which builds the layer for the tensor's shape and records a :class:`Node`;
:mod:`nets.functional` walks the nodes. Nothing here imports a layer class: layers are read
through what every layer has (``build_shape``, ``output_shape``, ``takes_list``, ``takes_ids``).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from .utils import positive_int


def shape_text(shape) -> str:
    """A per-sample shape as Keras prints an output shape: ``(None, 4, 2)``."""
    return "(" + ", ".join(["None", *("None" if s is None else str(s) for s in shape)]) + ")"


@dataclass(eq=False)
class SymbolicTensor:
    """A placeholder for data: its per-sample ``shape`` and the node that makes it (None for an Input)."""

    shape: tuple
    node: Node | None = None
    name: str | None = None

    def __repr__(self):
        return f"<SymbolicTensor shape={shape_text(self.shape)} from {self.name or self.node.layer.name}>"


@dataclass(eq=False)
class Node:
    """One call of a layer: which tensors it read and the tensor it made."""

    layer: object
    inputs: list
    output: SymbolicTensor
    call_index: int  # the how-many-th call of this layer (Keras's node index)


def Input(shape, name=None) -> SymbolicTensor:
    """A model input: ``shape`` per sample, without the batch axis (None for any length)."""
    if isinstance(shape, int):
        shape = (shape,)
    try:
        shape = tuple(None if s is None else positive_int(s, "shape") for s in shape)
    except TypeError:
        raise ValueError(f"Input shape must be a tuple of positive integers, got {shape!r}") from None
    if not shape:
        raise ValueError("Input needs a shape with at least one axis, such as (4,) or (10, 3)")
    return SymbolicTensor(shape, None, name)


def is_symbolic(inputs) -> bool:
    """Whether ``inputs`` (a tensor or a list of them) are symbolic tensors."""
    tensors = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    return bool(tensors) and any(isinstance(t, SymbolicTensor) for t in tensors)


#: Numbers the layers' first calls, so a model names its unnamed layers in the order written.
_CALL_ORDER = itertools.count()


def call_layer(layer, inputs):
    """``layer(inputs)`` on symbolic tensors: build (or check, for a shared layer) and record."""
    several = isinstance(inputs, (list, tuple))
    tensors = list(inputs) if several else [inputs]
    if not tensors or not all(isinstance(t, SymbolicTensor) for t in tensors):
        raise ValueError(f"layer {layer.name or type(layer).__name__} was called on {inputs!r}; in the "
                         "functional API call layers on nets.Input(...) or on another layer's output")
    if several != getattr(layer, "takes_list", False):
        raise ValueError(f"{type(layer).__name__} takes " + ("a list of tensors" if not several
                                                           else "one tensor, not a list"))
    if getattr(layer, "takes_ids", False) and tensors[0].node is not None:
        raise ValueError(f"{type(layer).__name__} takes integer ids straight from an Input; "
                         "call it on nets.Input(...)")
    shapes = [t.shape for t in tensors]
    calls = getattr(layer, "_calls", [])
    if calls:  # a shared layer: same weights, so the same input shapes
        if shapes != calls[0]:
            raise ValueError(f"layer {layer.name} is shared but was built for inputs {calls[0]} and now "
                             f"receives {shapes}")
        shape = layer.output_shape
    else:
        layer.input_shape = shapes if several else shapes[0]
        shape = layer.build_shape(layer.input_shape)
    if not calls:
        layer._first_call = next(_CALL_ORDER)
    layer._calls = calls + [shapes]
    output = SymbolicTensor(tuple(shape))
    output.node = Node(layer, tensors, output, len(calls))
    return output
