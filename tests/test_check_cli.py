"""``difflab check MODULE:FUNCTION --at X``: exit codes, the table, the JSON."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import difflab
from difflab.cli import main
from difflab.cli.check import load_target

USER_MODULE = textwrap.dedent('''
    import numpy as np
    import difflab

    def rosen(x):
        xp = difflab.namespace(x)
        return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    def _grad(x):
        g = np.zeros_like(x)
        g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
        g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
        return g

    good = difflab.Function(rosen, gradient=_grad)
    wrong = difflab.Function(rosen, gradient=lambda x: _grad(x) * (1 + 1e-4))

    def relu(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.maximum(x, 0.0))

    NOT_A_FUNCTION = 3

    def raises(x):
        raise RuntimeError("boom")

    def log_sum(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.log(x))

    def returns_text(x):
        return "a"

    sized = difflab.Function(rosen, dim=3)
''')


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    (tmp_path / "user_losses.py").write_text(USER_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    yield tmp_path
    __import__("sys").modules.pop("user_losses", None)


def test_all_agree_exit_0(user_dir, capsys):
    code = main(["check", "user_losses:good", "--at", "0.3,0.7,1.2", "--methods", "manual,reverse"])
    out = capsys.readouterr().out
    assert code == 0
    assert "manual" in out and "reverse" in out and "all methods agree" in out


def test_disagreement_exit_1_shows_the_worst_components(user_dir, capsys):
    code = main(["check", "user_losses:wrong", "--at", "0.3,0.7,1.2", "--methods", "manual,forward"])
    out = capsys.readouterr().out
    assert code == 1
    assert "disagreement" in out and "worst components" in out
    assert "1.0e-04" in out  # the relative error of the wrong derivative


def test_json_document(user_dir, capsys):
    code = main(["check", "user_losses:wrong", "--at", "0.3,0.7,1.2", "--methods", "manual,reverse",
                 "--points", "2", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert document["schema"] == "difflab.check/1" and document["ok"] is False
    assert document["target"] == "user_losses:wrong" and len(document["points"]) == 2
    by_method = {m["method"]: m for m in document["methods"]}
    assert by_method["manual"]["status"] == "fail" and by_method["reverse"]["status"] == "ok"
    assert by_method["manual"]["max_rel_error"] == pytest.approx(1e-4, rel=1e-3)
    assert document["failures"] and "environment" in document


def test_kink_is_named_and_accepted(user_dir, capsys):
    argv = ["check", "user_losses:relu", "--at", "0,1", "--methods", "reverse,fd-forward"]
    assert main(argv) == 0
    assert "kink: the one-sided derivatives differ" in capsys.readouterr().out
    assert main(argv + ["--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    (kink,) = document["kinks"]
    assert kink["method"] == "fd-forward" and kink["index"] == [0]
    assert (kink["left"], kink["right"]) == (0.0, 1.0)
    assert {m["method"]: m["status"] for m in document["methods"]}["fd-forward"] == "kink"


def test_a_py_file_path_works_too(user_dir, capsys):
    code = main(["check", str(user_dir / "user_losses.py") + ":rosen", "--at", "1,2",
                 "--methods", "forward"])
    assert code == 0


@pytest.mark.parametrize("argv, message", [
    (["user_losses:rosn", "--at", "1,2"], "no 'rosn'; did you mean rosen"),
    (["no_such_module:rosen", "--at", "1,2"], "no module named 'no_such_module'"),
    (["user_losses", "--at", "1,2"], "expected MODULE:FUNCTION"),
    (["user_losses:NOT_A_FUNCTION", "--at", "1"], "not a function"),
    (["user_losses:rosen", "--at", "1,x"], "--at takes comma-separated numbers"),
    (["user_losses:rosen", "--at", "1,2", "--methods", "revers"], "unknown method 'revers'"),
    (["missing.py:rosen", "--at", "1"], "no such file"),
    (["user_losses:raises", "--at", "1,2"], "raises fails at x = [1. 2.]: RuntimeError: boom"),
    (["user_losses:log_sum", "--at", "-1,2"], "log_sum is not finite at x"),
    (["user_losses:returns_text", "--at", "1"], "returned 'a', not numbers"),
    (["user_losses:sized", "--at", "1,2"], "--at has 2 values, user_losses:sized takes 3"),
    (["user_losses:rosen", "--at", "1,2", "--rtol", "nan"], "argument --rtol: must be a number >= 0, not 'nan'"),
    (["user_losses:rosen", "--at", "1,2", "--atol", "-1"], "argument --atol: must be a number >= 0, not '-1'"),
])
def test_bad_input_exit_2_with_one_line(user_dir, capsys, argv, message):
    try:
        code = main(["check", *argv])
    except SystemExit as stop:  # refused while parsing (a bad --rtol or --atol)
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err.replace("\n", " ")
    assert "Traceback" not in err


def test_a_negative_first_coordinate_is_a_point_not_an_option(user_dir, capsys):
    code = main(["check", "user_losses:rosen", "--at", "-1,2", "--methods", "reverse", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["points"] == [[-1.0, 2.0]]


def test_a_py_file_imports_its_neighbours_and_may_hold_dataclasses(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "helper_constants.py").write_text("SCALE = 2.0\n")
    (folder / "json.py").write_text(textwrap.dedent('''
        from dataclasses import dataclass
        import difflab
        import helper_constants

        @dataclass
        class Weights:
            a: float = 1.5

        def loss(x):
            xp = difflab.namespace(x)
            return xp.sum(x ** 2) * Weights().a * helper_constants.SCALE
    '''))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    try:
        code = main(["check", "elsewhere/json.py:loss", "--at", "1,2", "--methods", "reverse", "--json"])
    finally:
        for name in ("_difflab_check_json", "helper_constants"):
            __import__("sys").modules.pop(name, None)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert json.loads(out.out)["ok"] is True  # and the real json module still works


def test_missing_at_is_a_usage_error(user_dir, capsys):
    with pytest.raises(SystemExit) as info:
        main(["check", "user_losses:rosen"])
    assert info.value.code == 2
    assert "--at" in capsys.readouterr().err


def test_load_target_follows_dotted_attributes(user_dir):
    assert load_target("user_losses:good.fn").__name__ == "rosen"


SHADOWS = ("mpmath", "torch", "jax")


@pytest.mark.parametrize("cases", [
    [("user_mod:f", "reverse"), ("src/mymod.py:g", "forward")],
    pytest.param([("user_mod:f", "torch")], marks=pytest.mark.slow),
])
def test_files_named_like_libraries_in_the_current_folder_do_not_shadow_them(tmp_path, cases):
    """A user's mpmath.py/torch.py/jax.py beside their code: the oracle and the methods still
    use the real libraries, with the user's module given by name or by path."""
    for name in SHADOWS:
        (tmp_path / f"{name}.py").write_text(f"raise RuntimeError('the user\\'s {name}.py was imported')\n")
    (tmp_path / "user_mod.py").write_text(textwrap.dedent('''
        import difflab

        def f(x):
            xp = difflab.namespace(x)
            return xp.sum(xp.sin(x) * x)
    '''))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "helper.py").write_text("SCALE = 3.0\n")
    (tmp_path / "src" / "mymod.py").write_text(textwrap.dedent('''
        import difflab
        import helper

        def g(x):
            xp = difflab.namespace(x)
            return xp.sum(xp.exp(x)) * helper.SCALE
    '''))
    root = str(Path(difflab.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    for target, methods in cases:
        out = subprocess.run([sys.executable, "-m", "difflab", "check", target, "--at", "0.5,1.5",
                              "--methods", methods, "--json"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        document = json.loads(out.stdout)
        assert document["ok"] is True
        assert [m["method"] for m in document["methods"]] == methods.split(",")


def test_a_module_name_taken_by_an_installed_one_says_to_give_the_path(user_dir, capsys):
    (user_dir / "json.py").write_text("import difflab\n\ndef loss(x):\n    return difflab.namespace(x).sum(x ** 2)\n")
    assert main(["check", "json:loss", "--at", "1,2", "--methods", "reverse"]) == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert "json has no 'loss'" in err and "an installed module comes before the json.py" in err
    assert "give its path instead, such as json.py:FUNCTION" in err
    try:
        assert main(["check", "json.py:loss", "--at", "1,2", "--methods", "reverse"]) == 0
    finally:
        sys.modules.pop("_difflab_check_json", None)


@pytest.mark.parametrize("exit_call", ["sys.exit(3)", "sys.exit()", "sys.exit('usage: script.py')"])
def test_a_module_that_exits_while_imported_is_named_in_one_line(tmp_path, exit_call):
    (tmp_path / "script_like.py").write_text(f"import sys\n{exit_call}\ndef f(x):\n    return x[0]\n")
    proc = subprocess.run([sys.executable, "-m", "difflab", "check", "script_like:f", "--at", "1"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "script_like exited (sys.exit(" in proc.stderr and "while being imported" in proc.stderr
    assert "usage: script.py" not in proc.stdout
