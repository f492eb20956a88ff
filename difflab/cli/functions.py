"""``difflab functions``: the catalogue, each function at its default size (or ``--dim``).

``--json`` prints the ``difflab.functions/1`` document: ``{"schema": "difflab.functions/1",
"functions": [{"name", "n", "manual", "description"}, ...]}``.
"""
from __future__ import annotations

import json

from .validators import positive_int

SCHEMA = "difflab.functions/1"
MANUAL_KINDS = ("gradient", "jacobian", "hessian")


def add_arguments(parser) -> None:
    parser.add_argument("--dim", type=positive_int, metavar="N",
                        help="show the functions that scale at this size")
    parser.add_argument("--json", action="store_true", help="print the catalogue as JSON")


def run(args) -> int:
    import importlib

    from ..console import print_table
    from ..errors import InputError
    from ..reporting.report import functions_table

    catalogue = importlib.import_module("difflab.functions")
    functions = []
    for name in catalogue.names():
        try:
            functions.append(catalogue.get(name, dim=args.dim))
        except InputError:  # a fixed-size function: shown at its own size
            functions.append(catalogue.get(name))
    if args.json:
        rows = [{"name": f.name, "n": f.dim,
                 "manual": [k for k in MANUAL_KINDS if getattr(f, k, None)],
                 "description": f.description} for f in functions]
        print(json.dumps({"schema": SCHEMA, "functions": rows}, indent=2))
    else:
        print_table(functions_table(functions))
    return 0
