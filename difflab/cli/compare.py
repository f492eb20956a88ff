"""``difflab compare [FUNCTION | EXPRESSION]``: every method against the oracle.

With a function: one table (or ``--json``, schema ``difflab.compare/1``). Without one: the
catalogue's default set x every method, as a matrix of correct digits.

Each method and the oracle is first estimated (:mod:`difflab.interface.cost`); one over the budget
(``--max-seconds``, default 60 s; half the memory available now) is skipped with the
estimate, and ``--force`` runs everything. Exit 0 when at least one method produced a usable
derivative, 1 when none did (the footer says why), 2 for bad input or running out of
memory, 130 for Ctrl-C; the rows finished by then are printed either way.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import warnings

from ..interface.cost import DEFAULT_SECONDS
from ..interface.differentiator import DTYPES
from ..errors import InputError
from ..interface.kinds import DERIVATIVES
from ..console.wording import count
from .validators import (  # noqa: F401 (re-exported: the other commands' imports)
    NUMBER_LIST, non_negative_int, parse_methods, parse_point, points_may_be_negative,
    positive_int, positive_seconds)

#: What ``--show`` can add after the table.
SHOWABLE = ("formula",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    points_may_be_negative(parser)
    parser.add_argument("function", nargs="?", metavar="FUNCTION | EXPRESSION",
                        help="a catalogue name (see 'difflab functions') or an expression "
                             "such as 'sin(x)*exp(y) + x**2*y' (variables in natural order, x2 before x10; "
                             "the table header shows which --at value went where); "
                             "omit to compare on the catalogue's default set")
    parser.add_argument("--at", metavar="X", help="the point, comma-separated: --at 1,2.5,-3 "
                        "(default: the function's default point)")
    parser.add_argument("--dim", type=positive_int, metavar="N",
                        help="input size, for catalogue functions that scale")
    parser.add_argument("--methods", metavar="A,B,C",
                        help="comma-separated method names (default: all; see 'difflab list')")
    parser.add_argument("--derivative", choices=DERIVATIVES, default="gradient",
                        help="which derivative to compare (default: gradient; hvp: the Hessian "
                             "times a fixed seeded vector, shown in the title and the JSON's "
                             "'vector')")
    parser.add_argument("--dtype", choices=DTYPES, default="float64",
                        help="the methods' working precision (the oracle is exact either way)")
    parser.add_argument("--json", action="store_true",
                        help="print the difflab.compare/1 JSON document only")
    parser.add_argument("--max-seconds", type=positive_seconds, default=None, metavar="SECONDS",
                        help="skip a method (or the oracle) estimated to take longer "
                             f"(default: {DEFAULT_SECONDS:g})")
    parser.add_argument("--force", action="store_true",
                        help="run every method and the oracle whatever their estimated "
                             "time and memory")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="draw the correct digits of each method as a bar chart "
                             "(one FUNCTION only)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --plot file")
    parser.add_argument("--show", choices=SHOWABLE, metavar="formula",
                        help="after the table, also show the derivative's SymPy formula: raw and "
                             "after common-subexpression elimination, with operation counts "
                             "(with --json: under 'formula')")
    parser.add_argument("--latex", action="store_true",
                        help="with --show formula: LaTeX instead of the drawn formula")
    parser.add_argument("--max-chars", type=non_negative_int, default=None, metavar="N",
                        help="with --show formula: characters of expression text shown per form "
                             "before the rest is left out and counted (default: 4000; 0: all)")


def run(args) -> int:
    # NaN and overflow are reported in the table; NumPy's warnings about them are noise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _run(args)


def _run(args) -> int:
    from ..analysis.comparison import check_method_names
    from ..interface.registry import methods as registered

    methods = parse_methods(args.methods) or registered()
    check_method_names(methods)
    if args.show is None and (args.latex or args.max_chars is not None):
        raise InputError("--latex and --max-chars go with --show formula")
    at = parse_point(args.at) if args.at is not None else None
    if args.function is None:
        if args.show:
            raise InputError("--show formula needs a FUNCTION (one formula, not the catalogue's)")
        if at is not None or args.dim is not None or args.plot:
            raise InputError("--at, --dim and --plot need a FUNCTION")
        return _run_catalogue(args, methods)
    if args.plot:  # checked now, not after every method has run
        from ._output import check_output_file

        check_output_file(args.plot, args.overwrite)
    function = resolve_function(args.function, args.dim, at)
    x = function.default_point() if at is None else at
    if function.dim is not None and x.size != function.dim:
        raise InputError(f"--at has {count(x.size, 'value')}, {function.name} takes {function.dim}")
    return _run_one(args, function, x, methods)


# ---------------------------------------------------------------------- parsing
def resolve_function(text: str, dim=None, at=None):
    """A catalogue function by name (sized by ``dim``, or by ``at`` where it scales), else
    the function of an expression (difflab.interface.expression). A bare word that is no catalogue name is an error,
    not a one-variable expression."""
    import difflib

    from ..interface.function import Function

    catalogue = _catalogue()
    if text in catalogue.names():
        function = catalogue.get(text, dim=dim)
        if dim is None and at is not None and function.dim != at.size:
            # a function that scales takes its size from the point; a fixed-size one keeps
            # its own, and the caller reports the length mismatch
            with contextlib.suppress(InputError):
                sized = catalogue.get(text, dim=at.size)
                function = sized if sized.dim == at.size else function
        return function
    if text.isidentifier():
        close = difflib.get_close_matches(text, catalogue.names(), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "see 'difflab functions'"
        raise InputError(f"unknown function {text!r}; {hint} (or give an expression such as 'sin(x)*y')")
    function = Function.from_expression(text)
    if dim is not None and dim != function.dim:
        raise InputError(f"{text!r} has {count(function.dim, 'variable')}, not --dim {dim}")
    return function


def _catalogue():
    return importlib.import_module("difflab.functions")


# ---------------------------------------------------------------------- running
def budget(args) -> dict:
    """compare's ``max_seconds``/``max_bytes`` from ``--max-seconds`` and ``--force``."""
    from ..interface.cost import default_max_bytes

    if args.force:
        if args.max_seconds is not None:
            raise InputError("give --max-seconds or --force, not both")
        return {}
    seconds = DEFAULT_SECONDS if args.max_seconds is None else args.max_seconds
    return {"max_seconds": seconds, "max_bytes": default_max_bytes()}


def _run_one(args, function, x, methods) -> int:
    from ..analysis.comparison import compare
    from ._output import shown_if_stopped

    from ..reporting.report import comparison_table

    held = []
    with shown_if_stopped(lambda: _show(args, held)), _progress(len(methods), held) as progress:
        progress.describe(function.name)
        # the rows so far, under the bars, while the rest (and the frameworks) load
        progress.preview(lambda: comparison_table(held[0]) if held and held[0].results else None)
        compare(function, x, methods=methods, derivative=args.derivative, dtype=args.dtype,
                observer=progress, **budget(args))
    formula = _formula(args, function, x, held[0]) if args.show else None
    code = _show(args, held, formula=formula)
    if formula is not None and not args.json:
        _print_formula(args, *formula)
    if args.plot:
        from ..console import console, error_console

        plot_digits(held[0], args.plot)
        (error_console if args.json else console).print(f"[muted]digits chart written to {args.plot}[/muted]")
    return code


def plot_digits(comparison, path) -> None:
    """A bar per method: its correct digits against the oracle; a method without a number
    has no bar and its status written where the bar would be."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..analysis.comparison import MAX_DIGITS
    from ..reporting.report import comparison_title

    results = comparison.results
    digits = [r.digits if r.digits is not None else 0.0 for r in results]
    fig, ax = plt.subplots(figsize=(max(6.4, 0.55 * len(results) + 2), 4.0))
    positions = range(len(results))
    ax.bar(positions, digits, color=["#4c72b0" if r.digits is not None else "none" for r in results])
    for i, r in enumerate(results):
        if r.digits is None:
            label = "no reference" if r.status == "ok" else r.status
            ax.text(i, 0.3, label, rotation=90, ha="center", va="bottom", fontsize=8, color="grey")
    ax.set_xticks(list(positions), [r.method for r in results], rotation=45, ha="right")
    ax.set_ylim(0, MAX_DIGITS + 0.5)
    ax.set_ylabel("correct digits (-log10 rel. error)")
    ax.set_title(comparison_title(comparison), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _run_catalogue(args, methods) -> int:
    from ..analysis.comparison import compare
    from ._output import shown_if_stopped

    catalogue = _catalogue()
    functions = list(catalogue.default_set())
    if args.derivative == "jacobian":
        functions += catalogue.default_set("vector")
    held = []
    with shown_if_stopped(lambda: _show(args, held, several=True)), \
            _progress(len(methods) * len(functions), held) as progress:
        for f in functions:
            progress.describe(f.name)
            compare(f, f.default_point(), methods=methods, derivative=args.derivative,
                    dtype=args.dtype, observer=progress, **budget(args))
    return _show(args, held, several=True)


def _show(args, comparisons, several=False, formula=None) -> int:
    """Print the comparisons (table or JSON, with the ``formula`` under its key); 0 if a
    method produced a usable derivative, else 1 with a footer saying why."""
    from ..analysis.comparison import comparisons_to_dict
    from ..console import console, error_console, print_table
    from ..reporting.report import comparison_table, matrix_table

    if several:
        document = comparisons_to_dict(comparisons)
        table = matrix_table(comparisons) if comparisons else None
    elif comparisons:
        document, table = comparisons[0].to_dict(), comparison_table(comparisons[0])
    else:
        return 1
    if args.json:
        if formula is not None:
            record, note = formula
            document["formula"] = (record.to_dict(latex=args.latex) if record is not None
                                   else {"error": note})
        _print_json(document)
    else:
        print_table(table)
    results = [r for c in comparisons for r in c.results]
    if not results or any(r.status == "ok" for r in results):
        return 0
    (error_console if args.json else console).print(
        f"[failed]no method produced a usable result:[/failed] {_why_nothing(results, comparisons)}",
        soft_wrap=True)
    return 1


# ---------------------------------------------------------------------- --show formula
def _formula(args, function, x, comparison):
    """``(Formula, "")`` of the compared derivative by the ``sympy`` method, or ``(None,
    why not)``: it cannot trace f, is not installed, or is over the budget."""
    import difflab

    from ..errors import NotSupported

    why = _formula_refusal(args, function, x, comparison)
    if why:
        return None, why
    try:
        return difflab.get("sympy").formula(function, x, kind=args.derivative), ""
    except (InputError, NotSupported) as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - SymPy failing is a note under the table, as in its row
        return None, f"sympy failed: {type(exc).__name__}: {exc}"


def _formula_refusal(args, function, x, comparison) -> str:
    """Why the formula is not worked out ("" when it is): the sympy row's own skip, or the
    sympy method's cost model over the budget (--max-seconds, --force) when it has no row."""
    from ..interface import cost, registry

    if args.force:
        return ""
    try:
        row = comparison.result("sympy")
    except KeyError:
        row = None
    if row is not None:
        return row.message if row.status == "skipped" else ""
    method = registry.method_class("sympy")
    available, why = method.availability()
    if not available:
        return why
    limits = budget(args)
    try:
        probe = cost.probe(function, x, mp_within=min(limits["max_seconds"], 3600.0))
    except Exception:  # noqa: BLE001 - f fails at x: the formula reports it
        return ""
    estimate = cost.estimate(method.cost(args.derivative), args.derivative, probe, timed=False)
    return estimate.refusal(limits["max_seconds"], limits["max_bytes"])


def _print_formula(args, record, note) -> None:
    """The formula, or one line on stderr saying why there is none."""
    if record is None:
        from ..console import error_console

        error_console.print(f"[unsupported]no formula:[/unsupported] {_escape(note)}", soft_wrap=True)
        return
    print_formula(record, args.width, args.max_chars, args.latex)


def print_formula(record, width=None, max_chars=None, latex=False) -> None:
    """A :class:`difflab.interface.formula.Formula` drawn (or as LaTeX), after a blank line, wrapped to
    ``width`` (--width; default: the terminal's, 80 columns when piped), cut after
    ``max_chars`` characters per form (--max-chars; None: the default, 0: everything)."""
    from ..console import console
    from ..interface.formula import DEFAULT_MAX_CHARS

    width = formula_width(width)
    max_chars = DEFAULT_MAX_CHARS if max_chars is None else (max_chars or None)
    draw = record.latex if latex else record.pretty
    console.print()
    console.print(draw(width=width, max_chars=max_chars, more="--max-chars 0"),
                  markup=False, highlight=False, soft_wrap=True)


def formula_width(width=None) -> int:
    """``--width``, else the terminal's width, else (piped) 80 columns."""
    from ..console import console
    from ..interface.formula import DEFAULT_WIDTH

    return width or (console.width if console.is_terminal else DEFAULT_WIDTH)


def _escape(text) -> str:
    from rich.markup import escape

    return escape(str(text))


def _why_nothing(results, comparisons) -> str:
    """The footer of a comparison where nothing worked: the statuses, and why there was no
    reference where there was none (a point outside the domain, a skipped oracle)."""
    from collections import Counter

    counts = Counter(r.status for r in results)
    why = ", ".join(f"{status} {count}" for status, count in counts.most_common())
    reasons = sorted({c.reference_message for c in comparisons if c.reference is None})
    return f"{why}; {'; '.join(reasons)}" if len(reasons) == 1 else f"{why}; see the notes"


def _print_json(document: dict) -> None:
    print(json.dumps(document, indent=2, allow_nan=False))


class _Bar:
    """compare's observer (:class:`difflab.analysis.comparison.Observer`'s hooks) on one task of a rich
    Progress: a step per method result, the oracle's own bar, a line per framework while it
    loads, each record appended to ``held`` as it starts (what Ctrl-C still shows), and the
    table so far under the bars (``preview``)."""

    def __init__(self, progress, total, held):
        self.progress, self.task = progress, progress.add_task("comparing", total=total)
        self.held = held
        self.oracle_task = None
        self.import_tasks = {}

    def on_start(self, comparison) -> None:
        self.held.append(comparison)

    def preview(self, make_table) -> None:
        self.progress.preview = make_table

    def on_import(self, module: str, seconds) -> None:
        """A framework starts loading (``seconds`` None) or has loaded (called from the
        import thread; rich's Progress takes updates from any thread)."""
        if seconds is None:
            self.import_tasks[module] = self.progress.add_task(f"loading {module}", total=None)
        elif module in self.import_tasks:
            self.progress.update(self.import_tasks.pop(module), visible=False)

    def describe(self, text: str) -> None:
        self.progress.update(self.task, description=text)

    def on_result(self, result=None) -> None:
        self.progress.update(self.task, advance=1)

    def on_oracle(self, done: int, total: int) -> None:
        """The oracle's columns done (its own bar, while it works)."""
        if self.oracle_task is None:
            self.oracle_task = self.progress.add_task("oracle", total=total)
        self.progress.update(self.oracle_task, completed=done, total=total,
                             visible=done < total)
        if done >= total:
            self.oracle_task = None


@contextlib.contextmanager
def _progress(total: int, held: list):
    """compare's observer: a progress bar over ``total`` method runs, on stderr and only on a
    terminal; the comparison records go to ``held``."""
    from rich.progress import Progress

    from ..console.progress import progress_bar

    class WithPreview(Progress):
        """The bars, then the table of the rows finished so far (transient, like the bars):
        its first column group when it is wider than the terminal, never cropped."""

        preview = None

        def get_renderables(self):
            from ..console.table_fit import column_groups

            yield from super().get_renderables()
            table = self.preview() if self.preview is not None else None
            if table is not None:
                yield column_groups(self.console, table, self.console.width)[0]

    with progress_bar("{task.description:<16}", progress_class=WithPreview) as progress:
        yield _Bar(progress, total, held)
