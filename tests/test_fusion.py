"""The compiled tape's call path and fused kernels (issue 24): results that are the caller's
own arrays, fused chains that give the tape engine's numbers, with and without numba."""
from __future__ import annotations

import numpy as np
import pytest

import difflab
from difflab.analysis import functions as catalogue
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


BACKENDS = ("numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not __import__("difflab.ad.fusion", fromlist=["available"]).available(), reason="numba not installed")))


@pytest.mark.parametrize("dtype", ("float64", "float32"))
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ("rosenbrock", "nested", "softmax-xent", "mlp-loss", "product"))
def test_both_backends_give_the_tape_engines_numbers(name, backend, dtype):
    """Fused (numba) and unfused (NumPy ``out=``) programs: the gradient and the hvp equal
    the tape engine's (float32 in and out, the same rounding: fused rows are exact IEEE
    operations in float32)."""
    f = catalogue.get(name)
    jit, tape = difflab.get("reverse", jit=backend, dtype=dtype), difflab.get("reverse", dtype=dtype)
    rng = np.random.default_rng(3)
    x = np.asarray(f.default_point(), dtype=dtype)
    v = rng.uniform(0.5, 1.5, x.size).astype(dtype)
    for got, want in ((jit.gradient(f)(x), tape.gradient(f)(x)), (jit.hvp(f)(x, v), tape.hvp(f)(x, v))):
        assert got.dtype == np.dtype(dtype)
        tol = 1e-12 if dtype == "float64" else 2e-6
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, float(np.max(np.abs(want)))))


@pytest.mark.parametrize("backend", BACKENDS)
def test_rosenbrock_gradient_and_hvp_against_scipy(backend):
    """At a size with persistent buffers (n = 3000), against SciPy's closed forms."""
    scipy_optimize = pytest.importorskip("scipy.optimize")
    f = catalogue.get("rosenbrock", dim=3000)
    x = np.random.default_rng(1).uniform(-2.0, 2.0, 3000)
    v = np.random.default_rng(2).normal(size=3000)
    d = difflab.get("reverse", jit=backend)
    np.testing.assert_allclose(d.gradient(f)(x), scipy_optimize.rosen_der(x), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(d.hvp(f)(x, v), scipy_optimize.rosen_hess_prod(x, v), rtol=1e-12, atol=1e-9)


def test_numba_fuses_the_elementwise_chain_and_numpy_does_not():
    pytest.importorskip("numba")
    f = catalogue.get("rosenbrock", dim=50)
    x = np.linspace(-1.0, 1.0, 50)
    sources = {}
    for backend in ("numba", "numpy"):
        d = difflab.get("reverse", jit=backend).gradient(f)
        d(x)
        sources[backend] = d._evaluators[x.shape].evaluator.program.source
    assert sources["numba"].count("_kernel") == 1 and "_np.square" not in sources["numba"]
    assert "_kernel" not in sources["numpy"] and "_np.square" in sources["numpy"]


def test_jit_true_runs_numpy_where_numba_does_not_import(monkeypatch):
    from difflab.ad import fusion

    monkeypatch.setattr(fusion, "available", lambda: False)
    f = catalogue.get("rosenbrock", dim=5)
    d = difflab.get("reverse", jit=True).gradient(f)
    np.testing.assert_allclose(d(np.ones(5) * 0.5), f.gradient(np.ones(5) * 0.5), rtol=1e-12)
    assert "_kernel" not in d._evaluators[(5,)].evaluator.program.source
    with pytest.raises(difflab.InputError, match="numba"):
        difflab.get("reverse", jit="numba")


def test_an_accumulation_through_a_view_is_not_read_early():
    """A row reading a view of an accumulator that an in-place row changes later must see the
    change: the kernel may not read it before (both backends against the tape)."""
    def f(x):
        xp = difflab.namespace(x)
        y = xp.sin(x) * x
        z = y[1:] * y[:-1]
        return xp.sum(z * z) + xp.sum(xp.exp(y) * 2.0)
    x = np.linspace(-1.0, 1.0, 40)
    want = difflab.get("reverse").hvp(f)(x, np.cos(x))
    for backend in ("numpy", "numba"):
        np.testing.assert_allclose(difflab.get("reverse", jit=backend).hvp(f)(x, np.cos(x)), want, rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_hessian_against_scipy_and_the_oracle(backend):
    """The compiled Hessian (the hvp program per direction): SciPy's rosen_hess, and the
    oracle's Hessian on functions with transcendental rows and a kink."""
    scipy_optimize = pytest.importorskip("scipy.optimize")
    d = difflab.get("reverse", jit=backend)
    f = catalogue.get("rosenbrock", dim=60)
    x = np.random.default_rng(4).uniform(-2.0, 2.0, 60)
    H = d.hessian(f)(x)
    np.testing.assert_allclose(H, scipy_optimize.rosen_hess(x), rtol=1e-12, atol=1e-9)
    for name in ("nested", "softmax-xent", "mlp-loss"):
        f = catalogue.get(name)
        x = np.asarray(f.default_point(), dtype=float)
        want = np.asarray(difflab.reference(f, x, "hessian"), dtype=float)
        np.testing.assert_allclose(d.hessian(f)(x), want, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(want).max()))
    assert d.how("hessian").startswith("native, compiled tape")
