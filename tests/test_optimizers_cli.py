"""``difflab optimizers``: five optimisers side by side, the notes' set-up checked against a
hand-written NumPy training loop, plots that never overwrite, careless input refused."""
from __future__ import annotations

import json
import types

import numpy as np
import pytest
from cli_helpers import run as run_cli

from difflab.cli import optimizers as command


def run(capsys, *argv):
    return run_cli(capsys, "optimizers", *argv)


def rows(out, names=("sgd", "sgdm", "adagrad", "rmsprop", "adam")):
    return [line for line in out.splitlines() if line.strip("│ ").split(" ")[0] in names]


def test_five_optimizers_side_by_side_on_iris(capsys):
    code, out, err = run(capsys, "--epochs", "5", "--quiet")
    assert code == 0, err
    assert len(rows(out)) == 5
    assert "Keras's rules" in out and "test acc" in out and "seconds" in out
    assert "SGD(momentum=0.9)" in out


def test_the_notes_setup_matches_a_hand_written_numpy_loop(capsys):
    """The notes' iris (seed-116 shuffle, first 120 rows, batches of 32 in order), 4->3
    softmax, mse on one-hot, plain SGD at 0.1, from the notes' TensorFlow seed-1 weights, in
    float32, the epoch loss the mean of the four batch losses: trained by hand in NumPy."""
    from sklearn.datasets import load_iris

    code, out, err = run(capsys, "--notes", "--optimizers", "sgd", "--epochs", "4", "--json")
    assert code == 0, err
    document = json.loads(out)
    record = document["runs"][0]
    assert document["dtype"] == "float32" and document["epoch_loss"] == "batch mean"

    data = load_iris()
    x, y = data.data.copy(), data.target.copy()
    np.random.seed(116)
    np.random.shuffle(x)
    np.random.seed(116)
    np.random.shuffle(y)
    x = x.astype(np.float32)
    onehot = np.eye(3, dtype=np.float32)[y]
    # the notes' w1, b1 as TensorFlow prints them (float32)
    w = np.array([[0.08249953, -0.0683137, 0.19668601], [-0.05480815, 0.04570521, 0.1357149],
                  [0.07750896, -0.16734955, -0.10294553], [0.15784004, -0.13311003, 0.06045313]],
                 dtype=np.float32)
    b = np.array([-0.09194934, -0.12376948, -0.05381497], dtype=np.float32)
    lr = np.float32(0.1)

    def forward(xb):
        z = xb @ w + b
        p = np.exp(z - z.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    losses = []
    for _ in range(4):
        total = 0.0
        for start in range(0, 120, 32):  # four batches, the last of 24 rows
            end = min(start + 32, 120)
            xb, yb = x[start:end], onehot[start:end]
            p = forward(xb)
            total += float(np.mean((p - yb) ** 2))
            g_p = 2 * (p - yb) / np.float32(p.size)
            g_z = p * (g_p - np.sum(g_p * p, axis=1, keepdims=True))
            w, b = w - lr * (xb.T @ g_z), b - lr * g_z.sum(axis=0)
            assert w.dtype == b.dtype == np.float32
        losses.append(total / 4)
    np.testing.assert_allclose(record["losses"], losses, rtol=1e-6)
    p = forward(x[120:])
    assert record["test"]["loss"] == pytest.approx(np.mean((p - onehot[120:]) ** 2), rel=1e-5)
    assert record["test"]["accuracy"] == np.mean(p.argmax(axis=1) == y[120:])


def test_same_start_same_batches_so_the_first_step_agrees(capsys):
    """SGD and the notes' SGDM take the same first step scaled by 1 - 0.9; Keras's SGDM the same
    step as SGD: so one batch of one epoch tells SGD and Keras's SGDM apart only by momentum."""
    code, out, err = run(capsys, "--notes", "--optimizers", "sgd,sgdm", "--rules", "keras",
                         "--epochs", "1", "--batch-size", "120", "--json")
    assert code == 0, err
    sgd, sgdm = json.loads(out)["runs"]
    assert sgd["losses"] == sgdm["losses"]  # loss before the one update: the same weights
    assert sgd["test"] == sgdm["test"]      # the first momentum step is the plain step


def test_plot_is_written_and_a_users_file_never_overwritten(capsys, tmp_path):
    path = tmp_path / "opt.png"
    argv = ("--epochs", "2", "--quiet", "--optimizers", "sgd,adam", "--plot", str(path))
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    assert path.read_bytes()[:4] == b"\x89PNG"
    path.write_bytes(b"a user's file")
    code, out, err = run(capsys, *argv)
    assert code == 2 and "already exists; pass --overwrite" in err and out == ""
    assert path.read_bytes() == b"a user's file"
    code, _, err = run(capsys, *argv, "--overwrite")
    assert code == 0 and path.read_bytes()[:4] == b"\x89PNG"


def test_json_is_the_only_thing_on_stdout(capsys):
    code, out, err = run(capsys, "--epochs", "2", "--optimizers", "adagrad", "--rules", "notes", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["schema"] == "difflab.optimizers/1" and document["rules"] == "notes"
    run_ = document["runs"][0]
    assert run_["config"]["initial_accumulator_value"] == 0.0 and run_["config"]["epsilon"] == 0.0
    assert len(run_["losses"]) == 2 and len(run_["test_curves"]["accuracy"]) == 2


def test_a_diverging_optimizer_is_a_row_not_a_crash(capsys):
    code, out, err = run(capsys, "--dataset", "sales", "--optimizers", "sgd", "--lr", "1e6",
                         "--epochs", "50", "--quiet")
    assert code == 1, err  # every optimiser diverged
    assert "diverged in epoch" in out and "Traceback" not in err
    code, out, err = run(capsys, "--dataset", "sales", "--optimizers", "sgd,adagrad", "--lr", "1e6",
                         "--epochs", "50", "--quiet")
    assert code == 0 and len(rows(out)) == 2  # Adagrad's steps are bounded by lr: it finishes


def test_ctrl_c_keeps_the_finished_rows(capsys, monkeypatch):
    real = command.train_one
    calls = []

    def interrupted(setup, name, args):
        calls.append(name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(setup, name, args)

    monkeypatch.setattr(command, "train_one", interrupted)
    code, out, err = run(capsys, "--epochs", "2", "--quiet")
    assert code == 130 and "interrupted" in err
    assert [r.strip("│ ").split(" ")[0] for r in rows(out)] == ["sgd"]


@pytest.mark.parametrize("argv, message", [
    (["--optimizers", "adamm"], "unknown optimizer 'adamm'; did you mean adam"),
    (["--optimizers", " , "], "--optimizers names none"),
    (["--optimizers", "sgd,sgd"], "names one twice"),
    (["--epochs", "0"], "argument --epochs: must be a whole number >= 1 and < 20001, not '0'"),
    (["--epochs", "1e9"], "argument --epochs: must be a whole number"),
    (["--epochs", "50000"], "< 20001"),
    (["--lr", "-1"], "argument --lr: must be a number > 0"),
    (["--lr", "nan"], "argument --lr: must be a number > 0"),
    (["--batch-size", "0"], "argument --batch-size"),
    (["--rules", "torch"], "argument --rules: invalid choice: 'torch'"),
    (["--dataset", "irs"], "unknown dataset 'irs'; did you mean iris"),
    (["--notes", "--dataset", "digits"], "--notes fixes the data and the network"),
    (["--notes", "--hidden", "8"], "--notes fixes the data and the network"),
    (["--hidden", "3,x"], "--hidden takes comma-separated layer sizes"),
    (["--differentiator", "revers"], "unknown method 'revers'"),
    (["--hidden", "4", "--activation", "rel"], "unknown activation 'rel'"),
    (["--activation", "tanh"], "--activation sets the hidden layers' activation; give --hidden too"),
    (["--plot", "curves.txt"], "ending in .png"),
])
def test_careless_input_is_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "--quiet", "--epochs", "2", *argv) if "--epochs" not in argv else \
        run(capsys, "--quiet", *argv)
    assert code == 2, (out, err)
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_a_plot_into_a_missing_folder_is_refused_before_training(capsys, tmp_path):
    code, out, err = run(capsys, "--epochs", "2", "--quiet", "--plot", str(tmp_path / "no" / "o.png"))
    assert code == 2 and "does not exist" in err and out == ""
    code, out, err = run(capsys, "--epochs", "2", "--quiet", "--plot", str(tmp_path))
    assert code == 2 and "ending in .png" in err


def test_results_table_is_a_pure_function():
    task = types.SimpleNamespace(name="iris", description="iris data", loss="mse", units=3,
                                 activation="softmax", metrics=("accuracy",), x_train=np.zeros((2, 4)))
    setup = command.Setup(task, "notes", 10, [], shuffle=False)
    args = types.SimpleNamespace(lr=0.1, batch_size=32)
    runs = [command.OptimizerRun("sgdm", {}, "ok", 1.5, [0.5, 0.25], {"loss": 0.3, "accuracy": 0.9}),
            command.OptimizerRun("adam", {}, "diverged", 0.1, [0.5], message="diverged in epoch 2")]
    table = command.results_table(setup, runs, args)
    assert [c.header for c in table.columns] == ["optimizer", "rule", "final loss", "test loss",
                                                  "test acc", "seconds"]
    assert "the notes' rules" in table.title and "4->3 softmax" in table.title
    assert list(table.columns[1].cells) == ["SGD(momentum=0.9, dampening=0.9)", "Adam(epsilon=0)"]
    overflowed = command.OptimizerRun("sgd", {}, "ok", 1.0, [0.5], {"loss": float("inf")}).to_dict()
    assert overflowed["test"] == {"loss": None} and overflowed["final_loss"] == 0.5
    assert runs[1].to_dict()["final_loss"] is None  # a diverged run has no final loss
