"""sigmoid with relative accuracy everywhere (found by difflab fuzz, case 1:4217): the value,
and the derivative through the rule table's ``s(x) s(-x)``, against 50-digit closed forms."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import difflab

X = np.array([-60.0, -37.5, -5.0, -1e-3, 0.0, 3.0, 37.5, 60.0])


def _exact(x, derivative=False):
    with mpmath.workdps(50):
        out = []
        for v in x:
            e = mpmath.exp(-mpmath.mpf(float(v)))
            out.append(float(e / (1 + e) ** 2 if derivative else 1 / (1 + e)))
    return np.array(out)


def _total(x):
    xp = difflab.namespace(x)
    return xp.sum(xp.sigmoid(x))


def test_the_value_has_relative_accuracy_in_both_tails():
    value = difflab.namespace(X).sigmoid(X)
    np.testing.assert_allclose(value, _exact(X), rtol=4e-16, atol=0)


@pytest.mark.parametrize("method, options", [("forward", {}), ("reverse", {}), ("reverse", {"jit": True}),
                                             ("autograd", {})])
def test_the_derivative_has_relative_accuracy_in_both_tails(method, options):
    ok, why = difflab.method_class(method).availability()
    if not ok:
        pytest.skip(why)
    d = difflab.get(method, **options)
    np.testing.assert_allclose(d.gradient(_total)(X), _exact(X, derivative=True), rtol=1e-15, atol=0)


def test_autograd_differentiates_sigmoid_forward_too():
    """autograd's expit had no JVP rule; the composed sigmoid has both."""
    ok, why = difflab.method_class("autograd").availability()
    if not ok:
        pytest.skip(why)
    d, v = difflab.get("autograd"), np.linspace(-1.0, 1.0, X.size)
    np.testing.assert_allclose(d.jvp(_total)(X, v), _exact(X, derivative=True) @ v, rtol=1e-14)
    np.testing.assert_allclose(d.hvp(_total)(X, v), difflab.reference(_total, X, "hvp", vector=v),
                               rtol=1e-13, atol=1e-16)  # s'' = s' (1 - 2 s) cancels near 0
