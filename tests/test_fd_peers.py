"""fd-numdifftools and fd-scipy: the libraries behind difflab's interface, checked against
closed forms (SciPy's Rosenbrock derivatives, the oracle), their evaluation counts, their
own error estimates kept beside the bound difflab reports, SciPy's vectorised calling
convention, a start near the edge of f's domain, and "unavailable" when not installed."""
import importlib.metadata

import numpy as np
import pytest
from scipy.optimize import rosen_der

import difflab
from difflab.backends import scipy_differentiate
from difflab.analysis.environment import method_info
from difflab.fd.core import library_bound

PEERS = ["fd-numdifftools", "fd-scipy"]


def rosenbrock(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_numdifftools_gradient_costs_its_documented_30n_plus_1_evaluations():
    """15 steps, central: 2 n per step, and f(x) once."""
    calls = []

    def counted(x):
        calls.append(1)
        return rosenbrock(x)

    n, x = 6, np.linspace(-1, 1, 6)
    gradient = difflab.get("fd-numdifftools").gradient(counted)
    gradient.prepare(x)  # the boundary evaluates f once when it prepares
    calls.clear()
    np.testing.assert_allclose(gradient(x), rosen_der(x), rtol=1e-12)
    assert len(calls) == 30 * n + 1


@pytest.mark.parametrize("name", PEERS)
def test_the_library_estimate_is_kept_and_the_bound_is_made_of_it(name):
    x = np.linspace(-1, 1, 5)
    calls = []

    def counted(x):
        calls.append(1)
        return rosenbrock(x)

    d = difflab.get(name)
    d.gradient(counted).prepare(x)  # the boundary's one evaluation of f, before counting
    calls.clear()
    est = d.estimate(counted, x)
    assert est.evaluations == len(calls)
    assert est.library_error is not None and est.library_error.shape == (5,)
    assert np.all(est.error >= library_bound(est.library_error[None, :])[0])  # fd-scipy: + a floor
    assert np.all(np.abs(est.value - rosen_der(x)) <= est.error)
    # difflab's own methods have no library estimate
    assert difflab.get("fd-richardson").estimate(rosenbrock, x).library_error is None


def test_scipy_cannot_take_a_namespace_function_vectorised_so_fd_scipy_calls_it_per_point():
    """SciPy hands f points along trailing axes; ``xp.sum`` then sums the batch too and SciPy
    refuses the shape. Column by column (difflab.backends.scipy_differentiate.Columns) is
    the gradient SciPy's own rosen_der gives."""
    from scipy.differentiate import jacobian

    x = np.array([1.2, 0.8, -0.5, 0.3])
    with pytest.raises(ValueError, match="shape"):
        jacobian(rosenbrock, x)
    columns = scipy_differentiate.Columns(rosenbrock, np.dtype(np.float64), 1)
    found = jacobian(columns, x)
    np.testing.assert_allclose(found.df[0], rosen_der(x), rtol=1e-12)
    np.testing.assert_allclose(difflab.get("fd-scipy").gradient(rosenbrock)(x), rosen_der(x), rtol=1e-12)


def test_fd_scipy_starts_again_smaller_where_its_first_step_leaves_the_domain():
    """sum(log x) at x = 0.05: the first step, 1/8, reaches x < 0 (NaN); the entry that met it
    starts again 16 times smaller and gets 1/x."""
    def log_sum(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.log(x))

    x = np.array([0.05, 2.0])
    np.testing.assert_allclose(difflab.get("fd-scipy").gradient(log_sum)(x), 1 / x, rtol=1e-10)


@pytest.mark.parametrize("name", PEERS)
def test_float32_points_reach_f(name):
    seen = []

    def spy(x):
        seen.append(np.asarray(x).dtype)
        return rosenbrock(x)

    x = np.array([0.5, -0.3, 1.1], dtype=np.float32)
    d = difflab.get(name, dtype="float32")
    for kind in ("gradient", "hessian"):
        out = getattr(d, kind)(spy)(x)
        assert out.dtype == np.float32
    assert set(seen) == {np.dtype(np.float32)}


@pytest.mark.parametrize("name, library", [("fd-numdifftools", "numdifftools"), ("fd-scipy", "scipy")])
def test_a_missing_library_is_listed_unavailable(monkeypatch, name, library):
    real = importlib.metadata.version

    def version(dist):
        if dist == library:
            raise importlib.metadata.PackageNotFoundError(dist)
        return real(dist)

    monkeypatch.setattr(importlib.metadata, "version", version)
    info = method_info(name)
    assert not info.available and library in info.reason
    cmp = difflab.compare(rosenbrock, [1.0, 2.0], methods=[name, "reverse"], repeat=1, min_time=0)
    assert cmp.result(name).status == "unsupported" and cmp.result("reverse").status == "ok"


def test_an_old_scipy_is_unavailable_for_fd_scipy(monkeypatch):
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version",
                        lambda dist: "1.14.1" if dist == "scipy" else real(dist))
    available, why = difflab.method_class("fd-scipy").availability()
    assert not available and "1.15" in why
