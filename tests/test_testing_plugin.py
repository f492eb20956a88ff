"""The pytest plugin, tested the way a user meets it: pytest run on a generated test file."""
import importlib.metadata
import subprocess
import sys
import textwrap

import pytest

USER_TESTS = textwrap.dedent('''
    import numpy as np
    import difflab

    def rosen(x):
        xp = difflab.namespace(x)
        return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    def rosen_grad(x):
        g = np.zeros_like(x)
        g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
        g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
        return g

    def rosen_grad_wrong(x):
        return rosen_grad(x) * np.array([1.0, 1.0 + 1e-4, 1.0])

    def test_right_gradient(gradcheck):
        report = gradcheck(difflab.Function(rosen, gradient=rosen_grad), [0.3, 0.7, 1.2])
        assert [m.method for m in report.methods] == METHODS

    def test_wrong_gradient(gradcheck):
        gradcheck(difflab.Function(rosen, gradient=rosen_grad_wrong), [0.3, 0.7, 1.2])
''')


def _pytest(tmp_path, *args, methods):
    path = tmp_path / "test_user_gradients.py"
    path.write_text(f"METHODS = {methods!r}\n" + USER_TESTS)
    plugin = [] if _entry_point() else ["-p", "difflab.testing.plugin"]
    return subprocess.run([sys.executable, "-m", "pytest", str(path), "-p", "no:cacheprovider",
                           "-q", *plugin, *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)


def _entry_point():
    return [ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.name == "difflab"]


def test_registered_as_a_pytest11_entry_point():
    (ep,) = _entry_point()
    assert ep.value == "difflab.testing.plugin"


def test_one_passing_one_failing_test_with_the_option(tmp_path):
    result = _pytest(tmp_path, "--difflab-methods", "manual,reverse", methods=["manual", "reverse"])
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "1 failed, 1 passed" in out
    assert "test_wrong_gradient" in out and "AssertionError" in out
    assert "value = the method under test" in out and "reference = the oracle" in out
    failing = [line for line in out.splitlines() if line.rstrip().endswith(" fail")]
    assert failing and failing[0].split()[1:3] == ["manual", "[1]"]  # after pytest's "E"


def test_ini_option_sets_the_methods(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\ndifflab_methods = manual, forward\n")
    result = _pytest(tmp_path, "-k", "right", methods=["manual", "forward"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_pyproject_list_sets_the_methods(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ndifflab_methods = ["manual", "forward"]\n')
    result = _pytest(tmp_path, "-k", "right", "-W", "error::pytest.PytestWarning",
                     methods=["manual", "forward"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_importing_the_plugin_is_cheap():
    code = ("import sys, difflab.testing.plugin; "
            f"light = {sorted(LIGHT_DIFFLAB)!r}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'tensorflow', 'jax', 'mpmath', 'sympy', 'numpy') "
            "or (m.startswith('difflab') and m not in light)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


#: What loading the plugin may import of difflab: the lazy package and its name table.
LIGHT_DIFFLAB = {"difflab", "difflab.errors", "difflab.interface", "difflab.interface.method_names", "difflab.testing",
                 "difflab.testing.plugin"}
LIGHT_TEST = textwrap.dedent(f'''
    import sys

    def test_nothing_heavy_was_imported():
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "mpmath", "sympy")
                       or (m.startswith("difflab") and m not in {sorted(LIGHT_DIFFLAB)!r}))
        assert heavy == []
''')


def test_pytest_start_up_with_the_option_imports_neither_numpy_nor_difflab(tmp_path):
    """The plugin loads and checks --difflab-methods at start-up with the standard library only:
    a suite that never uses the fixture pays nothing for difflab being installed."""
    (tmp_path / "test_light.py").write_text(LIGHT_TEST)
    plugin = [] if _entry_point() else ["-p", "difflab.testing.plugin"]
    result = subprocess.run([sys.executable, "-m", "pytest", "test_light.py", "-p", "no:cacheprovider", "-q",
                             *plugin, "--difflab-methods", "reverse,torch"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


@pytest.mark.parametrize("args, ini, message", [
    (["--difflab-methods", "reverse,revers"], None,
     "ERROR: --difflab-methods: unknown method 'revers'; did you mean reverse?"),
    (["--difflab-methods", ""], None, "ERROR: --difflab-methods is empty; name at least one method"),
    (["--difflab-methods", " , "], None, "ERROR: --difflab-methods is empty; name at least one method"),
    ([], "[pytest]\ndifflab_methods = manual, toch\n",
     "ERROR: difflab_methods (ini file): unknown method 'toch'; did you mean torch?"),
])
def test_bad_methods_stop_pytest_at_start_up_with_one_line(tmp_path, args, ini, message):
    if ini:
        (tmp_path / "pytest.ini").write_text(ini)
    result = _pytest(tmp_path, *args, methods=["manual", "reverse"])
    assert result.returncode == 4, result.stdout + result.stderr  # pytest's usage-error status
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert errors == [message] or (len(errors) == 1 and errors[0].startswith(message)), result.stderr
    assert "passed" not in result.stdout and "failed" not in result.stdout  # no test ran
