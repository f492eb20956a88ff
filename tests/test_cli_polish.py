"""The command line's finish (issue 15): help for every option, no command is a usage error,
counted nouns, flag names in errors, --verbose, frameworks' native log lines kept off
stderr, train's --threads/--save/--json and compare's --plot."""
import argparse
import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import difflab
from difflab.cli import SUBCOMMANDS, _warnings_as_lines, build_parser, main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def subcommand_parsers():
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return parser, sub.choices


def run_main(argv):
    """main's exit code, whether it returned it or argparse exited."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


# ---------------------------------------------------------------------- help and usage
def test_every_option_of_every_subcommand_has_help():
    parser, subparsers = subcommand_parsers()
    assert set(subparsers) == set(SUBCOMMANDS)
    missing = [f"{name} {action.option_strings or action.dest}"
               for name, sub in [("difflab", parser), *subparsers.items()]
               for action in sub._actions
               if not isinstance(action, argparse._SubParsersAction) and not action.help]
    assert missing == []


def test_every_subcommand_takes_verbose():
    _, subparsers = subcommand_parsers()
    for name, sub in subparsers.items():
        assert any("--verbose" in a.option_strings for a in sub._actions), name


def test_no_command_prints_the_help_and_exits_2(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: difflab") and "compare" in out and "train" in out


# ---------------------------------------------------------------------- counted nouns
def test_count_says_one_step_and_two_steps():
    from difflab.console.wording import count

    assert [count(n, "step") for n in (0, 1, 2)] == ["0 steps", "1 step", "2 steps"]
    assert count(1, "more point") == "1 more point"


def test_newton_on_a_quadratic_converges_after_1_step():
    from difflab.solvers import newton

    def bowl(x):
        return difflab.namespace(x).sum((x - 3.0) ** 2)

    result = newton(difflab.Function(bowl, dim=2, name="bowl"), np.array([1.0, -2.0]), "reverse")
    np.testing.assert_allclose(result.x, [3.0, 3.0])  # the minimum, one exact Newton step away
    assert result.nit == 1
    assert "after 1 step" in result.message and "1 steps" not in result.message


def test_a_point_of_the_wrong_length_counts_values(capsys):
    assert main(["compare", "sin(x)*y", "--at", "1"]) == 2
    assert "--at has 1 value, " in capsys.readouterr().err


# ---------------------------------------------------------------------- flag names
@pytest.mark.parametrize("argv, flag", [
    (["solve", "worked", "--lr", "-1"], "--lr"),
    (["solve", "worked", "--learning-rate", "0"], "--lr"),
    (["solve", "worked", "--momentum", "1"], "--momentum"),
    (["solve", "worked", "--max-iter", "0"], "--max-iter"),
    (["solve", "worked", "--tol", "0"], "--tol"),
    (["solve", "linreg", "--batch-size", "0"], "--batch-size"),
    (["solve", "linreg", "--epochs", "0"], "--epochs"),
    (["train", "--lr", "-0.1"], "--lr"),
    (["train", "--batch-size", "0"], "--batch-size"),
])
def test_errors_name_the_flag_not_the_parameter(capsys, argv, flag):
    assert run_main(argv) == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and err.count("\n") == 1
    for internal in ("learning_rate", "max_iter", "batch_size", "momentum must", "tol must"):
        assert internal not in err


# ---------------------------------------------------------------------- warnings
def warn_from(filename, text="something was deprecated"):
    warnings.warn_explicit(text, UserWarning, filename, 1)


def test_other_libraries_warnings_only_with_verbose_and_once(capsys):
    elsewhere = "/usr/lib/python3/site-packages/otherlib/core.py"
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        with _warnings_as_lines(verbose=False):
            warn_from(elsewhere)
        assert capsys.readouterr().err == ""
        with _warnings_as_lines(verbose=True):
            warn_from(elsewhere)
            warn_from(elsewhere)
        assert capsys.readouterr().err == "warning: something was deprecated\n"


def test_difflabs_own_warnings_are_shown_without_verbose(capsys):
    own = os.path.join(os.path.dirname(difflab.__file__), "differentiator.py")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        with _warnings_as_lines(verbose=False):
            warn_from(own, "expect minutes per batch")
    assert capsys.readouterr().err == "warning: expect minutes per batch\n"


# ---------------------------------------------------------------------- native log lines
NATIVE = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
          "I0000 00:00:1796024563.578371   30519 port.cc:153] oneDNN custom operations are on.\n")


def test_native_log_lines_are_filtered_and_other_output_passes():
    code = textwrap.dedent(f"""
        import os, sys
        from difflab.console.quiet import CAPTURED, native_logs_filtered
        with native_logs_filtered():
            os.write(2, b"before\\n" + {NATIVE.encode()!r} + b"progress 50%")
            sys.stderr.write(" and a line from Python\\n")
        os.write(2, b"after\\n")
        print(len(CAPTURED))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    assert out.stderr == "before\nprogress 50% and a line from Python\nafter\n"
    assert out.stdout.strip() == "2"


@pytest.mark.slow
def test_tensorflow_prints_no_absl_or_onednn_line():
    pytest.importorskip("tensorflow")
    out = subprocess.run([sys.executable, "-m", "difflab", "compare", "sin(x)*y", "--at", "1,2",
                          "--methods", "tensorflow"], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    assert "tensorflow" in out.stdout and "16.0" in out.stdout
    for noise in ("absl", "oneDNN", "port.cc", "cpu_feature_guard"):
        assert noise not in out.stderr


# ---------------------------------------------------------------------- train
def test_train_json_and_save(tmp_path, capsys):
    import nets

    path = tmp_path / "model.npz"
    assert main(["train", "--epochs", "3", "--quiet", "--json", "--save", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "difflab.train/1" and doc["threads"] == 1
    (run,) = doc["runs"]
    assert run["differentiator"] == "reverse" and len(run["losses"]) == 3
    assert run["final_loss"] == run["losses"][-1]
    model = nets.load_model(str(path))
    task = nets.datasets.load_task("iris", seed=0)
    # the saved weights give the test scores the run reported
    scores = model.evaluate(task.x_test, task.y_test, return_dict=True)
    assert scores["loss"] == pytest.approx(run["test"]["loss"], rel=1e-12)


def test_train_save_never_overwrites_without_force_and_takes_one_method(tmp_path, capsys):
    path = tmp_path / "model.npz"
    path.write_bytes(b"mine")
    assert run_main(["train", "--epochs", "1", "--quiet", "--save", str(path)]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert path.read_bytes() == b"mine"
    assert run_main(["train", "--epochs", "1", "--save", str(tmp_path / "m.npz"),
                     "--differentiators", "reverse,manual"]) == 2
    assert "--save keeps one model" in capsys.readouterr().err


def test_train_reports_and_pins_its_threads(capsys, monkeypatch):
    from threadpoolctl import threadpool_info

    from difflab.cli.train import pinned_threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with pinned_threads(1):
        assert os.environ["OMP_NUM_THREADS"] == "1"
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    assert "OMP_NUM_THREADS" not in os.environ
    assert main(["train", "--epochs", "1", "--quiet", "--threads", "1"]) == 0
    assert ", 1 thread" in capsys.readouterr().out


# ---------------------------------------------------------------------- compare --plot
def test_compare_plot_draws_the_digits(tmp_path, capsys):
    path = tmp_path / "digits.png"
    assert main(["compare", "sin(x)*y", "--at", "1,2", "--methods", "manual,fd-central,reverse",
                 "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"digits chart written to {path}" in capsys.readouterr().out.replace("\n", "")


def test_compare_plot_is_checked_before_any_method_runs(tmp_path, capsys, monkeypatch):
    import difflab.analysis.comparison

    ran = []
    monkeypatch.setattr(difflab.analysis.comparison, "compare", lambda *a, **k: ran.append(a))
    existing = tmp_path / "mine.png"
    existing.write_bytes(b"mine")
    for argv, message in [
        (["sin(x)*y", "--at", "1,2", "--plot", str(existing)], "already exists; pass --overwrite"),
        (["sin(x)*y", "--at", "1,2", "--plot", str(tmp_path / "digits.txt")], "ending in .png"),
        (["sin(x)*y", "--at", "1,2", "--plot", str(tmp_path / "nope" / "d.png")], "does not exist"),
        (["--plot", str(tmp_path / "d.png")], "need a FUNCTION"),
    ]:
        assert main(["compare", *argv]) == 2
        assert message in capsys.readouterr().err
    assert ran == [] and existing.read_bytes() == b"mine"


def test_last_words_written_while_a_window_is_open_reach_stderr():
    """A process that ends while a background thread still loads a framework (the window
    open) keeps its error line: stderr is put back at exit."""
    code = textwrap.dedent("""
        import sys, threading, time
        from difflab.console.quiet import native_logs_filtered
        opened = threading.Event()

        def loading():
            with native_logs_filtered():
                opened.set()
                time.sleep(30)

        threading.Thread(target=loading, daemon=True).start()
        opened.wait()
        sys.stderr.write("error: the last words\\n")
        sys.exit(2)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 2
    assert out.stderr == "error: the last words\n"
