"""nets' progress display in a notebook without ipywidgets: plain lines, no warning."""
import sys
import warnings

import numpy as np

import nets
from difflab.console import error_console


def _fit(capsys, epochs):
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    model = nets.Sequential([nets.Dense(3, activation="tanh", input_dim=2),
                             nets.Dense(2, activation="softmax")], seed=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", differentiator="reverse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rich's 'install "ipywidgets"' warning would fail here
        history = model.fit(x, y, epochs=epochs, batch_size=4, verbose=1)
    return history, capsys.readouterr().err


def test_a_notebook_without_ipywidgets_gets_about_ten_plain_lines(capsys, monkeypatch):
    monkeypatch.setattr(error_console, "is_jupyter", True)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # not installed
    history, err = _fit(capsys, epochs=30)
    lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == [f"{e}/30" for e in range(3, 31, 3)]
    last = history.history["loss"][-1]
    assert f"loss {last:.4g}" in lines[-1]


def test_a_terminal_keeps_the_bar(capsys, monkeypatch):
    monkeypatch.setattr(error_console, "is_jupyter", False)
    _history, err = _fit(capsys, epochs=3)
    assert not any(line.startswith("epoch ") for line in err.splitlines())
