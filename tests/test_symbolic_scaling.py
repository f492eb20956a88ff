"""SymPy preparation does work linear in n for functions made of local terms.

The checks are structural (what ``sympy.diff`` is asked to differentiate, how many sums
SymPy builds), never timed; correctness against SciPy's closed forms.
"""
import numpy as np
import pytest
from scipy.optimize import rosen_der, rosen_hess_prod

import difflab
import difflab.analysis.functions as catalogue

sympy = pytest.importorskip("sympy")


@pytest.fixture
def diff_calls(monkeypatch):
    """Record the number of free symbols of every expression handed to ``sympy.diff``."""
    calls = []
    original = sympy.diff

    def counting(expr, *args, **kwargs):
        calls.append(len(sympy.sympify(expr).free_symbols))
        return original(expr, *args, **kwargs)

    monkeypatch.setattr(sympy, "diff", counting)
    return calls


def test_gradient_differentiates_each_term_by_its_own_symbols_only(diff_calls):
    n = 60
    f = catalogue.get("rosenbrock", dim=n)
    x = np.random.default_rng(0).uniform(-2, 2, n)
    grad = difflab.get("sympy").gradient(f)(x)
    np.testing.assert_allclose(grad, rosen_der(x), rtol=1e-13, atol=1e-12)
    # rosenbrock = sum of 100 (x_{i+1} - x_i^2)^2 and (1 - x_i)^2: 3 (n - 1) one- or
    # two-symbol derivatives, where differentiating the whole sum n times is O(n^2) work
    assert len(diff_calls) == 3 * (n - 1)
    assert max(diff_calls) <= 2


def test_hvp_differentiates_gradient_entries_by_their_own_symbols_only(diff_calls):
    n = 40
    f = catalogue.get("rosenbrock", dim=n)
    rng = np.random.default_rng(1)
    x, v = rng.uniform(-2, 2, n), rng.normal(size=n)
    got = difflab.get("sympy").hvp(f)(x, v)
    np.testing.assert_allclose(got, rosen_hess_prod(x, v), rtol=1e-12, atol=1e-10)
    assert max(diff_calls) <= 3  # a gradient entry of rosenbrock involves x_{i-1}, x_i, x_{i+1}
    assert len(diff_calls) <= 3 * (n - 1) + 3 * n


def test_tracing_a_sum_builds_one_sympy_add(monkeypatch):
    from difflab.namespaces.object_ns import SYMPY

    symbols = np.array(sympy.symbols("scaling_s0:50", real=True), dtype=object)
    built = []
    original = sympy.Add.flatten.__func__

    def counting(cls, seq):
        built.append(len(seq))
        return original(cls, seq)

    monkeypatch.setattr(sympy.Add, "flatten", classmethod(counting))
    total = SYMPY.sum(symbols * symbols)
    sums_built = list(built)
    assert total == sum(s * s for s in symbols[::-1])  # structural equality: the same sum
    # NumPy's pairwise reduce would build 49 growing sums, each re-flattening the last
    assert 50 in sums_built and len(sums_built) <= 2, sums_built


@pytest.mark.parametrize("axis, keepdims", [(None, False), (None, True), (0, False), (-1, True),
                                            ((0, 2), False), ((1,), True)])
def test_sympy_sum_keeps_numpys_shapes(axis, keepdims):
    from difflab.namespaces.object_ns import SYMPY

    a = np.array(sympy.symbols("shape_a0:24"), dtype=object).reshape(2, 3, 4)
    got, want = SYMPY.sum(a, axis=axis, keepdims=keepdims), np.sum(a, axis=axis, keepdims=keepdims)
    assert np.shape(got) == np.shape(want)
    assert all(sympy.expand(p - q) == 0 for p, q in zip(np.ravel(got), np.ravel(want)))


@pytest.mark.slow
def test_rosenbrock_300_prepares_and_is_exact():
    n = 300  # took 142 s to prepare before preparation became linear
    f = catalogue.get("rosenbrock", dim=n)
    x = np.random.default_rng(2).uniform(-2, 2, n)
    np.testing.assert_allclose(difflab.get("sympy").gradient(f)(x), rosen_der(x), rtol=1e-13, atol=1e-12)


def test_rosenbrock_1000_is_within_compares_default_budget_on_its_operation_count():
    """The cost model's decision on a fixed probe (no clock): rosenbrock at n = 1000 is
    about 8 operations per term (two squares, a square and a scale, two subtractions, two
    additions), 8,000 in all, and at the model's 5 ms per operation its
    SymPy preparation fits compare's default 60 s; ten times the terms do not."""
    from difflab.interface import cost
    from difflab.interface.registry import method_class

    def verdict(n):
        operations = 8 * (n - 1)
        probe = cost.Probe(n=n, m=1, f_seconds=1e-4, f_bytes=8.0 * n,
                           mp_seconds=operations * cost.MP_OP_SECONDS)
        estimate = cost.estimate(method_class("sympy").cost("gradient"), "gradient", probe,
                                 timed=False)
        return estimate.refusal(max_seconds=60.0, max_bytes=float("inf"))

    assert verdict(1000) == ""
    assert "--max-seconds" in verdict(10_000)


@pytest.mark.slow
def test_rosenbrock_1000_prepares_and_is_exact():
    from difflab.analysis.comparison import compare

    # preparation did not finish in 10 minutes before it was linear
    f = catalogue.get("rosenbrock", dim=1000)
    x = np.random.default_rng(3).uniform(-2, 2, 1000)
    result = compare(f, x, methods=["sympy"], max_seconds=float("inf"), repeat=1,
                     min_time=0.0).result("sympy")
    assert result.status == "ok", result.message
    np.testing.assert_allclose(result.value, rosen_der(x), rtol=1e-13, atol=1e-12)
