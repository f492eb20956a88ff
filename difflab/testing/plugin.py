"""pytest plugin: the ``gradcheck`` fixture and the ``--difflab-methods`` option.

Registered through the ``pytest11`` entry point, so pytest loads it in every run where
difflab is installed. Loading it must stay cheap and must never fail: ``import difflab`` and
``import difflab.testing`` load their names on first use, so this module brings in pytest
and the standard library only; difflab's checker (and NumPy) load when a test first calls
the fixture.

Usage in a test::

    def test_my_gradient(gradcheck):
        gradcheck(my_function, [0.5, 1.5])            # same arguments as assert_gradients_agree

``pytest --difflab-methods reverse,torch`` (or ``difflab_methods = reverse,torch`` in the ini
file) chooses the methods for every ``gradcheck`` call that does not name its own. The
names are checked once, at start-up: an unknown or empty list is a usage error.
"""
from __future__ import annotations

import sys

import pytest

from difflab.interface import method_names

OPTION = "--difflab-methods"
INI = "difflab_methods"
#: Where pytest_configure leaves the checked methods (None: the checker's default).
_METHODS = pytest.StashKey()


def pytest_addoption(parser):
    group = parser.getgroup("difflab", "difflab gradient checks")
    group.addoption(OPTION, action="store", default=None, metavar="A,B,...", dest=INI,
                    help="comma-separated methods the gradcheck fixture compares with the "
                         "oracle (default: every available exact method, plus manual)")
    # "args": a list in pyproject.toml, or "manual, reverse" in an ini file (split and
    # joined again by configured_methods)
    parser.addini(INI, "default for --difflab-methods", type="args", default=[])


def pytest_configure(config):
    config.stash[_METHODS] = checked_methods(config)


def configured_methods(config):
    """The methods chosen on the command line or in the ini file, or None for the default."""
    text = config.getoption(INI) or config.getini(INI)
    if isinstance(text, (list, tuple)):  # difflab_methods = ["manual", "reverse"] in pyproject.toml
        text = ",".join(map(str, text))
    names = [m.strip() for m in str(text or "").split(",") if m.strip()]
    return names or None


def checked_methods(config):
    """:func:`configured_methods`, refusing an empty ``--difflab-methods`` and unknown names
    with a pytest.UsageError (one line, before any test runs)."""
    names = configured_methods(config)
    if names is None:
        if config.getoption(INI) is not None:
            raise pytest.UsageError(f"{OPTION} is empty; name at least one method (see 'difflab list')")
        return None
    source = OPTION if config.getoption(INI) is not None else f"{INI} (ini file)"
    known = registered_methods()
    for name in names:
        if name not in known:
            message = method_names.unknown_method(name, known)
            raise pytest.UsageError(f"{source}: {message} (see 'difflab list')")
    return names


def registered_methods() -> list:
    """Every registered method name, without importing difflab unless it is already loaded
    (a conftest that registered its own methods has loaded it: then ask its registry)."""
    registry = sys.modules.get("difflab.interface.registry")
    if registry is not None:
        return registry.methods()
    return [*method_names.BUILTIN_METHODS, *method_names.entry_point_methods()]


@pytest.fixture
def gradcheck(request):
    """``gradcheck(f, x, methods=None, derivative="gradient", rtol=None, atol=None, points=1,
    seed=0, **options)``: :func:`difflab.testing.assert_gradients_agree`, with ``methods``
    defaulting to ``--difflab-methods``. Returns the report; raises AssertionError with a
    table of the worst components when a method disagrees with the oracle."""
    default = request.config.stash.get(_METHODS, None)

    def gradcheck(f, x, methods=None, derivative="gradient", rtol=None, atol=None, points=1,
                  seed=0, **options):
        __tracebackhide__ = True
        from difflab.testing import assert_gradients_agree

        return assert_gradients_agree(f, x, default if methods is None else methods, derivative,
                                      rtol, atol, points, seed, **options)

    return gradcheck
