"""``difflab solve``: least squares, gradient descent, Newton and Gauss-Newton with any
differentiator, side by side with SciPy's optimisers fed the same derivatives."""
from __future__ import annotations

import argparse
import json

from ._output import add_overwrite
from .validators import number

PROBLEM_NAMES = ("linreg", "rosenbrock", "expfit", "worked")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("problem", choices=PROBLEM_NAMES,
                        help="linreg (brazing data), rosenbrock, expfit (Gauss-Newton) or worked ((w+1)^2)")
    parser.add_argument("--data", default="brazing", help="data set for linreg (default: brazing)")
    parser.add_argument("--raw", action="store_true",
                        help="linreg on the raw, unscaled inputs (default: standardised)")
    parser.add_argument("--solvers", "--solver", dest="solvers", default=None, metavar="A,B",
                        help="comma-separated: lstsq, qr, normal, gd, sgd, newton, gauss-newton, lm "
                             "(default depends on the problem)")
    parser.add_argument("--peers", default=None, metavar="A,B",
                        help="SciPy peers run with the same derivatives: bfgs, newton-cg, scipy-lsq "
                             "(default: bfgs,newton-cg; scipy-lsq for expfit)")
    parser.add_argument("--no-peers", action="store_true", help="skip the SciPy peers")
    parser.add_argument("--differentiator", "-d", default="reverse", metavar="NAME",
                        help="any method from 'difflab list' (default: reverse)")
    parser.add_argument("--lr", "--learning-rate", dest="learning_rate", type=number(above=0),
                        default=None,
                        help="gradient descent's step (default: the problem's, 1/(2L) for linreg)")
    parser.add_argument("--schedule", choices=("constant", "exponential", "step", "inverse-time"),
                        default=None, help="learning-rate schedule for gd and sgd")
    parser.add_argument("--momentum", type=number(at_least=0, below=1), default=0.0,
                        help="heavy-ball momentum of gd and sgd, in [0, 1) (default: 0)")
    parser.add_argument("--max-iter", type=number(at_least=1, integer=True), default=10000,
                        help="most iterations of an iterative solver (default: 10000)")
    parser.add_argument("--tol", type=number(above=0), default=1e-8,
                        help="gradient-norm tolerance (default: 1e-8)")
    parser.add_argument("--batch-size", type=number(at_least=1, integer=True), default=1,
                        help="sgd's batch size (1: stochastic)")
    parser.add_argument("--epochs", type=number(at_least=1, integer=True), default=200,
                        help="sgd's epochs")
    parser.add_argument("--seed", type=int, default=0, help="sgd's shuffling seed")
    parser.add_argument("--plot", metavar="FILE.png", default=None,
                        help="write the convergence plot (distance to the answer per iteration)")
    add_overwrite(parser)
    parser.add_argument("--json", action="store_true", help="print the records as JSON")


def run(args) -> int:
    from ..console import console, print_table
    from ._output import check_output_file
    from ..solvers import compare
    from ..solvers.problems import PROBLEMS

    if args.plot:  # checked now, not after every solver has run
        check_output_file(args.plot, args.overwrite)
    if args.problem == "linreg":
        problem = PROBLEMS["linreg"](data=args.data, standardize=not args.raw)
    else:
        problem = PROBLEMS[args.problem]()
    default_solvers, default_peers = compare.DEFAULTS[problem.name]
    names = compare.parse_solvers(args.solvers) if args.solvers else list(default_solvers)
    if not args.no_peers:
        names += [p for p in (compare.parse_solvers(args.peers) if args.peers else default_peers)
                  if p not in names]
    options = compare.Options(learning_rate=args.learning_rate, schedule=args.schedule,
                              momentum=args.momentum, max_iter=args.max_iter, tol=args.tol,
                              batch_size=args.batch_size, epochs=args.epochs, seed=args.seed)
    from ..solvers._common import resolve

    differentiator = resolve(args.differentiator)  # an unknown name fails here, before any work
    # each solver resolves the name afresh, so each prepares (and pays for) its own derivatives:
    # a shared instance would hand the later solvers the first one's SymPy or tracing work for free
    with console.status("solving ...") as status:
        records = compare.run_solvers(problem, names, args.differentiator, options,
                                      progress=lambda name: status.update(f"solving: {name}"))
    note = compare.crawl_note(problem, records)
    if args.json:
        print(json.dumps({"schema": "difflab.solve/1", "problem": problem.name,
                          "description": problem.description, "differentiator": differentiator.name,
                          "info": problem.info, "note": note,
                          "records": [r.to_dict() for r in records]}, indent=1))
    else:
        print_table(compare.render_table(problem, records, differentiator.name))
        if note:
            console.print(note, style="muted" if all(r.result.success for r in records) else None)
    if args.plot:
        compare.plot_convergence(problem, records, args.plot)
        if not args.json:
            console.print(f"convergence plot written to {args.plot}", style="muted")
    return 0
