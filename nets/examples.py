"""Ready-made models of the worked examples."""
from __future__ import annotations

from .datasets import BACKPROP_EXAMPLE
from .layers import Dense
from .model import Sequential
from .optimizers import SGD


def backprop_example(differentiator="manual", **options) -> Sequential:
    """The 2-2-2 step-by-step backprop network, compiled: logistic units, fixed shared biases,
    SGD with learning rate 0.5 and ``mse`` (for one sample and two outputs, mse is exactly the
    example's E = sum 0.5 (target - out)^2)."""
    ex = BACKPROP_EXAMPLE
    model = Sequential([
        Dense(2, activation="sigmoid", input_dim=2, kernel_initializer=ex["hidden_kernel"],
              bias_initializer=ex["hidden_bias"], bias_trainable=False, name="hidden"),
        Dense(2, activation="sigmoid", kernel_initializer=ex["output_kernel"],
              bias_initializer=ex["output_bias"], bias_trainable=False, name="output"),
    ], name="backprop_example")
    model.compile(optimizer=SGD(learning_rate=ex["learning_rate"]), loss="mse",
                  differentiator=differentiator, **options)
    return model
