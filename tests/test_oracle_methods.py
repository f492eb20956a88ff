"""The oracle's array methods at kinks: ``y.max()`` is the oracle's max, as ``xp.max(y)`` is.

On the object arrays the oracle computes with, ``y.max()`` was NumPy's own (the first
maximum), so at a tie the whole derivative went to one entry while the namespace form and
every engine split it (docs/reliability.md, "The oracle's array methods"). Expected values
are the documented conventions, written out.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

import difflab

TIE = np.array([2.0, 2.0, 1.0])
#: columns 0 and 1 each have a tie for their maximum (rows 0, 1 and rows 0, 2)
M = np.array([[1.0, 3.0], [1.0, 2.0], [0.0, 3.0]])


def xp(y):
    return difflab.namespace(y)


@pytest.mark.parametrize("f, x, expected", [
    (lambda y: y.max(), TIE, [0.5, 0.5, 0.0]),
    (lambda y: y.min(), np.array([1.0, 3.0, 1.0, 2.0]), [0.5, 0.0, 0.5, 0.0]),
    (lambda y: y.max(), np.array([1.0, 1.0, 1.0]), [1 / 3, 1 / 3, 1 / 3]),
    (lambda y: y.max(axis=0).sum(), M, [[0.5, 0.5], [0.5, 0.0], [0.0, 0.5]]),
    (lambda y: y.min(axis=1, keepdims=True).sum(), np.array([[1.0, 1.0], [2.0, 5.0]]),
     [[0.5, 0.5], [1.0, 0.0]]),
    (lambda y: y.copy().max(), TIE, [0.5, 0.5, 0.0]),
    (lambda y: y.reshape(1, 3).squeeze().max(), TIE, [0.5, 0.5, 0.0]),
    (lambda y: np.max(y), TIE, [0.5, 0.5, 0.0]),
    (lambda y: np.sum(np.amax(y, axis=0)), M, [[0.5, 0.5], [0.5, 0.0], [0.0, 0.5]]),
    (lambda y: np.maximum(y, 2.0).sum(), TIE, [0.5, 0.5, 0.0]),
    (lambda y: np.minimum(y, 1.0).sum(), TIE, [0.0, 0.0, 0.5]),
    (lambda y: abs(y).sum(), np.array([0.0, -1.0, 2.0]), [0.0, -1.0, 1.0]),
    (lambda y: np.abs(y).sum(), np.array([0.0, -1.0, 2.0]), [0.0, -1.0, 1.0]),
], ids=["max", "min", "max-three-tied", "max-axis0", "min-axis1-keepdims", "copy-max",
        "squeeze-max", "np.max", "np.amax-axis0", "np.maximum", "np.minimum", "abs", "np.abs"])
def test_method_forms_follow_the_conventions(f, x, expected):
    np.testing.assert_allclose(difflab.reference(f, x), expected, rtol=1e-15)


@pytest.mark.parametrize("method, namespace_form", [
    (lambda y: y.max(), lambda y: xp(y).max(y)),
    (lambda y: y.min(), lambda y: xp(y).min(y)),
    (lambda y: y.max(axis=0), lambda y: xp(y).max(y, axis=0)),
    (lambda y: y.clip(1.0, 2.0), lambda y: xp(y).clip(y, 1.0, 2.0)),
    (lambda y: abs(y), lambda y: xp(y).abs(y)),
], ids=["max", "min", "max-axis0", "clip", "abs"])
def test_method_and_namespace_forms_agree(method, namespace_form):
    x = np.array([[2.0, 1.0], [2.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(difflab.reference(method, x, "jacobian"),
                                  difflab.reference(namespace_form, x, "jacobian"))


def test_clip_passes_the_derivative_on_its_closed_interval():
    x = np.array([1.0, 2.0, 1.5, 0.5, 3.0])
    np.testing.assert_array_equal(difflab.reference(lambda y: y.clip(1.0, 2.0), x, "jacobian"),
                                  np.diag([1.0, 1.0, 1.0, 0.0, 0.0]))


def test_second_derivatives_through_a_method():
    # f = m**2, m = y.max() = (y0 + y1) / 2 at the tie: H = 2 dm dm^T
    expected = [[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 0.0]]
    np.testing.assert_allclose(difflab.reference(lambda y: y.max() ** 2, TIE, "hessian"),
                               expected, rtol=1e-15)
    np.testing.assert_allclose(difflab.reference(lambda y: y.max() ** 2, TIE, "hvp",
                                                 vector=np.array([1.0, 0.0, 0.0])),
                               [0.5, 0.5, 0.0], rtol=1e-15)


def test_pytrees_and_argnums_see_methods_too():
    g = difflab.reference(lambda p: p["a"].max() + 2 * p["b"],
                          {"a": np.array([3.0, 3.0]), "b": 1.0})
    np.testing.assert_allclose(g["a"], [0.5, 0.5], rtol=1e-15)
    assert g["b"] == 2.0
    g = difflab.reference(lambda d, y: y.max() * d.sum(), np.ones(2),
                          args=(np.array([3.0, 3.0, 1.0]),), argnums=1)
    np.testing.assert_allclose(g, [1.0, 1.0, 0.0], rtol=1e-15)


def test_the_engines_agree_with_the_oracle_on_method_forms():
    f = lambda y: y.max(axis=0).sum() + y.min()
    x = np.array([[2.0, 1.0], [2.0, 0.0], [1.0, 0.0]])
    truth = difflab.reference(f, x)
    np.testing.assert_allclose(truth, [[0.5, 1.0], [0.5, 0.5], [0.0, 0.5]], rtol=1e-15)
    np.testing.assert_allclose(difflab.get("reverse").gradient(f)(x), truth, rtol=1e-15)


def test_no_view_leaves_the_oracle_and_numpy_keeps_its_meaning():
    seen = []
    difflab.reference(lambda y: seen.append(type(y).__name__) or y.max(), TIE)
    assert seen == ["OracleView"]
    # outside the oracle an object array's max is NumPy's, and a conversion is still refused
    assert np.array([2.0, 1.0], dtype=object).max() == 2.0
    with pytest.raises(difflab.InputError, match="conversion"):
        difflab.reference(lambda y: float(y[0]) * y.sum(), TIE)


def test_methods_in_threads():
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(difflab.reference(lambda y: y.max(), TIE))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 20
    for r in results:
        np.testing.assert_array_equal(r, [0.5, 0.5, 0.0])
