"""``dtype="float32"`` in the solvers and the trainer: the iterates, the gradients and the
update arithmetic are float32, checked bit for bit against plain NumPy float32 loops."""
from __future__ import annotations

import numpy as np
import pytest

import difflab
import nets
from difflab import solvers

C = np.array([0.3, -1.7, 2.9])


def shifted_square(w):
    xp = difflab.namespace(w)
    return xp.sum(xp.square(w - xp.asarray(C)))


def _numpy_loop(dtype, steps=40, lr=0.1, momentum=0.0):
    real = np.dtype(dtype).type
    w, v, c = np.zeros(3, dtype), np.zeros(3, dtype), C.astype(dtype)
    for _ in range(steps):
        v = real(momentum) * v - real(lr) * (real(2) * (w - c))
        w = w + v
    return w


@pytest.mark.parametrize("method", ["reverse", "forward", "manual"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_gradient_descent_iterates_are_float32(method, momentum):
    f = difflab.Function(shifted_square, gradient=lambda w: 2 * (w - C.astype(w.dtype)))
    res = solvers.gradient_descent(f, np.zeros(3), differentiator=method, learning_rate=0.1,
                                   momentum=momentum, max_iter=40, tol=1e-30, dtype="float32")
    assert res.x.dtype == np.float32
    np.testing.assert_array_equal(res.x, _numpy_loop("float32", momentum=momentum))
    assert not np.array_equal(res.x.astype(np.float64), _numpy_loop("float64", momentum=momentum))
    f64 = solvers.gradient_descent(f, np.zeros(3), differentiator=method, learning_rate=0.1,
                                   momentum=momentum, max_iter=40, tol=1e-30)
    assert f64.x.dtype == np.float64
    np.testing.assert_array_equal(f64.x, _numpy_loop("float64", momentum=momentum))


def test_data_gradient_descent_iterates_are_float32():
    X = np.array([[1.0], [2.0], [3.0]])
    y = np.array([0.7, 1.1, 2.3])

    def loss(w, X, y):
        xp = difflab.namespace(w)
        return xp.mean(xp.square(xp.asarray(X) @ w - xp.asarray(y)))

    res = solvers.data_gradient_descent(loss, (X, y), [0.0], learning_rate=0.05, epochs=30, dtype="float32")
    assert res.x.dtype == np.float32
    w, X32, y32 = np.zeros(1, np.float32), X.astype(np.float32), y.astype(np.float32)
    for _ in range(30):
        r = X32 @ w - y32
        w = w - np.float32(0.05) * (X32.T @ (np.float32(2) * r / np.float32(3)))
    np.testing.assert_allclose(res.x, w, rtol=2e-7)       # float32 rounding, summation order aside


def test_a_differentiator_of_another_dtype_is_refused():
    with pytest.raises(difflab.InputError, match="computes in float64"):
        solvers.gradient_descent(shifted_square, np.zeros(3), differentiator=difflab.get("reverse"),
                                 dtype="float32")
    with pytest.raises(difflab.InputError, match="dtype must be one of"):
        solvers.gradient_descent(shifted_square, np.zeros(3), dtype="float16")


@pytest.mark.parametrize("method", ["manual", "reverse"])
def test_the_trainer_keeps_float32(method):
    """One sample: the gradient x^T g has no sum whose order could differ from NumPy's."""
    x, y = np.array([[0.5, -1.25]]), np.array([[0.3]])
    model = nets.Sequential([nets.Dense(1, use_bias=False, input_dim=2, kernel_initializer=[[0.1], [0.2]])])
    model.compile(optimizer=nets.optimizers.SGD(0.1), loss="mse", differentiator=method, dtype="float32")
    model.fit(x, y, epochs=25, batch_size=1, shuffle=False, verbose=0)
    assert model.parameters.theta.dtype == np.float32
    w, x32, y32 = np.array([[0.1], [0.2]], np.float32), x.astype(np.float32), y.astype(np.float32)
    for _ in range(25):
        w = w - np.float32(0.1) * (x32.T @ (np.float32(2) * (x32 @ w - y32)))
    np.testing.assert_array_equal(model.parameters.theta, w.ravel())


def test_the_trainer_refuses_an_unknown_dtype():
    model = nets.Sequential([nets.Dense(1, input_dim=2)])
    with pytest.raises(ValueError, match="dtype must be"):
        model.compile(optimizer="sgd", loss="mse", dtype="float16")


def test_the_trainers_optimizer_slots_are_float32_too():
    """SGD with momentum: the momentum buffer in float32, the update as a NumPy float32 loop."""
    x, y = np.array([[0.5, -1.25]]), np.array([[0.3]])
    model = nets.Sequential([nets.Dense(1, use_bias=False, input_dim=2, kernel_initializer=[[0.1], [0.2]])])
    model.compile(optimizer=nets.optimizers.SGD(0.1, momentum=0.9), loss="mse", differentiator="manual",
                  dtype="float32")
    model.fit(x, y, epochs=25, batch_size=1, shuffle=False, verbose=0)
    assert model.optimizer.slot("momentum", model.parameters.theta).dtype == np.float32
    w, m = np.array([[0.1], [0.2]], np.float32), np.zeros((2, 1), np.float32)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    for _ in range(25):
        m *= np.float32(0.9)
        m -= np.float32(0.1) * (x32.T @ (np.float32(2) * (x32 @ w - y32)))
        w = w + m
    np.testing.assert_array_equal(model.parameters.theta, w.ravel())
