"""The compiled tape's call path and fused kernels (issue 24): results that are the caller's
own arrays, fused chains that give the tape engine's numbers, with and without numba."""
from __future__ import annotations

import numpy as np
import pytest

import difflab
from difflab import functions as catalogue
from difflab.errors import NotFinite


def test_a_compiled_gradient_is_a_new_array_at_each_call():
    """The program's result is the caller's (no persistent buffer handed out), so the plain
    call path need not copy it: two calls never share memory, and changing one result leaves
    the next call's answer alone."""
    f = catalogue.get("rosenbrock", dim=2000)
    x = np.linspace(-1.0, 1.5, 2000)
    d = difflab.get("reverse", jit=True).gradient(f)
    first = d(x)
    program = d._evaluators[x.shape].evaluator.program.run
    a, b = program(x)[1], program(x)[1]
    assert not np.shares_memory(a, b)
    first[:] = 0.0
    np.testing.assert_allclose(d(x), f.gradient(x), rtol=1e-12)


def test_the_plain_call_keeps_its_checks():
    """The prepared fast path refuses what the general one refuses, with the same errors."""
    f = catalogue.get("rosenbrock", dim=3)
    d = difflab.get("reverse", jit=True).gradient(f)
    d(np.ones(3))
    with pytest.raises(difflab.InputError, match="NaN or infinity"):
        d(np.array([1.0, np.nan, 1.0]))
    with pytest.raises(NotFinite):
        d(np.array([1e200, 1e200, 1.0]))
    h = difflab.get("reverse", jit=True).hvp(f)
    h(np.ones(3), np.ones(3))
    with pytest.raises(difflab.InputError, match="shape"):
        h(np.ones(3), np.ones(2))
    assert d(np.ones(3, dtype=np.float32)).dtype == np.float64
