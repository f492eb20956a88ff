"""The notes' worked examples reproduced: the 2-2-2 backprop example in both its variants."""
from __future__ import annotations

import numpy as np
import pytest

from nets.datasets import load_backprop_example
from nets.examples import backprop_example


# ---------------------------------------------------------------------- 2-2-2 backprop, by hand
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _closed_form_run(steps, as_printed):
    """The example written out in NumPy, independently of nets: E0, E after one step, E and
    outputs after ``steps`` steps. ``as_printed``: the hidden deltas use the updated w5..w8."""
    x, t = np.array([0.05, 0.10]), np.array([0.01, 0.99])
    w_h, w_o = np.array([[0.15, 0.25], [0.20, 0.30]]), np.array([[0.40, 0.50], [0.45, 0.55]])

    def outputs(w_h, w_o):
        h = _sigmoid(x @ w_h + 0.35)
        return h, _sigmoid(h @ w_o + 0.60)

    errors = []
    for _ in range(steps):
        h, o = outputs(w_h, w_o)
        errors.append(0.5 * np.sum((t - o) ** 2))
        delta_o = (o - t) * o * (1.0 - o)
        new_w_o = w_o - 0.5 * np.outer(h, delta_o)
        delta_h = ((new_w_o if as_printed else w_o) @ delta_o) * h * (1.0 - h)
        w_h, w_o = w_h - 0.5 * np.outer(x, delta_h), new_w_o
    o = outputs(w_h, w_o)[1]
    return errors, 0.5 * np.sum((t - o) ** 2), o


def _train(variant, steps):
    X, y = load_backprop_example()
    model = backprop_example(variant=variant)
    before = model.evaluate(X, y)
    model.fit(X, y, epochs=1, verbose=0, shuffle=False)
    after_one = model.evaluate(X, y)
    if steps > 1:
        model.fit(X, y, epochs=steps - 1, verbose=0, shuffle=False)
    return before, after_one, model.evaluate(X, y), model.predict(X)[0]


def test_correct_variant_is_gradient_descent_written_out_by_hand():
    before, after_one, after, out = _train("correct", 10_000)
    errors, e_final, o_final = _closed_form_run(10_000, as_printed=False)
    assert before == pytest.approx(0.298371109, abs=5e-10)          # printed E0
    assert after_one == pytest.approx(errors[1], rel=1e-12)
    assert after_one == pytest.approx(0.2910277737, abs=5e-11)      # not the printed 0.291027924
    assert after == pytest.approx(e_final, rel=1e-9)
    np.testing.assert_allclose(out, o_final, rtol=1e-10)


def test_as_printed_variant_reproduces_the_printed_figures():
    before, after_one, after, out = _train("as-printed", 10_000)
    errors, e_final, o_final = _closed_form_run(10_000, as_printed=True)
    assert before == pytest.approx(0.298371109, abs=5e-10)
    assert after_one == pytest.approx(0.2910279239, abs=1e-10)      # printed: 0.291027924
    assert after_one == pytest.approx(errors[1], rel=1e-12)
    np.testing.assert_allclose(out, [0.015912196, 0.984065734], atol=1e-7)   # printed outputs
    np.testing.assert_allclose(out, o_final, rtol=1e-10)
    # E after 10,000 steps is 3.508479e-05, the error of the printed outputs; the notes'
    # "0.0000351085" fits neither variant (the correct one ends at 3.510188e-05).
    assert after == pytest.approx(e_final, rel=1e-9)
    assert after == pytest.approx(3.508479e-05, rel=1e-6)


def test_as_printed_variant_takes_only_the_hand_written_path():
    with pytest.raises(ValueError, match="use differentiator='manual'"):
        backprop_example("reverse", variant="as-printed")
    with pytest.raises(ValueError, match="variant must be one of"):
        backprop_example(variant="printed")
