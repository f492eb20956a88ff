"""Every NumPy indexing form on every registered method, against the closed form.

For ``f(x) = sum(C * x[idx] ** 2)`` (C a fixed array of the result's shape, so that a
misplaced entry shows) the gradient is ``2 C x[idx]`` added back at the positions ``idx``
reads: ``np.add.at(g, idx, 2 * C * x[idx])``, NumPy's own reading of the index, shared with
no method. Methods whose library is absent are skipped; the default run takes a
representative slice of forms per method, ``-m slow`` all of them.
"""
import numpy as np
import pytest

import difflab

X1 = np.linspace(0.1, 1.2, 6)
X2 = np.arange(1.0, 7.0).reshape(3, 2) * 0.2
X3 = np.arange(1.0, 13.0).reshape(2, 3, 2) * 0.1

#: name -> (x, index): basic and advanced forms and tuples mixing them.
FORMS = {
    "int": (X2, 1),
    "negative-int": (X2, -1),
    "slice": (X1, slice(1, 5)),
    "negative-step": (X2, slice(None, None, -1)),
    "negative-step-2": (X1, slice(4, 0, -2)),
    "list": (X2, [0, 1]),
    "list-repeated": (X1, [3, 0, 3, -1]),
    "int-array": (X2, np.array([0, 1])),
    "int-array-2d": (X2, np.array([[0, 2], [1, 1]])),
    "bool-mask": (X2, np.array([True, False, True])),
    "bool-mask-full": (X2, X2 > 0.5),
    "none": (X1, (None, slice(None))),
    "ellipsis": (X3, (Ellipsis, 0)),
    "none-ellipsis": (X2, (None, Ellipsis)),
    "tuple-ints": (X3, (1, 2)),
    "tuple-lists": (X2, ([0, 2], [1, 0])),
    "tuple-slice-list": (X2, (slice(0, 2), [1, 0])),
    "tuple-negstep-list": (X3, (slice(None, None, -1), [2, 0], 1)),
    "tuple-split-advanced": (X3, ([1, 0], slice(None), [0, 1])),
    "tuple-none-mask": (X2, (None, np.array([True, False, True]), slice(None, None, -1))),
}

#: The slice of forms in the default run: one of each family.
DEFAULT_FORMS = ["negative-step", "list", "bool-mask", "tuple-negstep-list", "none-ellipsis"]

METHODS = [m for m in difflab.methods() if m != "manual"]


def _loss(index, C):
    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.asarray(C) * x[index] ** 2)
    return f


def _expected(x, index, C):
    g = np.zeros_like(x)
    np.add.at(g, index, 2.0 * C * x[index])
    return g


def _method(name, **options):
    d = difflab.get(name, **options)
    if not d.available():
        pytest.skip(f"{name}: {d.availability()[1]}")
    return d


def _tolerance(d):
    return 1e-12 if d.exact else 1e-5


def check_form(method, form):
    d = _method(method)
    x, index = FORMS[form]
    C = np.linspace(1.0, 2.0, np.size(x[index])).reshape(np.shape(x[index]))
    got = d.gradient(_loss(index, C))(x)
    np.testing.assert_allclose(got, _expected(x, index, C), rtol=_tolerance(d), atol=_tolerance(d))


@pytest.mark.parametrize("form", DEFAULT_FORMS)
@pytest.mark.parametrize("method", METHODS)
def test_indexing_form_gradient(method, form):
    check_form(method, form)


@pytest.mark.slow
@pytest.mark.parametrize("form", [f for f in FORMS if f not in DEFAULT_FORMS])
@pytest.mark.parametrize("method", METHODS)
def test_indexing_form_gradient_full_sweep(method, form):
    check_form(method, form)


#: Methods that compile the function (the index becomes part of a graph or generated code).
JIT = [m for m in METHODS if "jit" in difflab.method_class(m).options]


@pytest.mark.parametrize("method", JIT)
def test_indexing_forms_compiled(method):
    """jit=True: the index is a constant of the compiled program (reverse: generated code)."""
    d = _method(method, jit=True)
    for form in ("negative-step", "tuple-lists", "tuple-none-mask", "tuple-split-advanced"):
        x, index = FORMS[form]
        C = np.linspace(1.0, 2.0, np.size(x[index])).reshape(np.shape(x[index]))
        np.testing.assert_allclose(d.gradient(_loss(index, C))(x), _expected(x, index, C),
                                   rtol=1e-12, atol=1e-12, err_msg=form)


@pytest.mark.parametrize("method", [m for m in METHODS if difflab.method_class(m).exact])
def test_indexing_jacobian_and_jvp(method):
    """The Jacobian of ``x[idx]`` is the selection matrix; a JVP selects the tangent."""
    d = _method(method)
    x, index = X2, (slice(None, None, -1), [1, 0, 1])
    rows = np.arange(x.size).reshape(x.shape)[index].ravel()
    expected = np.zeros((rows.size, x.size))
    expected[np.arange(rows.size), rows] = 1.0

    def f(x):
        return difflab.namespace(x).reshape(x[index], (-1,)) * 1.0
    np.testing.assert_allclose(np.reshape(d.jacobian(f)(x), expected.shape), expected, atol=1e-12)
    v = np.arange(1.0, 7.0).reshape(x.shape)
    np.testing.assert_allclose(np.ravel(d.jvp(f)(x, v)), v[index].ravel(), atol=1e-12)


@pytest.mark.parametrize("method", [m for m in METHODS if difflab.method_class(m).exact])
def test_index_out_of_range_is_numpy_s_index_error(method):
    """JAX clamps and TensorFlow's gather would fail its own way: NumPy's IndexError everywhere."""
    d = _method(method)
    with pytest.raises(IndexError):
        d.gradient(lambda x: difflab.namespace(x).sum(x[np.array([0, 7])]))(X1)


def _masked(x):
    return difflab.namespace(x).sum(x[x > 0.5] ** 2)


@pytest.mark.parametrize("method", [m for m in METHODS if difflab.method_class(m).exact])
def test_mask_computed_from_x(method):
    """``x[x > 0.5]``: eager methods follow it; the symbolic methods refuse the branch on a
    symbol."""
    d = _method(method)
    x = np.array([[0.2, 0.8], [1.1, 0.4]])
    if method in ("sympy", "pytensor", "casadi"):
        with pytest.raises(difflab.NotSupported):
            d.gradient(_masked)(x)
        return
    np.testing.assert_allclose(d.gradient(_masked)(x), 2 * x * (x > 0.5), rtol=1e-12)


@pytest.mark.parametrize("method", [m for m in JIT if m != "reverse"])
def test_mask_computed_from_x_under_jit_is_refused_by_name(method):
    """Under a compiled graph the mask sets the result's shape: a NotSupported naming it."""
    d = _method(method, jit=True)
    with pytest.raises(difflab.NotSupported, match="computed while tracing"):
        d.gradient(_masked)(np.array([0.2, 0.8, 1.1]))


@pytest.mark.parametrize("method", [m for m in METHODS if difflab.method_class(m).exact])
def test_integer_out_of_range_is_numpy_s_index_error(method):
    d = _method(method)
    with pytest.raises(IndexError):
        d.gradient(lambda x: x[7] * 2.0)(X1)


@pytest.mark.parametrize("method", [m for m in METHODS if difflab.method_class(m).exact])
def test_indexing_hessian(method):
    """Nested modes (forward over reverse, the frameworks' own) through a split advanced index,
    whose batched rule must keep NumPy's layout: H = diag of 6 C x[idx] added at the positions."""
    d = _method(method)
    x, index = FORMS["tuple-split-advanced"]
    C = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])

    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.asarray(C) * x[index] ** 3)
    positions = np.arange(x.size).reshape(x.shape)[index].ravel()
    expected = np.zeros((x.size, x.size))
    np.add.at(expected, (positions, positions), 6.0 * C.ravel() * x.ravel()[positions])
    np.testing.assert_allclose(np.reshape(d.hessian(f)(x), expected.shape), expected, atol=1e-12)


@pytest.mark.parametrize("method", [m for m in METHODS if difflab.method_class(m).vmap_name])
def test_indexing_batched(method):
    """batched=True vectorises (vmap, vectorized_map) through every form: one per family."""
    d = _method(method)
    P = np.array([[0.2, 0.8, 1.1, 0.5], [0.9, 0.1, 0.6, 1.3]])
    for index in (slice(None, None, -1), [3, 0, 3], np.array([True, False, True, True]), (None, ...)):
        C = np.linspace(1.0, 2.0, np.size(P[0][index])).reshape(np.shape(P[0][index]))
        expected = np.stack([_expected(p, index, C) for p in P])
        np.testing.assert_allclose(d.gradient(_loss(index, C), batched=True)(P), expected, atol=1e-12)
