"""``difflab check MODULE:FUNCTION --at X``: exit codes, the table, the JSON."""
import json
import textwrap

import pytest

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
    (["user_losses:sized", "--at", "1,2"], "--at has 2 value(s), user_losses:sized takes 3"),
    (["user_losses:rosen", "--at", "1,2", "--rtol", "nan"], "rtol must be a finite number"),
    (["user_losses:rosen", "--at", "1,2", "--atol", "-1"], "atol must be a finite number"),
])
def test_bad_input_exit_2_with_one_line(user_dir, capsys, argv, message):
    code = main(["check", *argv])
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
