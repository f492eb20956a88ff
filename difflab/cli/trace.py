"""``difflab trace FUNCTION | EXPRESSION --at X``: the evaluation trace and both sweeps.

Two tables (or ``--json``, schema ``difflab.trace/1``): the trace with its forward sweep
(``v_i``, its value, ``v̇_i`` per seed direction, the JVP at the bottom), then the reverse
sweep (``v̄_i`` last row first, the contributions summed at each fan-out, the gradient at the
bottom). See :mod:`difflab.analysis.evaluation_trace`.
"""
from __future__ import annotations

import argparse

from .compare import resolve_function
from .validators import number, parse_point, points_may_be_negative, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..analysis.evaluation_trace import DEFAULT_MAX_ROWS, MAX_BASIS_DIRECTIONS

    points_may_be_negative(parser)  # "--at -1,2" is a point, not an option
    parser.add_argument("function", metavar="FUNCTION | EXPRESSION",
                        help="a catalogue name (see 'difflab functions') or an expression such "
                             "as 'log(x1) + x1*x2 - sin(x2)'")
    parser.add_argument("--at", metavar="X", help="the point, comma-separated: --at 2,5 "
                        "(default: the function's default point)")
    parser.add_argument("--direction", metavar="V",
                        help="the forward sweep's seed, comma-separated (default: each basis "
                             f"vector in turn for up to {MAX_BASIS_DIRECTIONS} inputs, else e_1)")
    parser.add_argument("--max-rows", type=positive_int, default=DEFAULT_MAX_ROWS, metavar="N",
                        help=f"refuse a trace longer than N rows (default: {DEFAULT_MAX_ROWS})")
    parser.add_argument("--decimals", type=number(at_least=1, below=17, integer=True), default=6,
                        metavar="D", help="decimal places shown, in the tables and the JSON "
                                          "(default: 6)")
    parser.add_argument("--json", action="store_true",
                        help="print the difflab.trace/1 JSON document only")
    parser.add_argument("--graph", metavar="FILE.png",
                        help="also draw the computational graph (networkx + matplotlib)")
    parser.add_argument("--graph-adjoints", action="store_true",
                        help="label the graph's edges with the reverse sweep's contributions")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --graph file")


def run(args) -> int:
    from ..console import console, print_table
    from ..errors import InputError
    from ..analysis.evaluation_trace import trace
    from ..analysis.trace_table import trace_tables

    if args.graph:  # checked now, before any work
        from ._output import check_output_file

        check_output_file(args.graph, args.overwrite, option="--graph")
    elif args.graph_adjoints:
        raise InputError("--graph-adjoints needs --graph FILE.png")
    at = parse_point(args.at) if args.at is not None else None
    function = resolve_function(args.function, None, at)
    x = function.default_point() if at is None else at
    if function.dim is not None and x.size != function.dim:
        raise InputError(f"--at has {x.size} value(s), {function.name} takes {function.dim}")
    direction = _direction(args.direction) if args.direction is not None else None
    record = trace(function, x, direction=direction, max_rows=args.max_rows)
    if args.json:
        print(record.to_json(args.decimals))
    else:
        forward, reverse = trace_tables(record, args.decimals)
        print_table(forward)
        console.print()
        print_table(reverse)
    if args.graph:
        from ..console import error_console
        from ..reporting.trace_graph import draw

        draw(record, args.graph, adjoints=args.graph_adjoints, decimals=args.decimals)
        (error_console if args.json else console).print(f"[muted]graph written to {args.graph}[/muted]")
    return 0


def _direction(text: str):
    from ..errors import InputError

    try:
        return parse_point(text)
    except InputError:
        raise InputError(f"--direction takes comma-separated finite numbers, not {text!r}") from None
