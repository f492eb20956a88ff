"""The Differentiator interface, the registry, Function and the namespace rules."""
import subprocess
import sys

import numpy as np
import pytest

import difflab
from difflab.interface.differentiator import Differentiator


def cubic(x):
    return difflab.namespace(x).sum(x ** 3)


def test_import_difflab_does_not_import_frameworks():
    code = ("import sys, difflab; difflab.get('torch').available(); difflab.methods();"
            "print(sorted(m for m in ('torch', 'tensorflow', 'jax', 'autograd') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_registry_lists_the_contract_names():
    names = difflab.methods()
    for name in ("manual", "fd-forward", "fd-central", "fd-five-point", "fd-complex",
                 "fd-richardson", "sympy", "forward", "reverse", "autograd", "tensorflow",
                 "torch", "jax"):
        assert name in names


def test_unknown_method_suggests_the_nearest():
    with pytest.raises(difflab.InputError, match="did you mean reverse"):
        difflab.get("revers")


def test_unknown_option_and_dtype_are_input_errors():
    with pytest.raises(difflab.InputError, match="unknown option"):
        difflab.get("reverse", step=1e-3)
    with pytest.raises(difflab.InputError, match="dtype"):
        difflab.get("reverse", dtype="float16")


def test_a_third_party_method_registers_by_name():
    class Doubling(Differentiator):
        """A deliberately trivial method: gradient of sum(x^3) times two."""
        name, family, native = "doubling", "manual", frozenset({"gradient"})

        def _build(self, kind, function, x):
            return lambda x: 2 * 3 * x ** 2

    difflab.register("doubling", Doubling)
    assert "doubling" in difflab.methods()
    d = difflab.get("doubling")
    np.testing.assert_array_equal(d.gradient(cubic)(np.array([1.0, 2.0])), [6.0, 24.0])
    assert d.how("value_and_gradient") == "f(x) and the gradient, separately"
    with pytest.raises(difflab.NotSupported, match="doubling does not support hessian"):
        d.hessian(cubic)


def test_entry_point_group_is_read(monkeypatch):
    from difflab.interface import registry

    class EP:
        name, value = "from-entry-point", "difflab.backends.own_ad:Reverse"

    monkeypatch.setattr(registry.importlib.metadata, "entry_points",
                        lambda group: [EP] if group == registry.ENTRY_POINT_GROUP else [])
    assert "from-entry-point" in difflab.methods()
    assert difflab.method_class("from-entry-point").name == "reverse"


def test_prepared_derivatives_are_cached_per_function_and_shape():
    d = difflab.get("reverse")
    g = d.gradient(cubic)
    assert d.gradient(cubic) is g
    assert d.hessian(cubic) is not g
    g.prepare(np.ones(3))
    assert g.setup_seconds >= 0.0
    np.testing.assert_array_equal(g(np.array([1.0, 2.0, 3.0])), [3.0, 12.0, 27.0])


def test_outputs_are_float64_numpy_and_inputs_are_checked():
    d = difflab.get("forward")
    out = d.gradient(cubic)([1, 2])
    assert type(out) is np.ndarray and out.dtype == np.float64
    with pytest.raises(difflab.InputError, match="NaN"):
        d.gradient(cubic)([1.0, np.nan])
    # issue 15: a matrix input keeps its shape (it was "x must be a 1-D array" before)
    np.testing.assert_array_equal(d.gradient(cubic)(np.full((2, 2), 2.0)), np.full((2, 2), 12.0))
    for z in (np.array([1.0 + 2.0j, 3.0]), [1.0, 2j]):
        with pytest.raises(difflab.InputError, match="must be real"):
            d.gradient(cubic)(z)
    with pytest.raises(difflab.InputError, match="scalar-valued"):
        difflab.get("reverse").gradient(lambda x: x * 2.0)(np.ones(3))


def test_describe_reports_how_each_kind_is_obtained():
    info = difflab.get("reverse").describe()
    assert info["kinds"]["vjp"] == "native"
    assert info["kinds"]["jvp"] == "Jacobian times vector"
    assert info["family"] == "automatic" and info["dtype"] == "float64"


def test_from_expression_sorts_variables_and_differentiates():
    f = difflab.Function.from_expression("sin(x)*exp(y) + x**2*y")
    x, y = 0.7, -0.4
    expected = [np.cos(x) * np.exp(y) + 2 * x * y, np.sin(x) * np.exp(y) + x ** 2]
    for method in ("forward", "reverse"):
        np.testing.assert_allclose(difflab.get(method).gradient(f)([x, y]), expected, rtol=1e-15)
    assert f.dim == 2


@pytest.mark.parametrize("text, message", [("sin(x", "cannot parse"), ("", "empty"),
                                           ("3 + 4", "no variables"), ("gamma(x)", "unknown function 'gamma'")])
def test_bad_expressions_are_one_line_errors(text, message):
    with pytest.raises(difflab.InputError, match=message):
        difflab.Function.from_expression(text)


def test_namespace_picks_the_innermost_trace():
    from difflab.ad.forward import Dual
    from difflab.ad.reverse import Node, Tape

    low = Dual(np.ones(2), np.zeros((1, 2)), level=1)
    high = Node(np.ones(2), level=2, tape=Tape())
    assert difflab.namespace(low, high) is high.namespace
    assert difflab.namespace(np.ones(2), low) is low.namespace
    assert difflab.namespace(np.ones(2)).name == "numpy"


def test_an_unimplemented_op_is_not_supported_naming_op_and_backend():
    from difflab.namespaces.ops import Namespace

    class Partial(Namespace):
        name = "partial-backend"

    with pytest.raises(difflab.NotSupported, match="partial-backend does not support arcsin"):
        Partial().arcsin(1.0)


@pytest.mark.parametrize("name", ["forward", "reverse", "fd-central", "fd-complex", "sympy"])
def test_float32_data_brought_in_stays_float32(name):
    """Closed-over float64 data must not promote a float32 evaluation back to float64."""
    W = np.random.default_rng(0).normal(size=(6, 3))
    seen = []

    def f(x):
        xp = difflab.namespace(x)
        data = xp.asarray(W)
        seen.append(getattr(data, "dtype", None))
        return xp.sum(xp.tanh(data @ x) ** 2)

    x = np.array([0.3, -0.2, 0.5])
    got = difflab.get(name, dtype="float32").gradient(f)(x)
    numeric = [d for d in seen if d is not None and d != np.dtype(object)]
    exact = difflab.reference(f, x)
    error = np.max(np.abs(got - exact)) / np.max(np.abs(exact))
    assert numeric and all(d in (np.float32, np.complex64) for d in numeric), seen
    assert error > 1e-12  # a float32 computation cannot be float64-exact ...
    assert error < 1e-3   # ... but is float32-sized
    assert difflab.namespace(W).asarray(W).dtype == np.float64  # outside an evaluation: untouched
