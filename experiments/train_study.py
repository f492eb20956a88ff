"""The training study: the same network trained with different differentiators.

    python -m difflab_experiments.train_study                      # Markdown tables on stdout
    python -m difflab_experiments.train_study --json out/train_study.json --img docs/img

Every method starts from the same weights and sees the same batches, so the loss curves
coincide (to rounding) and the runs differ only in how long a gradient takes. Seconds per
epoch are the median over the epochs of a run, the best of ``--repeats`` runs (the machine
may be shared). Also works the 2-2-2 backprop example through, step by step. Writes
docs/img/nets_training.png and docs/img/nets_speed.png; docs/nets.md quotes this output.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import difflab
import nets
from nets.datasets import BACKPROP_EXAMPLE, example_weights_w1_to_w8, load_backprop_example, load_task

#: Dataset -> (hidden units, optimiser, epochs, batch size), as in the tests and docs.
SETUPS = {
    "iris": (16, lambda: nets.optimizers.Adam(0.001), 200, 16),
    "digits": (32, lambda: nets.optimizers.Adam(0.01), 20, 32),
}
DEFAULT_METHODS = ("manual", "reverse", "torch", "tensorflow")


@dataclass
class Run:
    dataset: str
    method: str
    seconds_per_epoch: float
    first_epoch_seconds: float
    final_loss: float
    test_accuracy: float
    losses: list = field(default_factory=list)


def train(dataset: str, method: str, epochs=None) -> tuple[Run, nets.Sequential]:
    hidden, optimizer, default_epochs, batch_size = SETUPS[dataset]
    task = load_task(dataset)
    model = nets.Sequential([nets.Dense(hidden, activation="relu", input_dim=task.x_train.shape[1]),
                             nets.Dense(task.units, activation=task.activation)], seed=0)
    model.compile(optimizer=optimizer(), loss=task.loss, metrics=["accuracy"], differentiator=method)
    history = model.fit(task.x_train, task.y_train, epochs=epochs or default_epochs,
                        batch_size=batch_size, verbose=0)
    accuracy = model.evaluate(task.x_test, task.y_test, return_dict=True)["accuracy"]
    run = Run(dataset, method, history.seconds_per_epoch, history.seconds[0],
              history.history["loss"][-1], accuracy, history.history["loss"])
    return run, model


def study(methods, repeats=3, epochs=None) -> list[Run]:
    runs = []
    for dataset in SETUPS:
        for method in methods:
            best = None
            for _ in range(repeats):
                run, _ = train(dataset, method, epochs)
                if best is None or run.seconds_per_epoch < best.seconds_per_epoch:
                    best = run
            runs.append(best)
    return runs


def worked_example() -> dict:
    """The 2-2-2 example's forward pass, error, gradients and one step, as published."""
    X, y = load_backprop_example()
    model = nets.examples.backprop_example("manual")
    batch = nets.model.Batch(*model._check_data(X, y))
    weights = model.parameters.unflatten(model.parameters.theta)
    _, caches = nets.backprop.forward(model, weights, batch)
    (_, net_h, out_h), (_, net_o, out_o) = caches
    model.batch = batch
    error, gradient = nets.backprop.value_and_gradient(model, model.parameters.theta.copy(), batch)
    grads = model.parameters.unflatten(gradient)
    model.fit(X, y, epochs=1, shuffle=False, verbose=0)
    return {"net_h": net_h[0], "out_h": out_h[0], "net_o": net_o[0], "out_o": out_o[0],
            "total_error": error, "dE_dw": example_weights_w1_to_w8([grads[0][0], None, grads[1][0]]),
            "weights_after": example_weights_w1_to_w8(model.get_weights()),
            "published_after": BACKPROP_EXAMPLE["weights_after_one_step"]}


# ---------------------------------------------------------------------- output
def markdown(runs) -> str:
    manual = {r.dataset: r.seconds_per_epoch for r in runs if r.method == "manual"}
    lines = ["| dataset | method | s / epoch | x manual | first epoch s | final loss | test accuracy |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in runs:
        ratio = r.seconds_per_epoch / manual[r.dataset] if r.dataset in manual else math.nan
        lines.append(f"| {r.dataset} | {r.method} | {r.seconds_per_epoch:.5f} | {ratio:.2f} | "
                     f"{r.first_epoch_seconds:.3f} | {r.final_loss:.6f} | {r.test_accuracy:.4f} |")
    return "\n".join(lines)


def worked_markdown(ex) -> str:
    f = lambda v: ", ".join(f"{x:.9f}" for x in v)
    return "\n".join([
        f"- net_h = {f(ex['net_h'])}, out_h = {f(ex['out_h'])}",
        f"- net_o = {f(ex['net_o'])}, out_o = {f(ex['out_o'])}",
        f"- E_total = {ex['total_error']:.9f}",
        f"- dE/dw1..w8 = {f(ex['dE_dw'])}",
        f"- w1..w8 after one step = {f(ex['weights_after'])}",
    ])


def plot(runs, img_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img_dir.mkdir(parents=True, exist_ok=True)
    datasets = list(dict.fromkeys(r.dataset for r in runs))
    methods = list(dict.fromkeys(r.method for r in runs))
    styles = ["-", "--", ":", "-."]

    fig, axes = plt.subplots(1, len(datasets), figsize=(5.2 * len(datasets), 3.8))
    for ax, dataset in zip(np.atleast_1d(axes), datasets):
        for k, r in enumerate(r for r in runs if r.dataset == dataset):
            ax.plot(range(1, len(r.losses) + 1), r.losses, styles[k % 4], lw=2.2 - 0.4 * (k % 4),
                    label=f"{r.method} (test acc {r.test_accuracy:.3f})")
        ax.set(title=f"{dataset}: training loss", xlabel="epoch", ylabel="loss", yscale="log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    training = img_dir / "nets_training.png"
    fig.savefig(training, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    width = 0.8 / len(methods)
    for k, method in enumerate(methods):
        values = [next((r.seconds_per_epoch for r in runs if r.dataset == d and r.method == method), np.nan)
                  for d in datasets]
        ax.bar(np.arange(len(datasets)) + k * width, values, width, label=method)
    ax.set_xticks(np.arange(len(datasets)) + width * (len(methods) - 1) / 2, datasets)
    ax.set(ylabel="seconds per epoch", yscale="log", title="Seconds per epoch by differentiator")
    ax.legend(fontsize=8)
    fig.tight_layout()
    speed = img_dir / "nets_speed.png"
    fig.savefig(speed, dpi=120)
    plt.close(fig)
    return [training, speed]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, help="override the epochs of every setup (quick runs)")
    parser.add_argument("--json", help="write the records to this JSON file")
    parser.add_argument("--img", help="write the plots into this folder (e.g. docs/img)")
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if difflab.method_class(m).available()]
    runs = study(methods, args.repeats, args.epochs)
    example = worked_example()
    print(worked_markdown(example), end="\n\n")
    print(markdown(runs))
    if args.json:
        from .records import environment, write_json

        write_json({"schema": "difflab.train_study/1", "runs": runs, "worked_example": example,
                    "environment": environment()}, args.json)
    if args.img:
        for path in plot(runs, Path(args.img)):
            print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
