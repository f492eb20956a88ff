"""The prepared-derivative cache is bounded: fresh closures over large data are let go."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import difflab
from difflab.interface.differentiator import CACHE_SIZE

MB = 2 ** 20


def closure_over_a_megabyte(seed):
    data = np.full(MB // 8, float(seed))

    def f(x):
        xp = difflab.namespace(x)
        return float(data[0]) * xp.sum(x ** 2)
    return f, data


@pytest.mark.parametrize("name, count", [("reverse", 300), ("sympy", 24)])
def test_fresh_closures_over_a_megabyte_are_not_kept(name, count):
    d = difflab.get(name)
    x = np.array([0.5, -1.0])
    d.gradient(lambda x: difflab.namespace(x).sum(x ** 2))(x)   # imports done before measuring
    gc.collect()
    tracemalloc.start()
    try:
        alive = []
        for seed in range(1, count + 1):
            f, data = closure_over_a_megabyte(seed)
            np.testing.assert_allclose(d.gradient(f)(x), 2.0 * seed * x, rtol=1e-14)
            alive.append(weakref.ref(data))
            del f, data
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert sum(ref() is not None for ref in alive) <= CACHE_SIZE
    # each kept closure: its megabyte, and for sympy the snapshot's copy of it
    assert held < (2 * CACHE_SIZE + 8) * MB


def test_recent_derivatives_are_reused_and_evicted_ones_still_work():
    d = difflab.get("reverse")
    first, _ = closure_over_a_megabyte(3)
    g = d.gradient(first)
    assert d.gradient(first) is g
    others = [closure_over_a_megabyte(k)[0] for k in range(CACHE_SIZE)]
    for f in others:
        d.gradient(f)
    assert d.gradient(others[-1]) is d.gradient(others[-1])
    assert d.gradient(first) is not g                  # evicted: prepared afresh when asked
    np.testing.assert_allclose(g(np.array([1.0, 2.0])), [6.0, 12.0])   # the held one still works
