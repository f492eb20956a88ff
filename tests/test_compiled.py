"""The compiled tape (``difflab.get("reverse", jit=True)``): same numbers as the tape engine,
guards that retrace when a branch changes, closed-over data read afresh, a bounded cache."""
from __future__ import annotations

import numpy as np
import pytest

import difflab
from difflab.analysis import functions as catalogue
from difflab.ad import compiled

DTYPES = ("float64", "float32")


def _points(f, count=2):
    rng = np.random.default_rng(11)
    lo, hi = f.domain
    yield np.asarray(f.default_point(), dtype=float)
    for _ in range(count - 1):
        yield rng.uniform(lo, hi, size=np.size(f.default_point()))


def _close(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * max(1.0, float(np.max(np.abs(b), initial=0.0))))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", catalogue.names())
def test_compiled_equals_tape_on_the_catalogue(name, dtype):
    f = catalogue.get(name)
    jit, tape = difflab.get("reverse", jit=True, dtype=dtype), difflab.get("reverse", dtype=dtype)
    vector = catalogue.CATALOGUE[name].outputs == "vector"
    kinds = ("jacobian", "vjp") if vector else ("gradient", "value_and_gradient", "vjp")
    for kind in kinds:
        a, b = getattr(jit, kind)(f), getattr(tape, kind)(f)
        for x in _points(f):
            args = (x,)
            if kind == "vjp":
                m = np.size(f(x))
                args = (x, np.linspace(0.5, 1.5, m) if m > 1 else np.array(1.25))
            got, want = a(*args), b(*args)
            if kind == "value_and_gradient":
                _close(got[0], want[0])
                _close(got[1], want[1])
            else:
                _close(got, want)
        assert jit.how(kind) == "native, compiled tape"


def test_compiled_tape_is_independent_of_the_hand_written_gradient():
    """The compiled gradient against the hand-written one (an independent reference)."""
    for name in ("rosenbrock", "mlp-loss", "softmax-xent", "nested", "product"):
        f = catalogue.get(name)
        for x in _points(f, 3):
            np.testing.assert_allclose(difflab.get("reverse", jit=True).gradient(f)(x),
                                       f.gradient(x), rtol=1e-10, atol=1e-12)


def test_branch_changes_retrace_on_the_control_flow_function():
    f = catalogue.get("control-flow", dim=5)
    grad = difflab.get("reverse", jit=True).gradient(f)
    points = [np.linspace(0.9, -0.6, 5), np.linspace(-0.9, 0.6, 5),   # x0 > 0, then x0 < 0
              np.array([0.1, 0.2, 0.1, 0.0, 0.0]),                   # no halving
              np.array([3.0, 2.0, 1.0, 1.0, 1.0]),                   # several halvings
              np.linspace(0.9, -0.6, 5) * 1.01]                      # back to the first branch
    for x in points:
        np.testing.assert_allclose(grad(x), f.gradient(x), rtol=1e-13, atol=1e-15)
    evaluator = grad._evaluators[(5,)].evaluator
    assert evaluator.traces >= 4            # a new trace for each new set of decisions
    assert "return _MISS" in evaluator.program.source


def test_the_same_branch_reuses_the_program():
    f = catalogue.get("control-flow", dim=3)
    grad = difflab.get("reverse", jit=True).gradient(f)
    for x in (np.array([0.3, 0.1, 0.2]), np.array([0.35, 0.12, 0.2]), np.array([0.31, -0.1, 0.2])):
        np.testing.assert_allclose(grad(x), f.gradient(x), rtol=1e-13)
    assert grad._evaluators[(3,)].evaluator.traces == 1


def test_int_and_float_of_a_value_are_guarded():
    def f(x):
        xp = difflab.namespace(x)
        k = int(xp.sum(x))          # a value decides an index
        scale = float(x[0])         # a value becomes a Python constant
        return x[k % 3] ** 2 * scale

    grad = difflab.get("reverse", jit=True).gradient(f)
    for x in (np.array([0.2, 0.3, 0.4]), np.array([1.2, 0.3, 0.4]), np.array([0.5, 1.0, 0.7])):
        k = int(np.sum(x)) % 3
        want = np.zeros(3)
        want[k] = 2 * x[k] * x[0]   # float() makes x[0] a constant here, as on the tape
        np.testing.assert_allclose(grad(x), want, rtol=1e-14)


def test_where_masks_are_recomputed_not_frozen():
    def relu_sum(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.where(x > 0, x * x, -x))

    grad = difflab.get("reverse", jit=True).gradient(relu_sum)
    for x in (np.array([1.0, -2.0, 3.0, -0.5]), np.array([-1.0, 2.0, -3.0, 0.5])):
        np.testing.assert_allclose(grad(x), np.where(x > 0, 2 * x, -1.0))
    assert grad._evaluators[(4,)].evaluator.traces == 1


def test_closed_over_data_changed_in_place_and_rebound_is_seen():
    state = {"w": np.array([1.0, 2.0, 3.0])}
    w = np.array([1.0, 2.0, 3.0])

    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.asarray(w) * x * x)

    def g(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.asarray(state["w"]) * xp.sin(x))

    x = np.array([0.5, -1.0, 2.0])
    for dtype in DTYPES:
        gf = difflab.get("reverse", jit=True, dtype=dtype).gradient(f)
        np.testing.assert_allclose(gf(x), 2 * w * x, rtol=1e-6)
        w[:] = [4.0, -1.0, 0.5]                       # in place
        np.testing.assert_allclose(gf(x), 2 * w * x, rtol=1e-6)
        w[:] = [1.0, 2.0, 3.0]

        gg = difflab.get("reverse", jit=True, dtype=dtype).gradient(g)
        np.testing.assert_allclose(gg(x), state["w"] * np.cos(x), rtol=1e-6)
        state["w"] = np.array([-2.0, 0.25, 7.0])      # rebound
        np.testing.assert_allclose(gg(x), state["w"] * np.cos(x), rtol=1e-6)
        state["w"] = np.array([1.0, 2.0, 3.0, 4.0])   # rebound to another shape: retraced
        with pytest.raises(ValueError):
            gg(x)
        state["w"] = np.array([1.0, 2.0, 3.0])


def test_module_level_data_rebinding_is_seen(tmp_path):
    import importlib.util

    path = tmp_path / "data_module.py"
    path.write_text("import difflab\nimport numpy as np\nW = np.array([[1.0, 2.0], [3.0, 4.0]])\n"
                    "def f(x):\n    xp = difflab.namespace(x)\n    return xp.sum(xp.tanh(xp.asarray(W) @ x))\n")
    spec = importlib.util.spec_from_file_location("data_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    grad = difflab.get("reverse", jit=True).gradient(module.f)
    x = np.array([0.3, -0.2])
    for W in (module.W, np.array([[0.5, -1.0], [2.0, 0.1]])):
        module.W = W
        np.testing.assert_allclose(grad(x), W.T @ (1 - np.tanh(W @ x) ** 2), rtol=1e-13)


def test_a_side_effect_happens_at_tracing_only():
    """Documented behaviour: the flat program runs none of the function's Python, so a side
    effect (here a counter) happens when the function is prepared for a shape (the trace, and
    difflab's check of f(x) at a new shape), not once per call."""
    calls = []

    def f(x):
        calls.append(1)
        return difflab.namespace(x).sum(x * x)

    grad = difflab.get("reverse", jit=True).gradient(f)
    grad(np.zeros(3))
    prepared = len(calls)
    for k in range(1, 5):
        np.testing.assert_allclose(grad(np.full(3, float(k))), np.full(3, 2.0 * k))
    assert len(calls) == prepared
    tape = difflab.get("reverse").gradient(f)
    tape(np.ones(3))
    before = len(calls)
    tape(np.ones(3))                                  # the tape engine runs it every call
    assert len(calls) == before + 1


def test_the_program_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(compiled, "PROGRAMS_PER_SHAPE", 3)
    monkeypatch.setattr(compiled, "RETRACE_LIMIT", 6)

    def f(x):  # a different branch for every integer part of x[0]
        k = int(x[0])
        return x[0] * float(k + 1)

    grad = difflab.get("reverse", jit=True).gradient(f)
    for k in range(10):
        assert grad(np.array([k + 0.5]))[0] == k + 1.0
    evaluator = grad._evaluators[(1,)].evaluator
    assert len(evaluator.programs) <= 3
    assert evaluator.fell_back and evaluator.traces == 7   # then the tape engine, still right


def test_how_and_options():
    d = difflab.get("reverse", jit=True)
    assert d.how("gradient") == "native, compiled tape"
    assert d.how("hessian") == "native, compiled tape (forward over reverse, all directions as one batch)"
    assert d.how("jvp") == "Jacobian times vector"
    f = catalogue.get("rosenbrock", dim=4)
    x = f.default_point()
    np.testing.assert_allclose(d.hessian(f)(x), f.hessian(x), rtol=1e-12)
    with pytest.raises(difflab.InputError):
        difflab.get("reverse", jit="fast")
    with pytest.raises(difflab.InputError):
        d.gradient(catalogue.get("tanh-layer"))(np.ones(4))


def test_large_inputs_use_persistent_buffers_and_stay_right():
    f = catalogue.get("rosenbrock", dim=5000)
    x = np.random.default_rng(3).uniform(-2, 2, 5000)
    grad = difflab.get("reverse", jit=True).gradient(f)
    first = grad(x)
    np.testing.assert_allclose(first, f.gradient(x), rtol=1e-12, atol=1e-9)
    second = grad(-x)                       # the buffers are reused: the first result is a copy
    np.testing.assert_allclose(first, f.gradient(x), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(second, f.gradient(-x), rtol=1e-12, atol=1e-9)
    assert grad._evaluators[(5000,)].evaluator.program.buffers > 0


def test_numpy_on_data_brought_in_with_asarray_is_recomputed():
    """``1 - y`` written with plain NumPy after ``xp.asarray(y)`` follows a rebound ``y``."""
    holder = {"y": np.array([0.0, 1.0, 1.0])}

    def bce(p):
        xp = difflab.namespace(p)
        y = xp.asarray(holder["y"])
        return -xp.sum(y * xp.log(p) + (1.0 - y) * xp.log(1.0 - p))

    grad = difflab.get("reverse", jit=True).gradient(bce)
    p = np.array([0.2, 0.6, 0.7])
    for y in (holder["y"], np.array([1.0, 0.0, 0.25])):
        holder["y"] = y
        np.testing.assert_allclose(grad(p), (1 - y) / (1 - p) - y / p, rtol=1e-13)


def test_nets_train_on_the_compiled_tape_by_default_with_the_batch_as_input():
    import nets
    from nets.datasets import load_task

    task = load_task("iris")
    histories = {}
    for options in ({"jit": False}, {}):
        model = nets.Sequential([nets.Dense(8, activation="relu", input_dim=task.x_train.shape[1]),
                                 nets.Dense(task.units, activation=task.activation)], seed=0)
        model.compile(optimizer="adam", loss=task.loss, differentiator="reverse", **options)
        histories[bool(options.get("jit", True))] = model.fit(
            task.x_train, task.y_train, epochs=3, batch_size=32, verbose=0).history["loss"]
        how = model.gradient_source.method.how("value_and_gradient")
        assert how == ("native, compiled tape" if options.get("jit", True) else "native")
    # 105 samples in batches of 32: three full batches and a last one of 9, each a new array
    np.testing.assert_allclose(histories[True], histories[False], rtol=1e-12)


def test_a_later_point_outside_the_domain_is_refused():
    def log_sum(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.log(x))

    grad = difflab.get("reverse", jit=True).gradient(log_sum)
    np.testing.assert_allclose(grad(np.array([1.0, 2.0])), [1.0, 0.5])
    with np.errstate(invalid="ignore"), pytest.raises(difflab.InputError, match="NaN or infinite"):
        grad(np.array([-1.0, 2.0]))


def test_a_compiled_derivative_nests_inside_another_differentiation():
    """Called on values another differentiation traces, it answers on the tape engine."""
    f = catalogue.get("rosenbrock", dim=3)
    grad = difflab.get("reverse", jit=True).gradient(f)
    x = np.array([0.5, -0.3, 1.2])
    hessian = difflab.get("forward").jacobian(grad)(x)
    np.testing.assert_allclose(hessian, f.hessian(x), rtol=1e-12)


def test_what_the_program_cannot_follow_is_checked_before_each_call():
    """Closed-over Python numbers and arrays made by plain NumPy before xp.asarray become
    constants of the program; the closure check (difflab.interface.snapshot) retraces when they change."""
    state = {"scale": 2.0}
    data = np.array([1.0, 2.0])

    def f(x):
        xp = difflab.namespace(x)
        return state["scale"] * xp.sum(xp.asarray(np.log(data)) * x ** 2)

    grad = difflab.get("reverse", jit=True).gradient(f)
    x = np.array([0.5, -1.5])
    np.testing.assert_allclose(grad(x), 2.0 * np.log(data) * 2 * x, rtol=1e-15)
    state["scale"] = 3.0
    np.testing.assert_allclose(grad(x), 3.0 * np.log(data) * 2 * x, rtol=1e-15)
    data[:] = [3.0, 4.0]
    np.testing.assert_allclose(grad(x), 3.0 * np.log([3.0, 4.0]) * 2 * x, rtol=1e-15)


def test_nets_dropout_masks_are_read_at_each_call():
    import nets
    from nets.datasets import load_task

    task = load_task("iris")
    losses = {}
    for jit in (False, True):
        model = nets.Sequential([nets.Dense(8, activation="relu", input_dim=task.x_train.shape[1]),
                                 nets.Dropout(0.3),
                                 nets.Dense(task.units, activation=task.activation)], seed=0)
        model.compile(optimizer="adam", loss=task.loss, differentiator="reverse", jit=jit)
        losses[jit] = model.fit(task.x_train, task.y_train, epochs=3, batch_size=32,
                                verbose=0).history["loss"]
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", [n for n in catalogue.names() if catalogue.CATALOGUE[n].outputs != "vector"])
def test_compiled_hvp_equals_the_tape_and_the_hessian(name, dtype):
    """Reverse over reverse, compiled: H v as the tape's forward-over-reverse gives it, and
    as the oracle's Hessian times v (an independent reference), for several directions."""
    f = catalogue.get(name)
    jit, tape = difflab.get("reverse", jit=True, dtype=dtype), difflab.get("reverse", dtype=dtype)
    hvp, tape_hvp = jit.hvp(f), tape.hvp(f)
    assert jit.how("hvp").startswith("native, compiled tape")
    # sinc near 0: the second derivative cancels (rounding ~ eps/x^2 = 2e-8 of it), and the two
    # sweeps round differently; the oracle still checks both.
    rtol = 1e-6 if name == "sinc" else 1e-12
    if name == "sinc" and dtype == "float32":
        pytest.skip("float32 cannot resolve sinc's second derivative near 0 (eps/x^2 > 1)")
    for i, x in enumerate(_points(f, 2)):
        for v in (np.linspace(-1.0, 1.0, x.size), np.ones(x.size)):
            got = hvp(x, v)
            if dtype == "float64":
                want = tape_hvp(x, v)
                np.testing.assert_allclose(got, want, rtol=rtol,
                                           atol=rtol * max(1.0, float(np.max(np.abs(want)))))
                if i == 0:
                    H = difflab.reference(f, x, "hessian")
                    np.testing.assert_allclose(got, H @ v, rtol=max(rtol, 1e-10),
                                               atol=max(rtol, 1e-10) * max(1.0, float(np.max(np.abs(H)))))
            else:
                want = tape_hvp(x, v)
                np.testing.assert_allclose(got, want, rtol=1e-4,
                                           atol=1e-4 * max(1.0, float(np.max(np.abs(want)))))


def test_compiled_hvp_reads_a_new_direction_without_retracing():
    from scipy.optimize import rosen_hess_prod

    f = catalogue.get("rosenbrock", dim=6)
    hvp = difflab.get("reverse", jit=True).hvp(f)
    x = np.linspace(-1.0, 1.2, 6)
    for seed in range(4):
        v = np.random.default_rng(seed).normal(size=6)
        np.testing.assert_allclose(hvp(x, v), rosen_hess_prod(x, v), rtol=1e-13, atol=1e-12)
    assert hvp._evaluators[(6,)].evaluator.traces == 1


def test_data_under_a_keyword_attribute_name_does_not_break_the_program():
    """``obj.class`` cannot be written in generated code: that array is a constant of the
    program (and the closure check sees it change) instead of a syntax error."""
    class Box:
        pass

    box = Box()
    setattr(box, "class", np.array([1.0, 2.0]))
    box.w = np.array([3.0, 4.0])

    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.asarray(box.w) * x ** 2) + xp.sum(xp.asarray(getattr(box, "class")) * x)

    grad = difflab.get("reverse", jit=True).gradient(f)
    x = np.array([1.0, -1.0])
    np.testing.assert_allclose(grad(x), 2 * box.w * x + getattr(box, "class"))
    getattr(box, "class")[:] = [5.0, 6.0]
    np.testing.assert_allclose(grad(x), 2 * box.w * x + np.array([5.0, 6.0]))


def test_a_mask_from_comparing_with_closed_over_data_is_program_data():
    """``where(w > xp.asarray(data), ...)``: the mask compares a traced value with closed-over
    data; it used to reach the guard as a DataArray and fail with NumPy's truth-value error."""
    data = np.array([0.5, 1.5, 2.5])

    def f(w):
        xp = difflab.namespace(w)
        d = xp.asarray(data)
        return xp.sum(xp.where(w > d, (w - d) * 2.0, (d - w) * 3.0))

    gradient = difflab.get("reverse", jit=True).gradient(f)
    for x in ([1.0, 1.0, 3.0], [0.0, 2.0, 3.0], [1.0, 2.0, 2.0]):  # the mask changes between calls
        x = np.array(x)
        np.testing.assert_array_equal(gradient(x), difflab.reference(f, x))
