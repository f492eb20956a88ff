"""The optimisers' update rules as the notes write them, against hand-written NumPy sequences
and against torch.optim where PyTorch has the same rule; Keras 2's ``lr``/``decay``,
Adadelta and saving of every optimiser's state."""
from __future__ import annotations

import numpy as np
import pytest

import nets
from nets.optimizers import SGD, Adadelta, Adagrad, Adam, RMSprop, with_rules


def gradients(steps=8, size=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=size), [rng.normal(size=size) for _ in range(steps)]


def run(optimizer, theta, grads):
    theta = theta.copy()
    for g in grads:
        optimizer.step(theta, g)
    return theta


# ---------------------------------------------------------------------- the notes' rules by hand
# Each is the notes' formula, one step: (w, g, state, t, lr) -> w, with no epsilon anywhere.
def notes_sgd(w, g, s, t, lr):
    return w - lr * g


def notes_sgdm(w, g, s, t, lr):
    s["m"] = 0.9 * s.get("m", 0.0) + (1 - 0.9) * g
    return w - lr * s["m"]


def notes_adagrad(w, g, s, t, lr):
    s["V"] = s.get("V", 0.0) + g ** 2
    return w - lr * g / np.sqrt(s["V"])


def notes_rmsprop(w, g, s, t, lr):
    s["V"] = 0.9 * s.get("V", 0.0) + (1 - 0.9) * g ** 2
    return w - lr * g / np.sqrt(s["V"])


def notes_adam(w, g, s, t, lr):
    s["m"] = 0.9 * s.get("m", 0.0) + (1 - 0.9) * g
    s["V"] = 0.999 * s.get("V", 0.0) + (1 - 0.999) * g ** 2
    return w - lr * (s["m"] / (1 - 0.9 ** t)) / np.sqrt(s["V"] / (1 - 0.999 ** t))


NOTES = {"sgd": notes_sgd, "sgdm": notes_sgdm, "adagrad": notes_adagrad, "rmsprop": notes_rmsprop,
         "adam": notes_adam}


@pytest.mark.parametrize("name", list(NOTES))
def test_notes_rules_follow_the_notes_formulas_step_by_step(name):
    theta, grads = gradients()
    optimizer = with_rules(name, "notes", learning_rate=0.1)
    w, state, mine = theta.copy(), {}, theta.copy()
    for t, g in enumerate(grads, start=1):
        w = NOTES[name](w, g, state, t, 0.1)
        optimizer.step(mine, g)
        np.testing.assert_allclose(mine, w, rtol=1e-13, atol=1e-15, err_msg=f"step {t}")


@pytest.mark.parametrize("name", ["sgdm", "adagrad", "rmsprop", "adam"])
def test_keras_rules_are_not_the_notes_rules(name):
    theta, grads = gradients()
    w, state = theta.copy(), {}
    for t, g in enumerate(grads, start=1):
        w = NOTES[name](w, g, state, t, 0.1)
    # Momentum and Adagrad's start differ at once; RMSprop's and Adam's epsilon by about 1e-7.
    assert np.max(np.abs(run(with_rules(name, "keras", 0.1), theta, grads) - w)) > 1e-8


def test_the_notes_rules_are_the_documented_options():
    assert with_rules("sgdm", "notes").get_config() == SGD(momentum=0.9, dampening=0.9).get_config()
    assert with_rules("adagrad", "notes").get_config() == Adagrad(initial_accumulator_value=0.0,
                                                                  epsilon=0.0).get_config()
    with pytest.raises(ValueError, match="unknown rule set 'torch'"):
        with_rules("adam", "torch")


@pytest.mark.parametrize("optimizer", [Adagrad(0.1, initial_accumulator_value=0.0, epsilon=0.0),
                                       RMSprop(0.1, epsilon=0.0), Adam(0.1, epsilon=0.0)],
                         ids=["adagrad", "rmsprop", "adam"])
def test_without_epsilon_a_zero_gradient_gives_a_zero_step_not_nan(optimizer):
    theta = np.array([1.0, 2.0])
    optimizer.step(theta, np.array([0.0, 1.0]))
    assert theta[0] == 1.0 and np.isfinite(theta[1]) and theta[1] < 2.0


def test_nesterov_refuses_dampening_and_bad_values_are_refused():
    with pytest.raises(ValueError, match="Nesterov momentum takes no dampening"):
        SGD(momentum=0.9, dampening=0.9, nesterov=True)
    with pytest.raises(ValueError, match=r"dampening must be in \[0, 1\]"):
        SGD(momentum=0.9, dampening=1.5)
    with pytest.raises(ValueError, match="epsilon must be non-negative"):
        RMSprop(epsilon=-1e-7)


# ---------------------------------------------------------------------- against torch.optim
@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def torch_run(torch, make, theta, grads, prepare=None):
    p = torch.nn.Parameter(torch.tensor(theta, dtype=torch.float64))
    optimizer = make(torch, [p])
    if prepare:
        prepare(optimizer, p)
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
    return p.detach().numpy()


def test_sgd_dampening_is_torch_dampening_from_a_zero_buffer(torch):
    theta, grads = gradients()
    mine = run(SGD(0.1, momentum=0.9, dampening=0.9), theta, grads)
    make = lambda t, ps: t.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.9)

    def zero_buffer(optimizer, p):  # torch starts the buffer at the first gradient, undamped
        optimizer.state[p]["momentum_buffer"] = torch.zeros_like(p)

    np.testing.assert_allclose(mine, torch_run(torch, make, theta, grads, zero_buffer), rtol=0, atol=1e-14)
    # torch's own start differs: its first buffer is g, not 0.1 g.
    assert np.max(np.abs(mine - torch_run(torch, make, theta, grads))) > 1e-3


@pytest.mark.parametrize("mine, theirs", [
    (lambda: Adagrad(0.1, initial_accumulator_value=0.0, epsilon=1e-10, epsilon_inside_sqrt=False),
     lambda t, ps: t.optim.Adagrad(ps, lr=0.1, initial_accumulator_value=0.0, eps=1e-10)),
    (lambda: Adagrad(0.1, initial_accumulator_value=0.0, epsilon=1e-3, epsilon_inside_sqrt=False),
     lambda t, ps: t.optim.Adagrad(ps, lr=0.1, initial_accumulator_value=0.0, eps=1e-3)),
    (lambda: RMSprop(0.01, rho=0.9, epsilon=1e-3, epsilon_inside_sqrt=False),
     lambda t, ps: t.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-3)),
    (lambda: Adam(0.01, epsilon=0.0), lambda t, ps: t.optim.Adam(ps, lr=0.01, eps=0.0)),
], ids=["adagrad", "adagrad-large-eps", "rmsprop-eps-outside", "adam-no-eps"])
def test_rules_torch_offers_match_torch_optim(torch, mine, theirs):
    theta, grads = gradients(steps=10)
    np.testing.assert_allclose(run(mine(), theta, grads), torch_run(torch, theirs, theta, grads),
                               rtol=0, atol=1e-13)


def test_epsilon_inside_and_outside_the_root_differ_as_written():
    theta, grads = gradients(steps=1)
    g = grads[0]
    inside = run(Adagrad(0.1, initial_accumulator_value=0.0, epsilon=0.25), theta, grads)
    outside = run(Adagrad(0.1, initial_accumulator_value=0.0, epsilon=0.25, epsilon_inside_sqrt=False),
                  theta, grads)
    np.testing.assert_allclose(inside, theta - 0.1 * g / np.sqrt(g ** 2 + 0.25), rtol=1e-14)
    np.testing.assert_allclose(outside, theta - 0.1 * g / (np.abs(g) + 0.25), rtol=1e-14)


# ---------------------------------------------------------------------- Keras 2 habits, Adadelta
def test_lr_and_decay_are_keras_2s_spelling_with_inverse_time_decay():
    with pytest.warns(DeprecationWarning, match=r"use learning_rate=") as caught:
        sgd = SGD(lr=0.5, decay=0.25)
    assert any("InverseTimeDecay" in str(w.message) for w in caught)
    theta, grads = gradients(steps=6)
    expected = theta.copy()
    for k, g in enumerate(grads):  # Keras 2: lr / (1 + decay * iterations), iterations before the step
        expected -= 0.5 / (1 + 0.25 * k) * g
    np.testing.assert_allclose(run(sgd, theta, grads), expected, rtol=1e-14)
    assert sgd.current_learning_rate() == pytest.approx(0.5 / (1 + 0.25 * 6))


def test_lr_with_learning_rate_or_decay_with_a_schedule_is_refused():
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="not both"):
        Adam(learning_rate=0.1, lr=0.2)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="not to a schedule"):
        SGD(nets.optimizers.ExponentialDecay(0.1, 10, 0.5), decay=0.1)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="decay must be non-negative"):
        SGD(decay=-1.0)


def test_adadelta_follows_keras_formulas_by_hand():
    theta, grads = gradients()
    opt = Adadelta()
    assert (opt.learning_rate, opt.rho, opt.epsilon) == (0.001, 0.95, 1e-7)  # Keras's defaults
    w, a, b = theta.copy(), 0.0, 0.0
    for g in grads:
        a = 0.95 * a + 0.05 * g ** 2
        d = -np.sqrt(b + 1e-7) / np.sqrt(a + 1e-7) * g
        b = 0.95 * b + 0.05 * d ** 2
        w = w + 0.001 * d
    np.testing.assert_allclose(run(opt, theta, grads), w, rtol=1e-14)
    assert isinstance(nets.optimizers.get("adadelta"), Adadelta)


# ---------------------------------------------------------------------- saving
@pytest.mark.parametrize("optimizer", [
    lambda: SGD(0.05, momentum=0.9, dampening=0.9),
    lambda: Adagrad(0.05, initial_accumulator_value=0.0, epsilon=0.0, epsilon_inside_sqrt=False),
    lambda: RMSprop(0.01, epsilon=0.0, centered=True, momentum=0.5),
    lambda: Adadelta(1.0),
    lambda: SGD(nets.optimizers.InverseTimeDecay(0.1, 1, 0.5), momentum=0.5),
], ids=["sgdm-notes", "adagrad-notes", "rmsprop", "adadelta", "inverse-time"])
def test_new_options_and_slots_round_trip_through_saving(tmp_path, optimizer):
    x = np.linspace(-1, 1, 24).reshape(8, 3)
    y = x.sum(axis=1)
    model = nets.Sequential([nets.Dense(4, activation="tanh", input_dim=3), nets.Dense(1)], seed=0)
    model.compile(optimizer=optimizer(), loss="mse")
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = nets.load_model(tmp_path / "m.npz")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert set(loaded.optimizer._slots) == set(model.optimizer._slots) != set()
    model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    loaded.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
