"""Library calls refuse work above their budget (docs/reliability.md, Budgets in the library):
``difflab.get(name, max_seconds=..., max_bytes=...)``, estimated with difflab.interface.cost's models
before the method prepares anything. Decisions are tested on given estimates (a method whose
cost model returns fixed figures), never on the wall clock."""
import numpy as np
import pytest

import difflab
from difflab.interface import cost, registry
from difflab.interface.differentiator import Differentiator


def rosenbrock(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def fixed_costs(seconds=0.0, setup=0.0, memory=0.0):
    model = cost.Cost(call=lambda p: seconds, setup=lambda p: setup, memory=lambda p: memory,
                      basis="a fixed model")
    return {kind: model for kind in ("gradient", "jacobian", "hessian", "hvp")}


class Fixed(Differentiator):
    """A method whose cost model gives fixed figures and which records what it builds."""

    name = "fixed-cost"
    family = "manual"
    native = frozenset({"gradient", "jacobian", "hessian"})
    built: list = []

    def _build(self, kind, function, x):
        Fixed.built.append(kind)
        return lambda x: np.zeros((x.size, x.size) if kind == "hessian" else x.size)


@pytest.fixture
def fixed(monkeypatch):
    """``make(**costs)``: a Fixed method class with these figures, registered for the test."""
    def make(**figures):
        cls = type("FixedNow", (Fixed,), {"costs": fixed_costs(**figures)})
        monkeypatch.setitem(registry._classes, Fixed.name, cls)
        monkeypatch.setitem(registry._extra, Fixed.name, f"{__name__}:Fixed")
        Fixed.built = []
        return cls
    return make


X = np.array([0.5, -0.3, 1.2])


@pytest.mark.parametrize("kind", ["gradient", "value_and_gradient", "jacobian", "hessian",
                                  "jvp", "vjp", "hvp"])
def test_over_the_time_budget_is_refused_before_preparing(fixed, kind):
    fixed(seconds=100.0)
    d = getattr(difflab.get("fixed-cost"), kind)(rosenbrock)
    vector = {"jvp": np.ones(X.size), "hvp": np.ones(X.size), "vjp": np.ones(1)}.get(kind)
    args = (X,) if vector is None else (X, vector)
    with pytest.raises(difflab.OverBudget, match=r"estimated 100 s > max_seconds 60 s .*"
                                                 r"difflab.get\('fixed-cost', max_seconds=\.\.\.\)") as info:
        d(*args)
    assert Fixed.built == []  # nothing was prepared
    assert isinstance(info.value, difflab.InputError) and info.value.estimate.seconds == pytest.approx(100.0)


def test_the_time_budget_is_the_option(fixed):
    fixed(seconds=100.0)
    np.testing.assert_array_equal(difflab.get("fixed-cost", max_seconds=101).gradient(rosenbrock)(X), 0.0)
    np.testing.assert_array_equal(difflab.get("fixed-cost", max_seconds=None).gradient(rosenbrock)(X), 0.0)
    assert Fixed.built == ["gradient", "gradient"]
    with pytest.raises(difflab.OverBudget, match="max_seconds 50 s"):
        difflab.get("fixed-cost", max_seconds=50).gradient(rosenbrock)(X)


def test_setup_counts_against_the_budget(fixed):
    fixed(setup=70.0)  # SymPy's kind of cost: the preparation, not the call
    with pytest.raises(difflab.OverBudget, match=r"estimated 70 s > max_seconds 60 s"):
        difflab.get("fixed-cost").gradient(rosenbrock)(X)


def test_over_the_memory_budget_names_max_bytes(fixed):
    fixed(memory=3e9)
    with pytest.raises(difflab.OverBudget, match=r"estimated 3(\.0)? GB of memory > max_bytes 1(\.0)? GB"
                                                 r".*max_bytes=\.\.\."):
        difflab.get("fixed-cost", max_bytes=1e9).hessian(rosenbrock)(X)
    assert Fixed.built == []
    difflab.get("fixed-cost", max_bytes=4e9).hessian(rosenbrock)(X)
    difflab.get("fixed-cost", max_bytes=None).hessian(rosenbrock)(X)
    assert Fixed.built == ["hessian", "hessian"]


def test_the_default_memory_budget_is_compares(fixed, monkeypatch):
    """Half the memory available when the derivative is prepared (difflab.interface.cost)."""
    fixed(memory=3e9)
    monkeypatch.setattr(cost, "available_bytes", lambda: 4e9)
    with pytest.raises(difflab.OverBudget, match=r"max_bytes 2(\.0)? GB"):
        difflab.get("fixed-cost").gradient(rosenbrock)(X)
    monkeypatch.setattr(cost, "available_bytes", lambda: 8e9)
    difflab.get("fixed-cost").gradient(rosenbrock)(X)
    assert Fixed.built == ["gradient"]


def test_a_huge_hessian_is_refused_before_allocating():
    """n = 50,000: the Hessian alone is 20 GB; before, a raw MemoryError (or the machine's
    swap). The result's n^2 is in every method's estimate."""
    x = np.zeros(50_000)
    for name in ("reverse", "fd-central", "forward"):
        with pytest.raises(difflab.OverBudget, match=r"the result alone is 20 GB.*max_bytes"):
            difflab.get(name, max_bytes=10e9).hessian(rosenbrock)(x)


def test_sympy_refuses_before_its_setup(monkeypatch):
    """SymPy's setup grows with the operations of f (at least one per input): with a budget
    of a millisecond, n = 50 is refused without a single symbolic derivative taken."""
    sympy = pytest.importorskip("sympy")
    calls = []
    original = sympy.diff
    monkeypatch.setattr(sympy, "diff", lambda *a, **k: (calls.append(1), original(*a, **k))[1])
    with pytest.raises(difflab.OverBudget, match=r"by sympy at n = 50 .*tracing, diff and CSE.*max_seconds"):
        difflab.get("sympy", max_seconds=1e-3).gradient(rosenbrock)(np.linspace(-1, 1, 50))
    assert calls == []


def test_small_calls_are_not_refused():
    x = np.linspace(-1, 1, 6)
    for name in ("reverse", "forward", "fd-central", "sympy"):
        if not registry.method_class(name).available():
            continue
        d = difflab.get(name)
        assert d.max_seconds == 60.0 and d.max_bytes == "available"
        h = d.hessian(rosenbrock)(x)
        assert h.shape == (6, 6)


@pytest.mark.parametrize("bad", [-1, 0, "10", True, float("nan")])
def test_budget_options_are_checked(bad):
    with pytest.raises(difflab.InputError, match="positive number or None"):
        difflab.get("reverse", max_seconds=bad)
    with pytest.raises(difflab.InputError, match="positive number or None"):
        difflab.get("reverse", max_bytes=bad)


def test_compare_runs_methods_under_its_own_budget_only(fixed):
    """compare estimates and refuses with its own flags; with no budget (--force) nothing is
    refused, the methods' own defaults included."""
    fixed(seconds=100.0)
    c = difflab.compare(rosenbrock, X, methods=["fixed-cost"], max_seconds=None, max_bytes=None,
                        repeat=1, min_time=0.0)
    assert c.result("fixed-cost").status != "skipped" and Fixed.built == ["gradient"]
    c = difflab.compare(rosenbrock, X, methods=["fixed-cost"], max_seconds=60.0, repeat=1, min_time=0.0)
    assert c.result("fixed-cost").status == "skipped"


def test_check_reports_a_method_over_its_budget_as_a_row():
    """difflab check / the pytest helpers: a method over its budget is a row saying so (as
    compare skips it), the others are still checked."""
    from difflab.testing.check import check_methods

    x = np.linspace(-1, 1, 20)
    report = check_methods(rosenbrock, x, methods=["reverse", difflab.get("fd-central", max_seconds=1e-9)])
    outcome = {m.method: m for m in report.methods}
    assert outcome["reverse"].status == "ok"
    assert outcome["fd-central"].status == "unsupported" and "max_seconds" in outcome["fd-central"].message
