"""``difflab train`` through ``difflab.cli.main``: tables, comparisons, plots, clear errors."""
from __future__ import annotations

import pytest

from cli_helpers import run as run_cli
from difflab.cli.train import TrainRun, results_table


def run(capsys, *argv):
    return run_cli(capsys, "train", *argv)


def test_trains_iris_and_prints_a_final_table(capsys):
    code, out, err = run(capsys, "--dataset", "iris", "--differentiator", "reverse", "--hidden", "16",
                         "--optimizer", "adam", "--epochs", "5")
    assert code == 0, err
    assert "reverse" in out and "test acc" in out and "s/epoch" in out


def test_several_differentiators_side_by_side_agree(capsys):
    code, out, err = run(capsys, "--dataset", "xor", "--differentiators", "manual,reverse,fd-central",
                         "--hidden", "3", "--epochs", "4", "--quiet", "--activation", "tanh")
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.strip("│ ").split(" ")[0] in
            ("manual", "reverse", "fd-central")]
    assert len(rows) == 3
    final_losses = {row.split("│")[4].strip() for row in rows}
    assert len(final_losses) == 1  # same start, same batches: the same final loss to 6 digits


def test_plot_is_written_and_never_overwritten_without_force(capsys, tmp_path):
    path = tmp_path / "loss.png"
    code, _, err = run(capsys, "--dataset", "xor", "--epochs", "3", "--quiet", "--plot", str(path))
    assert code == 0, err
    assert path.read_bytes()[:4] == b"\x89PNG"
    path.write_bytes(b"a user's file")
    code, _, err = run(capsys, "--dataset", "xor", "--epochs", "3", "--quiet", "--plot", str(path))
    assert code == 2 and "already exists; pass --overwrite" in err
    assert path.read_bytes() == b"a user's file"
    code, _, err = run(capsys, "--dataset", "xor", "--epochs", "3", "--quiet", "--plot", str(path), "--overwrite")
    assert code == 0 and path.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "irs"], "unknown dataset 'irs'; did you mean iris"),
    (["--differentiator", "revers"], "unknown method 'revers'"),
    (["--optimizer", "adamm"], "unknown optimizer 'adamm'"),
    (["--activation", "rel"], "unknown activation 'rel'"),
    (["--hidden", "16,x"], "--hidden takes comma-separated layer sizes"),
    (["--epochs", "0"], "argument --epochs: must be a whole number >= 1, not '0'"),
    (["--plot", "loss.pdf"], "ending in .png"),
    (["--differentiator", "reverse", "--differentiators", "manual,torch"], "not both"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "--quiet", "--epochs", "2", *argv)
    assert code == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_a_plot_into_a_missing_folder_is_refused_before_training(capsys, tmp_path):
    code, out, err = run(capsys, "--dataset", "xor", "--epochs", "2", "--quiet",
                         "--plot", str(tmp_path / "missing" / "loss.png"))
    assert code == 2 and "does not exist" in err and "Traceback" not in err
    assert out == ""  # nothing trained, no table printed
    code, out, err = run(capsys, "--dataset", "xor", "--epochs", "2", "--quiet", "--plot", str(tmp_path))
    assert code == 2 and "ending in .png" in err


def test_results_table_is_a_pure_function():
    class Args:
        hidden, activation, optimizer, epochs, batch_size = "16", "relu", "adam", 3, 16

    class Task:
        name, description = "iris", "iris data"

    runs = [TrainRun("manual", 0.001, 0.002, 0.5, {"loss": 0.6, "accuracy": 0.9})]
    table = results_table(Task, runs, Args)
    assert [c.header for c in table.columns] == ["method", "s/epoch", "1st epoch s", "final loss",
                                                  "test loss", "test acc"]
