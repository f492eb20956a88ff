"""Data a function closes over and that changes between calls: never a stale derivative.

Methods that trace or compile once (``sympy``, ``jit=True`` of jax and tensorflow) keep
the values the function closed over at preparation; difflab notices when those change and
prepares again. Every method is checked here against the closed form, for an array mutated
in place, a closed-over name rebound, a module global rebound, a number and a bound
method's attribute, over first and second derivatives.
"""
import importlib.util

import numpy as np
import pytest

import difflab
from difflab.interface.snapshot import ClosureSnapshot, freezes_closure

FRAMEWORK_MODULES = {"autograd": "autograd", "torch": "torch", "tensorflow": "tensorflow",
                     "jax": "jax"}
#: (registry name, options): every method, and the compiled variants of jax and tensorflow.
METHODS = ([(name, {}) for name in difflab.methods() if name != "manual"]
           + [("jax", {"jit": True}), ("tensorflow", {"jit": True})])
TOL = {"numeric": 1e-3}   # fd-forward Hessians are good to about 3e-4 here


def method(name, options):
    module = FRAMEWORK_MODULES.get(name)
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    return difflab.get(name, **options)


def ids(case):
    name, options = case
    return name + "".join(f"-{k}={v}" for k, v in options.items())


def close(got, want, d):
    tol = TOL.get(d.family, 1e-12)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


X = np.array([0.3, -0.7, 1.1])


@pytest.fixture(params=METHODS, ids=ids)
def d(request):
    return method(*request.param)


# ---------------------------------------------------------------------- the cases
def closure_over(a):
    """f(x) = sum(a x^3), closing over the array ``a``; ``rebind`` replaces it."""
    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.asarray(a) * x ** 3)

    def rebind(new):
        nonlocal a
        a = new
    return f, rebind


def grad_cubic(a, x):
    return 3.0 * a * x ** 2


def hess_cubic(a, x):
    return np.diag(6.0 * a * x)


def test_an_array_mutated_in_place_gives_the_new_derivative(d):
    a = np.array([1.0, 2.0, 3.0])
    f, _ = closure_over(a)
    gradient, hessian = d.gradient(f), d.hessian(f)
    close(gradient(X), grad_cubic(a, X), d)
    close(hessian(X), hess_cubic(a, X), d)
    a[1] = -5.0
    close(gradient(X), grad_cubic(a, X), d)
    close(hessian(X), hess_cubic(a, X), d)
    a *= 0.5
    close(gradient(X), grad_cubic(a, X), d)


def test_a_rebound_closed_over_name_gives_the_new_derivative(d):
    f, rebind = closure_over(np.array([1.0, 2.0, 3.0]))
    gradient = d.gradient(f)
    close(gradient(X), grad_cubic(np.array([1.0, 2.0, 3.0]), X), d)
    new = np.array([-4.0, 0.5, 7.0])
    rebind(new)
    close(gradient(X), grad_cubic(new, X), d)
    close(d.jacobian(f)(X), grad_cubic(new, X).reshape(1, -1), d)


SCALE = 2.0


def scaled_square(x):
    xp = difflab.namespace(x)
    return SCALE * xp.sum(x ** 2)


def test_a_rebound_module_global_number_gives_the_new_derivative(d):
    global SCALE
    gradient = d.gradient(scaled_square)
    try:
        close(gradient(X), 4.0 * X, d)
        SCALE = -3.0
        close(gradient(X), -6.0 * X, d)
    finally:
        SCALE = 2.0


class Model:
    def __init__(self, w):
        self.w = w

    def loss(self, x):
        xp = difflab.namespace(x)
        return xp.sum(xp.asarray(self.w) * x ** 3)


def test_a_bound_methods_attribute_rebound_or_mutated_gives_the_new_derivative(d):
    model = Model(np.array([1.0, 2.0, 3.0]))
    gradient = d.gradient(model.loss)
    close(gradient(X), grad_cubic(model.w, X), d)
    model.w = np.array([2.0, -1.0, 0.25])
    close(gradient(X), grad_cubic(model.w, X), d)
    model.w[0] = 9.0
    close(gradient(X), grad_cubic(model.w, X), d)


def test_a_second_input_size_after_a_change_is_prepared_from_the_new_data(d):
    """Data changed between preparing two sizes: both sizes follow it."""
    data = {"a": 1.0}

    def f(x):
        xp = difflab.namespace(x)
        return data["a"] * xp.sum(x ** 2)

    gradient = d.gradient(f)
    close(gradient(X), 2.0 * X, d)
    data["a"] = 5.0
    close(gradient(X[:2]), 10.0 * X[:2], d)
    close(gradient(X), 10.0 * X, d)


# ---------------------------------------------------------------------- which methods
def test_exactly_the_tracing_and_compiling_methods_snapshot():
    snapshots = {ids((name, opts)) for name, opts in METHODS
                 if freezes_closure(difflab.get(name, **opts))}
    assert snapshots == {"sympy", "pytensor", "casadi", "jax-jit=True", "tensorflow-jit=True"}


def test_the_snapshot_sees_what_the_function_reaches():
    a, b = np.zeros(3), np.ones(2)
    table = {"k": [a, 1.5]}
    model = Model(b)

    def helper(x):
        return x * table["k"][1]

    def f(x, scale=a):
        return helper(x) + model.loss(x) + scale

    snap = ClosureSnapshot(f)
    assert not snap.changed()
    for change in (lambda: a.__setitem__(0, 1.0),            # a default's data
                   lambda: table["k"].__setitem__(1, 2.5),    # a number in a list in a dict
                   lambda: b.__setitem__(1, -1.0),            # an array on a bound object
                   lambda: setattr(model, "w", np.ones(2))):  # an attribute rebound
        snap = ClosureSnapshot(f)
        change()
        assert snap.changed()


class Settings:
    scale = 2.0

    def weight(self):
        return Settings.scale


class Scaled:
    settings = Settings()

    def loss(self, x):
        return self.settings.weight() * x


def test_class_attributes_and_the_methods_they_reach_are_seen():
    snap = ClosureSnapshot(Scaled().loss)
    assert not snap.changed()
    Settings.scale = 3.0
    try:
        assert snap.changed()
    finally:
        Settings.scale = 2.0


class Loss:
    """A callable object: what its __call__ reads on self and on its class."""
    offset = 1.0

    def __init__(self):
        self.w = np.ones(3)

    def __call__(self, x):
        return x * self.w + Loss.offset


def test_a_callable_objects_data_is_seen():
    loss = Loss()
    for change in (lambda: loss.w.__setitem__(0, 2.0), lambda: setattr(Loss, "offset", 3.0)):
        snap = ClosureSnapshot(loss)
        change()
        assert snap.changed()
    Loss.offset = 1.0


def test_nan_and_equal_rebinding_are_not_changes():
    a = np.array([np.nan, 1.0])
    k = [2.0]

    def f(x):
        return x * a + k[0]

    snap = ClosureSnapshot(f)
    k[0] = float("2.0")          # another float object, the same value
    assert not snap.changed()    # and NaN equals itself bit for bit
    a[1] = -0.0 + 1.0
    assert not snap.changed()
    a[0] = 0.0
    assert snap.changed()


@pytest.mark.parametrize("make, change", [
    (lambda: np.linspace(0.0, 1.0, 100_000), lambda a: a.__setitem__(-1, 2.0)),       # large
    (lambda: np.ones((40, 3)).T, lambda a: a.__setitem__((2, 39), 0.5)),              # a strided view
    (lambda: np.array(1.5), lambda a: a.fill(2.5)),                                    # 0-d
    (lambda: np.array([1 + 2j, 3j]), lambda a: a.__setitem__(0, 1 - 2j)),              # complex
    (lambda: np.zeros(100_000), lambda a: a.__setitem__(5, -0.0)),                     # the sign bit
    (lambda: [float(k) for k in range(10_000)], lambda a: a.__setitem__(9_999, 0.5)),  # a list
])
def test_every_kind_of_array_change_is_seen(make, change):
    a = make()

    def f(x):
        return x * a

    snap = ClosureSnapshot(f)
    assert not snap.changed()
    change(a)
    assert snap.changed()


def test_a_network_trained_with_compiled_jax_follows_every_batch():
    """nets reads the batch from ``model.batch``: compiled once, jax kept the first batch."""
    pytest.importorskip("jax")
    import nets
    from nets.datasets import load_xor

    weights = []
    for name, options in (("manual", {}), ("jax", {"jit": True})):
        model = nets.Sequential([nets.Dense(4, activation="tanh", input_dim=2),
                                 nets.Dense(1, activation="sigmoid")], seed=1)
        model.compile(optimizer=nets.optimizers.Adam(0.05), loss="binary_crossentropy",
                      differentiator=name, **options)
        model.fit(*load_xor(), epochs=3, batch_size=2, verbose=0)
        weights.append(np.concatenate([w.ravel() for w in model.get_weights()]))
    np.testing.assert_allclose(weights[1], weights[0], rtol=0, atol=1e-12)
