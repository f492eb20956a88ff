"""einsum, linalg.norm, cumsum, flip, outer, sign, var, std, diag, log_softmax and pi.

Values against NumPy/SciPy's own functions on every installed namespace, derivatives
against closed forms on every exact method (difflab.reference checks them on every method
in tests/test_ops_conformance.py), Hessians of the two new rule-table rows (einsum, cumsum)
against closed forms, and one clear error for what is refused.
"""
import contextlib
import math

import mpmath
import numpy as np
import pytest
import scipy.special

import difflab
from difflab.interface.registry import exact_methods

X = np.array([0.31, -0.52, 0.77, 0.18, -0.29, 0.63])
W = np.array([0.7, -1.3, 0.4, 1.1, -0.6, 0.9])
M = X.reshape(2, 3)

#: (name, call on a namespace and an array of X's 6 entries, NumPy's own answer on X).
VALUES = [
    ("sign", lambda xp, x: xp.sign(x), lambda x: np.sign(x)),
    ("var", lambda xp, x: xp.var(x), lambda x: np.var(x)),
    ("var axis ddof", lambda xp, x: xp.var(xp.reshape(x, (2, 3)), axis=1, ddof=1), lambda x: np.var(x.reshape(2, 3), axis=1, ddof=1)),
    ("std keepdims", lambda xp, x: xp.std(xp.reshape(x, (2, 3)), axis=0, keepdims=True), lambda x: np.std(x.reshape(2, 3), axis=0, keepdims=True)),
    ("einsum matmul", lambda xp, x: xp.einsum("ij,jk->ik", xp.reshape(x, (2, 3)), xp.reshape(x, (3, 2))),
     lambda x: x.reshape(2, 3) @ x.reshape(3, 2)),
    ("einsum implicit", lambda xp, x: xp.einsum("ij,ij", xp.reshape(x, (2, 3)), xp.reshape(x, (2, 3))), lambda x: np.sum(x * x)),
    ("einsum outer transpose", lambda xp, x: xp.einsum("i,j->ji", x[:2], x[2:]), lambda x: np.outer(x[2:], x[:2])),
    ("outer", lambda xp, x: xp.outer(x[:2], x[2:]), lambda x: np.outer(x[:2], x[2:])),
    ("diag build", lambda xp, x: xp.diag(x[:3]), lambda x: np.diag(x[:3])),
    ("diag build k=2", lambda xp, x: xp.diag(x[:3], 2), lambda x: np.diag(x[:3], 2)),
    ("diag build k=-1", lambda xp, x: xp.diag(x[:3], -1), lambda x: np.diag(x[:3], -1)),
    ("diag take", lambda xp, x: xp.diag(xp.reshape(x, (2, 3))), lambda x: np.diag(x.reshape(2, 3))),
    ("diag take k=1", lambda xp, x: xp.diag(xp.reshape(x, (3, 2)), 1), lambda x: np.diag(x.reshape(3, 2), 1)),
    ("diag take k=-1", lambda xp, x: xp.diag(xp.reshape(x, (2, 3)), -1), lambda x: np.diag(x.reshape(2, 3), -1)),
    ("diag take past the corner", lambda xp, x: xp.diag(xp.reshape(x, (2, 3)), 5), lambda x: np.diag(x.reshape(2, 3), 5)),
    ("flip", lambda xp, x: xp.flip(x), lambda x: np.flip(x)),
    ("flip axis", lambda xp, x: xp.flip(xp.reshape(x, (2, 3)), axis=1), lambda x: np.flip(x.reshape(2, 3), axis=1)),
    ("flip all axes", lambda xp, x: xp.flip(xp.reshape(x, (2, 3))), lambda x: np.flip(x.reshape(2, 3))),
    ("cumsum", lambda xp, x: xp.cumsum(x), lambda x: np.cumsum(x)),
    ("cumsum flattened", lambda xp, x: xp.cumsum(xp.reshape(x, (2, 3))), lambda x: np.cumsum(x.reshape(2, 3))),
    ("cumsum axis 0", lambda xp, x: xp.cumsum(xp.reshape(x, (2, 3)), axis=0), lambda x: np.cumsum(x.reshape(2, 3), axis=0)),
    ("norm", lambda xp, x: xp.linalg.norm(x), lambda x: np.linalg.norm(x)),
    ("norm 1", lambda xp, x: xp.linalg.norm(x, 1), lambda x: np.linalg.norm(x, 1)),
    ("norm inf", lambda xp, x: xp.linalg.norm(x, np.inf), lambda x: np.linalg.norm(x, np.inf)),
    ("norm -inf", lambda xp, x: xp.linalg.norm(x, -np.inf), lambda x: np.linalg.norm(x, -np.inf)),
    ("norm 3", lambda xp, x: xp.linalg.norm(x, 3), lambda x: np.linalg.norm(x, 3)),
    ("norm rows", lambda xp, x: xp.linalg.norm(xp.reshape(x, (2, 3)), axis=1, keepdims=True),
     lambda x: np.linalg.norm(x.reshape(2, 3), axis=1, keepdims=True)),
    ("norm fro", lambda xp, x: xp.linalg.norm(xp.reshape(x, (2, 3)), "fro"), lambda x: np.linalg.norm(x.reshape(2, 3), "fro")),
    ("norm matrix 1", lambda xp, x: xp.linalg.norm(xp.reshape(x, (2, 3)), 1), lambda x: np.linalg.norm(x.reshape(2, 3), 1)),
    ("norm matrix -inf", lambda xp, x: xp.linalg.norm(xp.reshape(x, (2, 3)), -np.inf),
     lambda x: np.linalg.norm(x.reshape(2, 3), -np.inf)),
    ("log_softmax", lambda xp, x: xp.log_softmax(xp.reshape(x, (2, 3)), axis=-1),
     lambda x: scipy.special.log_softmax(x.reshape(2, 3), axis=-1)),
    ("log_softmax axis 0", lambda xp, x: xp.log_softmax(xp.reshape(x, (2, 3)), axis=0),
     lambda x: scipy.special.log_softmax(x.reshape(2, 3), axis=0)),
    ("pi", lambda xp, x: xp.pi * x, lambda x: math.pi * x),
]


def _frameworks():
    out = ["numpy"]
    for name in ("torch", "tensorflow", "jax", "autograd"):
        try:
            __import__(name)
            out.append(name)
        except ImportError:
            pass
    return out


def _as_framework(name, x):
    if name == "torch":
        import torch
        return torch.as_tensor(x)
    if name == "tensorflow":
        import tensorflow as tf
        return tf.constant(x)
    if name == "jax":
        import jax
        return jax.numpy.asarray(x)
    return x


def _computing(name):
    """JAX in 64-bit for the block only (the global flag is the user's)."""
    if name == "jax":
        import jax
        return jax.enable_x64(True)
    return contextlib.nullcontext()


def _plain(v):
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=float)


@pytest.mark.parametrize("framework", _frameworks())
@pytest.mark.parametrize("case", VALUES, ids=[c[0] for c in VALUES])
def test_value_matches_numpy_on_each_framework(framework, case):
    _, call, truth = case
    if framework == "autograd":
        from difflab.namespaces.autograd_ns import NAMESPACE as xp
    else:
        xp = None
    with _computing(framework):
        x = _as_framework(framework, X)
        got = _plain(call(xp or difflab.namespace(x), x))
    np.testing.assert_allclose(got, truth(X), rtol=1e-14, atol=1e-15)
    assert got.shape == np.shape(truth(X))


@pytest.mark.parametrize("case", VALUES, ids=[c[0] for c in VALUES])
def test_value_matches_numpy_on_traced_values(case):
    """Inside difflab's forward and reverse engines (ADNamespace), and on mpmath numbers."""
    _, call, truth = case
    weights = np.resize(W, np.size(truth(X))) * np.arange(1.0, np.size(truth(X)) + 1)  # order matters

    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.reshape(call(xp, x), (-1,)) * xp.asarray(weights))
    for method in ("forward", "reverse"):
        got, _ = difflab.get(method).value_and_gradient(f)(X)
        assert got == pytest.approx(float(np.ravel(truth(X)) @ weights), rel=1e-14, abs=1e-15), method
    with mpmath.workdps(30):
        exact = call(difflab.namespace(np.array([mpmath.mpf(v) for v in X], dtype=object)),
                     np.array([mpmath.mpf(v) for v in X], dtype=object))
    np.testing.assert_allclose(np.asarray(exact, dtype=float), truth(X), rtol=1e-14, atol=1e-15)


# ---------------------------------------------------------------------- closed-form derivatives
def _ns(x):
    return difflab.namespace(x)


def _rev_cumsum(w):
    return np.cumsum(w[::-1])[::-1]


A = np.array([[0.4, -1.1], [0.8, 0.3], [-0.5, 1.7]])       # 3 x 2
WM = np.array([[0.2, -0.7], [1.3, 0.6]])                     # 2 x 2
mean, n = X.mean(), X.size

#: (name, scalar f of x, its gradient in closed form at X).
GRADIENTS = [
    ("sign", lambda x: _ns(x).sum(_ns(x).sign(x) * x ** 2), 2 * np.abs(X)),
    ("var", lambda x: _ns(x).var(x), 2 * (X - mean) / n),
    ("var ddof", lambda x: _ns(x).var(x, ddof=1), 2 * (X - mean) / (n - 1)),
    ("std", lambda x: _ns(x).std(x), (X - mean) / (n * X.std())),
    ("einsum", lambda x: _ns(x).sum(_ns(x).einsum("ij,jk->ik", _ns(x).reshape(x, (2, 3)), _ns(x).asarray(A))
                                    * _ns(x).asarray(WM)), (WM @ A.T).reshape(-1)),
    ("einsum summed letter", lambda x: _ns(x).sum(_ns(x).einsum("ij,k->i", _ns(x).reshape(x, (2, 3)), _ns(x).asarray(W[:2]))
                                                  * _ns(x).asarray([1.0, -2.0])),
     np.repeat(np.array([1.0, -2.0]) * W[:2].sum(), 3)),
    ("einsum trace", lambda x: _ns(x).einsum("ii", _ns(x).reshape(x[:4], (2, 2))) ** 2,
     np.array([2 * (X[0] + X[3]), 0, 0, 2 * (X[0] + X[3]), 0, 0])),
    ("einsum diagonal", lambda x: _ns(x).sum(_ns(x).einsum("iji->ij", _ns(x).reshape(_ns(x).concatenate([x, x]), (2, 3, 2)))
                                             * _ns(x).asarray(W.reshape(2, 3))),
     # entry (i, j, i) of the (2, 3, 2) array: flat 6i + 2j + i, x repeated so flat mod 6
     np.bincount([(6 * i + 2 * j + i) % 6 for i in range(2) for j in range(3)],
                 weights=W.reshape(2, 3).ravel(), minlength=6)),
    ("outer", lambda x: _ns(x).sum(_ns(x).outer(x[:2], _ns(x).asarray(W[:3])) * _ns(x).asarray(WM[:, :1] * np.ones((2, 3)))),
     np.concatenate([WM[:, 0] * W[:3].sum(), np.zeros(4)])),
    ("diag take", lambda x: _ns(x).sum(_ns(x).diag(_ns(x).reshape(x, (2, 3)), 1) * _ns(x).asarray(W[:2])),
     np.array([0, W[0], 0, 0, 0, W[1]])),
    ("diag build", lambda x: _ns(x).sum(_ns(x).diag(x[:3], -1) * _ns(x).asarray(np.arange(16.0).reshape(4, 4))),
     np.array([4.0, 9.0, 14.0, 0, 0, 0])),
    ("flip", lambda x: _ns(x).sum(_ns(x).flip(x) * _ns(x).asarray(W)), W[::-1]),
    ("cumsum", lambda x: _ns(x).sum(_ns(x).cumsum(x) * _ns(x).asarray(W)), _rev_cumsum(W)),
    ("cumsum axis", lambda x: _ns(x).sum(_ns(x).cumsum(_ns(x).reshape(x, (2, 3)), axis=1) * _ns(x).asarray(W.reshape(2, 3))),
     np.concatenate([_rev_cumsum(W[:3]), _rev_cumsum(W[3:])])),
    ("norm", lambda x: _ns(x).linalg.norm(x), X / np.linalg.norm(X)),
    ("norm 1", lambda x: _ns(x).linalg.norm(x, 1), np.sign(X)),
    ("norm inf", lambda x: _ns(x).linalg.norm(x, np.inf), np.where(np.arange(6) == 2, 1.0, 0.0)),
    ("norm 3", lambda x: _ns(x).linalg.norm(x, 3), np.sign(X) * X ** 2 / np.linalg.norm(X, 3) ** 2),
    ("log_softmax", lambda x: _ns(x).sum(_ns(x).log_softmax(x) * _ns(x).asarray(W)),
     W - scipy.special.softmax(X) * W.sum()),
    ("pi", lambda x: _ns(x).sum(_ns(x).sin(_ns(x).pi * x)), math.pi * np.cos(math.pi * X)),
]


#: (method, case) -> the words of its refusal: autograd's einsum VJP fails on a diagonal.
REFUSED = {("autograd", "einsum trace"): "repeated subscript", ("autograd", "einsum diagonal"): "repeated subscript"}


def _methods():
    return [(m, {}) for m in exact_methods()] + [("reverse", {"jit": True})]


@pytest.mark.parametrize("method,options", _methods(), ids=[m + ("-jit" if o else "") for m, o in _methods()])
@pytest.mark.parametrize("case", GRADIENTS, ids=[c[0] for c in GRADIENTS])
def test_gradient_matches_closed_form(case, method, options):
    name, f, truth = case
    if (method, name) in REFUSED:
        with pytest.raises(difflab.NotSupported, match=REFUSED[method, name]):
            difflab.get(method, **options).gradient(f)(X)
        return
    got = difflab.get(method, **options).gradient(f)(X)
    np.testing.assert_allclose(got, truth, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", GRADIENTS, ids=[c[0] for c in GRADIENTS])
def test_complex_step_agrees(case):
    """fd-complex: the composed ops stay analytic in the perturbation (sign of the real part)."""
    _, f, truth = case
    np.testing.assert_allclose(difflab.get("fd-complex").gradient(f)(X), truth, rtol=1e-10, atol=1e-12)


def test_the_closed_forms_are_right():
    """The table's own truths against difflab.reference, so a typo there cannot pass."""
    for name, f, truth in GRADIENTS:
        np.testing.assert_allclose(difflab.reference(f, X), truth, rtol=1e-13, atol=1e-15, err_msg=name)


# ---------------------------------------------------------------------- the two new rows, nested
Q = np.array([[1.0, 0.3, -0.2, 0.5, 0.1, 0.0], [0.7, 2.0, 0.4, -0.3, 0.2, 0.6],
              [0.1, -0.5, 1.5, 0.2, 0.9, -0.1], [0.0, 0.3, 0.2, 1.1, -0.4, 0.8],
              [0.6, 0.0, -0.7, 0.3, 0.9, 0.2], [-0.2, 0.4, 0.1, 0.5, 0.3, 1.2]])
L = np.tril(np.ones((6, 6)))

def _trace_hessian():
    """d2/dx2 of tr(A B) + |x|^2 with A = x[:4] as 2x2, B = x[2:] as 2x2: sum_ij A_ij B_ji."""
    h = 2 * np.eye(6)
    for i in range(2):
        for j in range(2):
            a, b = 2 * i + j, 2 + 2 * j + i  # A_ij = x[2i+j], B_ji = x[2 + 2j + i]
            h[a, b] += 1
            h[b, a] += 1
    return h


HESSIANS = [
    ("einsum quadratic form", lambda x: _ns(x).einsum("i,ij,j->", x, _ns(x).asarray(Q), x), Q + Q.T),
    ("einsum both operands", lambda x: _ns(x).sum(_ns(x).einsum("ij,kj->ik", _ns(x).reshape(x, (2, 3)),
                                                                 _ns(x).reshape(x, (2, 3)))),
     2 * np.kron(np.ones((2, 2)), np.eye(3))),
    ("cumsum squared", lambda x: _ns(x).sum(_ns(x).cumsum(x) ** 2), 2 * L.T @ L),
    ("einsum trace of a product", lambda x: _ns(x).einsum("ij,ji->", _ns(x).reshape(x[:4], (2, 2)),
                                                           _ns(x).reshape(x[2:], (2, 2))) + _ns(x).einsum("ii", _ns(x).outer(x, x)),
     _trace_hessian()),
]


@pytest.mark.parametrize("method,options", [("forward", {}), ("reverse", {}), ("reverse", {"jit": True})],
                         ids=["forward", "reverse", "reverse-jit"])
@pytest.mark.parametrize("case", HESSIANS, ids=[c[0] for c in HESSIANS])
def test_hessian_of_the_new_rows(case, method, options):
    _, f, truth = case
    np.testing.assert_allclose(difflab.get(method, **options).hessian(f)(X), truth, rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------------- pi and sign on objects
def test_pi_is_each_namespace_own():
    import sympy

    from difflab.namespaces import MPMATH, NUMPY, SYMPY

    assert NUMPY.pi == math.pi
    assert SYMPY.pi is sympy.pi
    with mpmath.workdps(50):
        assert MPMATH.pi == +mpmath.pi and abs(MPMATH.pi - mpmath.mpf(math.pi)) > mpmath.mpf(10) ** -20


def test_sign_keeps_nan_and_zero_like_numpy():
    x = np.array([-2.0, 0.0, np.nan, 3.0])
    for method in ("forward", "reverse"):
        value, grad = difflab.get(method).value_and_gradient(
            lambda v: _ns(v).sum(_ns(v).sign(v) * _ns(v).asarray([1.0, 10.0, 0.0, 100.0])))(np.array([-2.0, 0.0, 1.0, 3.0]))
        assert value == 99.0 and not np.any(grad)
    from difflab.ad import forward

    value, tangent = forward.jvp(lambda v: _ns(v).sign(v), x, np.ones(4))
    np.testing.assert_array_equal(value, np.sign(x))  # NaN in place
    assert not np.any(tangent)


# ---------------------------------------------------------------------- refusals
@pytest.mark.parametrize("call,error,words", [
    (lambda xp, x: xp.einsum("ij,j->i", xp.reshape(x, (2, 3)), x[:2]), difflab.InputError, "sizes 3 and 2"),
    (lambda xp, x: xp.einsum("ij,j->i", xp.reshape(x, (2, 3)), x[:1]), difflab.NotSupported, "size-1 axis"),
    (lambda xp, x: xp.einsum("...i->i", x), difflab.NotSupported, "'...'"),
    (lambda xp, x: xp.einsum("ij->i", x), difflab.InputError, "2 axes of a 1-D"),
    (lambda xp, x: xp.einsum("i,i->i", x), difflab.InputError, "2 operand"),
    (lambda xp, x: xp.einsum("i->j", x), difflab.InputError, "not among"),
    (lambda xp, x: xp.linalg.norm(xp.reshape(x, (2, 3)), 2), difflab.NotSupported, "singular values"),
    (lambda xp, x: xp.linalg.norm(xp.reshape(x, (2, 3)), "nuc"), difflab.NotSupported, "singular values"),
    (lambda xp, x: xp.linalg.norm(x, 0), difflab.NotSupported, "ord=0"),
    (lambda xp, x: xp.diag(xp.reshape(x, (1, 2, 3))), difflab.InputError, "1-D or 2-D"),
    (lambda xp, x: xp.var(x[:1], ddof=1), difflab.InputError, "ddof"),
])
@pytest.mark.parametrize("method", ["forward", "reverse"])
def test_refusals_are_one_clear_error(call, error, words, method):
    f = lambda x: _ns(x).sum(call(_ns(x), x))  # noqa: E731
    with pytest.raises(error, match=words.replace("(", r"\(").replace(".", r"\.")):
        difflab.get(method).gradient(f)(X)


@pytest.mark.parametrize("framework", _frameworks())
def test_bad_diag_and_einsum_input_is_one_clear_error_everywhere(framework):
    from difflab.namespaces.autograd_ns import NAMESPACE as autograd_ns

    with _computing(framework):
        x = _as_framework(framework, X.reshape(1, 2, 3))
        xp = autograd_ns if framework == "autograd" else difflab.namespace(x)
        with pytest.raises(difflab.InputError, match="1-D or 2-D"):
            xp.diag(x)
        with pytest.raises(difflab.InputError, match="2 axes of a 3-D"):
            xp.einsum("ij->i", x)
        assert _plain(xp.einsum("...j->...", x)).shape == (1, 2)  # NumPy's forms stay allowed here


def test_stop_gradient_is_documented_and_holds_a_value_constant():
    """docs/api.md documents xp.stop_gradient; here d/dx [x * stop_gradient(x)] = x."""
    import pathlib

    doc = (pathlib.Path(__file__).parents[1] / "docs" / "api.md").read_text()
    assert "xp.stop_gradient" in doc
    for method in ("forward", "reverse", "torch", "jax", "tensorflow", "autograd", "fd-complex"):
        if method not in exact_methods() + ["fd-complex"]:
            continue
        got = difflab.get(method).gradient(lambda x: _ns(x).sum(x * _ns(x).stop_gradient(x)))(X)
        np.testing.assert_allclose(got, X, rtol=1e-15, err_msg=method)
