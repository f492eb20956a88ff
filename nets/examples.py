"""Ready-made models of the worked examples."""
from __future__ import annotations

from . import backprop
from .datasets import BACKPROP_EXAMPLE
from .layers import Dense
from .model import Sequential
from .optimizers import SGD

#: The variants of :func:`backprop_example`.
BACKPROP_VARIANTS = ("correct", "as-printed")


def backprop_example(differentiator="manual", variant="correct", **options) -> Sequential:
    """The 2-2-2 step-by-step backprop network, compiled: logistic units, fixed shared biases,
    SGD with learning rate 0.5 and ``mse`` (for one sample and two outputs, mse is exactly the
    example's E = sum 0.5 (target - out)^2).

    ``variant="correct"`` trains on the gradient, by ``differentiator``. ``variant="as-printed"``
    trains the way the notes' printed errors were computed (E after one step 0.291027924, the
    outputs after 10,000 steps): the output weights are updated first and the hidden deltas
    use the *updated* output weights (:func:`nets.backprop.value_and_gradient` with
    ``downstream_step``). That is a hand-written algorithm, so it takes only ``"manual"``;
    compiling the model again returns it to the gradient. docs/nets.md compares the two.
    """
    if variant not in BACKPROP_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(map(repr, BACKPROP_VARIANTS))}, not {variant!r}")
    if variant == "as-printed" and differentiator != "manual":
        raise ValueError("variant='as-printed' is the notes' hand-written layer-by-layer update, not a "
                         f"gradient, so no differentiator computes it; use differentiator='manual', "
                         f"not {differentiator!r}")
    ex = BACKPROP_EXAMPLE
    model = Sequential([
        Dense(2, activation="sigmoid", input_dim=2, kernel_initializer=ex["hidden_kernel"],
              bias_initializer=ex["hidden_bias"], bias_trainable=False, name="hidden"),
        Dense(2, activation="sigmoid", kernel_initializer=ex["output_kernel"],
              bias_initializer=ex["output_bias"], bias_trainable=False, name="output"),
    ], name="backprop_example" if variant == "correct" else "backprop_example_as_printed")
    model.compile(optimizer=SGD(learning_rate=ex["learning_rate"]), loss="mse",
                  differentiator=differentiator, **options)
    if variant == "as-printed":
        model.gradient_source = LayerByLayerSource(model, ex["learning_rate"])
    return model


class LayerByLayerSource:
    """``source(theta) -> (loss, step direction)`` of the as-printed variant, for ``fit``.

    With it an SGD step of ``learning_rate`` updates each layer, from the output down, with
    the delta computed from the already-updated layer above it.
    """

    def __init__(self, model, learning_rate: float):
        self.model, self.learning_rate = model, float(learning_rate)

    def warn_if_large(self, batch_size: int) -> None:
        """Nothing to warn about: one hand-written sweep per step."""

    def __call__(self, theta):
        return backprop.value_and_gradient(self.model, theta, self.model.batch,
                                           downstream_step=self.learning_rate)
