"""compare reports its progress to one observer object (or its hooks given one by one)."""
import numpy as np
import pytest

import difflab
from difflab.analysis.comparison import Observer, compare
from difflab.analysis.functions import rosenbrock

ROSEN = difflab.Function(rosenbrock, dim=3)

FAST = dict(repeat=1, min_time=0.0)
X = np.array([0.3, -0.4, 0.5])


class Recorder(Observer):
    def __init__(self):
        self.events = []

    def on_start(self, comparison):
        self.events.append(("start", len(comparison.results)))

    def on_oracle(self, done, total):
        self.events.append(("oracle", done, total))

    def on_result(self, result):
        self.events.append(("result", result.method))


def test_an_observer_sees_the_oracle_the_start_and_each_row_in_order():
    seen = Recorder()
    c = compare(ROSEN, X, methods=["reverse", "forward"], observer=seen, **FAST)
    assert seen.events[-3:] == [("start", 0), ("result", "reverse"), ("result", "forward")]
    assert ("oracle", 3, 3) in seen.events[:-3]
    assert [r.method for r in c.results] == ["reverse", "forward"]


def test_hooks_as_keywords_still_work_and_mixing_or_misspelling_is_refused():
    seen = []
    compare(ROSEN, X, methods=["reverse"], on_result=lambda r: seen.append(r.method), **FAST)
    assert seen == ["reverse"]
    with pytest.raises(difflab.InputError, match="observer or on_"):
        compare(ROSEN, X, methods=["reverse"], observer=Recorder(), on_result=print, **FAST)
    with pytest.raises(TypeError, match="on_results"):
        compare(ROSEN, X, methods=["reverse"], on_results=print, **FAST)
