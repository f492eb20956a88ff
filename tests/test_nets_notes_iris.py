"""``difflab optimizers --notes`` is the notes' own iris run: their TensorFlow seed-1 weights,
float32, the epoch loss as the mean of the batch losses. The references are the notes' loop
run verbatim in TensorFlow 2.21 (eager, float32; the script is described in docs/nets.md)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import run as run_cli

from nets.notes_iris import iris_b1, iris_w1

#: The notes' loop in TensorFlow: epoch loss (loss_all / 4) after epochs 2, 10 and 500.
TENSORFLOW = {
    "sgd": (0.25459614768624306, 0.15404684841632843, 0.03230027249082923),
    "sgdm": (0.28081152960658073, 0.1638195775449276, 0.030630570370703936),
    "adagrad": (0.17821525782346725, 0.11317718029022217, 0.031739171128720045),
    "rmsprop": (0.20467272587120533, 0.1533240769058466, None),   # NaN from epoch 372 in TF
    "adam": (0.14480623044073582, 0.0540529265999794, 0.013926220941357315),
}
#: How far nets' float32 run may be from TensorFlow's (different summation orders; Adam's
#: bias correction is folded into the step in nets, spelled out in the notes).
TOLERANCE = {"sgd": 5e-8, "sgdm": 5e-8, "adagrad": 5e-8, "rmsprop": 1e-7, "adam": 1e-6}


def losses(capsys, names, epochs):
    code, out, err = run_cli(capsys, "optimizers", "--notes", "--optimizers", ",".join(names),
                             "--epochs", str(epochs), "--json")
    assert code == 0, err
    return {r["optimizer"]: r["losses"] for r in json.loads(out)["runs"]}


def test_the_initial_weights_are_the_ones_tensorflow_prints():
    """``print(w1.numpy())`` after ``tf.random.set_seed(116)`` and
    ``tf.random.truncated_normal([4, 3], stddev=0.1, seed=1)`` (and b1 after it)."""
    np.testing.assert_allclose(iris_w1(), [[0.08249953, -0.0683137, 0.19668601],
                                           [-0.05480815, 0.04570521, 0.1357149],
                                           [0.07750896, -0.16734955, -0.10294553],
                                           [0.15784004, -0.13311003, 0.06045313]], rtol=0, atol=6e-9)
    np.testing.assert_allclose(iris_b1(), [-0.09194934, -0.12376948, -0.05381497], rtol=0, atol=6e-9)
    assert iris_w1().dtype == iris_b1().dtype == np.float32


def test_ten_epochs_follow_tensorflow(capsys):
    got = losses(capsys, list(TENSORFLOW), 10)
    for name, (second, tenth, _) in TENSORFLOW.items():
        assert got[name][1] == pytest.approx(second, rel=0, abs=TOLERANCE[name]), name
        if name != "rmsprop":  # RMSProp at lr 0.1 oscillates: rounding grows to 1e-2 by epoch 8
            assert got[name][9] == pytest.approx(tenth, rel=0, abs=TOLERANCE[name]), name


def test_the_first_epoch_loss_is_the_mean_of_four_batch_losses(capsys):
    """0.2821310982108116: what the notes' loop prints for epoch 0 (loss_all / 4, the four
    float32 batch losses summed in float64); Keras's size-weighted mean would differ."""
    assert losses(capsys, ["sgd"], 1)["sgd"][0] == pytest.approx(0.2821310982108116, rel=0, abs=1e-8)


@pytest.mark.slow
def test_five_hundred_epochs_end_where_tensorflow_ends(capsys):
    got = losses(capsys, list(TENSORFLOW), 500)
    for name, (_, _, last) in TENSORFLOW.items():
        if last is not None:
            assert got[name][-1] == pytest.approx(last, rel=0, abs=10 * TOLERANCE[name]), name
    assert np.isfinite(got["rmsprop"]).all()  # nets' 0/0 step is 0 (docs/nets.md)


@pytest.mark.slow
def test_the_shipped_weights_are_tensorflows():
    import subprocess
    import sys

    pytest.importorskip("tensorflow")
    code = ("import numpy as np, tensorflow as tf; tf.random.set_seed(116); "
            "w = tf.random.truncated_normal([4, 3], stddev=0.1, seed=1); "
            "b = tf.random.truncated_normal([3], stddev=0.1, seed=1); "
            "print(' '.join(str(int(v)) for v in np.concatenate([w.numpy().ravel(), b.numpy()]).view(np.uint32)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    bits = [int(v) for v in out.stdout.split()[-15:]]
    assert bits == np.concatenate([iris_w1().ravel(), iris_b1()]).view(np.uint32).tolist()
