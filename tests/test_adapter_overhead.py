"""Adapter overhead and cost growth in the speed records (issue 24): the JSON carries them,
each computed from the times measured in the same run (no timed assertions)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from difflab_experiments import adapters, records, speed

import difflab
from difflab import cli

HAS_TORCH = difflab.method_class("torch").available()


def test_growth_exponent_is_the_log_log_slope_of_the_times():
    # closed forms: t = 3e-9 n is k = 1, t = 2e-12 n^2 is k = 2; sizes outside 1e3..1e6 left out
    rows = [speed.SpeedRow("lin", n, 1.0, 0.0, 3e-9 * n, 0.0) for n in (10, 1_000, 10_000, 100_000)]
    rows += [speed.SpeedRow("sq", n, 1.0, 0.0, 2e-12 * n * n, 0.0) for n in (1_000, 1_000_000, 10**7)]
    fits = speed.growth_exponents(rows)
    assert fits["lin"]["k"] == pytest.approx(1.0) and fits["lin"]["dims"] == [1_000, 10_000, 100_000]
    assert fits["sq"]["k"] == pytest.approx(2.0) and fits["sq"]["dims"] == [1_000, 1_000_000]
    one = speed.growth_exponents([speed.SpeedRow("one", 1_000, 1.0, 0.0, 1e-6, 0.0)])
    assert one == {}  # one size: no slope


def test_speed_json_carries_fits_dispatch_and_adapter_overhead():
    methods = ["manual", "reverse"] + (["torch"] if HAS_TORCH else [])
    result = speed.run("rosenbrock", dims=(1_000, 4_000), methods=methods, repeat=1, budget=30.0,
                       jacobian_ns=(), setup_dims=(), hessian_dims=(), fit=True)
    doc = json.loads(records.dumps(result.to_dict()))
    assert {"fits", "dispatch"} <= set(doc)
    for method in ("manual", "reverse"):
        times = {r["dim"]: r["call_seconds"] for r in doc["rows"] if r["method"] == method}
        expected = math.log(times[4_000] / times[1_000]) / math.log(4.0)  # two points: their slope
        assert doc["fits"][method]["k"] == pytest.approx(expected)
        assert doc["fits"][method]["seconds"] == [times[1_000], times[4_000]]
    for r in doc["rows"]:
        if r["method"] in speed.FRAMEWORKS:
            assert r["direct_seconds"] > 0
            assert r["adapter_overhead"] == pytest.approx(r["call_seconds"] / r["direct_seconds"])
        else:
            assert r["direct_seconds"] is None and r["adapter_overhead"] is None


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_adapter_overhead_row_is_difflab_over_direct():
    f = difflab.functions.get("rosenbrock", 10)
    x = np.linspace(-1.0, 1.5, 10)
    row = adapters.overhead_row("torch", "torch", {}, f, x, repeat=1)
    assert row.dim == 10 and row.difflab_seconds > 0 and row.direct_seconds > 0
    assert row.overhead == pytest.approx(row.difflab_seconds / row.direct_seconds)
    # the direct yardstick is the framework's gradient of the same function
    from scipy.optimize import rosen_der

    np.testing.assert_allclose(adapters.direct_gradient("torch", {})(x), rosen_der(x), rtol=1e-13)


def test_fit_needs_a_function_that_scales(monkeypatch, capsys):
    subs = {k: v for k, v in cli.SUBCOMMANDS.items() if k == "speed"}
    monkeypatch.setattr(cli, "SUBCOMMANDS", subs)
    assert cli.main(["speed", "--function", "classic", "--fit", "--methods", "reverse"]) != 0
    assert "--fit needs a function that scales with n" in capsys.readouterr().err
