"""The framework methods (autograd, torch, tensorflow, jax) against the oracle and SciPy.

Each framework's tests skip (not fail) when it is not installed. TensorFlow's import alone
takes seconds, so the framework is imported once per module (``framework`` fixture) and
derivatives are compared in one test per (framework, function) over all kinds.
"""
import functools
import importlib
import importlib.metadata
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der, rosen_hess

import difflab
from difflab.backends._framework import FrameworkMethod, installed_distribution
from difflab.namespaces.ops import CONSTANTS, Namespace

#: registry name -> top-level module it needs.
FRAMEWORKS = {"autograd": "autograd", "torch": "torch", "tensorflow": "tensorflow", "jax": "jax"}
SCALAR_KINDS = ("gradient", "value_and_gradient", "jacobian", "hessian", "jvp", "vjp", "hvp")
VECTOR_KINDS = ("jacobian", "jvp", "vjp")
TOL64 = 1e-13


@pytest.fixture(scope="module", params=list(FRAMEWORKS))
def framework(request):
    pytest.importorskip(FRAMEWORKS[request.param])
    return request.param


def rel_error(got, ref):
    """Max-norm relative error (entries near zero measured on the scale of the whole result)."""
    got, ref = np.asarray(got, dtype=float).reshape(-1), np.asarray(ref, dtype=float).reshape(-1)
    return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-300))


# ---------------------------------------------------------------------- the catalogue
def catalogue():
    """(function, x, outputs) for the catalogue, or a small stand-in set without it."""
    try:
        from difflab.analysis import functions as F
    except ImportError:
        return _stand_ins()
    cases = []
    for name in F.names():
        f = F.get(name)
        cases.append((f, f.default_point(), F.CATALOGUE[name].outputs))
    return cases


def _stand_ins():
    def rosenbrock(x):
        xp = difflab.namespace(x)
        return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    def logsumexp(x):
        return difflab.namespace(x).logsumexp(x)

    def layer(x):
        xp = difflab.namespace(x)
        return xp.tanh(xp.matmul(xp.asarray(np.arange(8.0).reshape(2, 4) / 7), x))

    x = np.linspace(-0.8, 0.9, 4)
    return [(difflab.Function(rosenbrock), x, "scalar"), (difflab.Function(logsumexp), x, "scalar"),
            (difflab.Function(layer), x, "vector")]


CATALOGUE = catalogue()
#: Functions whose float64 evaluation is itself ill-conditioned at the default point
#: (sin(x)/x next to its removable singularity): every exact method shares that error.
ILL_CONDITIONED = {"sinc"}


@functools.lru_cache(maxsize=None)
def oracle(index, derivative):
    f, x, _ = CATALOGUE[index]
    return difflab.reference(f, x, derivative)


def expected(index, kind, v, u):
    f, x, outputs = CATALOGUE[index]
    if kind in ("hessian", "hvp"):
        H = oracle(index, "hessian")
        return H @ v if kind == "hvp" else H
    J = oracle(index, "jacobian" if outputs == "vector" else "gradient").reshape(-1, x.size)
    return {"gradient": J[0], "value_and_gradient": J[0], "jacobian": J, "jvp": J @ v, "vjp": u @ J}[kind]


def evaluate(d, kind, f, x, v, u):
    if kind in ("jvp", "hvp"):
        return getattr(d, kind)(f)(x, v)
    if kind == "vjp":
        return d.vjp(f)(x, u if u.size > 1 else u.reshape(()))
    out = getattr(d, kind)(f)(x)
    return out[1] if kind == "value_and_gradient" else out


@pytest.mark.parametrize("index", range(len(CATALOGUE)), ids=[c[0].name for c in CATALOGUE])
def test_catalogue_agrees_with_the_oracle(framework, index):
    f, x, outputs = CATALOGUE[index]
    rng = np.random.default_rng(index)
    v = rng.standard_normal(x.size)
    u = rng.standard_normal(np.size(f(x)))
    d = difflab.get(framework, jit=True) if framework == "jax" else difflab.get(framework)
    kinds = VECTOR_KINDS if outputs == "vector" else SCALAR_KINDS
    if framework == "jax":  # jax.jit cannot follow Python control flow; plain JAX can
        try:
            d.gradient(f).prepare(x) if outputs == "scalar" else d.jacobian(f).prepare(x)
        except difflab.NotSupported as exc:
            assert f.name == "control-flow", exc
            d = difflab.get(framework)
    tol = 1e-7 if f.name in ILL_CONDITIONED else TOL64
    errors = {}
    for kind in kinds:
        got = evaluate(d, kind, f, x, v, u)
        assert isinstance(got, np.ndarray) and got.dtype == np.float64
        errors[kind] = rel_error(got, expected(index, kind, v, u))
    if outputs == "scalar":
        value, _ = d.value_and_gradient(f)(x)
        assert type(value) is float and value == pytest.approx(float(f(x)), rel=1e-14)
    assert max(errors.values()) <= tol, errors


def test_jax_without_jit_agrees_too():
    pytest.importorskip("jax")
    f, x, _ = CATALOGUE[0]
    d = difflab.get("jax")
    for kind in SCALAR_KINDS:
        got = evaluate(d, kind, f, x, np.ones_like(x), np.ones(1))
        assert rel_error(got, expected(0, kind, np.ones_like(x), np.ones(1))) <= TOL64, kind


@pytest.fixture(scope="module")
def rosen_point():
    return np.random.default_rng(7).uniform(-2.0, 2.0, 10)


def rosenbrock(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_rosenbrock_agrees_with_scipy(framework, rosen_point):
    x = rosen_point
    d = difflab.get(framework, jit=True) if framework == "jax" else difflab.get(framework)  # JAX op by op: below
    value, grad = d.value_and_gradient(rosenbrock)(x)
    assert value == pytest.approx(rosen(x), rel=1e-15)
    assert rel_error(d.gradient(rosenbrock)(x), rosen_der(x)) <= TOL64
    assert rel_error(grad, rosen_der(x)) <= TOL64
    assert rel_error(d.hessian(rosenbrock)(x), rosen_hess(x)) <= TOL64
    assert rel_error(d.jacobian(rosenbrock)(x), rosen_der(x)[None]) <= TOL64
    assert rel_error(d.jvp(rosenbrock)(x, x[::-1]), [rosen_der(x) @ x[::-1]]) <= TOL64
    assert rel_error(d.vjp(rosenbrock)(x, np.array(-1.5)), -1.5 * rosen_der(x)) <= TOL64


@pytest.mark.parametrize("framework_name, jit", [("tensorflow", True), ("tensorflow", "xla"), ("jax", True)])
def test_jit_options_agree_and_compile_in_setup(framework_name, jit, rosen_point):
    pytest.importorskip(FRAMEWORKS[framework_name])
    d = difflab.get(framework_name, jit=jit)
    grad = d.gradient(rosenbrock)
    setup = grad.prepare(rosen_point)
    assert setup > 0
    assert rel_error(grad(rosen_point), rosen_der(rosen_point)) <= TOL64
    assert rel_error(d.hessian(rosenbrock)(rosen_point), rosen_hess(rosen_point)) <= TOL64
    assert d.describe()["options"]["jit"] == jit


@pytest.mark.parametrize("framework_name, options", [("tensorflow", {"pfor": False}),
                                                     ("torch", {"jacobian": "forward"}),
                                                     ("jax", {"jacobian": "forward", "jit": True})])
def test_jacobian_options_agree(framework_name, options, rosen_point):
    pytest.importorskip(FRAMEWORKS[framework_name])
    d = difflab.get(framework_name, **options)

    def residuals(x):
        return 10.0 * (x[1:] - x[:-1] ** 2)

    x = rosen_point
    want = np.zeros((x.size - 1, x.size))
    i = np.arange(x.size - 1)
    want[i, i], want[i, i + 1] = -20.0 * x[:-1], 10.0
    assert rel_error(d.jacobian(residuals)(x), want) <= TOL64
    assert rel_error(d.hessian(rosenbrock)(x), rosen_hess(x)) <= TOL64


def test_jax_jit_refuses_python_control_flow():
    pytest.importorskip("jax")

    def branchy(x):
        xp = difflab.namespace(x)
        return xp.sum(x ** 2) if x[0] > 0 else xp.sum(x ** 3)

    x = np.array([0.5, -1.0])
    with pytest.raises(difflab.NotSupported, match="control flow"):
        difflab.get("jax", jit=True).gradient(branchy)(x)
    assert rel_error(difflab.get("jax").gradient(branchy)(x), 2 * x) <= TOL64


# ---------------------------------------------------------------------- float32
def test_float32_really_computes_in_float32(framework, rosen_point):
    seen = {}

    def probe(x):
        xp = difflab.namespace(x)
        seen["x"] = str(x.dtype)
        seen["data"] = str(xp.asarray(np.ones(3)).dtype)
        seen["zeros"] = str(xp.zeros(3).dtype)
        return rosenbrock(x)

    x = rosen_point
    g32 = difflab.get(framework, dtype="float32").gradient(probe)(x)
    assert g32.dtype == np.float32  # computed in float32, returned in float32
    assert all("float32" in s for s in seen.values()), seen
    g64 = difflab.get(framework).gradient(probe)(x)
    assert all("float64" in s for s in seen.values()), seen
    x32 = x.astype(np.float32).astype(np.float64)  # the point float32 actually saw
    err32, err64 = rel_error(g32, rosen_der(x32)), rel_error(g64, rosen_der(x))
    assert 1e-9 < err32 < 1e-5, err32  # float32-sized: eps32 = 1.2e-7
    assert err64 <= TOL64 and err32 > 1e3 * err64


# ---------------------------------------------------------------------- the namespaces
def framework_array(framework, a):
    """``a`` as the framework's own array (autograd's namespace works on NumPy arrays)."""
    if framework == "torch":
        import torch
        return torch.as_tensor(a)
    if framework == "tensorflow":
        import tensorflow as tf
        return tf.constant(a)
    if framework == "jax":
        import jax
        with jax.enable_x64(True):
            return jax.numpy.asarray(a)
    return a


def as_numpy(value):
    return np.asarray(value.numpy() if hasattr(value, "numpy") and not isinstance(value, np.ndarray) else value)


def test_namespace_is_found_by_array_type(framework):
    ns = importlib.import_module(f"difflab.namespaces.{'tensorflow' if framework == 'tensorflow' else framework}_ns").NAMESPACE
    assert isinstance(ns, Namespace)
    if framework != "autograd":
        assert difflab.namespace(framework_array(framework, np.ones(3))) is ns
    for op in difflab.OPS:
        if op in CONSTANTS:
            assert isinstance(getattr(ns, op), float), op
            continue
        target = ns
        for part in op.split("."):  # linalg.norm
            target = getattr(target, part)
        assert callable(target), op


A = np.array([[0.3, -1.2, 2.5], [1.7, 0.4, -0.9]])
B = np.array([[0.5, 1.5], [-2.0, 0.25], [1.0, -0.75]])

#: (description, call on a namespace and two arrays, the same in NumPy).
VALUE_CASES = [
    ("max axis keepdims", lambda xp, a, b: xp.max(a, axis=1, keepdims=True), lambda a, b: a.max(axis=1, keepdims=True)),
    ("min all keepdims", lambda xp, a, b: xp.min(a, keepdims=True), lambda a, b: a.min(keepdims=True)),
    ("max tuple axis", lambda xp, a, b: xp.max(a, axis=(0, 1)), lambda a, b: a.max(axis=(0, 1))),
    ("sum axis 0", lambda xp, a, b: xp.sum(a, axis=0), lambda a, b: a.sum(axis=0)),
    ("prod axes", lambda xp, a, b: xp.prod(a, axis=(0, 1), keepdims=True), lambda a, b: a.prod(axis=(0, 1), keepdims=True)),
    ("mean", lambda xp, a, b: xp.mean(a, axis=-1), lambda a, b: a.mean(axis=-1)),
    ("logsumexp", lambda xp, a, b: xp.logsumexp(a, axis=1, keepdims=True),
     lambda a, b: np.log(np.exp(a).sum(axis=1, keepdims=True))),
    ("logsumexp all", lambda xp, a, b: xp.logsumexp(a), lambda a, b: np.log(np.exp(a).sum())),
    ("softmax", lambda xp, a, b: xp.softmax(a, axis=0), lambda a, b: np.exp(a) / np.exp(a).sum(axis=0)),
    ("sigmoid", lambda xp, a, b: xp.sigmoid(a), lambda a, b: 1 / (1 + np.exp(-a))),
    ("where", lambda xp, a, b: xp.where(a > 0, a, 2.0 * a), lambda a, b: np.where(a > 0, a, 2 * a)),
    ("clip", lambda xp, a, b: xp.clip(a, -1.0, 1.0), lambda a, b: np.clip(a, -1, 1)),
    ("maximum numpy operand", lambda xp, a, b: xp.maximum(a, np.zeros(3)), lambda a, b: np.maximum(a, 0)),
    ("matmul", lambda xp, a, b: xp.matmul(a, b), lambda a, b: a @ b),
    ("matmul vector", lambda xp, a, b: xp.matmul(a, b[:, 0]), lambda a, b: a @ b[:, 0]),
    ("dot vectors", lambda xp, a, b: xp.dot(a[0], b[:, 1]), lambda a, b: a[0] @ b[:, 1]),
    ("transpose axes", lambda xp, a, b: xp.transpose(xp.reshape(a, (1, 2, 3)), (2, 0, 1)),
     lambda a, b: a.reshape(1, 2, 3).transpose(2, 0, 1)),
    ("stack", lambda xp, a, b: xp.stack([a[0], a[1]], axis=1), lambda a, b: np.stack([a[0], a[1]], axis=1)),
    ("concatenate", lambda xp, a, b: xp.concatenate([a, a], axis=1), lambda a, b: np.concatenate([a, a], axis=1)),
    ("indexing", lambda xp, a, b: a[1, 1:] * a[:, ::2][0], lambda a, b: a[1, 1:] * a[:, ::2][0]),
    ("unary", lambda xp, a, b: xp.expm1(xp.arctan(a)) + xp.log1p(xp.abs(a)) + xp.sqrt(xp.square(a)),
     lambda a, b: np.expm1(np.arctan(a)) + np.log1p(np.abs(a)) + np.abs(a)),
    ("ones_like", lambda xp, a, b: xp.ones_like(a) + xp.zeros((2, 3)), lambda a, b: np.ones_like(a)),
]


def test_namespace_ops_agree_with_numpy(framework):
    module = "tensorflow" if framework == "tensorflow" else framework
    ns = importlib.import_module(f"difflab.namespaces.{module}_ns").NAMESPACE
    a, b = framework_array(framework, A), framework_array(framework, B)
    ctx = __import__("jax").enable_x64(True) if framework == "jax" else _nullcontext()
    with ctx:
        for name, ours, numpy_way in VALUE_CASES:
            got = as_numpy(ours(ns, a, b))
            np.testing.assert_allclose(got, numpy_way(A, B), rtol=1e-14, atol=1e-15, err_msg=name)
            assert got.dtype == np.float64, name


def _nullcontext():
    import contextlib
    return contextlib.nullcontext()


# ---------------------------------------------------------------------- NumPy operands
def test_numpy_data_through_asarray_works_everywhere(framework, rosen_point):
    w = np.linspace(0.5, 1.5, 10)

    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.asarray(w) * x ** 2) + xp.matmul(xp.asarray(w), x)

    g = difflab.get(framework).gradient(f)(rosen_point)
    assert rel_error(g, 2 * w * rosen_point + w) <= TOL64


#: PyTorch refuses NumPy operands on tensors under differentiation (Tensor.__rmul__ does
#: not take an ndarray, and ndarray.__rmul__ cannot convert a tensor that requires grad).
NUMPY_OPERANDS_REFUSED = {"torch"}


@pytest.mark.parametrize("side", ["numpy on the left", "numpy on the right"])
def test_python_operators_with_numpy_operands(framework, side, rosen_point):
    w = np.linspace(0.5, 1.5, 10)

    def f(x):
        xp = difflab.namespace(x)
        if side == "numpy on the left":
            return xp.sum(w * x ** 2 + (w - x) + w / (x + 3.0))
        return xp.sum(x ** 2 * w + (x - w) + (x + 3.0) / w)

    x = rosen_point
    if side == "numpy on the left":
        want = 2 * w * x - 1 - w / (x + 3.0) ** 2
    else:
        want = 2 * w * x + 1 + 1 / w
    d = difflab.get(framework)
    if framework in NUMPY_OPERANDS_REFUSED:  # issue 15: refused with how to port it
        with pytest.raises(difflab.NotSupported, match=r"xp\.asarray\(data\)"):
            d.gradient(f)(x)
        return
    assert rel_error(d.gradient(f)(x), want) <= TOL64


def test_vector_matmul_operator(framework):
    """``@`` on 1-D arrays (TensorFlow's own ``@`` needs rank 2: difflab switches it to NumPy's)."""
    def f(x):
        xp = difflab.namespace(x)
        return x @ x + xp.asarray(np.arange(3.0)) @ xp.sin(x)

    x = np.array([0.3, -0.7, 1.1])
    assert rel_error(difflab.get(framework).gradient(f)(x), 2 * x + np.arange(3.0) * np.cos(x)) <= TOL64


# ---------------------------------------------------------------------- settings left alone
def test_jax_leaves_the_global_x64_flag_alone(rosen_point):
    jax = pytest.importorskip("jax")
    before = jax.config.jax_enable_x64
    g = difflab.get("jax").gradient(rosenbrock)(rosen_point)
    assert rel_error(g, rosen_der(rosen_point)) <= TOL64
    assert jax.config.jax_enable_x64 == before
    if not before:
        assert jax.numpy.asarray([1.0]).dtype == np.float32
    d = difflab.get("jax")
    d.gradient(rosenbrock)(rosen_point)
    assert "thread-local" in d.describe()["x64"]


def test_tensorflow_operators_are_put_back(rosen_point):
    tf = pytest.importorskip("tensorflow")
    before = tf.Tensor.__matmul__
    difflab.get("tensorflow").gradient(rosenbrock)(rosen_point)
    assert tf.Tensor.__matmul__ is before
    with pytest.raises(Exception):  # outside difflab, TensorFlow's own @ (rank >= 2) again
        tf.constant([1.0, 2.0]) @ tf.constant([3.0, 4.0])


# ---------------------------------------------------------------------- interface
def test_complex_inputs_are_refused_at_the_boundary(framework):
    """difflab's interface is real: a complex x never reaches a framework's complex convention."""
    d = difflab.get(framework)
    with pytest.raises(difflab.InputError):
        d.gradient(rosenbrock)([1.0 + 1j, 2.0])
    with warnings.catch_warnings():  # a complex ndarray: at least NumPy's ComplexWarning, never silence
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        with pytest.raises((difflab.InputError, np.exceptions.ComplexWarning)):
            d.gradient(rosenbrock)(np.array([1.0 + 1j, 2.0]))


def test_describe_and_options(framework):
    d = difflab.get(framework)
    info = d.describe()
    assert info["family"] == "automatic" and info["version"]
    assert all(how.startswith("native") for how in info["kinds"].values())
    with pytest.raises(difflab.InputError):
        difflab.get(framework, no_such_option=1)


def test_tensorflow_distribution_found_from_metadata():
    from difflab.backends.tensorflow_backend import TENSORFLOW_DISTRIBUTIONS, TensorFlow

    installed = installed_distribution(TENSORFLOW_DISTRIBUTIONS)
    if installed is None:
        assert not TensorFlow.available() and "not installed" in TensorFlow.availability()[1]
    else:
        assert TensorFlow.library == installed
        assert TensorFlow.version() == importlib.metadata.version(installed)


def test_missing_framework_is_reported_not_raised():
    class Missing(FrameworkMethod):
        name = "missing"
        distributions = ("no-such-distribution-difflab",)
        modules = ("no_such_module_difflab",)

    ok, reason = Missing.availability()
    assert not ok and "not installed" in reason
    with pytest.raises(difflab.NotSupported):
        Missing().gradient(rosenbrock)(np.ones(2))


def test_import_and_availability_do_not_import_frameworks():
    code = (
        "import sys, json, difflab\n"
        "for name in ('autograd', 'torch', 'tensorflow', 'jax'):\n"
        "    cls = difflab.method_class(name)\n"
        "    cls.available(); cls.version(); difflab.get(name).describe()\n"
        "print(json.dumps(sorted(m for m in ('autograd', 'torch', 'tensorflow', 'jax', 'jaxlib')"
        " if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
