"""``difflab functions``: the catalogue, each function at its default size (or ``--dim``)."""
from __future__ import annotations

from .compare import positive_int


def add_arguments(parser) -> None:
    parser.add_argument("--dim", type=positive_int, metavar="N",
                        help="show the functions that scale at this size")


def run(args) -> int:
    import importlib

    from ..console import print_table
    from ..errors import InputError
    from ..report import functions_table

    catalogue = importlib.import_module("difflab.functions")
    functions = []
    for name in catalogue.names():
        try:
            functions.append(catalogue.get(name, dim=args.dim))
        except InputError:  # a fixed-size function: shown at its own size
            functions.append(catalogue.get(name))
    print_table(functions_table(functions))
    return 0
