"""A model used inside another: ``Sequential([base, Dense(10)])``, ``y = base(x)`` in a
functional model, ``self.block(x)`` in a subclassed model's ``call``, as Keras allows.

One way for all of them: the nested model's *layers* become the outer model's. Their weights
join the outer model's list in their place (Keras's ``get_weights`` order), and they run in
the outer model's forward pass (:mod:`nets.forward_pass`), so the training flag, dropout
masks and BatchNormalization's moving statistics reach them as any other layer's.

- Nested in a ``Sequential`` or a subclassed model, the model stays one entry of ``layers``
  (one summary row) and runs its own ``_call_model`` inside the pass.
- Called on symbolic tensors (:func:`call_symbolic`), its layers are called on them in turn
  (a functional model's nodes replayed): the graph written holds those layers, shared when the
  model is called twice.

A nested model that is already built lends its current weights as the starting point
(:func:`start_from_nested`); the outer model owns the values from then on, and training it
does not write back into the inner model (copy them with ``inner.set_weights(...)`` if needed).
"""
from __future__ import annotations

import numpy as np


def mark_nested(model) -> None:
    """Note on each of ``model``'s layers that it came from ``model`` (see :func:`start_from_nested`)."""
    for layer in model._leaf_layers():
        layer._nested_in = model


def start_from_nested(parameters) -> None:
    """Give each layer that came from a built nested model that model's current weights."""
    for i, layer in enumerate(parameters.layers):
        inner = getattr(layer, "_nested_in", None)
        if inner is None or not inner.built or inner.parameters is parameters:
            continue
        index = next((j for j, l in enumerate(inner.parameters.layers) if l is layer), None)
        if index is None:
            continue
        weights = inner.parameters.layer_weights(index)
        if [np.shape(w) for w in weights] == [tuple(spec.shape) for spec in layer.weight_specs]:
            parameters.set_layer_weights(i, weights)


def call_symbolic(model, inputs):
    """``model(inputs)`` on symbolic tensors: its layers called on them, in its order."""
    several = isinstance(inputs, (list, tuple))
    tensors = list(inputs) if several else [inputs]
    given = [tuple(t.shape) for t in tensors]
    graph_inputs = getattr(model, "inputs", None)
    if graph_inputs is None and "_tracked" in model.__dict__:
        raise ValueError(f"model {model.name} is a subclassed model: call it inside another subclassed "
                         "model's call, nest it in a Sequential, or call it on arrays")
    expected = [tuple(t.shape) for t in graph_inputs] if graph_inputs is not None else [model.declared_input_shape()]
    if len(given) != len(expected) or any(e is not None and (len(e) != len(g) or any(
            d is not None and d != s for d, s in zip(e, g))) for e, g in zip(expected, given)):
        def text(shapes):
            return str(shapes[0]) if len(shapes) == 1 else str(shapes)
        raise ValueError(f"model {model.name} takes inputs of shape {text(expected)}, got {text(given)}")
    if not model.built and None not in given[0]:
        model.build(given[0])  # as Keras: a model called on a tensor is built for it
    mark_nested(model)
    if graph_inputs is None:  # a chain
        x = inputs
        for layer in model.layers:
            x = layer(x)
        return x
    made = {id(t): tensor for t, tensor in zip(graph_inputs, tensors)}
    for node in model.nodes:
        args = [made[id(t)] for t in node.inputs]
        made[id(node.output)] = node.layer(args if getattr(node.layer, "takes_list", False) else args[0])
    outputs = [made[id(t)] for t in model.outputs]
    return outputs[0] if model.single_output else outputs
