"""Prepared derivatives under threads: every answer computed in 8 threads at once is the
answer the same call gives alone (docs/reliability.md, "Threads").

The references are computed first, one call at a time in the main thread, by the same
deterministic program, so they must agree bit for bit; the hand-written gradient of the
test function checks those references independently. Python's thread switch interval is
shortened during the runs so that the threads interleave inside tracing, code generation
and the generated programs, not only between calls.
"""
from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest

import difflab

THREADS = 8


def _rosen_like(c):
    """A rosenbrock with constant ``c`` and closed-over data (a fresh closure per call)."""
    w = np.linspace(0.5, 1.5, 7)

    def f(x):
        xp = difflab.namespace(x)
        d = xp.asarray(w[: 1])
        return xp.sum(c * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2) + xp.sum(d * x[:1] ** 2)

    def grad(x):
        g = np.zeros_like(x)
        r = x[1:] - x[:-1] ** 2
        g[:-1] += -4.0 * c * r * x[:-1] - 2.0 * (1.0 - x[:-1])
        g[1:] += 2.0 * c * r
        g[0] += 2.0 * w[0] * x[0]
        return g

    return f, grad


def _in_threads(work, threads=THREADS):
    """Run ``work(t)`` in ``threads`` threads started together; errors are re-raised."""
    barrier = threading.Barrier(threads)
    results, errors = [None] * threads, []

    def run(t):
        try:
            barrier.wait()
            results[t] = work(t)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
        for th in pool:
            th.start()
        for th in pool:
            th.join()
    finally:
        sys.setswitchinterval(previous)
    if errors:
        raise errors[0]
    return results


def _wrong(check) -> int:
    """1 when ``check()`` is False or raises (a wrong number and a crash both count)."""
    try:
        return int(not check())
    except Exception:  # noqa: BLE001 - counted, as the issue counts NameErrors
        return 1


def _same_pair(got, want):
    return got[0] == want[0] and np.array_equal(got[1], want[1])


def _shared_derivative_mismatches(n, calls):
    """8 threads x ``calls`` calls each of gradient, value_and_gradient and hvp of one shared
    compiled derivative: (calls made, mismatches against single-thread answers)."""
    f, grad = _rosen_like(100.0)
    jit = difflab.get("reverse", jit=True)
    g, vg, hvp = jit.gradient(f), jit.value_and_gradient(f), jit.hvp(f)
    rng = np.random.default_rng(0)
    points = [rng.uniform(-1.5, 1.5, n) for _ in range(16)]
    directions = [rng.standard_normal(n) for _ in range(16)]
    want_g = [g(x) for x in points]
    want_vg = [vg(x) for x in points]
    want_h = [hvp(x, v) for x, v in zip(points, directions)]
    for x, got in zip(points, want_g):  # the references, against the hand-written gradient
        np.testing.assert_allclose(got, grad(x), rtol=1e-12, atol=1e-10)

    def work(t):
        bad = 0
        for k in range(calls):
            i = (t * 7 + k) % len(points)
            bad += _wrong(lambda: np.array_equal(g(points[i]), want_g[i]))
            bad += _wrong(lambda: _same_pair(vg(points[i]), want_vg[i]))
            bad += _wrong(lambda: np.array_equal(hvp(points[i], directions[i]), want_h[i]))
        return bad

    return THREADS * calls * 3, sum(_in_threads(work))


def _fresh_functions_mismatches(count, n):
    """``count`` separate functions whose first calls (tracing, code generation) race in 8
    threads; then every one called again alone: (calls made, mismatches, later mismatches)."""
    made = [_rosen_like(float(k + 1)) for k in range(count)]
    x = np.linspace(-1.2, 1.3, n)
    v = np.cos(np.arange(n))
    want = [(grad(x), difflab.get("reverse").hvp(f)(x, v)) for f, grad in made]
    jit = difflab.get("reverse", jit=True)
    derivatives = [(jit.gradient(f), jit.hvp(f)) for f, _ in made]

    def close(got, ref):
        return np.allclose(got, ref, rtol=1e-12, atol=1e-10)

    def check(k):
        (g, h), (want_g, want_h) = derivatives[k], want[k]
        return (_wrong(lambda: close(g(x), want_g)), _wrong(lambda: close(h(x, v), want_h)))

    def work(t):
        bad = 0
        for k in range(t, count, THREADS):  # each function first called by one thread ...
            bad += sum(check(k))
        for k in range(count):               # ... then by all of them
            bad += check((k + t) % count)[0]
        return bad

    racing = sum(_in_threads(work))
    later = sum(sum(check(k)) for k in range(count))
    return count * 2 + THREADS * count, racing, later


def test_one_compiled_derivative_shared_by_8_threads():
    calls, bad = _shared_derivative_mismatches(n=4000, calls=40)
    assert calls == 960
    assert bad == 0


def test_fresh_functions_first_called_in_8_threads():
    calls, racing, later = _fresh_functions_mismatches(count=24, n=2000)
    assert (racing, later) == (0, 0)


@pytest.mark.slow
def test_one_compiled_derivative_shared_by_8_threads_many_calls():
    calls, bad = _shared_derivative_mismatches(n=20_000, calls=400)
    assert calls == 9600
    assert bad == 0


@pytest.mark.slow
def test_many_fresh_functions_first_called_in_8_threads():
    calls, racing, later = _fresh_functions_mismatches(count=160, n=4000)
    assert (racing, later) == (0, 0)


# ---------------------------------------------------------------------- nets
def _iris_model(seed, learning_rate=0.05):
    import nets

    hidden = [nets.Dense(4 + seed, activation=("tanh", "relu", "sigmoid")[(seed + k) % 3],
                         **({"input_dim": 4} if k == 0 else {}))
              for k in range(1 + seed % 2)]  # models of different widths and depths
    model = nets.Sequential([*hidden, nets.Dense(3, activation="softmax")], seed=seed)
    model.compile(optimizer=nets.optimizers.SGD(learning_rate), loss="sparse_categorical_crossentropy")
    return model


def _iris():
    """Iris-shaped data (105 samples, 4 features, 3 classes), made here: no sklearn import."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((105, 4))
    return x, np.argmax(x[:, :3] + 0.3 * rng.standard_normal((105, 3)), axis=1)


def _flat(model):
    return np.concatenate([w.ravel() for w in model.get_weights()])


def test_nets_models_trained_in_8_threads_at_once_match_training_alone():
    """Each model traces and compiles its own loss (the compiled tape, nets' default) while
    the others do: the weights are those of the same training alone, bit for bit. (The
    models differ in width and depth: identical programs written at once hide a mix-up.)"""
    x, y = _iris()
    count = THREADS
    alone = []
    for seed in range(count):
        model = _iris_model(seed)
        model.fit(x, y, epochs=1, batch_size=32, verbose=0)
        alone.append(_flat(model))
    models = [_iris_model(seed) for seed in range(count)]
    _in_threads(lambda t: [models[k].fit(x, y, epochs=1, batch_size=32, verbose=0)
                           for k in range(t, count, THREADS)])
    assert [np.array_equal(_flat(m), w) for m, w in zip(models, alone)] == [True] * count


def test_nets_predict_from_8_threads_matches_one_thread():
    x, y = _iris()
    model = _iris_model(0)
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    want = model.predict(x)
    got = _in_threads(lambda t: [model.predict(x[t:]) for _ in range(20)])
    assert all(np.array_equal(p, want[t:]) for t, ps in enumerate(got) for p in ps)


def test_one_nets_model_trained_from_8_threads_takes_whole_steps():
    """Steps of one model from several threads run one at a time (the model's batch, weights
    and optimiser state are the model's): with a learning rate of 0 every thread's loss is
    its own batch's loss, as computed alone."""
    x, y = _iris()
    model = _iris_model(0, learning_rate=0.0)
    batches = [(x[10 * t: 10 * t + 30], y[10 * t: 10 * t + 30]) for t in range(THREADS)]
    want = [model.train_on_batch(*b) for b in batches]
    got = _in_threads(lambda t: [model.train_on_batch(*batches[t]) for _ in range(10)])
    assert [all(loss == want[t] for loss in losses) for t, losses in enumerate(got)] == [True] * THREADS


# ---------------------------------------------------------------------- the first import
def test_a_framework_imported_by_8_threads_at_once_is_handed_out_complete(tmp_path, monkeypatch):
    """A module in ``sys.modules`` may still be initialising in another thread: handed out
    then, jax had no ``value_and_grad`` yet (8 threads' first jax, torch or autograd
    derivatives at once raised AttributeError: partially initialized module)."""
    from difflab.backends._framework import import_framework

    (tmp_path / "difflab_slow_framework.py").write_text(
        "import time\ntime.sleep(0.3)\nvalue_and_grad = 'complete'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "difflab_slow_framework", raising=False)
    def first_import(t):
        time.sleep(0.02 * t)  # the others ask while the first import is under way
        return import_framework("difflab_slow_framework", "test").value_and_grad

    got = _in_threads(first_import)
    sys.modules.pop("difflab_slow_framework", None)
    assert got == ["complete"] * THREADS


@pytest.mark.slow
@pytest.mark.parametrize("method", ["jax", "torch", "autograd"])
def test_first_framework_derivatives_in_8_threads_at_once(method):
    """The real thing, in a fresh interpreter: 8 threads' first derivatives by a framework."""
    import subprocess

    if not difflab.method_class(method).available():
        pytest.skip(f"{method} is not installed")
    script = (
        "import sys, threading\nimport numpy as np\nimport difflab\n"
        "def make(c):\n    return lambda x: difflab.namespace(x).sum(c * difflab.namespace(x).sin(x))\n"
        "x = np.linspace(0, 1, 4)\nbarrier = threading.Barrier(8)\nout = [None] * 8\n"
        "def run(t):\n    barrier.wait()\n    try:\n"
        f"        out[t] = bool(np.allclose(difflab.get({method!r}).gradient(make(t + 1.0))(x), (t + 1.0) * np.cos(x)))\n"
        "    except Exception as exc:\n        out[t] = type(exc).__name__\n"
        "sys.setswitchinterval(1e-6)\nths = [threading.Thread(target=run, args=(t,)) for t in range(8)]\n"
        "[t.start() for t in ths]; [t.join() for t in ths]\nprint(out)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == str([True] * 8), done.stderr[-2000:]


# ---------------------------------------------------------------------- preparation
@pytest.mark.parametrize("method, options", [("sympy", {}), ("reverse", {"jit": True})])
def test_8_threads_asking_at_once_prepare_a_derivative_once(method, options):
    """The first calls of one derivative from 8 threads prepare it once (a trace, a symbolic
    derivative, a compile), as one thread would, and all get the right numbers."""
    runs = []

    def f(x):
        runs.append(1)  # each run of f's Python: the check of f(x) and the trace
        xp = difflab.namespace(x)
        return xp.sum(xp.sin(x) * x)

    x = np.linspace(0.0, 1.0, 5)
    options = {"max_seconds": None, "max_bytes": None, **options}  # no budget probes of f
    difflab.get(method, **options).gradient(f)(x)
    alone, runs[:] = len(runs), []
    derivative = difflab.get(method, **options).gradient(f)
    got = _in_threads(lambda t: derivative(x))
    assert len(runs) == alone
    for g in got:
        np.testing.assert_allclose(g, np.sin(x) + x * np.cos(x), rtol=1e-14, atol=1e-15)


def test_other_arguments_given_per_call_stay_with_their_thread():
    """``gradient(f)(x, data)`` in 8 threads with 8 different ``data``: the compiled program
    reads the other arguments of its own call."""
    def f(x, data, scale=1.0):
        xp = difflab.namespace(x)
        return scale * xp.sum(xp.asarray(data) * x ** 2)

    grad = difflab.get("reverse", jit=True).gradient(f)
    x = np.linspace(-1.0, 1.0, 6)
    data = [np.full(6, float(t + 1)) for t in range(THREADS)]

    def work(t):
        return sum(_wrong(lambda: np.array_equal(grad(x, data[t], scale=0.5 * t), 2 * 0.5 * t * data[t] * x))
                   for _ in range(30))

    assert sum(_in_threads(work)) == 0


def test_compiled_vjp_and_jacobian_shared_by_8_threads():
    def f(x):
        xp = difflab.namespace(x)
        return xp.sin(x) * x[::-1] + xp.sum(x * x)

    jit = difflab.get("reverse", jit=True)
    vjp, jac = jit.vjp(f), jit.jacobian(f)
    rng = np.random.default_rng(1)
    big = [rng.standard_normal(3000) for _ in range(4)]
    small = [rng.standard_normal(6) for _ in range(4)]
    want_v = [vjp(x, np.cos(x)) for x in big]
    want_j = [jac(x) for x in small]
    x0 = small[0]  # the references, against the closed form
    np.testing.assert_allclose(want_j[0], np.diag(np.cos(x0) * x0[::-1]) + np.fliplr(np.diag(np.sin(x0)))
                               + 2 * x0[None, :], rtol=1e-13, atol=1e-13)

    def work(t):
        return sum(_wrong(lambda: np.array_equal(vjp(big[(t + k) % 4], np.cos(big[(t + k) % 4])),
                                                 want_v[(t + k) % 4]))
                   + _wrong(lambda: np.array_equal(jac(small[(t + k) % 4]), want_j[(t + k) % 4]))
                   for k in range(30))

    assert sum(_in_threads(work)) == 0


# ---------------------------------------------------------------------- the oracle's digits
def test_an_oracle_in_another_thread_keeps_its_digits():
    """mpmath's precision is process-wide: thread A's oracle, leaving first, used to put back
    15 digits while thread B's oracle was computing, and B's answer came at 15 digits. The
    oracle now computes in its thread's own mpmath context."""
    from difflab.analysis.oracle.jets import context

    seen = {}

    def f(x):  # needs the digits: 1e22 x^2 rounded at 53 bits is another angle
        name = threading.current_thread().name
        seen.setdefault(name, []).append(context().dps)
        time.sleep(0.2 if name == "A" else 0.4)  # A leaves while B computes
        xp = difflab.namespace(x)
        return xp.sum(xp.sin(1e22 * x * x))

    x = np.array([0.3, -1.7])
    want = difflab.reference(f, x, digits=40)
    got = {}
    a = threading.Thread(target=lambda: got.update(A=difflab.reference(f, x, digits=50)), name="A")
    b = threading.Thread(target=lambda: got.update(B=difflab.reference(f, x, digits=40)), name="B")
    a.start()
    time.sleep(0.05)
    b.start()
    a.join()
    b.join()
    assert seen["B"] == [40] and seen["A"] == [50]
    np.testing.assert_array_equal(got["B"], want)
    np.testing.assert_array_equal(got["A"], want)


def test_branches_retraced_in_8_threads_at_once():
    """Each thread takes other branches (a guard misses, the function is traced again): the
    programs kept for the shape are written one at a time, and every answer is right."""
    def f(x):
        xp = difflab.namespace(x)
        y = x
        for i in range(3):  # a program per branch pattern
            y = xp.sin(y) if y[i] > 0 else y * y
        return xp.sum(y)

    def by_hand(x, branches=None):
        y, g = x.copy(), np.ones_like(x)
        for i in range(3):
            if branches is not None:
                branches.append(bool(y[i] > 0))
            if y[i] > 0:
                g, y = g * np.cos(y), np.sin(y)
            else:
                g, y = g * 2 * y, y * y
        return g

    def pattern(x):
        branches = []
        by_hand(x, branches)
        return tuple(branches)

    points = [np.array([a, b, c, 0.3]) for a in (0.5, -0.5) for b in (0.7, -0.7) for c in (0.2, -0.2)]
    grad = difflab.get("reverse", jit=True).gradient(f)

    def work(t):
        return sum(_wrong(lambda: np.allclose(grad(points[(t + k) % 8]), by_hand(points[(t + k) % 8]),
                                              rtol=1e-14, atol=0))
                   for k in range(24))

    assert sum(_in_threads(work)) == 0
    patterns = {pattern(x) for x in points}
    assert len(patterns) > 2
    assert grad._evaluators[(4,)].evaluator.traces == len(patterns)  # one each, none twice
