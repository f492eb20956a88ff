"""The catalogue: named test functions with domains and hand-written derivatives.

Each entry is a factory ``make(dim) -> Function`` registered in :data:`CATALOGUE`; functions
that scale take ``dim``. Hand-written derivatives (used by the ``manual`` method) are plain
NumPy and independent of difflab's engines.

>>> f = difflab.functions.get("rosenbrock", dim=5)
>>> difflab.get("reverse").gradient(f)(f.default_point())
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..errors import InputError
from ..interface.function import Function
from ..namespaces import namespace
from ..console.wording import count


@dataclass(frozen=True)
class Entry:
    make: Callable[[int], Function]
    description: str
    default_dim: Optional[int]   # None: a fixed number of inputs
    fixed_dim: Optional[int] = None
    outputs: str = "scalar"      # "scalar" or "vector"


# ---------------------------------------------------------------------- rosenbrock
def rosenbrock(x):
    """SciPy's ``rosen``: sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2."""
    xp = namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _rosenbrock_gradient(x):
    g = np.zeros_like(x)
    r = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * r - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * r
    return g


def _rosenbrock_hessian(x):
    n = x.size
    H = np.zeros((n, n))
    i = np.arange(n - 1)
    H[i, i] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    H[i + 1, i + 1] += 200.0
    H[i, i + 1] = H[i + 1, i] = -400.0 * x[:-1]
    return H


def make_rosenbrock(dim):
    return Function(rosenbrock, "rosenbrock", gradient=_rosenbrock_gradient,
                    hessian=_rosenbrock_hessian, domain=(-2.0, 2.0), dim=dim,
                    x0=np.tile([-1.2, 1.0], (dim + 1) // 2)[:dim],
                    description="Rosenbrock's valley (scipy.optimize.rosen)")


# ---------------------------------------------------------------------- logistic map
def make_logistic_map(steps):
    """l_1 = x, l_{k+1} = 4 l_k (1 - l_k): the survey example of expression swell."""

    def logistic_map(x):
        l = x[0]
        for _ in range(steps - 1):
            l = 4.0 * l * (1.0 - l)
        return l

    def gradient(x):
        l, dl = x[0], 1.0
        for _ in range(steps - 1):
            l, dl = 4.0 * l * (1.0 - l), 4.0 * (1.0 - 2.0 * l) * dl
        return np.array([dl])

    return Function(logistic_map, "logistic-map", gradient=gradient, domain=(0.05, 0.95), dim=1,
                    x0=[0.3], description=f"logistic map l_{{k+1}} = 4 l_k (1 - l_k), {steps} terms")


# ---------------------------------------------------------------------- nested sin/exp
def make_nested(dim, depth=4):
    """sum_i (sin o exp)^depth (x_i / 2): compositions whose symbolic derivative swells."""

    def nested(x):
        xp = namespace(x)
        y = 0.5 * x
        for _ in range(depth):
            y = xp.sin(xp.exp(y))
        return xp.sum(y)

    def gradient(x):
        y, dy = 0.5 * x, np.full_like(x, 0.5)
        for _ in range(depth):
            e = np.exp(y)
            y, dy = np.sin(e), np.cos(e) * e * dy
        return dy

    return Function(nested, "nested", gradient=gradient, domain=(-1.0, 1.0), dim=dim,
                    description=f"sum of (sin o exp)^{depth}(x_i / 2)")


# ---------------------------------------------------------------------- product
def product(x):
    return namespace(x).prod(x)


def _product_gradient(x):
    """Products of all other entries, by prefix and suffix products (no division)."""
    left = np.concatenate([[1.0], np.cumprod(x[:-1])])
    right = np.concatenate([np.cumprod(x[::-1][:-1])[::-1], [1.0]])
    return left * right


def make_product(dim):
    return Function(product, "product", gradient=_product_gradient, domain=(0.5, 1.5), dim=dim,
                    description="product of n variables")


# ---------------------------------------------------------------------- log-sum-exp family
def logsumexp(x):
    return namespace(x).logsumexp(x)


def _softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def make_logsumexp(dim):
    return Function(logsumexp, "logsumexp", gradient=_softmax,
                    hessian=lambda x: np.diag(_softmax(x)) - np.outer(_softmax(x), _softmax(x)),
                    domain=(-3.0, 3.0), dim=dim, description="log sum exp x_i")


def make_softmax_cross_entropy(dim):
    """Cross-entropy of softmax(x) against a one-hot target at class dim // 2."""
    target = np.zeros(dim)
    target[dim // 2] = 1.0

    def softmax_cross_entropy(x):
        xp = namespace(x)
        return -xp.sum(xp.asarray(target) * (x - xp.logsumexp(x)))

    return Function(softmax_cross_entropy, "softmax-xent", gradient=lambda x: _softmax(x) - target,
                    domain=(-3.0, 3.0), dim=dim, description="softmax cross-entropy, one-hot target")


# ---------------------------------------------------------------------- MLP loss
_MLP_INPUTS, _MLP_SAMPLES = 3, 16


def _mlp_data():
    rng = np.random.default_rng(1234)
    X = rng.uniform(-1.0, 1.0, size=(_MLP_SAMPLES, _MLP_INPUTS))
    y = np.sin(X @ np.array([1.0, -2.0, 0.5]))
    return X, y


def make_mlp_loss(dim):
    """Mean squared error of a 3-h-1 tanh network; x holds W1 (3h), b1 (h), w2 (h), b2 (1)."""
    hidden = max(1, (dim - 1) // (_MLP_INPUTS + 2))
    n = hidden * (_MLP_INPUTS + 2) + 1
    X, y = _mlp_data()
    a, b = _MLP_INPUTS * hidden, (_MLP_INPUTS + 1) * hidden

    def mlp_loss(x):
        xp = namespace(x)
        W1 = xp.reshape(x[:a], (_MLP_INPUTS, hidden))
        h = xp.tanh(xp.asarray(X) @ W1 + x[a:b])
        out = h @ x[b:b + hidden] + x[n - 1]
        return xp.mean((out - xp.asarray(y)) ** 2)

    def gradient(x):
        W1 = x[:a].reshape(_MLP_INPUTS, hidden)
        h = np.tanh(X @ W1 + x[a:b])
        err = 2.0 * (h @ x[b:b + hidden] + x[n - 1] - y) / _MLP_SAMPLES
        dpre = np.outer(err, x[b:b + hidden]) * (1.0 - h ** 2)
        return np.concatenate([(X.T @ dpre).ravel(), dpre.sum(0), h.T @ err, [err.sum()]])

    return Function(mlp_loss, "mlp-loss", gradient=gradient, domain=(-1.0, 1.0), dim=n,
                    description=f"MSE of a 3-{hidden}-1 tanh network on 16 fixed samples")


# ---------------------------------------------------------------------- control flow
def control_flow(x):
    """Data-dependent loop and branch: AD and FD follow them; SymPy cannot decide them."""
    xp = namespace(x)
    s = xp.sum(x * x)
    halvings = 0
    while s > 1.0 and halvings < 60:
        s = 0.5 * s
        halvings += 1
    if x[0] > 0:
        return s + xp.sin(x[0])
    return s - x[0]


def _control_flow_gradient(x):
    s, halvings = float(np.sum(x * x)), 0
    while s > 1.0 and halvings < 60:
        s, halvings = 0.5 * s, halvings + 1
    g = 2.0 * x * 0.5 ** halvings
    g[0] += np.cos(x[0]) if x[0] > 0 else -1.0
    return g


def make_control_flow(dim):
    return Function(control_flow, "control-flow", gradient=_control_flow_gradient,
                    domain=(-2.0, 2.0), dim=dim, x0=np.linspace(0.9, -0.6, dim),
                    description="a data-dependent while loop and if")


# ---------------------------------------------------------------------- removable singularity
def sinc_sum(x):
    """sum sin(x_i)/x_i near 0: exact methods stay exact; the textbook derivative cancels."""
    xp = namespace(x)
    return xp.sum(xp.sin(x) / x)


def make_sinc(dim):
    return Function(sinc_sum, "sinc", gradient=lambda x: (x * np.cos(x) - np.sin(x)) / x ** 2,
                    domain=(1e-4, 1e-2), dim=dim, x0=np.geomspace(1e-4, 1e-2, dim),
                    description="sum sin(x)/x near its removable singularity at 0 (every float64 method cancels)")


# ---------------------------------------------------------------------- the classic
def classic(x):
    """exp(x) / sqrt(sin(x)^3 + cos(x)^3), the finite-difference textbook example."""
    xp = namespace(x)
    t = x[0]
    return xp.exp(t) / xp.sqrt(xp.sin(t) ** 3 + xp.cos(t) ** 3)


def _classic_gradient(x):
    t = x[0]
    s, c = np.sin(t), np.cos(t)
    d = s ** 3 + c ** 3
    f = np.exp(t) / np.sqrt(d)
    return np.array([f * (1.0 - 1.5 * (s * c * (s - c)) / d)])


def make_classic(dim):
    return Function(classic, "classic", gradient=_classic_gradient, domain=(0.0, 1.5), dim=1,
                    x0=[1.5], description="exp(x)/sqrt(sin(x)^3 + cos(x)^3)")


# ---------------------------------------------------------------------- a vector map
def make_tanh_layer(dim):
    """tanh(W x) for a fixed W of shape (2n, n): a map R^n -> R^2n for Jacobians."""
    W = np.random.default_rng(7).normal(size=(2 * dim, dim)) / np.sqrt(dim)

    def tanh_layer(x):
        xp = namespace(x)
        return xp.tanh(xp.asarray(W) @ x)

    return Function(tanh_layer, "tanh-layer",
                    jacobian=lambda x: (1.0 - np.tanh(W @ x) ** 2)[:, None] * W,
                    domain=(-1.0, 1.0), dim=dim, description="tanh(W x), R^n -> R^2n")


# ---------------------------------------------------------------------- the table
CATALOGUE: dict[str, Entry] = {
    "rosenbrock":    Entry(make_rosenbrock, "Rosenbrock's valley (scipy.optimize.rosen)", 10),
    "logistic-map":  Entry(make_logistic_map, "logistic map, dim = number of terms", 5),
    "nested":        Entry(make_nested, "sum of (sin o exp)^4(x_i / 2)", 4),
    "product":       Entry(make_product, "product of n variables", 8),
    "logsumexp":     Entry(make_logsumexp, "log sum exp", 10),
    "softmax-xent":  Entry(make_softmax_cross_entropy, "softmax cross-entropy", 10),
    "mlp-loss":      Entry(make_mlp_loss, "MSE of a small tanh network (dim = 5h + 1)", 21),
    "control-flow":  Entry(make_control_flow, "data-dependent while and if", 5),
    "sinc":          Entry(make_sinc, "sum sin(x)/x near 0", 3),
    "classic":       Entry(make_classic, "exp(x)/sqrt(sin^3 x + cos^3 x)", None, fixed_dim=1),
    "tanh-layer":    Entry(make_tanh_layer, "tanh(W x), R^n -> R^2n", 4, outputs="vector"),
}


def names() -> list[str]:
    return list(CATALOGUE)


def get(name: str, dim: Optional[int] = None) -> Function:
    """A catalogue function; ``dim`` where it scales (for logistic-map: the number of terms)."""
    entry = CATALOGUE.get(name)
    if entry is None:
        import difflib

        close = difflib.get_close_matches(name, CATALOGUE, n=3)
        raise InputError(f"unknown function {name!r}" + (f"; did you mean {', '.join(close)}?" if close
                                                         else f"; known: {', '.join(CATALOGUE)}"))
    if dim is not None and (not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or dim < 1):
        raise InputError(f"dim must be a positive integer, not {dim!r}")
    if entry.fixed_dim is not None:
        if dim not in (None, entry.fixed_dim):
            raise InputError(f"{name} is a function of {count(entry.fixed_dim, 'variable')}; drop --dim")
        dim = entry.fixed_dim
    return entry.make(int(dim if dim is not None else entry.default_dim))


def default_set(outputs: str = "scalar") -> list[Function]:
    """Every catalogue function at its default size (scalar ones, or vector maps)."""
    return [get(name) for name, e in CATALOGUE.items() if e.outputs == outputs]
