"""Fixtures shared by several test files."""
import sys
import types

import pytest

import difflab


def _tiny_catalogue():
    """Two functions, standing in for difflab.functions in the matrix tests."""
    def square_sum(x):
        return difflab.namespace(x).sum(x * x)

    def sin_prod(x):
        xp = difflab.namespace(x)
        return xp.sin(x[0]) * x[1]

    functions = {"square-sum": difflab.Function(square_sum, "square-sum", dim=3, x0=[1.0, 2.0, 3.0]),
                 "sin-prod": difflab.Function(sin_prod, "sin-prod", dim=2, x0=[0.5, 2.0])}
    module = types.ModuleType("difflab.functions")
    module.names = lambda: list(functions)
    module.get = lambda name, dim=None: functions[name]
    module.default_set = lambda outputs="scalar": list(functions.values()) if outputs == "scalar" else []
    return module


@pytest.fixture
def tiny_catalogue(monkeypatch):
    monkeypatch.setitem(sys.modules, "difflab.functions", _tiny_catalogue())


@pytest.fixture(scope="module")
def keras():
    """A real Keras computing in float64 (so that agreement measures the rules, not float32),
    for the slow cross-checks of nets; skipped where Keras or TensorFlow is missing."""
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    previous = keras.backend.floatx()
    keras.backend.set_floatx("float64")
    yield keras
    keras.backend.set_floatx(previous)


# ---------------------------------------------------------------------- the default run's size
#: Parametrizations moved behind ``-m slow`` to keep the default run under 10 minutes on a
#: loaded 2-core machine: node-id fragments, each with why. A representative slice of each
#: sweep stays in the default run (the same test with cheaper methods or functions).
SLOW_CASES = {
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(fragment in item.nodeid for fragment in SLOW_CASES):
            item.add_marker(pytest.mark.slow)
