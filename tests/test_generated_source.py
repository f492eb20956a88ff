"""The compiled tape's generated source holds only difflab's own text: closed-over data is
fetched through numbered slots holding the very keys and attribute names found, never
through names or ``repr``s written into the program (docs/reliability.md, "Threads" and
"Generated source")."""
from __future__ import annotations

import enum
import re

import numpy as np
import pytest

import difflab


def _compiled_gradient(f, x):
    grad = difflab.get("reverse", jit=True).gradient(f)
    return grad, grad(x), grad._evaluators[x.shape].evaluator.program.source


def test_a_unicode_attribute_name_reads_its_own_array():
    """``obj.\\ufb01`` written into source would be read as ``obj.fi`` (Python normalises
    identifiers, NFKC): the gradient would use the other array."""
    class Box:
        pass

    box = Box()
    setattr(box, "\ufb01", np.array([1.0, 2.0, 3.0]))  # noqa: B010 - "\ufb01" is no identifier NFKC keeps
    box.fi = np.array([100.0, 200.0, 300.0])

    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.asarray(getattr(box, "\ufb01")) * x ** 2)  # noqa: B009

    x = np.array([1.0, 2.0, 3.0])
    grad, got, source = _compiled_gradient(f, x)
    np.testing.assert_array_equal(got, [2.0, 8.0, 18.0])
    getattr(box, "\ufb01")[:] = [3.0, 2.0, 1.0]  # read afresh, from the same slot  # noqa: B009
    np.testing.assert_array_equal(grad(x), [6.0, 8.0, 6.0])
    assert source.isascii()


def test_a_key_class_overriding_repr_runs_no_code_and_reads_its_own_array():
    ran = []

    class Key(str):
        def __repr__(self):
            ran.append(1)  # what an attacker's __repr__ would run (the issue created a file)
            return "'other'"

    key = Key("w")
    data = {key: np.array([1.0, 2.0, 3.0]), "other": np.array([100.0, 200.0, 300.0])}

    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.asarray(data[key]) * x ** 2)

    x = np.array([1.0, 2.0, 3.0])
    grad, got, source = _compiled_gradient(f, x)
    np.testing.assert_array_equal(got, [2.0, 8.0, 18.0])
    data[key] = np.array([0.5, 0.5, 0.5])  # rebound: read from the slot holding the key
    np.testing.assert_array_equal(grad(x), [1.0, 2.0, 3.0])
    assert ran == []


def test_enum_keys_are_followed():
    """IntEnum and StrEnum keys: their ``repr`` is not Python (``<Color.RED: 1>``), which
    used to end in a SyntaxError."""
    class Color(enum.IntEnum):
        RED = 1

    class Part(enum.StrEnum):
        BIAS = "bias"

    data = {Color.RED: np.array([1.0, 2.0]), Part.BIAS: np.array([0.25, -0.5])}

    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.asarray(data[Color.RED]) * x ** 2 + xp.asarray(data[Part.BIAS]) * x)

    x = np.array([1.0, -2.0])
    grad, got, _ = _compiled_gradient(f, x)
    np.testing.assert_array_equal(got, 2 * data[Color.RED] * x + data[Part.BIAS])
    data[Color.RED][:] = [3.0, 4.0]
    np.testing.assert_array_equal(grad(x), 2 * data[Color.RED] * x + data[Part.BIAS])


def test_no_user_name_or_key_is_written_into_the_program():
    class Model:
        pass

    model = Model()
    model.weights_of_user = np.array([1.0, 2.0])
    table = {"key_of_user": np.array([3.0, 4.0]), 7: np.array([0.5, 1.5])}

    def f(x):
        xp = difflab.namespace(x)
        w, t, s = (xp.asarray(a) for a in (model.weights_of_user, table["key_of_user"], table[7]))
        return xp.sum(w * x ** 2 + t * x + s * xp.sin(x))

    x = np.array([0.5, -1.0])
    _, got, source = _compiled_gradient(f, x)
    np.testing.assert_allclose(got, 2 * model.weights_of_user * x + table["key_of_user"]
                               + table[7] * np.cos(x), rtol=1e-15)
    assert "weights_of_user" not in source and "key_of_user" not in source
    assert not re.search(r"['\"]", source)  # no string literal at all
    assert "[7]" not in source


def test_fused_kernels_hold_no_user_text():
    """The numba kernels are exec'd text too: only ufunc names and numbered locals, whatever
    the user's names, keys and attributes (difflab/ad/fusion.py)."""
    pytest.importorskip("numba")
    from difflab.ad import fusion

    table = {"evil'); import os; os.system('true') #": np.array([1.5, 2.0, 0.5])}
    marker = "evil"

    def user_function_named_with_care(x):
        xp = difflab.namespace(x)
        w = xp.asarray(table["evil'); import os; os.system('true') #"])
        return xp.sum(xp.exp(xp.sin(x * w) + x ** 2) * w)

    x = np.array([0.3, -0.2, 0.7])
    before = set(fusion._kernels)
    grad = difflab.get("reverse", jit="numba").gradient(user_function_named_with_care)
    got = grad(x)
    want = difflab.reference(user_function_named_with_care, x, "gradient")
    np.testing.assert_allclose(got, want, rtol=1e-13)
    sources = [s for s in fusion._kernels if s not in before] or list(fusion._kernels)
    assert sources, "the chain was not fused"
    for source in sources:
        assert marker not in source and "user_function" not in source and "os.system" not in source
