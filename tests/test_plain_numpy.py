"""A function written with NumPy instead of ``difflab.namespace`` (docs/api.md).

The numeric methods take it, as SciPy and numdifftools take any callable; the methods that
trace it refuse it with one line saying how to port it, never a wrong number.
"""
import numpy as np
import pytest

import difflab

X = np.array([0.3, -1.1, 2.0])
#: Methods that trace the function and cannot follow NumPy (autograd wraps NumPy's ufuncs).
REFUSING = {"sympy", "forward", "reverse", "tensorflow", "torch", "jax", "pytensor"}


def plain(x):
    return np.sum(np.sin(x)) + np.dot(x, x)


@pytest.mark.parametrize("name", [m for m in difflab.methods() if m != "manual"])
def test_plain_numpy_function(name):
    """fd-* (and autograd) pass on the old code too: they always took NumPy; the rest is new."""
    d = difflab.get(name)
    if name in REFUSING:
        with pytest.raises(difflab.NotSupported) as info:
            d.gradient(plain)(X)
        message = str(info.value)
        assert "\n" not in message and "xp = difflab.namespace(x)" in message and "fd-*" in message
        # a Python number returned under tracing is a constant function, not NumPy
        np.testing.assert_array_equal(d.gradient(lambda x: 2.0 + 0.0 * x[0])(X), np.zeros(3))
        return
    tol = 1e-5 if name == "fd-forward" else 1e-8
    np.testing.assert_allclose(d.gradient(plain)(X), np.cos(X) + 2 * X, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(REFUSING))
def test_plain_numpy_jacobian_and_jit_are_refused_too(name):
    options = {"jit": True} if name in ("jax", "tensorflow") else {}
    with pytest.raises(difflab.NotSupported, match="written with NumPy"):
        difflab.get(name, **options).jacobian(lambda x: np.sin(x))(X)

