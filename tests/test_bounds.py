"""Bounded work, kept results: cost estimates and refusals, Ctrl-C and MemoryError keeping
what finished, a non-zero exit when nothing worked, bounded memory of fd Hessians."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import rosen_der, rosen_hess

import difflab
from difflab.interface import cost
from difflab.analysis import oracle
from cli_helpers import run

ROOT = Path(__file__).resolve().parents[1]




def rosenbrock(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


# ---------------------------------------------------------------------- estimates and refusals
def test_a_small_budget_skips_every_method_and_the_oracle_naming_the_flags(capsys):
    code, out, err = run(capsys, "compare", "rosenbrock", "--dim", "10", "--methods",
                         "reverse,fd-central", "--max-seconds", "1e-6", "--json")
    doc = json.loads(out)
    assert code == 1                      # nothing usable: every row skipped
    assert [r["status"] for r in doc["results"]] == ["skipped", "skipped"]
    for r in doc["results"]:
        assert r["value"] is None
        assert "> budget" in r["message"] and "--max-seconds or --force" in r["message"]
    assert "no method produced a usable result" in err and "skipped 2" in err


def test_the_budget_skips_the_costly_methods_and_runs_the_cheap_ones(capsys):
    # n = 3000: the oracle (n tangents on mpmath numbers, minutes) and sympy (superlinear
    # setup) are over 5 s; reverse mode takes milliseconds and runs
    code, out, _ = run(capsys, "compare", "rosenbrock", "--dim", "3000", "--methods",
                       "reverse,sympy", "--max-seconds", "5", "--json")
    doc = json.loads(out)
    reverse, sympy = doc["results"]
    assert code == 0
    assert reverse["status"] == "ok" and sympy["status"] == "skipped"
    assert "--max-seconds or --force" in sympy["message"]
    assert "oracle skipped: estimated" in reverse["message"]      # no reference, said so
    x = np.array(doc["x"])
    np.testing.assert_allclose(reverse["value"], rosen_der(x), rtol=1e-13)


def test_force_runs_everything_and_cannot_be_combined_with_a_budget(capsys):
    code, out, _ = run(capsys, "compare", "rosenbrock", "--dim", "4", "--methods", "reverse",
                       "--force", "--json")
    result = json.loads(out)["results"][0]
    assert code == 0 and result["status"] == "ok" and result["max_rel_error"] is not None
    code, out, err = run(capsys, "compare", "rosenbrock", "--dim", "4", "--force",
                         "--max-seconds", "3")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "--max-seconds or --force" in err
    code, out, err = run(capsys, "compare", "rosenbrock", "--max-seconds", "-1")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


def test_forward_mode_at_large_n_is_refused_for_its_n_by_n_memory():
    # n tangents of every value, seeded by the n x n identity: at least 8 n^2 bytes
    n = 100_000
    probe = cost.Probe(n=n, m=1, f_seconds=1e-4, f_bytes=8.0 * n)
    estimate = cost.estimate(difflab.method_class("forward").cost("gradient"), "gradient", probe)
    assert estimate.bytes >= 8.0 * n * n
    refusal = estimate.refusal(max_seconds=math.inf, max_bytes=1e10)
    assert "of memory" in refusal and "--force" in refusal
    assert estimate.refusal(max_seconds=math.inf, max_bytes=math.inf) == ""


def test_the_oracle_estimate_grows_as_n_squared():
    small = cost.Probe(n=1000, m=1, f_seconds=1e-5, f_bytes=8e3, mp_seconds=0.02)
    large = cost.Probe(n=2000, m=1, f_seconds=1e-5, f_bytes=16e3, mp_seconds=0.04)
    seconds = [cost.estimate(oracle.COSTS["gradient"], "gradient", p, timed=False).seconds
               for p in (small, large)]
    assert 3.5 < seconds[1] / seconds[0] < 4.5


def _compare_in_subprocess(dim):
    """``difflab compare rosenbrock --dim DIM`` in a fresh process; the timeout only guards
    against a hang (the assertions are on what compare decided, not on how long it took)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "difflab", "compare", "rosenbrock", "--dim",
                           str(dim), "--methods", "reverse", "--json"], capture_output=True,
                          text=True, timeout=900, env=env, cwd=ROOT)


def test_compare_at_n_20000_skips_the_oracle_on_its_estimate_and_answers():
    proc = _compare_in_subprocess(20_000)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["results"][0]
    assert result["status"] == "ok" and "oracle skipped: estimated" in result["message"]
    x = np.tile([-1.2, 1.0], 10_000)
    np.testing.assert_allclose(result["value"], rosen_der(x), rtol=1e-13)


def test_the_oracle_at_n_20000_is_over_the_default_budget_on_a_given_estimate():
    """The decision behind the skip, on a fixed probe (no timing): the n**2 mpmath work of
    the oracle at n = 20,000 is refused under compare's default budget of 60 s."""
    probe = cost.Probe(n=20_000, m=1, f_seconds=1e-4, f_bytes=20_000 * 8.0, mp_seconds=0.4)
    estimate = cost.estimate(oracle.COSTS["gradient"], "gradient", probe, timed=False)
    assert "estimated" in estimate.refusal(max_seconds=60.0, max_bytes=math.inf)
    small = cost.Probe(n=20, m=1, f_seconds=1e-6, f_bytes=160.0, mp_seconds=4e-4)
    small_estimate = cost.estimate(oracle.COSTS["gradient"], "gradient", small, timed=False)
    assert small_estimate.refusal(max_seconds=60.0, max_bytes=math.inf) == ""


@pytest.mark.slow
def test_compare_at_n_ten_million_skips_the_oracle_and_answers():
    proc = _compare_in_subprocess(10_000_000)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["results"][0]
    assert result["status"] == "ok" and "oracle skipped: estimated" in result["message"]


# ---------------------------------------------------------------------- the oracle in blocks
def test_the_oracle_reports_progress_block_by_block():
    x = np.linspace(-1.0, 1.5, 200)
    seen = []
    g = oracle.reference(rosenbrock, x, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(128, 200), (200, 200)]
    np.testing.assert_allclose(g, rosen_der(x), rtol=1e-13, atol=1e-15 * np.abs(g).max())


def test_the_oracle_in_small_blocks_gives_the_same_derivatives(monkeypatch):
    monkeypatch.setattr(oracle, "BLOCK", 5)
    x = np.linspace(-1.0, 1.5, 12)
    np.testing.assert_allclose(oracle.reference(rosenbrock, x), rosen_der(x), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(oracle.reference(rosenbrock, x, "hessian"), rosen_hess(x),
                               rtol=1e-14, atol=1e-12)

    def vector(x):
        xp = difflab.namespace(x)
        return xp.stack([xp.sum(x ** 2), xp.sin(x[0]) * x[-1]])
    J = oracle.reference(vector, x, "jacobian")
    expected = np.zeros((2, x.size))
    expected[0] = 2 * x
    expected[1, 0], expected[1, -1] = np.cos(x[0]) * x[-1], np.sin(x[0])
    np.testing.assert_allclose(J, expected, rtol=1e-14)


# ---------------------------------------------------------------------- Ctrl-C, out of memory
def _fail_in_reverse(monkeypatch, exception):
    from difflab.ad import reverse

    def boom(f, x):
        raise exception
    monkeypatch.setattr(reverse, "vjp", boom)  # what every reverse-mode derivative starts with


def test_ctrl_c_prints_the_rows_that_finished_and_exits_130(capsys, monkeypatch):
    _fail_in_reverse(monkeypatch, KeyboardInterrupt())
    code, out, err = run(capsys, "compare", "rosenbrock", "--dim", "3", "--methods",
                         "manual,reverse,fd-central")
    assert code == 130
    assert "manual" in out and "fd-central" not in out
    assert err.strip() == "error: interrupted"


def test_ctrl_c_keeps_the_finished_rows_as_json(capsys, monkeypatch):
    _fail_in_reverse(monkeypatch, KeyboardInterrupt())
    code, out, _ = run(capsys, "compare", "rosenbrock", "--dim", "3", "--methods",
                       "manual,reverse,forward", "--json")
    doc = json.loads(out)
    assert code == 130
    assert [r["method"] for r in doc["results"]] == ["manual"]
    np.testing.assert_allclose(doc["results"][0]["value"], rosen_der(np.array(doc["x"])), rtol=1e-14)


def test_out_of_memory_is_one_line_exit_2_with_the_finished_rows(capsys, monkeypatch):
    _fail_in_reverse(monkeypatch, MemoryError("Unable to allocate 75 GiB"))
    code, out, err = run(capsys, "compare", "rosenbrock", "--dim", "3", "--methods",
                         "manual,reverse,fd-central")
    assert code == 2
    assert "manual" in out and "fd-central" not in out
    assert len(err.strip().splitlines()) == 1 and "out of memory" in err and "75 GiB" in err


def test_catalogue_matrix_keeps_the_finished_functions_on_ctrl_c(capsys, monkeypatch):
    from difflab.analysis import comparison

    real = comparison.run_method
    calls = []

    def interrupt_on_the_second_function(name, function, *args, **kwargs):
        calls.append(function.name)
        if len(set(calls)) > 1:
            raise KeyboardInterrupt
        return real(name, function, *args, **kwargs)
    monkeypatch.setattr(comparison, "run_method", interrupt_on_the_second_function)
    code, out, _ = run(capsys, "compare", "--methods", "reverse", "--json")
    doc = json.loads(out)
    assert code == 130
    assert doc["comparisons"][0]["function"] == calls[0]
    assert doc["comparisons"][0]["results"][0]["status"] == "ok"


def test_json_is_printed_before_the_plot_is_drawn(capsys, monkeypatch, tmp_path):
    from difflab_experiments import plots

    def interrupted(result, path):
        raise KeyboardInterrupt
    monkeypatch.setattr(plots, "plot", interrupted)
    code, out, _ = run(capsys, "speed", "--parts", "gradient", "--dims", "4", "--methods",
                       "reverse", "--repeat", "1", "--json", "--plot", str(tmp_path / "s.png"))
    assert code == 130
    assert json.loads(out)["rows"][0]["method"] == "reverse"


def test_speed_keeps_the_finished_rows_on_ctrl_c(capsys, monkeypatch):
    from difflab_experiments import speed

    real = speed._prepared

    def interrupt_the_hessians(method, kind, *args, **kwargs):
        if kind == "hessian":
            raise KeyboardInterrupt
        return real(method, kind, *args, **kwargs)
    monkeypatch.setattr(speed, "_prepared", interrupt_the_hessians)
    code, out, err = run(capsys, "speed", "--parts", "gradient,hessian", "--dims", "4",
                         "--methods", "reverse", "--repeat", "1", "--json")
    doc = json.loads(out)
    assert code == 130 and err.strip() == "error: interrupted"
    assert [(r["method"], r["dim"]) for r in doc["rows"]] == [("reverse", 4)]
    assert doc["hessian"] == []


def test_accuracy_keeps_the_finished_cells_on_ctrl_c(capsys, monkeypatch):
    from difflab_experiments import accuracy

    real, done = accuracy._digits_one, []

    def interrupt_the_second_function(f, x, name, methods, dtype):
        if done:
            raise KeyboardInterrupt
        done.append(name)
        return real(f, x, name, methods, dtype)
    monkeypatch.setattr(accuracy, "_digits_one", interrupt_the_second_function)
    code, out, _ = run(capsys, "accuracy", "--dtypes", "float64", "--table-methods", "reverse",
                       "--json")
    doc = json.loads(out)
    assert code == 130
    assert doc["curves"] and [(d["function"], d["method"]) for d in doc["digits"]] == [(done[0], "reverse")]
    assert doc["digits"][0]["status"] == "ok" and doc["digits"][0]["digits"] > 14


@pytest.mark.parametrize("as_json", [True, False])
def test_swell_keeps_the_finished_rows_on_ctrl_c(capsys, monkeypatch, as_json):
    from difflab_experiments import swell

    real, sizes = swell.measure, []

    def interrupt_the_second_size(f, dim, x, n, *args, **kwargs):
        if sizes:
            raise KeyboardInterrupt
        sizes.append(n)
        return real(f, dim, x, n, *args, **kwargs)
    monkeypatch.setattr(swell, "measure", interrupt_the_second_size)
    code, out, _ = run(capsys, "swell", "--cases", "product", "--quick", "--repeat", "1",
                       *(["--json"] if as_json else []))
    assert code == 130
    if as_json:
        (case,) = json.loads(out)["cases"]
        assert case["name"] == "product" and [r["n"] for r in case["rows"]] == sizes
    else:
        assert "product" in out


# ---------------------------------------------------------------------- nothing usable
def test_compare_exits_1_when_f_is_not_finite_at_the_point(capsys):
    # log of a negative number: every method's number means nothing there
    code, out, _ = run(capsys, "compare", "log(x)", "--at", "-1", "--methods",
                       "reverse,fd-central,fd-complex")
    assert code == 1
    assert "no method produced a usable result" in out and "nan" in out
    code, _, _ = run(capsys, "compare", "log(x)", "--at", "2", "--methods", "reverse")
    assert code == 0                     # inside the domain: the same methods work


def test_compare_exits_1_outside_a_catalogue_functions_domain(capsys):
    # classic = exp(x)/sqrt(sin(x)^3 + cos(x)^3): the root's argument is negative at 3
    assert math.sin(3.0) ** 3 + math.cos(3.0) ** 3 < 0
    code, out, err = run(capsys, "compare", "classic", "--at", "3", "--methods",
                         "manual,reverse,fd-central,fd-complex,sympy", "--json")
    doc = json.loads(out)
    assert code == 1
    assert all(r["status"] != "ok" for r in doc["results"])
    assert "no method produced a usable result" in err


# ---------------------------------------------------------------------- speed, fd Hessians
def test_speed_budget_holds_at_the_first_size():
    from difflab_experiments import speed

    rows, skipped = speed.gradient_rows("rosenbrock", [3000], ["fd-central"], repeat=1,
                                        budget=0.2, progress=lambda *a, **k: None)
    assert rows == []
    assert skipped[0].method == "fd-central" and "cost model" in skipped[0].reason


def test_fd_hessians_do_not_keep_every_evaluation():
    n = 50
    x = np.linspace(-1.0, 1.5, n)
    for name in ("fd-central", "fd-five-point"):
        hessian = difflab.get(name).hessian(rosenbrock)
        hessian.prepare(x)
        tracemalloc.start()
        try:
            H = hessian(x)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 16 * H.nbytes, name    # was 100 to 500x: every evaluation kept in a dict
        np.testing.assert_allclose(H, rosen_hess(x), rtol=0, atol=1e-5 * np.abs(rosen_hess(x)).max())
