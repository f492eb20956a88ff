"""``difflab compare [FUNCTION | EXPRESSION]``: every method against the oracle.

With a function: one table (or ``--json``, schema ``difflab.compare/1``). Without one: the
catalogue's default set x every method, as a matrix of correct digits.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import re
import warnings

from ..differentiator import DTYPES
from ..errors import InputError

DERIVATIVES = ("gradient", "jacobian", "hessian", "hvp")
NUMBER_LIST = re.compile(r"^-(\d|\.\d)[\d.,eE+\- ]*$")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # "--at -1,2" should read as a point, not as an option: argparse takes an argument that
    # looks like a negative number as a value, so widen its idea of one to number lists.
    parser._negative_number_matcher = NUMBER_LIST
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
                        help="hvp: the Hessian times a fixed seeded vector (shown in the title "
                             "and the JSON's 'vector')")
    parser.add_argument("--dtype", choices=DTYPES, default="float64",
                        help="the methods' working precision (the oracle is exact either way)")
    parser.add_argument("--json", action="store_true",
                        help="print the difflab.compare/1 JSON document only")


def run(args) -> int:
    # NaN and overflow are reported in the table; NumPy's warnings about them are noise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _run(args)


def _run(args) -> int:
    from ..comparison import check_method_names
    from ..registry import methods as registered

    methods = parse_methods(args.methods) or registered()
    check_method_names(methods)
    at = parse_point(args.at) if args.at is not None else None
    if args.function is None:
        if at is not None or args.dim is not None:
            raise InputError("--at and --dim need a FUNCTION")
        return _run_catalogue(args, methods)
    function = resolve_function(args.function, args.dim, at)
    x = function.default_point() if at is None else at
    if function.dim is not None and x.size != function.dim:
        raise InputError(f"--at has {x.size} value(s), {function.name} takes {function.dim}")
    return _run_one(args, function, x, methods)


# ---------------------------------------------------------------------- parsing
def parse_point(text: str):
    """``"1, 2.5,-3"`` -> float64 array; InputError for anything else, NaN or infinity."""
    import numpy as np

    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InputError(f"--at takes comma-separated numbers, not {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise InputError(f"--at contains NaN or infinity: {text!r}")
    return np.array(values, dtype=np.float64)


def parse_methods(text):
    if text is None:
        return None
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise InputError("--methods is empty; see 'difflab list'")
    return names


def resolve_function(text: str, dim=None, at=None):
    """A catalogue function by name (sized by ``dim``, or by ``at`` where it scales), else
    the function of an expression (difflab.expression). A bare word that is no catalogue name is an error,
    not a one-variable expression."""
    import difflib

    from ..function import Function

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
        raise InputError(f"{text!r} has {function.dim} variable(s), not --dim {dim}")
    return function


def _catalogue():
    return importlib.import_module("difflab.functions")


# ---------------------------------------------------------------------- running
def _run_one(args, function, x, methods) -> int:
    from ..comparison import compare
    from ..console import print_table
    from ..report import comparison_table

    with _progress(len(methods)) as progress:
        progress.describe(function.name)
        comparison = compare(function, x, methods=methods, derivative=args.derivative,
                             dtype=args.dtype, on_result=progress.advance)
    if args.json:
        _print_json(comparison.to_dict())
    else:
        print_table(comparison_table(comparison))
    return 0


def _run_catalogue(args, methods) -> int:
    from ..comparison import compare, comparisons_to_dict
    from ..console import print_table
    from ..report import matrix_table

    catalogue = _catalogue()
    functions = list(catalogue.default_set())
    if args.derivative == "jacobian":
        functions += catalogue.default_set("vector")
    comparisons = []
    with _progress(len(methods) * len(functions)) as progress:
        for f in functions:
            progress.describe(f.name)
            comparisons.append(compare(f, f.default_point(), methods=methods,
                                       derivative=args.derivative, dtype=args.dtype,
                                       on_result=progress.advance))
    if args.json:
        _print_json(comparisons_to_dict(comparisons))
    else:
        print_table(matrix_table(comparisons))
    return 0


def _print_json(document: dict) -> None:
    print(json.dumps(document, indent=2, allow_nan=False))


class _Bar:
    """One task of a rich Progress: ``describe(function name)``, ``advance(method result)``."""

    def __init__(self, progress, total):
        self.progress, self.task = progress, progress.add_task("comparing", total=total)

    def describe(self, text: str) -> None:
        self.progress.update(self.task, description=text)

    def advance(self, result=None) -> None:
        self.progress.update(self.task, advance=1)


@contextlib.contextmanager
def _progress(total: int):
    """A progress bar over ``total`` method runs, on stderr and only on a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..console import error_console, is_interactive

    with Progress(TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=error_console, transient=True,
                  disable=not is_interactive()) as progress:
        yield _Bar(progress, total)
