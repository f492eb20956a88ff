"""The rule table itself: every row checked in both modes against the oracle (which reads no
row of it; tests/test_rule_mutation.py corrupts each piece and watches it caught)."""

import numpy as np
import pytest

import difflab
from difflab.ad import forward, reverse
from difflab.ad.rules import RULES

X = np.array([0.35, -0.6, 0.8])


def unary_case(name):
    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(getattr(xp, name)(0.5 * x + 0.5) * xp.asarray([1.0, -2.0, 0.5]))  # args in (0.2, 0.9)
    return f


UNARY_ROWS = [name for name, r in RULES.items() if r.kind == "elementwise" and len(r.partials) == 1
              and name not in ("neg",)]


@pytest.mark.parametrize("name", UNARY_ROWS)
@pytest.mark.parametrize("engine", [forward, reverse], ids=["forward", "reverse"])
def test_each_unary_row_in_both_modes(name, engine):
    f = unary_case(name)
    np.testing.assert_allclose(engine.gradient(f, X), difflab.reference(f, X), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(engine.hessian(f, X), difflab.reference(f, X, "hessian"),
                               rtol=1e-12, atol=1e-14)


def test_one_table_serves_both_modes():
    """Forward and reverse read the same row object: a change shows in both."""
    assert forward.RULES is reverse.RULES is RULES


def test_nesting_has_no_perturbation_confusion():
    """d/dx [x * d/dy (x + y)] at any x is 1 (the classic confusion gives 2)."""
    def outer(x):
        inner = forward.gradient(lambda y: x[0] + y[0], np.array([3.0]))
        return x[0] * inner[0]
    for engine in (forward, reverse):
        assert engine.gradient(outer, np.array([2.0]))[0] == 1.0


def test_ties_split_the_subgradient_evenly():
    def f(x):
        xp = difflab.namespace(x)
        return xp.max(x) + xp.maximum(x[0], x[1])
    g = reverse.gradient(f, np.array([1.0, 1.0, 0.0]))
    np.testing.assert_array_equal(g, [1.0, 1.0, 0.0])
