"""The dtype rule (docs/reliability.md, dtype): ``difflab.get(m, dtype="float32")`` computes in
float32 and returns float32, for every method in the registry and every derivative kind, the
value of ``value_and_gradient`` included; float64 stays float64. Checked against closed forms.

The frameworks (seconds to import each) run under ``-m slow``; difflab's own engines, the
finite differences and SymPy are the default run's slice.
"""
import numpy as np
import pytest

import difflab
from difflab.interface.registry import method_class

X = np.array([0.3, -0.7, 1.1])
V = np.array([1.0, 2.0, -1.0])
U = np.array([1.0, -1.0, 0.5])
#: Methods that take seconds to import: their sweep is behind -m slow.
FRAMEWORKS = {"autograd", "tensorflow", "torch", "jax"}


def scalar(x):
    """sum(x sin x) + x0^2 x1."""
    xp = difflab.namespace(x)
    return xp.sum(x * xp.sin(x)) + x[0] ** 2 * x[1]


def vector(x):
    """sin(x) * x0."""
    return difflab.namespace(x).sin(x) * x[0]


def scalar_value(x):
    return float(np.sum(x * np.sin(x)) + x[0] ** 2 * x[1])


def scalar_gradient(x):
    g = np.sin(x) + x * np.cos(x)
    g[0] += 2 * x[0] * x[1]
    g[1] += x[0] ** 2
    return g


def scalar_hessian(x):
    h = np.diag(2 * np.cos(x) - x * np.sin(x))
    h[0, 0] += 2 * x[1]
    h[0, 1] += 2 * x[0]
    h[1, 0] += 2 * x[0]
    return h


def vector_jacobian(x):
    j = np.diag(np.cos(x) * x[0])
    j[:, 0] += np.sin(x)
    return j


#: kind -> (function, arguments after x, closed form of the result at X).
CASES = {
    "gradient": (scalar, (), scalar_gradient(X)),
    "value_and_gradient": (scalar, (), scalar_gradient(X)),
    "jacobian": (vector, (), vector_jacobian(X)),
    "hessian": (scalar, (), scalar_hessian(X)),
    "jvp": (vector, (V,), vector_jacobian(X) @ V),
    "vjp": (vector, (U,), U @ vector_jacobian(X)),
    "hvp": (scalar, (V,), scalar_hessian(X) @ V),
}
#: Hand-written derivatives for ``manual``, which has no other way to them.
MANUAL = {scalar: difflab.Function(scalar, gradient=scalar_gradient, hessian=scalar_hessian, name="scalar"),
          vector: difflab.Function(vector, jacobian=vector_jacobian, name="vector")}


def _tolerance(name, kind):
    """Float32 rounding for exact methods; a finite difference's truncation and float32
    rounding together (h ~ eps^(1/2) or eps^(1/3) of float32) for the numeric ones."""
    if method_class(name).exact:
        return 1e-5
    return 5e-2 if kind in ("hessian", "hvp") else 1e-2


def _check(name, kind, dtype):
    cls = method_class(name)
    available, why = cls.availability()
    if not available:
        pytest.skip(why)
    fn, args, expected = CASES[kind]
    if cls.family == "manual":
        fn = MANUAL[fn]
    result = getattr(difflab.get(name, dtype=dtype), kind)(fn)(X, *args)
    if kind == "value_and_gradient":
        value, result = result
        if dtype == "float32":
            assert type(value) is np.float32
        else:
            assert type(value) is float
        assert abs(float(value) - scalar_value(X)) <= _tolerance(name, "value") * abs(scalar_value(X))
    assert isinstance(result, np.ndarray) and result.dtype == np.dtype(dtype), (name, kind, result.dtype)
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(result.astype(np.float64), expected, rtol=0,
                               atol=_tolerance(name, kind) * scale)


@pytest.mark.parametrize("kind", difflab.KINDS)
@pytest.mark.parametrize("name", [m for m in difflab.methods() if m not in FRAMEWORKS])
def test_float32_in_float32_out(name, kind):
    _check(name, kind, "float32")


@pytest.mark.slow
@pytest.mark.parametrize("kind", difflab.KINDS)
@pytest.mark.parametrize("name", sorted(FRAMEWORKS - {"jax"}))  # jax: the default run
def test_float32_in_float32_out_frameworks(name, kind):
    _check(name, kind, "float32")


@pytest.mark.parametrize("kind", difflab.KINDS)
def test_float32_in_float32_out_one_framework(kind):
    """The default run's framework slice: JAX, whose own float32 rule this one follows."""
    _check("jax", kind, "float32")


@pytest.mark.parametrize("name", ["reverse", "fd-central"])
@pytest.mark.parametrize("kind", difflab.KINDS)
def test_float64_stays_float64(name, kind):
    _check(name, kind, "float64")


def test_compiled_tape_returns_float32():
    d = difflab.get("reverse", dtype="float32", jit=True)
    for kind in ("gradient", "hessian", "hvp"):
        fn, args, expected = CASES[kind]
        out = getattr(d, kind)(fn)(X, *args)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5 * np.max(np.abs(expected)))


def test_pytrees_and_batches_keep_float32():
    def loss(params):
        xp = difflab.namespace(params["w"])
        return xp.sum(params["w"] ** 2) * params["b"]

    d = difflab.get("reverse", dtype="float32")
    grads = d.gradient(loss)({"w": np.array([1.0, 2.0]), "b": 3.0})
    assert grads["w"].dtype == np.float32 and type(grads["b"]) is np.float32
    np.testing.assert_allclose(grads["w"], [6.0, 12.0])
    assert grads["b"] == np.float32(5.0)
    points = np.array([[0.3, -0.7, 1.1], [1.0, 2.0, 3.0]])
    batch = d.gradient(scalar, batched=True)(points)
    assert batch.dtype == np.float32
    np.testing.assert_allclose(batch, [scalar_gradient(p) for p in points], rtol=1e-5)
