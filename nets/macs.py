"""Multiply-add counts per layer: what ``model.summary(show_macs=True)`` adds to the table.

One multiply-add (MAC) is one product of an input with a weight added into a sum. Per sample
and forward pass:

- a layer whose output at each position is a dot product with its whole kernel (``Dense``,
  ``Conv2D``, ``Conv1D``): positions x kernel size, where the positions are the output's
  axes before the last (1 for a flat ``Dense``, height x width for ``Conv2D``) and the kernel
  size is the product of its shape (inputs x units, or kh x kw x channels x filters);
- a recurrent layer: time steps x (kernel size + recurrent kernel size), since every step
  multiplies the input and the previous state by them;
- layers without weight products (activations, pooling, ``Flatten``, ``Dropout``, the
  normalisations' scale and shift, ``Embedding``'s lookup): 0.

Biases, activations and normalisation are elementwise and not counted, as is usual. A layer
nets cannot count (one with other weights) shows "?" and is left out of the total.
"""
from __future__ import annotations

import math

#: Layers with weights but no products of inputs with weights to count.
NO_PRODUCTS = ("BatchNormalization", "LayerNormalization", "Embedding")


def layer_macs(layer, input_shape, output_shape):
    """Multiply-adds of ``layer`` for one sample (per-sample shapes, no batch axis), or None
    when nets does not know how to count them."""
    specs = {spec.name: tuple(spec.shape) for spec in layer.weight_specs}
    if "recurrent_kernel" in specs:
        return int(input_shape[0]) * (math.prod(specs["kernel"]) + math.prod(specs["recurrent_kernel"]))
    if "kernel" in specs:
        return math.prod(output_shape[:-1]) * math.prod(specs["kernel"])
    if not specs or type(layer).__name__ in NO_PRODUCTS:
        return 0
    return None


def layer_shapes(model) -> list:
    """``[(layer, input shape, output shape)]`` in ``model.layers`` order (per sample)."""
    model._need_built()
    if hasattr(model, "nodes"):  # functional: each layer's first call
        first = {}
        for node in model.nodes:
            first.setdefault(id(node.layer), node)
        return [(layer, tuple(first[id(layer)].inputs[0].shape), tuple(first[id(layer)].output.shape))
                for layer in model.layers]
    shapes, shape = [], tuple(model.input_shape)
    for layer in model.layers:
        shapes.append((layer, shape, tuple(layer.output_shape)))
        shape = tuple(layer.output_shape)
    return shapes


def count_macs(model) -> int:
    """The model's multiply-adds per sample (the layers nets can count)."""
    return sum(m for m in (layer_macs(*row) for row in layer_shapes(model)) if m is not None)


def macs_table(model):
    """The summary table with a ``MACs`` column and the total in the caption."""
    from rich.table import Table

    from .symbolic import shape_text

    table = Table(title=f'Model "{model.name}"', title_justify="left")
    for header in ("Layer (type)", "Output Shape", "Param #", "MACs"):
        table.add_column(header, justify="left" if header in ("Layer (type)", "Output Shape") else "right")
    total_macs, unknown = 0, []
    for layer, input_shape, output_shape in layer_shapes(model):
        macs = layer_macs(layer, input_shape, output_shape)
        if macs is None:
            unknown.append(layer.name)
        else:
            total_macs += macs
        table.add_row(f"{layer.name} ({type(layer).__name__})", shape_text(output_shape),
                      f"{layer.count_params:,}", "?" if macs is None else f"{macs:,}")
    trainable, total = model.parameters.size, model.count_params()
    table.caption = (f"Total params: {total:,}\nTrainable params: {trainable:,}\n"
                     f"Non-trainable params: {total - trainable:,}\n"
                     f"Multiply-adds per sample: {total_macs:,}"
                     + (f" (not counted: {', '.join(unknown)})" if unknown else ""))
    table.caption_justify = "left"
    return table
