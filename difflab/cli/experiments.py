"""``difflab swell``, ``difflab accuracy``, ``difflab speed``: the experiments.

One module for three subcommands (``TAKES_COMMAND_NAME``): each has its arguments and its
runner in :data:`COMMANDS`. Every one takes ``--json`` (the study's stable schema),
``--plot FILE.png`` (refusing to overwrite without ``--overwrite``), shows a progress bar on
stderr while it works, and lists the machine and library versions with its tables.
"""
from __future__ import annotations

import argparse
import contextlib
import math

from ._output import add_overwrite

TAKES_COMMAND_NAME = True


# ---------------------------------------------------------------------- arguments
def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the records as JSON (stable schema)")
    parser.add_argument("--plot", metavar="FILE.png", default=None, help="write the figure")
    add_overwrite(parser)


def _swell_arguments(parser):
    parser.add_argument("--cases", default=None, metavar="A,B",
                        help="logistic-map, nested, product, mlp-width, mlp-depth (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes only (seconds)")
    parser.add_argument("--simplify-cap", type=float, default=2.0, metavar="SECONDS",
                        help="time allowed to sympy.simplify per size; 0 skips it (default: 2)")
    parser.add_argument("--repeat", type=int, default=5, help="timing repetitions (median)")
    parser.add_argument("--graph-cap", type=float, default=10.0, metavar="SECONDS",
                        help="time allowed to PyTensor's graph rewrites per size; 0 skips "
                             "compiling (default: 10)")
    parser.add_argument("--show", type=int, default=None, metavar="N",
                        help="instead of measuring: print, for size N, the raw symbolic gradient, "
                             "its CSE form and difflab's reverse tape (for --cases, default "
                             "logistic-map)")
    parser.add_argument("--max-chars", type=int, default=None, metavar="N",
                        help="with --show: characters of expression text shown per form before "
                             "the rest is left out and counted (default: 4000; 0: all)")


def _accuracy_arguments(parser):
    parser.add_argument("--function", default=None,
                        help="catalogue name or expression (default: classic, "
                             "exp(x)/sqrt(sin(x)^3 + cos(x)^3))")
    parser.add_argument("--at", default=None, metavar="X[,Y...]", help="the point (default: 1.5)")
    parser.add_argument("--dim", type=int, default=None, help="size, for catalogue functions that scale")
    parser.add_argument("--dtypes", default="float64,float32", metavar="A,B",
                        help="working precisions to study (default: float64,float32)")
    parser.add_argument("--no-table", action="store_true",
                        help="skip the catalogue-wide table of correct digits")
    parser.add_argument("--table-methods", default=None, metavar="A,B",
                        help="methods for the digits table (default: every available one)")
    parser.add_argument("--no-estimates", action="store_true",
                        help="skip the error-estimate study (fd-richardson, fd-numdifftools, "
                             "fd-scipy on the catalogue; on by default with the table)")


def _speed_arguments(parser):
    parser.add_argument("--function", default="rosenbrock",
                        help="catalogue name or expression (default: rosenbrock)")
    parser.add_argument("--dims", default=None, metavar="N,N",
                        help="sizes for the gradient study (default: 10,100,1000,10000; "
                             "a function that does not scale: its own size)")
    parser.add_argument("--methods", default=None, metavar="A,B",
                        help="methods (default: every available one)")
    parser.add_argument("--repeat", type=int, default=5, help="timing repetitions (median)")
    parser.add_argument("--budget", type=float, default=3.0, metavar="SECONDS",
                        help="time one method may take at one size before it is skipped (default: 3)")
    parser.add_argument("--parts", default="gradient,jacobian,setup,hessian", metavar="A,B",
                        help="which parts: gradient, jacobian, setup, hessian (default: all)")
    parser.add_argument("--fit", action="store_true",
                        help="fit each method's gradient time ~ n^k over n = 1e3..1e6 and report k "
                             "(sizes 1e3,1e4,1e5,1e6 unless --dims)")


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    COMMANDS[name][0](parser)
    _common(parser)


def run(args) -> int:
    return COMMANDS[args.command][1](args)


# ---------------------------------------------------------------------- runners
def _run_swell(args) -> int:
    from difflab_experiments import swell

    if args.show is not None or args.max_chars is not None:
        return _show_swell(args)
    cases = _names(args.cases)
    sizes = swell.QUICK_SIZES if args.quick else None
    cap = _seconds(args.simplify_cap, "--simplify-cap", zero=True)
    from ._output import shown_if_stopped

    _check_plot(args)
    held = []
    with shown_if_stopped(lambda: held and _print_records(args, held[0], "swell_tables")), \
            _progress() as progress:
        result = swell.run(cases, sizes, simplify_cap=cap, repeat=_positive(args.repeat, "--repeat"),
                           progress=progress, on_start=held.append,
                           graph_cap=_seconds(args.graph_cap, "--graph-cap", zero=True))
    return _report(args, result, "swell_tables")


def _show_swell(args) -> int:
    """``swell --show N``: each case's formula at size N, then its evaluation trace."""
    from difflab_experiments import swell

    from ..console import console, print_table
    from ..errors import InputError
    from ..console.wording import count
    from .compare import formula_width, print_formula
    from ..analysis.trace_table import trace_tables

    if args.show is None:
        raise InputError("--max-chars goes with --show N")
    if args.json or args.plot or args.quick:
        raise InputError("--show N prints one size; leave out --json, --plot and --quick")
    if args.max_chars is not None and args.max_chars < 0:
        raise InputError(f"--max-chars must be a whole number >= 0, not {args.max_chars}")
    for number, case in enumerate(_names(args.cases) or ["logistic-map"]):
        chosen, formula, trace = swell.show(case, args.show)
        if number:
            console.print()
        console.print(f"[title]{_escape(chosen.name)}, n = {args.show}:[/title] "
                      f"{_escape(chosen.description)}", soft_wrap=True)
        print_formula(formula, args.width, args.max_chars)
        console.print()
        forward, reverse = trace_tables(trace)
        print_table(forward)
        console.print()
        print_table(reverse)
        console.print(f"[muted]the raw gradient: {formula.raw_ops:,} operations; after CSE: "
                      f"{formula.cse_ops:,}; the reverse tape: "
                      f"{count(len(trace.rows), 'row')}, recorded once and swept back once"
                      "[/muted]", width=formula_width(args.width))
        _show_graphs(swell.show_graphs(case, args.show), args.max_chars)
    return 0


#: The graph forms ``swell --show N`` prints after the tree and the tape.
_GRAPH_TITLES = {"pytensor": "PyTensor's compiled gradient (debugprint, after its rewrites)",
                 "casadi": "CasADi's SX gradient expression (@k: a shared node)"}


def _show_graphs(graphs: dict, max_chars) -> None:
    """Each graph method's gradient as it prints it, cut at ``max_chars`` (default 4000)."""
    from ..console import console

    limit = 4000 if max_chars is None else max_chars
    for prefix, (nodes, text) in graphs.items():
        console.print()
        console.print(f"[title]{_GRAPH_TITLES[prefix]}: {nodes:,} nodes[/title]")
        shown = text if not limit or len(text) <= limit else text[:limit]
        # folded at the width (a CasADi expression is one long line): nothing cropped
        console.print(_escape(shown.rstrip()), overflow="fold", highlight=False)
        if shown is not text:
            console.print(f"[muted]... {len(text) - limit:,} more characters (--max-chars 0: all)[/muted]")


def _run_accuracy(args) -> int:
    from difflab_experiments import accuracy

    from ..errors import InputError

    at = _floats(args.at, "--at") if args.at is not None else None
    dtypes = _names(args.dtypes) or list(accuracy.DTYPES)
    bad = [d for d in dtypes if d not in accuracy.DTYPES]
    if bad:
        raise InputError(f"--dtypes: {', '.join(bad)}; choose from {', '.join(accuracy.DTYPES)}")
    if args.dim is not None:
        _positive(args.dim, "--dim")
    from ._output import shown_if_stopped

    _check_plot(args)
    held = []
    with shown_if_stopped(lambda: held and _print_records(args, held[0], "accuracy_tables")), \
            _progress() as progress:
        result = accuracy.run(args.function, at, args.dim, dtypes=dtypes, table=not args.no_table,
                              table_methods=_names(args.table_methods), progress=progress,
                              on_start=held.append,
                              estimates=False if args.no_estimates else None)
    return _report(args, result, "accuracy_tables")


def _run_speed(args) -> int:
    from difflab_experiments import speed

    from ..errors import InputError

    known = ("gradient", "jacobian", "setup", "hessian")
    parts = _names(args.parts) or []
    unknown = set(parts) - set(known)
    if unknown or not parts:
        raise InputError(f"--parts: {'unknown ' + ', '.join(sorted(unknown)) if unknown else 'nothing given'}"
                         f"; choose from {', '.join(known)}")
    repeat = _positive(args.repeat, "--repeat")
    budget = _seconds(args.budget, "--budget")
    own = speed.fixed_dim(args.function)   # a function that does not scale runs at its own size
    if args.fit and own is not None:
        raise InputError(f"--fit needs a function that scales with n; {args.function} takes {own} inputs")
    if args.dims is None:
        dims = (list(speed.FIT_DIMS) if args.fit else list(speed.DIMS)) if own is None else [own]
    else:
        dims = [_positive(d, "--dims") for d in _ints(args.dims, "--dims")]
    other = lambda default: default if own is None else (own,)  # noqa: E731
    from ._output import shown_if_stopped

    _check_plot(args)
    held = []
    with shown_if_stopped(lambda: held and _print_records(args, held[0], "speed_tables")), \
            _progress() as progress:
        result = speed.run(
            args.function, dims if "gradient" in parts else (), _names(args.methods),
            repeat=repeat, budget=budget,
            jacobian_ns=speed.JACOBIAN_NS if "jacobian" in parts else (),
            setup_dims=other(speed.SETUP_DIMS) if "setup" in parts else (),
            hessian_dims=other(speed.HESSIAN_DIMS) if "hessian" in parts else (), progress=progress,
            on_start=held.append, fit=args.fit)
    return _report(args, result, "speed_tables")


#: subcommand -> (add its arguments, run it)
COMMANDS = {"swell": (_swell_arguments, _run_swell),
            "accuracy": (_accuracy_arguments, _run_accuracy),
            "speed": (_speed_arguments, _run_speed)}


# ---------------------------------------------------------------------- output

def _report(args, result, tables_name) -> int:
    """The records (JSON or tables) first, then the figure: a plot that fails or is cut
    short never costs the numbers."""
    from ..console import console, error_console

    _print_records(args, result, tables_name)
    if args.plot:
        from difflab_experiments.plots import plot

        from ..errors import InputError

        try:
            written = plot(result, args.plot)
        except OSError as exc:
            raise InputError(f"cannot write --plot {args.plot}: {exc.strerror or exc}") from None
        (error_console if args.json else console).print(f"[muted]wrote {_escape(written)}[/muted]")
    return 0


def _print_records(args, result, tables_name) -> None:
    """The study's JSON, or its tables and the environment line."""
    from difflab_experiments import records, tables

    from ..console import console, print_table

    if args.json:
        print(records.dumps(result.to_dict()), flush=True)
        return
    for table in getattr(tables, tables_name)(result):
        print_table(tables.to_rich(table))
        console.print()
    console.print(f"[muted]{records.environment_line(result.environment)}[/muted]", soft_wrap=True)


def _check_plot(args) -> None:
    from ._output import check_output_file

    if args.plot:  # the figure is written after the run: find out now whether it can be
        check_output_file(args.plot, args.overwrite, makes_folders=True)


@contextlib.contextmanager
def _progress():
    """A rich progress bar on stderr (on a terminal), as the studies' progress callback."""
    from ..console.progress import progress_bar

    with progress_bar("{task.description:<36}") as bar:
        task = bar.add_task("starting", total=None)

        def progress(description: str = "", advance: float = 0, total=None):
            fields = {}
            if total is not None:
                fields["total"] = (bar.tasks[0].total or 0) + total
            if description:
                fields["description"] = description
            bar.update(task, advance=advance, **fields)

        yield progress


# ---------------------------------------------------------------------- parsing
def _names(text):
    from .validators import comma_list

    return comma_list(text)


def _floats(text, option):
    from ..errors import InputError

    try:
        values = [float(t) for t in _names(text)]
    except ValueError:
        raise InputError(f"{option} wants comma-separated numbers, not {text!r}") from None
    if not values or not all(v == v and abs(v) != float("inf") for v in values):
        raise InputError(f"{option} wants finite numbers, not {text!r}")
    return values


def _ints(text, option):
    from ..errors import InputError

    out = []
    for v in _floats(text, option):
        if v != int(v):
            raise InputError(f"{option} wants whole numbers, not {v:g}")
        out.append(int(v))
    return out


def _seconds(value, option, zero=False):
    """A finite number of seconds, positive (or, with ``zero``, at least 0)."""
    from ..errors import InputError

    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        wanted = "a finite number >= 0" if zero else "a positive finite number"
        raise InputError(f"{option} must be {wanted} of seconds, not {value:g}")
    return float(value)


def _escape(text) -> str:
    from rich.markup import escape

    return escape(str(text))


def _positive(value, option):
    from ..errors import InputError

    if isinstance(value, bool) or int(value) != value or value < 1:
        raise InputError(f"{option} must be a positive whole number, not {value!r}")
    return int(value)

