"""The operators difflab switches while it evaluates stay in the evaluating thread.

TensorFlow's ``@``: difflab no longer switches it (the function sees views whose ``@`` is
NumPy's, difflab.namespaces.view); its tests stay as guards that another thread sees
TensorFlow's own operator. SymPy's truth value (refused on a symbol while ``sympy``
traces): another thread computing at the
same moment sees the libraries' own behaviour, and after overlapping calls from several
threads both classes are exactly as they were. The overlaps are staged with events, so each
test is deterministic.
"""
import threading

import numpy as np
import pytest

import difflab

TIMEOUT = 60


class Stage:
    """A function's body that, when armed for a thread, runs that thread's step once."""

    def __init__(self):
        self.steps = {}

    def __call__(self):
        step = self.steps.pop(threading.current_thread().name, None)
        if step is not None:
            step()


def run_threads(*targets):
    errors = []

    def guarded(target):
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 (pytest.fail too), reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,), name=f"t{i}") for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
        assert not t.is_alive(), "a thread did not finish"
    if errors:
        raise errors[0]


def wait(event):
    assert event.wait(TIMEOUT), "a staged step never came"


# ---------------------------------------------------------------------- TensorFlow
@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow")


def plain_matmul_is_tensorflows_own(tf):
    """TensorFlow's ``@``: 2-D @ 2-D multiplies, 2-D @ 1-D is refused (rank >= 2 needed)."""
    M = tf.constant([[1.0, 2.0], [3.0, 4.0]], dtype=tf.float64)
    np.testing.assert_array_equal((M @ M).numpy(), [[7.0, 10.0], [15.0, 22.0]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="ndims"):
        M @ tf.constant([1.0, 1.0], dtype=tf.float64)


def test_tensorflow_matmul_of_another_thread_is_tensorflows_own_during_and_after(tf):
    original = {name: tf.Tensor.__dict__.get(name) for name in ("__matmul__", "__rmatmul__")}
    stage = Stage()

    def f(x):
        stage()
        return x @ x                      # NumPy's meaning: the dot product of two vectors

    x = np.array([0.5, -1.5, 2.0])
    gradient = difflab.get("tensorflow").gradient(f)
    gradient.prepare(x)
    inside_0, inside_1, checked, done_0 = (threading.Event() for _ in range(4))
    # t0 enters, t1 enters, another thread computes, t0 leaves, then t1 leaves: the overlap
    # that used to leave TensorFlow's `@` switched for good.
    stage.steps["t0"] = lambda: (inside_0.set(), wait(checked))
    stage.steps["t1"] = lambda: (inside_1.set(), wait(done_0))

    def differentiate_0():
        np.testing.assert_allclose(gradient(x), 2 * x, rtol=1e-15)
        done_0.set()

    def differentiate_1():
        np.testing.assert_allclose(gradient(x), 2 * x, rtol=1e-15)

    def plain():
        wait(inside_0)
        wait(inside_1)
        try:
            plain_matmul_is_tensorflows_own(tf)   # while two threads are inside difflab
        finally:
            checked.set()

    run_threads(differentiate_0, differentiate_1, plain)
    assert {name: tf.Tensor.__dict__.get(name) for name in original} == original
    plain_matmul_is_tensorflows_own(tf)


def test_tensorflow_matmul_under_concurrent_load(tf):
    """Several threads differentiating and several computing plain TensorFlow, unstaged."""
    original = tf.Tensor.__dict__.get("__matmul__")
    d = difflab.get("tensorflow")
    W = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])

    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.tanh(xp.asarray(W) @ x))

    x = np.array([0.1, 0.2, -0.3])
    want = W.T @ (1 - np.tanh(W @ x) ** 2)
    d.gradient(f).prepare(x)

    def differentiate():
        for _ in range(15):
            np.testing.assert_allclose(d.gradient(f)(x), want, rtol=1e-14)

    def plain():
        for _ in range(15):
            plain_matmul_is_tensorflows_own(tf)

    run_threads(differentiate, differentiate, plain, plain)
    assert tf.Tensor.__dict__.get("__matmul__") is original
    plain_matmul_is_tensorflows_own(tf)


# ---------------------------------------------------------------------- SymPy
def test_sympy_truth_values_of_another_thread_are_sympys_own_during_and_after():
    sympy = pytest.importorskip("sympy")
    original_eq = vars(sympy.Basic)["__eq__"]
    stage = Stage()
    inside, checked = threading.Event(), threading.Event()

    def f(x):
        stage()
        xp = difflab.namespace(x)
        return xp.sum(x ** 2)

    def in_trace():
        inside.set()
        wait(checked)

    def differentiate():
        stage.steps[threading.current_thread().name] = in_trace
        got = difflab.get("sympy").gradient(f)(np.array([1.0, -2.0]))
        np.testing.assert_array_equal(got, [2.0, -4.0])

    def plain():
        wait(inside)                      # while the other thread traces
        try:
            x0 = sympy.Symbol("x0")
            assert bool(sympy.Tuple()) is False and bool(sympy.Tuple(1)) is True
            assert bool(x0) is True and (x0 == 0) is False and (x0 != 0) is True
        finally:
            checked.set()

    run_threads(differentiate, plain)
    assert "__bool__" not in vars(sympy.Basic)
    assert vars(sympy.Basic)["__eq__"] is original_eq
    assert bool(sympy.Tuple()) is False


def test_no_sympy_class_is_changed_even_in_the_tracing_thread():
    """The refusal lives in the values the traced function sees (SympyView), not in SymPy's
    classes: while the trace runs, SymPy's own objects keep their meaning in that thread too."""
    sympy = pytest.importorskip("sympy")
    seen = {}

    def f(x):
        seen["patched"] = "__bool__" in vars(sympy.Basic)
        y = sympy.Symbol("y")
        seen["plain"] = (bool(y), y == 0)
        xp = difflab.namespace(x)
        return xp.sum(x ** 2)

    np.testing.assert_array_equal(difflab.get("sympy").gradient(f)(np.array([1.0, -2.0])), [2.0, -4.0])
    assert seen == {"patched": False, "plain": (True, False)}
