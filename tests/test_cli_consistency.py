"""One vocabulary across the subcommands: ``--overwrite`` for files, JSON documents with a
schema, narrow screens that keep row labels and footers that wrap at spaces only."""
import argparse
import json
import re

import pytest

from cli_helpers import run
from difflab.cli import build_parser
from difflab.console.wrapping import wrap_words

WRITERS = {"compare", "swell", "accuracy", "speed", "train", "optimizers", "solve", "trace"}


def _subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def _visible_options(sub):
    return {s for a in sub._actions if a.help != argparse.SUPPRESS for s in a.option_strings}


def test_every_subcommand_that_writes_a_file_says_overwrite():
    subs = _subparsers()
    overwriting = {name for name, sub in subs.items() if "--overwrite" in _visible_options(sub)}
    assert overwriting == WRITERS
    # --force is visible in compare only, where it means "ignore the budgets"
    assert {name for name, sub in subs.items() if "--force" in _visible_options(sub)} == {"compare"}
    force = next(a for a in subs["compare"]._actions if "--force" in a.option_strings)
    assert "time" in force.help and "memory" in force.help


def test_the_old_force_still_means_overwrite_with_a_note(capsys):
    """Where --force meant "overwrite the file" it is a hidden alias of --overwrite."""
    for argv in (["train"], ["solve", "worked"], ["swell"]):
        assert build_parser().parse_args([*argv, "--force"]).overwrite is True
        assert "--force is now --overwrite" in capsys.readouterr().err
        assert build_parser().parse_args(argv).overwrite is False


def test_an_existing_plot_is_refused_naming_overwrite(tmp_path, capsys):
    plot = tmp_path / "loss.png"
    plot.write_bytes(b"a user's file")
    code, _out, err = run(capsys, "train", "--dataset", "xor", "--epochs", "3", "--quiet",
                          "--plot", str(plot))
    assert code == 2 and "already exists; pass --overwrite" in err
    assert plot.read_bytes() == b"a user's file"


@pytest.mark.parametrize("command, schema, key", [("list", "difflab.list/1", "methods"),
                                                  ("functions", "difflab.functions/1", "functions")])
def test_list_and_functions_print_json_with_a_schema(capsys, command, schema, key):
    code, out, err = run(capsys, command, "--json")
    doc = json.loads(out)
    assert code == 0, err
    assert doc["schema"] == schema and set(doc) == {"schema", key} and doc[key]


def test_functions_json_matches_the_catalogue(capsys):
    import difflab.analysis.functions as catalogue

    _code, out, _err = run(capsys, "functions", "--json")
    rows = {r["name"]: r for r in json.loads(out)["functions"]}
    assert list(rows) == catalogue.names()
    rosen = catalogue.get("rosenbrock")
    assert rows["rosenbrock"]["n"] == rosen.dim
    assert rows["rosenbrock"]["manual"] == [k for k in ("gradient", "jacobian", "hessian")
                                            if getattr(rosen, k) is not None]


def test_fuzz_keeps_method_and_kind_in_every_part_at_80_columns(capsys):
    code, out, err = run(capsys, "fuzz", "--cases", "2", "--methods", "fd-five-point", "--width", "80")
    assert code == 0, err
    parts = out.split("(continued)")
    assert len(parts) >= 2, out  # the table did not fit: it was split
    for part in parts:
        assert re.search(r"method\s+.\s*kind", part), part


@pytest.mark.parametrize("width", range(20, 90, 3))
def test_footers_break_at_spaces_only_never_between_a_number_and_its_unit(width):
    text = ("digits = -log10(rel error) against the oracle (50-digit forward mode); 12.5 cases/s, "
            "stopped by the 600 s budget (--max-seconds) after 70 of 300 cases; worst <= 1 agrees; "
            "4.2 MB and 16 digits")
    lines = wrap_words(text, width)
    assert " ".join(lines) == text  # nothing lost, no word cut
    for line in lines:
        assert len(line) <= width or " " not in line
    for together in ("600 s", "4.2 MB", "16 digits", "12.5 cases/s", "300 cases", "<= 1"):
        assert any(together in line for line in lines), (together, lines)
