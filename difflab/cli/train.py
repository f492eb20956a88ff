"""``difflab train``: train a network from :mod:`nets` with one or several differentiators.

    difflab train --dataset iris --differentiator reverse --hidden 16 --optimizer adam --epochs 200
    difflab train --dataset iris --differentiators manual,reverse,torch,fd-central --plot loss.png

Every method starts from the same weights and sees the same batches, so the runs differ only
in how the gradient is computed. The table gives seconds per epoch (median, so a first epoch
that prepares the method does not dominate), the final training loss and the test scores.

Training runs with ``--threads`` threads (default 1, or ``OMP_NUM_THREADS`` where set): the
way docs/nets.md's timings were taken; a framework's default thread pool fights every other
process on a small machine (PyTorch took 13x longer per epoch with it). The count is in the
table's title. ``--save model.npz`` keeps the trained model (nets' atomic save), ``--json``
prints the records (schema ``difflab.train/1``).
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass, field

from ..errors import InputError
from ._output import add_overwrite
from .validators import comma_list, number


def add_arguments(parser) -> None:
    parser.add_argument("--dataset", default="iris",
                        help="iris, digits, xor, points, sales or brazing (default iris)")
    parser.add_argument("--differentiator", default=None,
                        help="the difflab method that computes gradients (default reverse; "
                             "'manual' is hand-derived backprop)")
    parser.add_argument("--differentiators", metavar="A,B,...",
                        help="train once with each method and compare them side by side")
    parser.add_argument("--hidden", default="16", metavar="N[,N...]",
                        help="hidden layer sizes, comma-separated (default 16)")
    parser.add_argument("--activation", default="relu", help="hidden activation (default relu)")
    parser.add_argument("--optimizer", default="adam", help="sgd, adam, rmsprop, adagrad or adadelta (default adam)")
    parser.add_argument("--lr", type=number(above=0),
                        help="learning rate (default: the optimiser's Keras default)")
    parser.add_argument("--epochs", type=number(at_least=1, integer=True), default=200,
                        help="passes over the training data (default 200)")
    parser.add_argument("--batch-size", type=number(at_least=1, integer=True), default=16,
                        help="samples per gradient step (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="weights, split and shuffling (default 0)")
    parser.add_argument("--plot", metavar="FILE.png", help="draw the training-loss curves to FILE.png")
    add_overwrite(parser, "--plot or --save")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--threads", type=number(at_least=1, integer=True), default=None, metavar="N",
                        help="threads for NumPy's BLAS and the frameworks (default: OMP_NUM_THREADS "
                             "if set, else 1, as the documented timings were taken)")
    parser.add_argument("--save", metavar="MODEL.npz",
                        help="save the trained model (one --differentiator) to MODEL.npz")
    parser.add_argument("--json", action="store_true",
                        help="print the difflab.train/1 JSON document instead of the table")

#: The environment variables a framework reads for its thread pools when it is imported.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


@dataclass
class TrainRun:
    """One training run: what the table, the plot and the tests read."""

    differentiator: str
    seconds_per_epoch: float
    first_epoch_seconds: float
    final_loss: float
    test: dict
    losses: list = field(default_factory=list)
    model: object = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"differentiator": self.differentiator, "seconds_per_epoch": self.seconds_per_epoch,
                "first_epoch_seconds": self.first_epoch_seconds, "final_loss": self.final_loss,
                "test": dict(self.test), "losses": [float(v) for v in self.losses]}


def run(args) -> int:
    from ._output import check_output_file

    if args.differentiator is not None and args.differentiators is not None:
        raise InputError("give --differentiator (one method) or --differentiators (several), not both")
    names = _names(args.differentiators or args.differentiator or "reverse")
    hidden = _hidden(args.hidden)
    if args.plot:
        check_output_file(args.plot, args.overwrite, suffixes=(".png",))
    if args.save:
        if len(names) > 1:
            raise InputError("--save keeps one model: train it with --differentiator NAME")
        check_output_file(args.save, args.overwrite, suffixes=(".npz",), option="--save")
    args.threads = thread_count(args.threads)
    with pinned_threads(args.threads):
        return _train(args, names, hidden)


def _train(args, names, hidden) -> int:
    from ..console import console, error_console, print_table
    from ._output import shown_if_stopped

    import nets

    try:
        task = nets.datasets.load_task(args.dataset, seed=args.seed)
    except (ValueError, FloatingPointError) as exc:
        raise InputError(str(exc)) from None
    runs = []
    try:
        with shown_if_stopped(lambda: runs and print_table(results_table(task, runs, args))):
            for name in names:
                runs.append(train_one(task, name, hidden, args))
    except (ValueError, FloatingPointError) as exc:
        raise InputError(str(exc)) from None
    if args.json:
        print(json.dumps(to_json(task, runs, args), indent=1, allow_nan=False))
    else:
        print_table(results_table(task, runs, args))
    notes = error_console if args.json else console  # stdout holds only the JSON
    if args.plot:
        plot_losses(task, runs, args.plot)
        notes.print(f"[muted]loss curves written to {args.plot}[/muted]")
    if args.save:
        runs[0].model.save(args.save, overwrite=True)  # atomic: a temporary file, then a rename
        notes.print(f"[muted]model saved to {args.save}[/muted]")
    return 0


def thread_count(requested) -> int:
    """``--threads``, else ``OMP_NUM_THREADS`` where it is a positive whole number, else 1."""
    if requested is not None:
        return requested
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return 1


@contextlib.contextmanager
def pinned_threads(n: int):
    """NumPy's BLAS limited to ``n`` threads (threadpoolctl, where installed), and the thread
    variables set for the frameworks imported from now on; PyTorch, if already imported,
    told directly. The variables are put back afterwards."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: str(n) for name in THREAD_VARIABLES})
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            limits = contextlib.nullcontext()
        else:
            limits = threadpool_limits(limits=n)
        with limits:
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _names(text):
    return comma_list(text, "name at least one differentiator")


def _hidden(text):
    try:
        sizes = [int(n) for n in str(text).split(",") if n.strip()]
    except ValueError:
        raise InputError(f"--hidden takes comma-separated layer sizes, got {text!r}") from None
    if any(n < 1 for n in sizes):
        raise InputError(f"--hidden sizes must be positive, got {text!r}")
    return sizes


def build_model(task, hidden, args):
    """The network for ``task``: the hidden layers, then the task's output layer."""
    import nets

    sizes = [*hidden, task.units]
    activations = [args.activation] * len(hidden) + [task.activation]
    inputs = [task.x_train.shape[1]] + [None] * len(hidden)
    layers = [nets.Dense(n, activation=a, input_dim=d) for n, a, d in zip(sizes, activations, inputs)]
    return nets.Sequential(layers, seed=args.seed, name=f"{task.name}_net")


def train_one(task, name, hidden, args) -> TrainRun:
    import nets

    model = build_model(task, hidden, args)
    optimizer = nets.optimizers.get(args.optimizer, learning_rate=args.lr)
    model.compile(optimizer=optimizer, loss=task.loss, metrics=list(task.metrics), differentiator=name)
    history = model.fit(task.x_train, task.y_train, epochs=args.epochs, batch_size=args.batch_size,
                        verbose=0 if args.quiet or getattr(args, "json", False) else 1)
    test = model.evaluate(task.x_test, task.y_test, return_dict=True)
    return TrainRun(name, history.seconds_per_epoch, history.seconds[0], history.history["loss"][-1],
                    test, history.history["loss"], model)


def results_table(task, runs, args):
    """The side-by-side table (a pure function of the runs)."""
    from rich.table import Table

    threads = getattr(args, "threads", None)
    table = Table(title=f"{task.name}: hidden {args.hidden} {args.activation}, {args.optimizer}, "
                        f"{args.epochs} epochs, batch {args.batch_size}"
                        + (f", {threads} thread{'s' if threads != 1 else ''}" if threads else ""),
                  title_justify="left",
                  caption=task.description, caption_justify="left")
    table.add_column("method", style="method")
    table.add_column("s/epoch", justify="right")
    table.add_column("1st epoch s", justify="right")
    table.add_column("final loss", justify="right")
    metric_names = list(runs[0].test) if runs else []
    for key in metric_names:
        table.add_column(f"test {key[:3] if key == 'accuracy' else key}", justify="right")
    for r in runs:
        table.add_row(r.differentiator, f"{r.seconds_per_epoch:.4g}", f"{r.first_epoch_seconds:.3g}",
                      f"{r.final_loss:.6g}", *(f"{r.test[k]:.4g}" for k in metric_names))
    return table


def to_json(task, runs, args) -> dict:
    """The ``difflab.train/1`` document: the settings and one record per method."""
    from ..analysis.environment import environment

    return {"schema": "difflab.train/1", "dataset": task.name, "description": task.description,
            "hidden": _hidden(args.hidden), "activation": args.activation,
            "optimizer": args.optimizer, "learning_rate": args.lr, "epochs": args.epochs,
            "batch_size": args.batch_size, "seed": args.seed, "threads": args.threads,
            "runs": [r.to_dict() for r in runs], "environment": environment()}


def plot_losses(task, runs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for r in runs:
        ax.plot(range(1, len(r.losses) + 1), r.losses, label=r.differentiator)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.set_title(f"{task.name}: training loss by differentiator")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
