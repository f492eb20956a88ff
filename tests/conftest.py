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
    # Keras 3 fixes its global dtype policy from floatx when a layer is first made (a docs
    # block may have made one in float32): set both, and restore both
    previous, previous_policy = keras.backend.floatx(), keras.config.dtype_policy()
    keras.backend.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield keras
    keras.backend.set_floatx(previous)
    keras.config.set_dtype_policy(previous_policy)


# ---------------------------------------------------------------------- the default run's size
#: Parametrizations moved behind ``-m slow`` to keep the default run under 10 minutes on a
#: loaded 2-core machine: node-id fragments, each with why. A representative slice of each
#: sweep stays in the default run (the same test with cheaper methods or functions).
SLOW_CASES = {
    # every kind on the 11-parameter MLP: SymPy 309 s, JAX 48 s, TensorFlow 25 s on a loaded
    # machine; torch, autograd and difflab's own stay in the default run
    "test_agreement.py::test_every_kind_is_consistent_with_the_oracle[sympy]": "309 s loaded",
    "test_agreement.py::test_every_kind_is_consistent_with_the_oracle[jax]": "48 s loaded",
    "test_agreement.py::test_every_kind_is_consistent_with_the_oracle[tensorflow]": "25 s loaded",
    # the catalogue: SymPy on the MLP (72 s), JAX on all but rosenbrock (3-14 s each: a jit
    # compilation per function); the rest of the catalogue stays for both
    "test_catalogue_gradient_matches_oracle[mlp-loss-sympy]": "72 s loaded",
    **{f"test_catalogue_gradient_matches_oracle[{name}-jax]": "3-14 s loaded each" for name in (
        "logsumexp", "mlp-loss", "control-flow", "product", "softmax-xent", "classic", "sinc",
        "logistic-map", "nested", "tanh-layer")},
    # Rosenbrock against SciPy: n = 2 stays for every method, 5 and 40 are slow for JAX/SymPy
    "test_rosenbrock_gradient_and_hessian_match_scipy[40-jax]": "34 s loaded",
    "test_rosenbrock_gradient_and_hessian_match_scipy[5-jax]": "30 s loaded",
    "test_rosenbrock_gradient_and_hessian_match_scipy[40-sympy]": "10 s loaded",
    # SymPy's Hessian of the 11-parameter MLP (the hvp and the catalogue sweep)
    "test_catalogue_hvp_matches_oracle_hessian_times_v[mlp-loss-11-sympy]": "37 s loaded",
    "test_symbolic.py::test_agrees_with_the_oracle_on_the_catalogue[mlp-loss]": "11 s loaded",
    # every kind on the catalogue, JAX and TensorFlow (a trace per function and kind, 1-2.5 s
    # each): rosenbrock, control-flow and tanh-layer (vector output) stay in the default run
    **{f"test_frameworks.py::test_catalogue_agrees_with_the_oracle[{fw}-{name}]": "1-2.5 s each"
       for fw in ("jax", "tensorflow") for name in (
           "classic", "logistic-map", "logsumexp", "mlp-loss", "nested", "product", "sinc",
           "softmax-xent")},
}


#: pytensor JIT-compiles each derivative (Numba, PyTensor 3's default: 1-40 s on a loaded
#: 2-core machine, measured 40 s a case over the ops conformance sweep): its cases in the registry-wide files run
#: under -m slow, but for this slice (cases refused while tracing cost no compilation).
PYTENSOR_SWEEPS = ("test_agreement.py", "test_boundary.py", "test_boundary_silent.py",
                   "test_ops_conformance.py", "test_compare.py", "test_interface.py")
PYTENSOR_DEFAULT = ("test_catalogue_gradient_matches_oracle[rosenbrock-pytensor]",
                    "test_rosenbrock_gradient_and_hessian_match_scipy[2-pytensor]",
                    *(f"test_gradient_matches_oracle[{op}-pytensor]" for op in ("sin", "where", "logsumexp")),
                    "test_derivatives_compose_or_refuse[pytensor-", "conversion_of_a_traced_value",
                    "test_int_of_a_decision", "test_a_larger_output_is_still_refused")


def _pytensor_sweep(nodeid: str) -> bool:
    return ("pytensor" in nodeid and nodeid.split("::")[0].rsplit("/", 1)[-1] in PYTENSOR_SWEEPS
            and not any(keep in nodeid for keep in PYTENSOR_DEFAULT))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(fragment in item.nodeid for fragment in SLOW_CASES) or _pytensor_sweep(item.nodeid):
            item.add_marker(pytest.mark.slow)
