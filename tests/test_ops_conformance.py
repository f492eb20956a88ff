"""Every op of the documented list, on every installed namespace, against the oracle.

Each case is a scalar function of x built around one op. Values are checked across the
namespaces (NumPy, mpmath, each method's own arrays through value_and_gradient) and
gradients against difflab.reference. A new op needs one line in CASES; a new method is
picked up from the registry.
"""
import numpy as np
import pytest

import difflab
from difflab.namespaces.ops import OPS
from difflab.interface.registry import exact_methods

W = np.array([0.7, -1.3, 0.4, 1.1, -0.6, 0.9])
X = np.array([0.31, -0.52, 0.77, 0.18, -0.29, 0.63])   # no ties, no zeros, inside every domain


def weighted(xp, y):
    """Contract an array of any shape with fixed weights, so every partial matters."""
    flat = xp.reshape(y, (-1,))
    size = flat.shape[0]
    w = np.resize(W, size)
    return xp.sum(flat * xp.asarray(w))


#: op -> scalar function of x (6 entries) exercising it.
CASES = {
    "sin": lambda xp, x: weighted(xp, xp.sin(x)),
    "cos": lambda xp, x: weighted(xp, xp.cos(x)),
    "tan": lambda xp, x: weighted(xp, xp.tan(x)),
    "arcsin": lambda xp, x: weighted(xp, xp.arcsin(x)),
    "arccos": lambda xp, x: weighted(xp, xp.arccos(x)),
    "arctan": lambda xp, x: weighted(xp, xp.arctan(3.0 * x)),
    "sinh": lambda xp, x: weighted(xp, xp.sinh(x)),
    "cosh": lambda xp, x: weighted(xp, xp.cosh(x)),
    "tanh": lambda xp, x: weighted(xp, xp.tanh(2.0 * x)),
    "exp": lambda xp, x: weighted(xp, xp.exp(x)),
    "expm1": lambda xp, x: weighted(xp, xp.expm1(x)),
    "log": lambda xp, x: weighted(xp, xp.log(x * x + 0.5)),
    "log1p": lambda xp, x: weighted(xp, xp.log1p(x)),
    "sqrt": lambda xp, x: weighted(xp, xp.sqrt(x + 1.0)),
    "abs": lambda xp, x: weighted(xp, xp.abs(x)),
    "square": lambda xp, x: weighted(xp, xp.square(x)),
    "sigmoid": lambda xp, x: weighted(xp, xp.sigmoid(2.0 * x)),
    "maximum": lambda xp, x: weighted(xp, xp.maximum(x[:3], x[3:] ** 2)),
    "minimum": lambda xp, x: weighted(xp, xp.minimum(x[:3], x[3:] ** 2)),
    "sum": lambda xp, x: weighted(xp, xp.sum(xp.reshape(x, (2, 3)) ** 2, axis=0)),
    "prod": lambda xp, x: xp.prod(x + 2.0),
    "mean": lambda xp, x: weighted(xp, xp.mean(xp.reshape(x, (3, 2)) ** 3, axis=1, keepdims=True)),
    "max": lambda xp, x: weighted(xp, xp.max(xp.reshape(x, (2, 3)), axis=1)) + xp.max(x ** 3),
    "min": lambda xp, x: weighted(xp, xp.min(xp.reshape(x, (2, 3)), axis=0)) + xp.min(x ** 3),
    "logsumexp": lambda xp, x: weighted(xp, xp.logsumexp(xp.reshape(x, (2, 3)), axis=1)) + xp.logsumexp(x),
    "matmul": lambda xp, x: weighted(xp, xp.matmul(xp.reshape(x, (2, 3)), xp.reshape(x, (3, 2)))) + x @ x,
    "dot": lambda xp, x: xp.dot(x, xp.sin(x)),
    "reshape": lambda xp, x: weighted(xp, xp.reshape(x, (3, 2)) ** 2),
    "transpose": lambda xp, x: weighted(xp, xp.transpose(xp.reshape(x, (2, 3))) * xp.asarray(np.arange(6.0).reshape(3, 2))),
    "stack": lambda xp, x: weighted(xp, xp.stack([x[:3] ** 2, xp.sin(x[3:])], axis=1)),
    "concatenate": lambda xp, x: weighted(xp, xp.concatenate([x[:2] ** 3, xp.exp(x[2:])])),
    "where": lambda xp, x: weighted(xp, xp.where(x > 0, x ** 2, xp.sin(x))),
    "clip": lambda xp, x: weighted(xp, xp.clip(3.0 * x, -1.0, 1.0)),
    "softmax": lambda xp, x: weighted(xp, xp.softmax(xp.reshape(x, (2, 3)), axis=-1)),
    # sliding windows: a 2x3 image, a 2x2 kernel made of x too (both arguments differentiated)
    "conv2d": lambda xp, x: weighted(xp, xp.conv2d(xp.reshape(x, (1, 2, 3, 1)),
                                                   xp.reshape(xp.sin(x[1:5]), (2, 2, 1, 1)), (1, 2), "same")),
    "max_pool2d": lambda xp, x: weighted(xp, xp.max_pool2d(xp.reshape(x ** 3, (1, 2, 3, 1)), (2, 2), (1, 1), "same")),
    "avg_pool2d": lambda xp, x: weighted(xp, xp.avg_pool2d(xp.reshape(x ** 3, (1, 3, 2, 1)), (2, 2), (2, 1), "same")),
    "sign": lambda xp, x: weighted(xp, xp.sign(x) * x ** 2),
    "var": lambda xp, x: weighted(xp, xp.var(xp.reshape(x, (2, 3)), axis=1)) + xp.var(x, ddof=1),
    "std": lambda xp, x: weighted(xp, xp.std(xp.reshape(x, (3, 2)), axis=0, keepdims=True)) + xp.std(x),
    "einsum": lambda xp, x: weighted(xp, xp.einsum("ij,jk->ik", xp.reshape(x, (2, 3)), xp.reshape(xp.sin(x), (3, 2))))
    + xp.einsum("i,i", x, x) + weighted(xp, xp.einsum("ij->j", xp.reshape(x ** 3, (2, 3)))),
    "outer": lambda xp, x: weighted(xp, xp.outer(x[:2], xp.sin(x[2:]))),
    "diag": lambda xp, x: weighted(xp, xp.diag(x[:3] ** 2, 1)) + weighted(xp, xp.diag(xp.reshape(x ** 3, (2, 3)), -1))
    + weighted(xp, xp.diag(xp.reshape(x, (3, 2)))),
    "flip": lambda xp, x: weighted(xp, xp.flip(xp.reshape(x, (2, 3)), axis=1) * x[:3]) + weighted(xp, xp.flip(x) * x),
    "cumsum": lambda xp, x: weighted(xp, xp.sin(xp.cumsum(xp.reshape(x, (2, 3)), axis=1))) + weighted(xp, xp.cumsum(x ** 2)),
    "linalg.norm": lambda xp, x: xp.linalg.norm(x) + weighted(xp, xp.linalg.norm(xp.reshape(x, (2, 3)), axis=1))
    + xp.linalg.norm(x, 1) + xp.linalg.norm(x, np.inf) + xp.linalg.norm(x, 3.0) + xp.linalg.norm(xp.reshape(x, (2, 3)), 1),
    "log_softmax": lambda xp, x: weighted(xp, xp.log_softmax(xp.reshape(x, (2, 3)), axis=-1)),
    "pi": lambda xp, x: weighted(xp, xp.sin(xp.pi * x)),
    "asarray": lambda xp, x: weighted(xp, x * xp.asarray(W)),
    "zeros": lambda xp, x: weighted(xp, x ** 2 + xp.zeros((6,))),
    "ones": lambda xp, x: weighted(xp, x * xp.ones((6,))),
    "zeros_like": lambda xp, x: weighted(xp, xp.exp(x) + xp.zeros_like(x)),
    "ones_like": lambda xp, x: weighted(xp, xp.sin(x) * xp.ones_like(x)),
    # Python operators on the arrays themselves
    "operators": lambda xp, x: weighted(xp, (2.0 - x) * x / (x + 3.0) - (-x) ** 2 + 2.0 ** x),
    "indexing": lambda xp, x: weighted(xp, x[::2] * x[1::2]) + x[-1] * x[0],
}


def test_every_documented_op_has_a_case():
    assert set(OPS) <= set(CASES)


def as_fn(op):
    def f(x):
        return CASES[op](difflab.namespace(x), x)
    f.__name__ = op
    return f


@pytest.mark.parametrize("op", sorted(CASES))
def test_value_agrees_across_numpy_and_mpmath(op):
    import mpmath

    f = as_fn(op)
    plain = float(f(X))
    with mpmath.workdps(30):
        exact = f(np.array([mpmath.mpf(v) for v in X], dtype=object))
        exact = float(np.asarray(exact, dtype=object).reshape(-1)[0]) if np.ndim(exact) else float(exact)
    assert plain == pytest.approx(exact, rel=1e-14, abs=1e-15)


@pytest.mark.parametrize("method", exact_methods())
@pytest.mark.parametrize("op", sorted(CASES))
def test_gradient_matches_oracle(method, op):
    f = as_fn(op)
    reference = difflab.reference(f, X)
    try:
        value, grad = difflab.get(method).value_and_gradient(f)(X)
    except difflab.NotSupported as exc:  # an honest refusal names the op or kind
        pytest.skip(str(exc))
    assert value == pytest.approx(float(f(X)), rel=1e-13, abs=1e-14)
    np.testing.assert_allclose(grad, reference, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------- coverage of the op list
def test_every_namespace_of_difflab_covers_the_op_list():
    from difflab.analysis import op_coverage

    assert op_coverage.gaps() == []


def test_every_installed_framework_covers_the_op_list():
    from difflab.analysis import op_coverage

    frameworks = op_coverage.framework_namespaces()
    if not frameworks:
        pytest.skip("no framework installed")
    assert op_coverage.gaps(frameworks) == []


def test_the_coverage_check_names_the_missing_op_and_where(monkeypatch):
    """A primitive missing from a namespace, the rule table or the op list's domains is
    named with the place to add it (one line per place)."""
    from difflab.analysis import op_coverage
    from difflab.namespaces import ops
    from difflab.ad.traced import ADNamespace
    from difflab.namespaces.numpy_ns import NumpyNamespace

    monkeypatch.delattr(NumpyNamespace, "expm1")
    monkeypatch.delattr(ADNamespace, "log1p")  # as if RULES had no log1p row
    monkeypatch.setitem(ops.UNARY_DOMAINS, "tan", None)
    lines = op_coverage.gaps()
    assert "namespace numpy lacks expm1 (add it to difflab.namespaces.numpy_ns)" in lines
    assert any(line.startswith("namespace reverse lacks log1p (no row in difflab/ad/rules.py") for line in lines)
    assert "difflab/ops.py UNARY_DOMAINS has no domain for tan" in lines
