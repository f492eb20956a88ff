"""The CNN chapter's training run: the digits CNN trained with several differentiators.

    python -m difflab_experiments.cnn_study                       # Markdown table on stdout
    python -m difflab_experiments.cnn_study --img docs/img        # and docs/img/nets_cnn_training.png

``nets.examples.digits_cnn`` (Conv2D 16 3x3 same - BatchNormalization - ReLU - MaxPooling2D -
Flatten - Dense softmax, Adam 0.01) on ``load_digits_images`` for 15 epochs of batches of 32.
Every method starts from the same weights and sees the same batches, so the curves coincide
to rounding; the plot shows training loss and test accuracy per epoch.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import difflab
from nets.datasets import load_digits_images
from nets.examples import digits_cnn

from .plots import _grid, _save

EPOCHS = 15
DEFAULT_METHODS = ("manual", "reverse", "torch")


def run(methods, epochs=EPOCHS):
    (xt, yt), (xs, ys) = load_digits_images()
    runs = {}
    for name in methods:
        if name != "manual" and not difflab.method_class(name).available():
            continue
        model = digits_cnn(name)
        history = model.fit(xt, yt, epochs=epochs, batch_size=32, validation_data=(xs, ys), verbose=0)
        runs[name] = history.history
    return runs


def plot(runs, path) -> Path:
    fig, (loss_ax, acc_ax) = _grid(2)
    for i, (name, h) in enumerate(runs.items()):
        epochs = np.arange(1, len(h["loss"]) + 1)
        style = {"label": name, "linestyle": ("-", "--", ":", "-.")[i % 4], "linewidth": 1.6}
        loss_ax.plot(epochs, h["loss"], **style)
        acc_ax.plot(epochs, h["val_accuracy"], **style)
    loss_ax.set(yscale="log", xlabel="epoch", ylabel="training loss", title="digits CNN: loss")
    acc_ax.set(xlabel="epoch", ylabel="test accuracy", title="digits CNN: test accuracy")
    acc_ax.axhline(0.97, color="grey", linewidth=0.8)
    for ax in (loss_ax, acc_ax):
        ax.legend()
    return _save(fig, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    parser.add_argument("--img", help="folder for nets_cnn_training.png")
    args = parser.parse_args(argv)
    runs = run([m.strip() for m in args.methods.split(",") if m.strip()])
    print("| method | final training loss | test accuracy |\n|---|---:|---:|")
    for name, h in runs.items():
        print(f"| {name} | {h['loss'][-1]:.6f} | {h['val_accuracy'][-1]:.4f} |")
    if args.img:
        print(plot(runs, Path(args.img) / "nets_cnn_training.png"))


if __name__ == "__main__":
    main()
