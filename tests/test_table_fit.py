"""Tables fit the width they are printed at, with nothing cropped or dropped."""
import io
import re

import pytest
from rich import box
from rich.console import Console
from rich.table import Table

from difflab.console.table_fit import column_groups, fits, set_key_columns

METHODS = ["manual", "fd-forward", "fd-central", "fd-five-point", "fd-complex",
           "fd-richardson", "sympy", "forward", "reverse", "autograd", "tensorflow",
           "torch", "jax"]


def matrix(note: bool = False) -> Table:
    table = Table(title="correct digits of the gradient against the oracle", box=box.SIMPLE_HEAD,
                  caption="digits = -log10(rel. error)")
    set_key_columns(table, 2)
    table.add_column("function", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    for m in METHODS:
        table.add_column(m, justify="right", no_wrap=True)
    if note:
        table.add_column("note", overflow="fold")
    for row, name in enumerate(["rosenbrock", "logistic-map", "softmax-xent"]):
        cells = [f"{row}{i:02d}.{i % 10}" for i, _ in enumerate(METHODS)]
        extra = ["a long explanation of why this row differs " * 2] if note else []
        table.add_row(name, str(10 + row), *cells, *extra)
    return table


def render(tables, width):
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None)
    for t in tables:
        console.print(t)
    return buffer.getvalue()


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("note", [False, True])
def test_every_group_fits_and_nothing_is_lost(width, note):
    table = matrix(note)
    console = Console(width=width)
    parts = column_groups(console, table, width)
    assert len(parts) > 1                       # the matrix needs ~170 columns
    text = render(parts, width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" not in text
    for m in METHODS:                           # every header whole, in some group
        assert re.search(rf"(?<![\w-]){re.escape(m)}(?![\w-])", text), m
    for row in range(3):                        # every number whole (numbers never wrap)
        for i in range(len(METHODS)):
            assert f"{row}{i:02d}.{i % 10}" in text
    for label in ("rosenbrock", "logistic-map", "softmax-xent"):
        assert text.count(label) == len(parts)  # the row labels repeat in each group
    assert text.count("correct digits of the gradient") == len(parts)
    assert text.count("digits = -log10") == 1   # the caption once, at the end
    if note:
        words = " ".join(text.split())
        assert "a long explanation of why this row differs" in words


def test_a_table_that_fits_is_left_alone():
    table = matrix()
    assert column_groups(Console(width=400), table, 400) == [table]
    assert fits(Console(width=400), table, 400) and not fits(Console(width=80), table, 80)


def test_piped_output_has_natural_width_and_no_trailing_spaces(capsys):
    from difflab.console import print_table

    print_table(matrix(note=True))
    out = capsys.readouterr().out
    assert all(line == line.rstrip() for line in out.splitlines())
    assert max(len(line) for line in out.splitlines()) > 160   # one piece, not split
    assert "(continued)" not in out


def test_cli_width_splits_the_compare_matrix(capsys, tiny_catalogue):
    from difflab.cli import main

    assert main(["compare", "--methods", "reverse,forward,fd-central,fd-forward,fd-five-point,"
                 "fd-complex,fd-richardson,manual", "--width", "60"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 60
    assert "(continued)" in out
    for m in ("reverse", "forward", "fd-central", "fd-richardson", "manual"):
        assert m in out


@pytest.mark.parametrize("bad", ["10", "wide"])
def test_cli_width_is_checked(capsys, bad):
    from difflab.cli import main

    with pytest.raises(SystemExit) as info:
        main(["list", "--width", bad])
    assert info.value.code == 2
    assert "--width" in capsys.readouterr().err


@pytest.mark.parametrize("columns", [80, 120])
def test_compare_fits_a_real_terminal(columns):
    """Under a pseudo-terminal of 80 and 120 columns, every line fits and no method is lost."""
    import os
    import pty
    import subprocess
    import sys

    methods = "manual,fd-forward,fd-central,fd-five-point,fd-complex,fd-richardson,forward,reverse"
    main, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "50", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "difflab", "compare", "--methods", methods],
                            stdin=subprocess.DEVNULL, stdout=secondary, stderr=subprocess.DEVNULL,
                            env=env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=120) == 0
    os.close(main)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode()).replace("\r", "")
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert "…" not in text
    for m in methods.split(","):
        assert re.search(rf"(?<![\w-]){re.escape(m)}(?![\w-])", text), m
