"""``difflab optimizers``: one network trained with SGD, SGDM, Adagrad, RMSProp and Adam side
by side.

    difflab optimizers                           # iris, Keras's rules, 200 epochs
    difflab optimizers --notes --plot opt.png    # the notes' set-up and the notes' rules

Every optimiser starts from the same weights and sees the same batches (one model seed), so
the runs differ only in the update rule. ``--rules keras`` (the default) uses Keras's forms;
``--rules notes`` the lecture notes' (momentum as a moving average, Adagrad from a zero
accumulator, no epsilon; :data:`nets.optimizers.RULE_SETS`). ``--notes`` is the notes'
whole set-up and run: iris shuffled with seed 116, 120/30 split, raw features, 4->3 softmax
from the notes' own TensorFlow seed-1 weights, mse on one-hot targets, batch 32 without
reshuffling, learning rate 0.1, 500 epochs, the notes' rules, float32 throughout, and the
epoch loss as the notes compute it (the mean of the batch losses; :mod:`nets.notes_iris`);
the options given still apply.

The table has each optimiser's final training loss, its test scores and the seconds its
training took; ``--plot`` draws the training-loss and test curves, ``--json`` prints the
records (schema ``difflab.optimizers/1``). Exit 0 when at least one optimiser finished, 1
when every one diverged, 2 for bad input, 130 for Ctrl-C (the finished rows are printed).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from ..errors import InputError
from ..console.json_numbers import number as _number
from .validators import comma_list, number

DEFAULT_OPTIMIZERS = "sgd,sgdm,adagrad,rmsprop,adam"
#: How the table and the plot name each form of the rules.
RULE_WORDS = {"keras": "Keras's rules", "notes": "the notes' rules"}
#: Epoch limits: the default, the notes' count, and the most a run may ask for.
DEFAULT_EPOCHS, NOTES_EPOCHS, MAX_EPOCHS = 200, 500, 20_000


def add_arguments(parser) -> None:
    parser.add_argument("--dataset", default=None,
                        help="iris, digits, xor, points, sales or brazing (default iris)")
    parser.add_argument("--notes", action="store_true",
                        help="the notes' run: iris shuffled with seed 116, 120/30 split, 4->3 "
                             "softmax from their TF seed-1 weights, mse on one-hot, batch 32, lr 0.1, "
                             "500 epochs, notes' rules, float32, epoch loss = mean of batch losses")
    parser.add_argument("--rules", choices=("keras", "notes"), default=None,
                        help="the update rules: Keras's (default) or the notes' (default with --notes)")
    parser.add_argument("--optimizers", default=DEFAULT_OPTIMIZERS, metavar="A,B,...",
                        help=f"which to compare (default {DEFAULT_OPTIMIZERS})")
    parser.add_argument("--lr", type=number(above=0), default=0.1,
                        help="learning rate, the same for every optimiser (default 0.1)")
    parser.add_argument("--epochs", type=number(at_least=1, below=MAX_EPOCHS + 1, integer=True),
                        default=None, help=f"passes over the training data (default {DEFAULT_EPOCHS}, "
                                           f"{NOTES_EPOCHS} with --notes; at most {MAX_EPOCHS:,})")
    parser.add_argument("--batch-size", type=number(at_least=1, integer=True), default=32,
                        help="samples per step (default 32)")
    parser.add_argument("--hidden", default="", metavar="N[,N...]",
                        help="hidden layer sizes (default none: inputs straight to the output layer)")
    parser.add_argument("--activation", default=None, help="hidden activation (default relu; needs --hidden)")
    parser.add_argument("--differentiator", default="reverse",
                        help="the difflab method that computes gradients (default reverse)")
    parser.add_argument("--seed", type=int, default=0, help="weights, split and shuffling (default 0)")
    parser.add_argument("--threads", type=number(at_least=1, integer=True), default=None, metavar="N",
                        help="threads for NumPy's BLAS and the frameworks (default 1, or OMP_NUM_THREADS)")
    parser.add_argument("--plot", metavar="FILE.png", help="draw the loss and test curves to FILE.png")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --plot file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true",
                        help="print the difflab.optimizers/1 JSON document instead of the table")


@dataclass
class OptimizerRun:
    """One optimiser's training run: what the table, the plot and the JSON read."""

    name: str
    config: dict
    status: str  # "ok" or "diverged"
    seconds: float
    losses: list = field(default_factory=list)
    test: dict = field(default_factory=dict)        # final test scores ("loss", "accuracy", ...)
    test_curves: dict = field(default_factory=dict)  # per epoch
    message: str = ""

    @property
    def final_loss(self) -> float:
        return self.losses[-1] if self.losses else float("nan")

    def to_dict(self) -> dict:
        """The JSON record; a value that is not finite (a test loss that overflowed) is null."""
        return {"optimizer": self.name, "config": self.config, "status": self.status,
                "seconds": self.seconds,
                "final_loss": _number(self.final_loss) if self.status == "ok" else None,
                "test": {k: _number(v) for k, v in self.test.items()},
                "losses": [_number(v) for v in self.losses],
                "test_curves": {k: [_number(v) for v in vs] for k, vs in self.test_curves.items()},
                "message": self.message}




@dataclass
class Setup:
    """What every run shares."""

    task: object
    rules: str
    epochs: int
    hidden: list
    shuffle: bool
    kernel_initializer: object = "glorot_uniform"
    bias_initializer: object = "zeros"
    #: float32 and the notes' epoch loss (the unweighted mean of the batch losses) for --notes
    dtype: str = "float64"
    batch_means: bool = False

    def network(self) -> str:
        sizes = [self.task.x_train.shape[1], *self.hidden, self.task.units]
        return "->".join(map(str, sizes)) + f" {self.task.activation}"


def run(args) -> int:
    from ._output import check_output_file
    from .train import pinned_threads, thread_count

    setup = _setup(args)
    names = _names(args.optimizers)
    if args.plot:
        check_output_file(args.plot, args.overwrite)
    args.threads = thread_count(args.threads)
    with pinned_threads(args.threads):
        return _compare(args, setup, names)


def _setup(args) -> Setup:
    import nets

    from .train import _hidden

    if args.activation is not None and not args.hidden.strip():
        raise InputError("--activation sets the hidden layers' activation; give --hidden too")
    if args.notes:
        if args.dataset is not None or args.hidden:
            raise InputError("--notes fixes the data and the network (iris, 4->3 softmax); "
                             "drop --dataset and --hidden")
        from nets.notes_iris import iris_b1, iris_w1

        return Setup(nets.datasets.notes_iris_task(), args.rules or "notes", args.epochs or NOTES_EPOCHS,
                     [], shuffle=False, kernel_initializer=iris_w1(), bias_initializer=iris_b1(),
                     dtype="float32", batch_means=True)
    try:
        task = nets.datasets.load_task(args.dataset or "iris", seed=args.seed)
    except (ValueError, FloatingPointError) as exc:
        raise InputError(str(exc)) from None
    hidden = _hidden(args.hidden) if args.hidden.strip() else []
    return Setup(task, args.rules or "keras", args.epochs or DEFAULT_EPOCHS, hidden, shuffle=True)


def _names(text) -> list:
    import nets

    names = [n.lower() for n in comma_list(text, "--optimizers names none; choose from "
                                           + ", ".join(nets.optimizers.RULE_SETS))]
    for name in names:
        try:
            nets.optimizers.with_rules(name)
        except ValueError as exc:
            raise InputError(f"--optimizers: {exc}") from None
    if len(set(names)) != len(names):
        raise InputError(f"--optimizers names one twice: {text!r}")
    return names


def _compare(args, setup, names) -> int:
    from ..console import console, error_console, print_table
    from ._output import shown_if_stopped

    runs = []
    with shown_if_stopped(lambda: runs and print_table(results_table(setup, runs, args))):
        warm_up(setup, args)
        for name in names:
            runs.append(train_one(setup, name, args))
    if args.json:
        print(json.dumps(to_json(setup, runs, args), indent=1, allow_nan=False))
    else:
        print_table(results_table(setup, runs, args))
    if args.plot:
        plot_curves(setup, runs, args.plot)
        (error_console if args.json else console).print(f"[muted]curves written to {args.plot}[/muted]")
    return 0 if any(r.status == "ok" for r in runs) else 1


def build_model(setup, args):
    """The network, the same initial weights for every optimiser (one seed)."""
    import nets

    sizes = [*setup.hidden, setup.task.units]
    activations = [args.activation or "relu"] * len(setup.hidden) + [setup.task.activation]
    inputs = [setup.task.x_train.shape[1]] + [None] * len(setup.hidden)
    layers = [nets.Dense(n, activation=a, input_dim=d, kernel_initializer=setup.kernel_initializer,
                         bias_initializer=setup.bias_initializer)
              for n, a, d in zip(sizes, activations, inputs)]
    return nets.Sequential(layers, seed=args.seed, name=f"{setup.task.name}_net")


def warm_up(setup, args) -> None:
    """One untimed step of a throwaway model, so that the first optimiser's seconds do not
    include importing and loading what every run uses (each run still prepares its own
    gradient, as each would alone)."""
    import nets

    try:
        model = build_model(setup, args)
        model.compile(optimizer=nets.optimizers.SGD(0.0), loss=setup.task.loss,
                      differentiator=args.differentiator, dtype=setup.dtype)
        n = min(args.batch_size, len(setup.task.x_train))
        model.fit(setup.task.x_train[:n], setup.task.y_train[:n], epochs=1, batch_size=n, verbose=0)
    except ValueError as exc:  # a bad activation or method: refused before any training
        raise InputError(str(exc)) from None


def train_one(setup, name, args) -> OptimizerRun:
    import nets

    task = setup.task
    optimizer = nets.optimizers.with_rules(name, setup.rules, learning_rate=args.lr)
    try:
        model = build_model(setup, args)
        model.compile(optimizer=optimizer, loss=task.loss, metrics=list(task.metrics),
                      differentiator=args.differentiator, dtype=setup.dtype)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    history = nets.History()  # kept even when training diverges part-way
    callbacks = [history]
    if not (args.quiet or args.json):
        callbacks.append(nets.callbacks.ProgressBar(setup.epochs, 1, name))
    start = time.perf_counter()
    status, message = "ok", ""
    try:
        if setup.batch_means:
            from nets.notes_iris import fit_batch_means

            fit_batch_means(model, task.x_train, task.y_train, setup.epochs, args.batch_size,
                            validation_data=(task.x_test, task.y_test), callbacks=callbacks)
        else:
            model.fit(task.x_train, task.y_train, epochs=setup.epochs, batch_size=args.batch_size,
                      shuffle=setup.shuffle, validation_data=(task.x_test, task.y_test),
                      callbacks=callbacks, verbose=0)
    except FloatingPointError as exc:
        status, message = "diverged", f"diverged in epoch {len(history.epoch) + 1}: {exc}"
    except ValueError as exc:  # the data or the method refused
        raise InputError(str(exc)) from None
    seconds = time.perf_counter() - start
    curves = {k[4:]: v for k, v in history.history.items() if k.startswith("val_")}
    return OptimizerRun(name, optimizer.get_config(), status, seconds, history.history.get("loss", []),
                        {k: v[-1] for k, v in curves.items()} if status == "ok" else {}, curves, message)


def _rule_text(name, rules) -> str:
    """The options that make ``name`` the chosen form, e.g. ``momentum=0.9, dampening=0.9``."""
    import nets

    entry = nets.optimizers.RULE_SETS[name]
    options = entry[nets.optimizers.RULES[rules]]
    return f"{entry[0].__name__}({', '.join(f'{k}={v:g}' for k, v in options.items())})"


def results_table(setup, runs, args):
    """The side-by-side table (a pure function of the runs)."""
    from rich.table import Table

    task = setup.task
    table = Table(title=f"{task.name}: {setup.network()}, {task.loss}, {RULE_WORDS[setup.rules]}, "
                        f"lr {args.lr:g}, batch {args.batch_size}, {setup.epochs} epochs",
                  title_justify="left", caption=task.description, caption_justify="left")
    table.add_column("optimizer", style="method")
    table.add_column("rule")
    table.add_column("final loss", justify="right")
    metric_names = next((list(r.test) for r in runs if r.test), ["loss", *task.metrics])
    for key in metric_names:
        table.add_column(f"test {key[:3] if key == 'accuracy' else key}", justify="right")
    table.add_column("seconds", justify="right")
    for r in runs:
        scores = [f"{r.test[k]:.4g}" if k in r.test else "—" for k in metric_names]
        final = f"{r.final_loss:.6g}" if r.status == "ok" else f"[failed]{r.message}[/failed]"
        table.add_row(r.name, _rule_text(r.name, setup.rules), final, *scores, f"{r.seconds:.3g}")
    return table


def to_json(setup, runs, args) -> dict:
    """The ``difflab.optimizers/1`` document: the settings and one record per optimiser."""
    from ..analysis.environment import environment

    return {"schema": "difflab.optimizers/1", "dataset": setup.task.name,
            "description": setup.task.description, "network": setup.network(), "loss": setup.task.loss,
            "rules": setup.rules, "learning_rate": args.lr, "epochs": setup.epochs,
            "batch_size": args.batch_size, "shuffle": setup.shuffle, "seed": args.seed,
            "dtype": setup.dtype, "epoch_loss": "batch mean" if setup.batch_means else "keras",
            "differentiator": args.differentiator, "threads": args.threads,
            "runs": [r.to_dict() for r in runs], "environment": environment()}


def plot_curves(setup, runs, path):
    """Training loss (log scale) and the first test metric, per epoch, one line per optimiser."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = next((k for r in runs for k in r.test_curves if k != "loss"), "loss")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.0))
    for r in runs:
        left.plot(range(1, len(r.losses) + 1), r.losses, label=r.name)
        curve = r.test_curves.get(metric, [])
        right.plot(range(1, len(curve) + 1), curve, label=r.name)
    left.set(xlabel="epoch", ylabel="training loss", yscale="log",
             title=f"{setup.task.name}: training loss ({RULE_WORDS[setup.rules]})")
    right.set(xlabel="epoch", ylabel=f"test {metric}", title=f"test {metric}")
    left.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
