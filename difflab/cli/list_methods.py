"""``difflab list``: every registered method, its family, availability and library version.

Answers from package metadata: no framework is imported. ``--json`` prints the
``difflab.list/1`` document: ``{"schema": "difflab.list/1", "methods": [...]}``.
"""
from __future__ import annotations

import json

SCHEMA = "difflab.list/1"


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def run(args) -> int:
    from dataclasses import asdict

    from ..console import print_table
    from ..analysis.environment import method_infos
    from ..reporting.report import methods_table

    infos = method_infos()
    if args.json:
        print(json.dumps({"schema": SCHEMA, "methods": [asdict(i) for i in infos]}, indent=2))
    else:
        print_table(methods_table(infos))
    return 0
