"""pytest plugin: the ``gradcheck`` fixture and the ``--difflab-methods`` option.

Registered through the ``pytest11`` entry point, so pytest loads it in every run where
difflab is installed. Importing it must stay cheap and must never fail: it imports pytest
only, and difflab's checker when a test first calls the fixture.

Usage in a test::

    def test_my_gradient(gradcheck):
        gradcheck(my_function, [0.5, 1.5])            # same arguments as assert_gradients_agree

``pytest --difflab-methods reverse,torch`` (or ``difflab_methods = reverse,torch`` in the ini
file) chooses the methods for every ``gradcheck`` call that does not name its own.
"""
from __future__ import annotations

import pytest

OPTION = "--difflab-methods"
INI = "difflab_methods"


def pytest_addoption(parser):
    group = parser.getgroup("difflab", "difflab gradient checks")
    group.addoption(OPTION, action="store", default=None, metavar="A,B,...", dest=INI,
                    help="comma-separated methods the gradcheck fixture compares with the "
                         "oracle (default: every available exact method, plus manual)")
    # "args": a list in pyproject.toml, or "manual, reverse" in an ini file (split and
    # joined again by configured_methods)
    parser.addini(INI, "default for --difflab-methods", type="args", default=[])


def configured_methods(config):
    """The methods chosen on the command line or in the ini file, or None for the default."""
    text = config.getoption(INI) or config.getini(INI)
    if isinstance(text, (list, tuple)):  # difflab_methods = ["manual", "reverse"] in pyproject.toml
        text = ",".join(map(str, text))
    names = [m.strip() for m in str(text or "").split(",") if m.strip()]
    return names or None


@pytest.fixture
def gradcheck(request):
    """``gradcheck(f, x, methods=None, derivative="gradient", rtol=None, atol=None, points=1,
    seed=0, **options)``: :func:`difflab.testing.assert_gradients_agree`, with ``methods``
    defaulting to ``--difflab-methods``. Returns the report; raises AssertionError with a
    table of the worst components when a method disagrees with the oracle."""
    default = configured_methods(request.config)

    def gradcheck(f, x, methods=None, derivative="gradient", rtol=None, atol=None, points=1,
                  seed=0, **options):
        __tracebackhide__ = True
        from difflab.testing import assert_gradients_agree

        return assert_gradients_agree(f, x, default if methods is None else methods, derivative,
                                      rtol, atol, points, seed, **options)

    return gradcheck
