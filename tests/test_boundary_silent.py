"""The last silent or raw answers at the boundary (issue 19, sections 3 and 4).

Each test failed on the code before its fix: data nested deeper than the closure snapshot
followed gave stale derivatives; ``1e400*x`` parsed to ``inf*x``; a non-finite derivative at
a finite f was returned; fd-forward over fd-forward was 14% off without a word; a constant
function was refused by forward, reverse and autograd as "written with NumPy"; a one-element
output or a list raised torch's, jax's, TensorFlow's or the compiled tape's own errors;
``float()``/``int()`` of a traced value raised jax's, autograd's and SymPy's own errors.
References are closed forms.
"""
from __future__ import annotations

import numpy as np
import pytest

import difflab
from difflab.errors import NotFinite
from difflab.interface.snapshot import MAX_DEPTH

KINDS = ("gradient", "value_and_gradient", "jacobian", "hessian", "jvp", "vjp", "hvp")
#: Every available method except manual (it has no derivatives of its own to give), with the
#: compiled variants (jit=True) of the methods that have one.
VARIANTS = [(m, {}) for m in difflab.methods()
            if m != "manual" and difflab.method_class(m).available()]
VARIANTS += [(m, {"jit": True}) for m, _ in list(VARIANTS) if "jit" in difflab.method_class(m).options]
TRACING = [(m, o) for m, o in VARIANTS if difflab.method_class(m).family in ("automatic", "symbolic")]
X = np.array([0.3, -0.7, 1.1])
V = np.array([1.0, 2.0, -0.5])


def ids(case):
    name, options = case
    return name + "".join(f"-{k}={v}" for k, v in options.items())


def call(d, kind, f, x, vector=None):
    derivative = getattr(d, kind)(f)
    if kind in ("jvp", "hvp", "vjp"):
        return derivative(x, V if vector is None else vector)
    return derivative(x)


def tol(d):
    return 1e-4 if d.family == "numeric" else 1e-12


# ---------------------------------------------------------------------- 1. never stale, any depth
class Holder:
    pass


def nested(depth, leaf):
    """``leaf`` under ``depth`` levels of dicts, lists and attributes, in turn."""
    node = leaf
    for level in range(depth):
        if level % 3 == 0:
            node = {"next": node}
        elif level % 3 == 1:
            node = [node]
        else:
            holder = Holder()
            holder.next = node
            node = holder
    return node


def unwrap(node, depth):
    for level in reversed(range(depth)):
        kind = level % 3
        node = node["next"] if kind == 0 else node[0] if kind == 1 else node.next
    return node


FREEZING = [(m, o) for m, o in VARIANTS if m == "sympy" or o.get("jit")]


@pytest.mark.parametrize("depth", [10, MAX_DEPTH + 5])
@pytest.mark.parametrize("case", FREEZING, ids=ids)
def test_data_nested_deeper_than_eight_levels_changed_in_place_is_seen(case, depth):
    """sympy, jax and tensorflow jit=True returned the old gradient past 8 levels."""
    w = np.array([1.0, 2.0, 3.0])
    data = nested(depth, w)

    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.asarray(unwrap(data, depth)) * x ** 2)

    d = difflab.get(case[0], **case[1])
    grad = d.gradient(f)
    np.testing.assert_allclose(grad(X), 2 * w * X, rtol=1e-12)
    w[:] = [5.0, -1.0, 0.5]
    np.testing.assert_allclose(grad(X), 2 * w * X, rtol=1e-12)


# ---------------------------------------------------------------------- 2. overflow, NotFinite
@pytest.mark.parametrize("text", ["1e400*x", "x + 2e308", "-1.8e308*x"])
def test_an_overflowing_constant_is_refused(text):
    """``1e400*x`` parsed to inf*x and reverse returned [nan] with only a RuntimeWarning."""
    with pytest.raises(difflab.InputError, match="overflows a float"):
        difflab.Function.from_expression(text)
    with pytest.raises(difflab.InputError, match="overflows a float"):
        difflab.get("reverse").gradient(text)(np.array([1.0]))


def huge_slope(x):
    """f = 1e9 at x = 1e-300, finite; its derivative 1e308 * 10 overflows to inf."""
    xp = difflab.namespace(x)
    return xp.sum(x * 1e308 * 10.0)


@pytest.mark.parametrize("kind", ["gradient", "jacobian", "jvp"])
@pytest.mark.parametrize("case", VARIANTS, ids=ids)
def test_a_non_finite_derivative_at_a_finite_value_is_refused(case, kind):
    """Every method returned inf (or nan) here: f is finite, so only f was checked."""
    x = np.array([1e-300])
    assert np.isfinite(huge_slope(x))
    # (XLA folds 1e308 * 10.0 to inf first, so jit=True finds f itself infinite: NotFinite too)
    with pytest.raises(NotFinite, match="NaN or infinite at this x"):
        call(difflab.get(case[0], **case[1]), kind, huge_slope, x, vector=np.ones(1))


# ---------------------------------------------------------------------- 3. FD over FD
def exp_sin(x):
    xp = difflab.namespace(x)
    return xp.sum(xp.exp(x) * xp.sin(x[::-1]))


def exp_sin_hvp(x, v):
    """Closed form: f = sum_i e^{x_i} sin(x_{n-1-i})."""
    n = x.size
    H = np.zeros((n, n))
    for i in range(n):
        j = n - 1 - i
        H[i, i] += np.exp(x[i]) * np.sin(x[j])
        H[j, j] -= np.exp(x[i]) * np.sin(x[j])
        H[i, j] += np.exp(x[i]) * np.cos(x[j])
        H[j, i] += np.exp(x[i]) * np.cos(x[j])
    return H @ v


FD = [m for m in difflab.methods() if difflab.method_class(m).family == "numeric"]


@pytest.mark.parametrize("inner", FD)
@pytest.mark.parametrize("outer", FD)
def test_finite_differences_of_a_finite_difference_derivative_are_refused(outer, inner):
    """fd-forward of an fd-forward gradient gave H v 14% off with no warning."""
    g = difflab.get(inner).gradient(exp_sin)
    # the method's own hvp balances the two steps
    np.testing.assert_allclose(difflab.get(outer).hvp(exp_sin)(X, V), exp_sin_hvp(X, V), rtol=1e-4)
    with pytest.raises(difflab.NotSupported, match="finite differences of a finite-difference"):
        difflab.get(outer).gradient(lambda y: g(y) @ V)(X)
    if outer == "fd-complex":  # a complex x reaches no difflab derivative (boundary.check_x)
        return
    # an exact inner derivative is fine
    exact = difflab.get("reverse").gradient(exp_sin)
    np.testing.assert_allclose(difflab.get(outer).gradient(lambda y: exact(y) @ V)(X),
                               exp_sin_hvp(X, V), rtol=1e-4)


# ---------------------------------------------------------------------- 4. a constant function
def constant(x):
    xp = difflab.namespace(x)
    return xp.cos(1.018)


def constant_vector(x):
    xp = difflab.namespace(x)
    return xp.asarray(np.array([1.0, 2.0])) * xp.cos(1.018)


def python_number(x):
    return 2


def python_numbers(x):
    return [1.5, 2]


ZEROS = {"gradient": (3,), "value_and_gradient": (3,), "hessian": (3, 3), "hvp": (3,),
         "jacobian": (2, 3), "jvp": (2,), "vjp": (3,)}


@pytest.mark.parametrize("written", ["namespace", "python"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", VARIANTS, ids=ids)
def test_a_function_that_does_not_depend_on_x_has_zero_derivatives(case, kind, written):
    """forward, reverse (jit too) and autograd refused xp.cos(1.018) as 'written with NumPy';
    torch, TensorFlow, jax and autograd raised their own errors on a Python number."""
    d = difflab.get(case[0], **case[1])
    if kind in ("jacobian", "jvp", "vjp"):
        f = constant_vector if written == "namespace" else python_numbers
    else:
        f = constant if written == "namespace" else python_number
    out = call(d, kind, f, X, vector=np.ones(2) if kind == "vjp" else None)
    if kind == "value_and_gradient":
        assert out[0] == pytest.approx(np.cos(1.018) if written == "namespace" else 2.0, rel=1e-15)
        out = out[1]
    np.testing.assert_allclose(out, np.zeros(ZEROS[kind]), atol=1e-9)


def test_a_function_written_with_numpy_is_still_refused():
    """The constant rule does not let NumPy's conversion of a traced x through (a zero)."""
    def plain(x):
        return np.sum(np.asarray(x, dtype=float) ** 2)

    for name in ("forward", "reverse"):
        with pytest.raises(difflab.NotSupported, match="written with NumPy"):
            difflab.get(name).gradient(plain)(X)


# ---------------------------------------------------------------------- 5. one-element outputs
def sum_sq(x):
    xp = difflab.namespace(x)
    return xp.sum(x * x)


def shape_one(x):
    xp = difflab.namespace(x)
    return xp.reshape(sum_sq(x), (1,))


def shape_one_one(x):
    xp = difflab.namespace(x)
    return xp.reshape(sum_sq(x), (1, 1))


def one_element_list(x):
    return [sum_sq(x)]


def as_list(x):
    """A vector function returned as a list of numbers (one a constant)."""
    return [sum_sq(x), x[0] * x[1], 2.0]


WANT = {"gradient": 2 * X, "hessian": 2 * np.eye(3), "hvp": 2 * V}


@pytest.mark.parametrize("f", [shape_one, shape_one_one, one_element_list])
@pytest.mark.parametrize("kind", ["gradient", "value_and_gradient", "hessian", "hvp"])
@pytest.mark.parametrize("case", VARIANTS, ids=ids)
def test_a_one_element_output_is_a_scalar_for_every_method(case, kind, f):
    """torch, jax and the compiled tape raised their own errors; now one rule, every method."""
    d = difflab.get(case[0], **case[1])
    out = call(d, kind, f, X)
    if kind == "value_and_gradient":
        assert out[0] == pytest.approx(np.sum(X * X), rel=1e-15)
        out, kind = out[1], "gradient"
    np.testing.assert_allclose(out, WANT[kind], rtol=tol(d), atol=tol(d))


@pytest.mark.parametrize("kind", ["jacobian", "jvp", "vjp"])
@pytest.mark.parametrize("case", VARIANTS, ids=ids)
def test_a_list_output_is_the_vector_it_lists(case, kind):
    """tensorflow, autograd, torch's and jax's vjp and the compiled tape raised raw errors."""
    d = difflab.get(case[0], **case[1])
    J = np.array([2 * X, [X[1], X[0], 0.0], np.zeros(3)])
    u = np.array([1.0, -2.0, 0.5])
    out = call(d, kind, as_list, X, vector=u if kind == "vjp" else None)
    want = {"jacobian": J, "jvp": J @ V, "vjp": u @ J}[kind]
    np.testing.assert_allclose(out, want, rtol=tol(d), atol=tol(d))


@pytest.mark.parametrize("case", VARIANTS, ids=ids)
def test_a_larger_output_is_still_refused_for_a_scalar_kind(case):
    with pytest.raises(difflab.InputError, match="needs a scalar-valued function"):
        difflab.get(case[0], **case[1]).gradient(as_list)(X)


# ---------------------------------------------------------------------- 6. float()/int() of a traced value
def times_float(x):
    xp = difflab.namespace(x)
    return xp.sum(x * x) * float(x[0])


def times_int(x):
    xp = difflab.namespace(x)
    return xp.sum(x * x) * int(x[2] * 10)


def index_by_decision(x):
    """int() of a comparison: a decision, which every tracing method but jax jit follows."""
    return x[int(x[0] > 0)] ** 2


@pytest.mark.parametrize("case", TRACING, ids=ids)
def test_int_of_a_decision_is_still_followed_under_tensorflow_jit(case):
    d = difflab.get(case[0], **case[1])
    try:
        got = d.gradient(index_by_decision)(X)
    except difflab.NotSupported as exc:
        assert case in (("jax", {"jit": True}), ("sympy", {}), ("pytensor", {}), ("casadi", {})), str(exc)
        return
    np.testing.assert_allclose(got, [0.0, 2 * X[1], 0.0], rtol=1e-12)


@pytest.mark.parametrize("f, factor", [(times_float, X[0]), (times_int, 11.0)], ids=["float", "int"])
@pytest.mark.parametrize("case", TRACING, ids=ids)
def test_a_conversion_of_a_traced_value_is_followed_or_refused_in_one_way(case, f, factor):
    """jax, autograd and sympy raised their own TypeErrors; tensorflow jit=True (AutoGraph
    casts float() to float32 and int() to int32) a dtype TypeError. Every tracing method either
    follows the conversion (the number is a constant: gradient 2 x * factor) or refuses it
    with one NotSupported naming the conversion."""
    d = difflab.get(case[0], **case[1])
    try:
        got = d.gradient(f)(X)
    except difflab.NotSupported as exc:
        conversion = "float()" if f is times_float else "int()"
        assert f"calls {conversion} on a value computed from x" in str(exc)
        assert case[0] in ("jax", "autograd", "sympy", "tensorflow", "pytensor", "casadi")
        return
    np.testing.assert_allclose(got, 2 * X * factor, rtol=1e-12)
