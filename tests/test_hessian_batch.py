"""The compiled Hessian as one program over a batch of directions (issue 24): forward over
reverse with the rows of the identity as k tangents at once, against SciPy's rosen_hess and
the oracle, in batches (large n), both dtypes and backends, from several threads."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import difflab
from difflab.analysis import functions as catalogue
from difflab.ad import compiled

BACKENDS = ("numpy", "numba")


def _counting(monkeypatch):
    """Count the calls of every program written from now on."""
    calls = []
    init = compiled.Program.__init__

    def counted(self, run, *args):
        def program(*a):
            calls.append(1)
            return run(*a)
        init(self, program, *args)

    monkeypatch.setattr(compiled.Program, "__init__", counted)
    return calls


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_hessian_is_one_program_call(backend, monkeypatch):
    """n directions, one call of one program (not the hvp program once per direction)."""
    calls = _counting(monkeypatch)
    f = catalogue.get("rosenbrock", dim=40)
    x = np.random.default_rng(0).uniform(-2.0, 2.0, 40)
    hessian = difflab.get("reverse", jit=backend).hessian(f)
    hessian(x)
    calls.clear()
    hessian(x + 0.5)
    assert len(calls) == 1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch", [compiled.HESSIAN_BATCH, 7 * 30, 30 * 30 - 1])
def test_batched_hessian_against_rosen_hess(backend, dtype, batch, monkeypatch):
    """One batch, batches of 7 directions (the last of 2), batches of 29 (the last of 1)."""
    scipy_optimize = pytest.importorskip("scipy.optimize")
    monkeypatch.setattr(compiled, "HESSIAN_BATCH", batch)
    f = catalogue.get("rosenbrock", dim=30)
    x = np.random.default_rng(1).uniform(-2.0, 2.0, 30).astype(dtype)
    hessian = difflab.get("reverse", jit=backend, dtype=dtype).hessian(f)
    for point in (x, x[::-1].copy()):
        want = scipy_optimize.rosen_hess(point.astype(np.float64))
        got = hessian(point)
        assert got.dtype == np.dtype(dtype) and got.shape == (30, 30)
        tol = 1e-12 if dtype == "float64" else 2e-6
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


_ORACLE: dict = {}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["nested", "softmax-xent", "mlp-loss", "rosenbrock"])
def test_batched_hessian_against_the_oracle(backend, dtype, name, monkeypatch):
    """Transcendental rows, a kink, matrix products: the oracle's Hessian, in batches of 2."""
    f = catalogue.get(name)
    x = np.asarray(f.default_point(), dtype=float)
    monkeypatch.setattr(compiled, "HESSIAN_BATCH", 2 * x.size)
    if name not in _ORACLE:
        _ORACLE[name] = np.asarray(difflab.reference(f, x, "hessian"), dtype=float)
    want = _ORACLE[name]
    got = difflab.get("reverse", jit=backend, dtype=dtype).hessian(f)(x.astype(dtype))
    assert got.dtype == np.dtype(dtype)
    tol = 1e-9 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_branch_retraces_the_batched_program(backend):
    """A decision on a value: each branch its own batched program, each the right Hessian."""
    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(x ** 3) if x[0] > 0 else xp.sum(xp.sin(x))
    hessian = difflab.get("reverse", jit=backend).hessian(f)
    x = np.linspace(0.5, 1.5, 6)
    for point in (x, -x, x + 0.1, -x - 0.1):
        want = np.diag(6.0 * point) if point[0] > 0 else np.diag(-np.sin(point))
        np.testing.assert_allclose(hessian(point), want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("batch", [compiled.HESSIAN_BATCH, 5 * 24])
def test_one_batched_hessian_shared_by_8_threads(batch, monkeypatch):
    """8 threads, each its own point, one compiled Hessian: each gets its own point's answer."""
    scipy_optimize = pytest.importorskip("scipy.optimize")
    monkeypatch.setattr(compiled, "HESSIAN_BATCH", batch)
    f = catalogue.get("rosenbrock", dim=24)
    hessian = difflab.get("reverse", jit=True).hessian(f)
    points = [np.random.default_rng(t).uniform(-2.0, 2.0, 24) for t in range(8)]
    barrier, wrong, errors = threading.Barrier(8), [0] * 8, []

    def run(t):
        try:
            barrier.wait()
            for _ in range(20):
                got = hessian(points[t])
                wrong[t] += not np.allclose(got, scipy_optimize.rosen_hess(points[t]), rtol=1e-12, atol=1e-9)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(t,)) for t in range(8)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    assert not errors and sum(wrong) == 0


def test_numba_fuses_the_batched_chain_and_folds_the_scatters():
    """The batched program's elementwise rows mix (n,) partials and (k, n) tangents: one
    numba kernel runs them; sums of scattered slices add in place (no zero-filled temporaries)."""
    pytest.importorskip("numba")
    f = catalogue.get("rosenbrock", dim=30)
    x = np.random.default_rng(2).uniform(-2.0, 2.0, 30)
    hessian = difflab.get("reverse", jit="numba").hessian(f)
    hessian(x)
    source = hessian._evaluators[x.shape].evaluator.program.source
    assert "_kernel" in source and "] += " in source


def _square(x):
    xp = difflab.namespace(x)
    return xp.sin(x) * x[::-1] + xp.exp(x[0]) * x


def _square_jacobian(x):
    n = x.size
    J = np.diag(np.cos(x) * x[::-1] + np.exp(x[0]))
    J[np.arange(n), n - 1 - np.arange(n)] += np.sin(x)
    J[:, 0] += np.exp(x[0]) * x
    return J


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch", [compiled.HESSIAN_BATCH, 3 * 9])
def test_a_square_jacobian_is_one_batch_of_tangents(backend, batch, monkeypatch):
    """m >= n outputs: the compiled Jacobian is one program over the n columns (in batches),
    the closed form's numbers at two points; one program call per Jacobian in one batch."""
    monkeypatch.setattr(compiled, "HESSIAN_BATCH", batch)
    calls = _counting(monkeypatch)
    x = np.linspace(-1.0, 1.2, 9)
    jacobian = difflab.get("reverse", jit=backend).jacobian(_square)
    for point in (x, 0.5 * x):
        calls.clear()
        np.testing.assert_allclose(jacobian(point), _square_jacobian(point), rtol=1e-13, atol=1e-13)
        assert len(calls) == (1 if batch >= 81 else 3)  # 9 directions: one batch, or three of 3
