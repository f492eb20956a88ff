"""Ready-made models of the worked examples."""
from __future__ import annotations

import numpy as np

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


# ---------------------------------------------------------------------- the sales (cost/profit) example
#: ``tf.random.normal([2, 1], stddev=1, seed=1)`` in a fresh TensorFlow 2 process (no global
#: seed set), the notes' initial w1, as the bits of its two float32 numbers (-0.8113182,
#: 1.4845988). tests/test_worked_examples.py regenerates it with TensorFlow (slow test).
SALES_W0_BITS = (0xBF4FB28D, 0x3FBE0755)
#: The notes' plain gradient-descent step.
SALES_LEARNING_RATE = 0.002


def sales_w0() -> np.ndarray:
    """The notes' initial weights w1 (2, 1), float32."""
    return np.array(SALES_W0_BITS, dtype=np.uint32).view(np.float32).reshape(2, 1)


def load_sales_data():
    """The notes' 32 sales rows: ``x = RandomState(23455).rand(32, 2)`` then, row by row, the
    target ``x1 + x2 + (rand() / 10 - 0.05)``; both float32 (x is cast by the notes, the
    targets by TensorFlow when they meet the float32 predictions). ``(x (32, 2), y (32, 1))``."""
    rdm = np.random.RandomState(23455)
    x = rdm.rand(32, 2)
    y = np.array([[x1 + x2 + (rdm.rand() / 10.0 - 0.05)] for x1, x2 in x])
    return x.astype(np.float32), y.astype(np.float32)


def sales_example(loss, differentiator="manual", dtype="float32", steps=10_000, trainer="solver") -> np.ndarray:
    """The notes' sales model ``y = x . w1`` trained by plain gradient descent (lr 0.002, full
    batch) for ``steps`` steps from :func:`sales_w0`; returns the final w1 (2,) in ``dtype``.

    ``loss``: a :mod:`nets.losses` loss or name (:class:`~nets.losses.CostProfit`, ``"mse"``).
    ``trainer="solver"`` runs :func:`difflab.solvers.gradient_descent` on the loss as a function
    of w1, ``trainer="nets"`` a one-unit :class:`~nets.Sequential` with ``fit``. The solver's
    ``manual`` gradient is hand-written as ``x^T g`` summed row by row in order, the summation
    order that reproduces the notes' printed float32 digits; docs/nets.md compares the methods.
    """
    from difflab.solvers import gradient_descent

    from .losses import get as get_loss

    loss = get_loss(loss)
    x, y = load_sales_data()
    if trainer == "nets":
        model = Sequential([Dense(1, use_bias=False, input_dim=2, kernel_initializer=sales_w0(), name="w1")],
                           name="sales")
        model.compile(optimizer=SGD(learning_rate=SALES_LEARNING_RATE), loss=loss,
                      differentiator=differentiator, dtype=dtype)
        model.fit(x, y, epochs=steps, batch_size=len(x), shuffle=False, verbose=0)
        return model.parameters.theta.copy()
    if trainer != "solver":
        raise ValueError(f"trainer must be 'solver' or 'nets', not {trainer!r}")
    function = sales_loss_function(loss, x, y)
    result = gradient_descent(function, sales_w0().ravel(), differentiator=differentiator,
                              learning_rate=SALES_LEARNING_RATE, max_iter=steps, tol=np.finfo(float).tiny,
                              dtype=dtype)
    return result.x


def cost_profit_example(cost=1.0, profit=99.0, **options) -> np.ndarray:
    """:func:`sales_example` with the notes' :class:`~nets.losses.CostProfit` loss (10,000
    steps): they print w1 = [1.1626335, 1.1191947] for cost 1, profit 99 and [0.9205433,
    0.9186459] for cost 99, profit 1. Their MSE run is ``sales_example("mse", steps=15_000)``."""
    from .losses import CostProfit

    return sales_example(CostProfit(cost, profit), **options)


def sales_loss_function(loss, x, y):
    """``loss(y, x . w1)`` as a :class:`difflab.Function` of w1 (2,), with the hand-written
    gradient ``x^T dloss/dy`` accumulated over the rows in order (``numpy.add.accumulate``)."""
    import difflab

    def value(w):
        xp = difflab.namespace(w)
        return loss(y, xp.asarray(x) @ xp.reshape(w, (2, 1)))

    def gradient(w):
        g = np.asarray(loss.gradient(y, x @ w.reshape(2, 1)), dtype=w.dtype)
        return np.add.accumulate(x * g, axis=0)[-1]

    return difflab.Function(value, gradient=gradient, name=f"sales {loss.name} loss")


def digits_cnn(differentiator="reverse", filters=16, seed=0, **options) -> Sequential:
    """The CNN chapter's network on the 8x8 digits (``datasets.load_digits_images``), compiled:
    Conv2D(3x3, same) - BatchNormalization - ReLU - MaxPooling2D - Flatten - Dense softmax,
    Adam(0.01). 15 epochs of batches of 32 reach about 0.98 test accuracy."""
    from .conv_layers import Conv2D, Flatten, MaxPooling2D
    from .layers import Activation
    from .normalization import BatchNormalization
    from .optimizers import Adam

    model = Sequential([
        Conv2D(filters, (3, 3), padding="same", input_shape=(8, 8, 1)),
        BatchNormalization(),
        Activation("relu"),
        MaxPooling2D((2, 2)),
        Flatten(),
        Dense(10, activation="softmax"),
    ], seed=seed, name="digits_cnn")
    model.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  differentiator=differentiator, **options)
    return model
