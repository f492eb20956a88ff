"""Small data sets that ship with difflab or with scikit-learn, and Keras's MNIST, CIFAR-10 and
IMDB from files the user downloaded (:mod:`nets.dataset_files`); nothing is downloaded."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Keras's downloadable sets, read from files the user has (nothing is downloaded).
from .dataset_files import load_cifar10, load_imdb, load_mnist  # noqa: F401

# The brazing table ships with the solvers, which fit it (difflab.solvers.datasets); nets
# reads the same file.
from difflab.solvers.datasets import BRAZING_FEATURES, BRAZING_TARGETS, load_brazing  # noqa: F401 - nets' data sets


# ---------------------------------------------------------------------- the worked examples
def load_xor():
    """The four XOR points: ``(X (4, 2), y (4, 1))``."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array([[0.0], [1.0], [1.0], [0.0]])


#: The step-by-step backpropagation example (2-2-2, logistic units, E = sum 0.5 (t - o)^2).
#: Kernels in Keras's (inputs, units) layout: kernel[i, j] is the weight from input i to unit j.
BACKPROP_EXAMPLE = {
    "x": [[0.05, 0.10]],
    "y": [[0.01, 0.99]],
    "hidden_kernel": [[0.15, 0.25],    # w1 (i1->h1), w3 (i1->h2)
                      [0.20, 0.30]],   # w2 (i2->h1), w4 (i2->h2)
    "hidden_bias": 0.35,               # b1, shared and fixed
    "output_kernel": [[0.40, 0.50],    # w5 (h1->o1), w7 (h1->o2)
                      [0.45, 0.55]],   # w6 (h2->o1), w8 (h2->o2)
    "output_bias": 0.60,               # b2, shared and fixed
    "learning_rate": 0.5,
    "total_error_before": 0.298371109,
    # The published weights after one step, w1..w8.
    "weights_after_one_step": [0.149780716, 0.19956143, 0.24975114, 0.29950229,
                               0.35891648, 0.408666186, 0.511301270, 0.561370121],
}


def load_backprop_example():
    """``(X (1, 2), y (1, 2))`` of the 2-2-2 example; its weights are in :data:`BACKPROP_EXAMPLE`."""
    return np.array(BACKPROP_EXAMPLE["x"]), np.array(BACKPROP_EXAMPLE["y"])


def example_weights_w1_to_w8(weights) -> np.ndarray:
    """w1..w8 in the example's numbering from ``[hidden kernel, hidden bias, output kernel, output bias]``."""
    h, o = np.asarray(weights[0]), np.asarray(weights[2])
    return np.array([h[0, 0], h[1, 0], h[0, 1], h[1, 1], o[0, 0], o[1, 0], o[0, 1], o[1, 1]])


# ---------------------------------------------------------------------- scikit-learn's bundled sets
def _stratified_split(X, y, test_size, seed):
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)


def load_iris(test_size: float = 0.3, seed: int = 0, standardize: bool = True):
    """Iris (150 x 4, 3 classes) split with a stratified hold-out, Keras style:
    ``(x_train, y_train), (x_test, y_test)``; labels are integers 0..2.

    With ``standardize`` the features are scaled by the training set's mean and deviation.
    """
    from sklearn.datasets import load_iris as sk_load

    data = sk_load()
    x_train, x_test, y_train, y_test = _stratified_split(data.data, data.target, test_size, seed)
    if standardize:
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return (x_train, y_train), (x_test, y_test)


def load_digits(test_size: float = 0.3, seed: int = 0):
    """The 8x8 digits (1797 x 64, 10 classes), pixels scaled to [0, 1], stratified hold-out."""
    from sklearn.datasets import load_digits as sk_load

    data = sk_load()
    x_train, x_test, y_train, y_test = _stratified_split(data.data / 16.0, data.target, test_size, seed)
    return (x_train, y_train), (x_test, y_test)


def load_digits_images(test_size: float = 0.3, seed: int = 0):
    """The 8x8 digits as channels-last images ``(N, 8, 8, 1)``, pixels in [0, 1], with the
    same fixed stratified hold-out as :func:`load_digits` (1257 train, 540 test)."""
    (x_train, y_train), (x_test, y_test) = load_digits(test_size, seed)
    return (x_train.reshape(-1, 8, 8, 1), y_train), (x_test.reshape(-1, 8, 8, 1), y_test)


# ---------------------------------------------------------------------- synthetic sets
def load_sales(n: int = 200, noise: float = 0.1, seed: int = 0):
    """Synthetic sales ``y = x1 + x2 + noise``, x uniform on [0, 1]^2: ``(X (n, 2), y (n,))``."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 1.0, size=(n, 2))
    return X, X[:, 0] + X[:, 1] + noise * rng.standard_normal(n)


def load_points(n: int = 200, noise: float = 0.2, seed: int = 0):
    """Two interleaved half-moons in 2-D (scikit-learn's ``make_moons``): ``(X (n, 2), y (n,))``, y in {0, 1}."""
    from sklearn.datasets import make_moons

    return make_moons(n_samples=n, noise=noise, random_state=seed)


# ---------------------------------------------------------------------- ready-to-train tasks
@dataclass
class Task:
    """A data set ready to train on, with the output layer and loss that suit it."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    units: int
    activation: str
    loss: str
    metrics: tuple
    description: str


def _split(X, y, test_size=0.25, seed=0):
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=test_size, random_state=seed)


def _iris_task(seed):
    (xt, yt), (xs, ys) = load_iris(seed=seed)
    return Task("iris", xt, yt, xs, ys, 3, "softmax", "sparse_categorical_crossentropy", ("accuracy",),
                "iris, 4 standardised features, 3 classes, 30% stratified hold-out")


def _digits_task(seed):
    (xt, yt), (xs, ys) = load_digits(seed=seed)
    return Task("digits", xt, yt, xs, ys, 10, "softmax", "sparse_categorical_crossentropy", ("accuracy",),
                "8x8 digits, 64 pixels in [0, 1], 10 classes, 30% stratified hold-out")


def _xor_task(seed):
    X, y = load_xor()
    return Task("xor", X, y, X, y, 1, "sigmoid", "binary_crossentropy", ("accuracy",),
                "the four XOR points (tested on themselves)")


def _points_task(seed):
    xt, xs, yt, ys = _split(*load_points(seed=seed), seed=seed)
    return Task("points", xt, yt, xs, ys, 1, "sigmoid", "binary_crossentropy", ("accuracy",),
                "two interleaved half-moons in 2-D, 25% hold-out")


def _sales_task(seed):
    xt, xs, yt, ys = _split(*load_sales(seed=seed), seed=seed)
    return Task("sales", xt, yt, xs, ys, 1, "linear", "mse", ("mae",),
                "synthetic sales y = x1 + x2 + noise, 25% hold-out")


def _brazing_task(seed):
    X, y = load_brazing(standardize=True)
    y = (y - y.mean()) / y.std()
    xt, xs, yt, ys = _split(X, y, seed=seed)
    return Task("brazing", xt, yt, xs, ys, 1, "linear", "mse", ("mae",),
                "brazing residual stress (27 FE runs), inputs and target standardised, 25% hold-out")


TASKS = {"iris": _iris_task, "digits": _digits_task, "xor": _xor_task, "points": _points_task,
         "sales": _sales_task, "brazing": _brazing_task}


def load_task(name: str, seed: int = 0) -> Task:
    """One of :data:`TASKS` by name (``difflab train --dataset NAME``)."""
    from ._lookup import lookup

    return lookup("dataset", name, TASKS)(seed)


# ---------------------------------------------------------------------- the notes' iris
def load_iris_notes(seed: int = 116, n_train: int = 120):
    """Iris as the notes' optimiser comparison prepares it: ``np.random.seed(116)`` then a
    shuffle of x, the same again for y (so the same permutation), the first 120 rows for
    training and the last 30 for testing, features cast to float32 and not standardised;
    labels are integers 0..2: ``(x_train, y_train), (x_test, y_test)``."""
    from sklearn.datasets import load_iris as sk_load

    data = sk_load()
    x, y = data.data.copy(), data.target.copy()
    np.random.RandomState(seed).shuffle(x)  # np.random.seed(seed); np.random.shuffle(x)
    np.random.RandomState(seed).shuffle(y)
    x = x.astype(np.float32).astype(float)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def notes_iris_task() -> Task:
    """The notes' set-up as a task: one-hot targets for their ``mse`` loss on a softmax."""
    from .utils import to_categorical

    (xt, yt), (xs, ys) = load_iris_notes()
    return Task("iris (notes)", xt, to_categorical(yt, 3), xs, to_categorical(ys, 3), 3, "softmax", "mse", ("accuracy",),
                "iris shuffled with seed 116, 120 training / 30 test rows, raw features "
                "(float32), mse on one-hot targets")
# ---------------------------------------------------------------------- sequences (the RNN chapter)
#: The notes' letter-prediction alphabet.
LETTERS = "abcde"


def load_letters(context: int = 1, alphabet: str = LETTERS, one_hot: bool = True):
    """The notes' letter prediction: from ``context`` letters of the cycle ``alphabet``
    (a->b->c->d->e->a), predict the next one.

    Returns ``(x, y)``: ``x`` of shape (len(alphabet), context, len(alphabet)) one-hot rows,
    or (len(alphabet), context) integer ids with ``one_hot=False`` (for an Embedding);
    ``y`` the next letter's id. Sample i starts at letter i.
    """
    n = len(alphabet)
    if not 1 <= int(context) <= n - 1:
        raise ValueError(f"context must be between 1 and {n - 1} letters, got {context}")
    ids = (np.arange(n)[:, None] + np.arange(int(context))[None, :]) % n
    y = (ids[:, -1] + 1) % n
    return (np.eye(n)[ids] if one_hot else ids), y


def windows(series, steps: int):
    """Sliding windows of a 1-D series: ``x`` (len - steps, steps, 1) and the next value ``y``."""
    series = np.asarray(series, dtype=float).reshape(-1)
    if not 1 <= int(steps) < len(series):
        raise ValueError(f"steps must be between 1 and {len(series) - 1}, got {steps}")
    x = np.lib.stride_tricks.sliding_window_view(series[:-1], int(steps))
    return x[..., None].copy(), series[int(steps):].copy()


def load_price_series(n: int = 600, steps: int = 20, test_size: float = 0.25, noise: float = 0.05,
                      seed: int = 0):
    """A generated price-like series for the LSTM/GRU (stock) chapter, nothing downloaded.

    The series is a sum of two slow sines plus Gaussian noise (so the next value is partly
    predictable from the recent past, unlike a pure random walk); it is cut into windows of
    ``steps`` values, each labelled with the value that follows, and split in time (the test
    windows come after the training ones, as for a stock price). Returns
    ``(x_train, y_train), (x_test, y_test)`` with x of shape (windows, steps, 1).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    series = np.sin(2 * np.pi * t / 50.0) + 0.5 * np.sin(2 * np.pi * t / 17.0) + noise * rng.standard_normal(n)
    x, y = windows(series, steps)
    cut = int(len(x) * (1.0 - test_size))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def load_npz(path):
    """A user's own arrays from an ``.npz`` file (NumPy's ``np.savez``), Keras-style.

    With entries ``x_train, y_train, x_test, y_test`` (the layout of Keras's ``mnist.npz``,
    ``cifar10``, ``imdb`` exports) it returns ``(x_train, y_train), (x_test, y_test)``;
    otherwise a dict of every array. Nothing is pickled (``allow_pickle=False``).
    """
    import os

    try:
        with np.load(os.fspath(path), allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"cannot read {path} as an .npz file of arrays: {exc}") from None
    keys = ("x_train", "y_train", "x_test", "y_test")
    if all(k in arrays for k in keys):
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
    return arrays
