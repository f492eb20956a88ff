"""compare imports the frameworks in a background thread while difflab's own methods run
(issue 15), reports each import apart from setup, and gives the same derivatives."""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import difflab.analysis.comparison as comparison
import difflab.analysis.preload as preload
from difflab.analysis.comparison import compare

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = {"repeat": 2, "min_time": 0.0}


def test_without_frameworks_nothing_is_preloaded():
    loader = preload.Preloader(["reverse", "fd-central", "manual"])
    assert not loader.busy() and loader.wait("reverse") is None


def test_preloading_gives_identical_results_and_an_import_time():
    pytest.importorskip("autograd")
    methods = ["reverse", "autograd", "fd-central"]
    plain = compare("sin(x)*exp(y)", [1.0, 2.0], methods=methods, preload=False, **FAST)
    loaded = compare("sin(x)*exp(y)", [1.0, 2.0], methods=methods, preload=True, **FAST)
    for a, b in zip(plain.results, loaded.results):
        assert a.status == b.status == "ok"
        assert np.array_equal(a.value, b.value)
    # d/dx sin(x) e^y = cos(x) e^y, d/dy = sin(x) e^y
    np.testing.assert_allclose(loaded.result("autograd").value,
                               [np.cos(1.0) * np.exp(2.0), np.sin(1.0) * np.exp(2.0)], rtol=1e-15)
    assert loaded.result("autograd").import_seconds >= 0.0
    assert loaded.result("reverse").import_seconds is None
    assert plain.result("autograd").import_seconds is None
    assert "import_seconds" in loaded.to_dict()["results"][1]


def test_rows_run_while_a_framework_loads_are_run_again(monkeypatch):
    """A row timed while the import thread held the interpreter is run again once it is done."""
    import difflab.backends._framework as framework

    monkeypatch.setattr(preload, "framework_modules", lambda name: ("slowfw",) if name == "autograd" else ())
    monkeypatch.setattr(framework, "import_framework", lambda module, method: time.sleep(0.5))
    runs = []
    original = comparison.run_method
    monkeypatch.setattr(comparison, "run_method",
                        lambda name, *a, **k: runs.append(name) or original(name, *a, **k))
    c = compare("sin(x)*y", [1.0, 2.0], methods=["reverse", "autograd"], **FAST)
    assert runs == ["reverse", "reverse", "autograd"]
    assert c.result("autograd").import_seconds >= 0.5
    assert c.result("reverse").import_seconds is None and c.result("reverse").status == "ok"


def test_a_fresh_process_reports_the_import_apart_from_setup():
    pytest.importorskip("autograd")
    code = ("import json, difflab; c = difflab.compare('sin(x)*y', [1.0, 2.0], "
            "methods=['fd-central', 'autograd'], repeat=2, min_time=0.0); "
            "print(json.dumps(c.to_dict()['results']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    fd, autograd = json.loads(out.stdout)
    assert fd["import_seconds"] is None
    assert autograd["import_seconds"] > 0 and autograd["setup_seconds"] > 0


@pytest.mark.slow
def test_every_framework_preloaded_in_a_fresh_process_gives_the_same_numbers():
    code = ("import json, sys, difflab; c = difflab.compare('sin(x)*exp(y)', [1.0, 2.0], "
            "repeat=1, min_time=0.0, preload=sys.argv[1] == 'yes'); "
            "print(json.dumps([[r.method, r.status, None if r.value is None else r.value.tolist()] "
            "for r in c.results]))")
    docs = [json.loads(subprocess.run([sys.executable, "-c", code, flag], capture_output=True, text=True,
                                      timeout=600, env={**os.environ, "PYTHONPATH": ROOT}).stdout)
            for flag in ("yes", "no")]
    assert docs[0] == docs[1]
    assert sum(status == "ok" for _, status, _ in docs[0]) >= 8
