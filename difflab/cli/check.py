"""``difflab check MODULE:FUNCTION --at X``: do the methods agree with the oracle on a user's function?

Imports ``FUNCTION`` from ``MODULE`` (an installed module or one in the current directory;
``MODULE`` may also be a ``.py`` file, imported by path), runs
:func:`difflab.testing.check_methods` and prints one row per method and the worst
components. Exit 0 when every method agrees, 1 when any disagrees, 2 on bad input (one
line on stderr).
"""
from __future__ import annotations

import argparse
import difflib
import importlib
import importlib.util
import json
import os
import sys

from ..interface.differentiator import DTYPES
from ..analysis.environment import one_line
from ..errors import InputError
from ..interface.kinds import DERIVATIVES
from .validators import number, parse_methods, parse_point, points_may_be_negative, positive_int
from ..console.wording import count

SCHEMA = "difflab.check/1"
#: Components shown below the per-method table.
WORST_ROWS = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    points_may_be_negative(parser)  # "--at -1,2" is a point, not an option
    parser.add_argument("target", metavar="MODULE:FUNCTION",
                        help="where your function lives: mypkg.losses:loss or path/to/file.py:loss "
                             "(a plain callable written with difflab.namespace, or a difflab.Function)")
    parser.add_argument("--at", metavar="X", required=True,
                        help="the point, comma-separated: --at 1,2.5,-3")
    parser.add_argument("--points", type=positive_int, default=1, metavar="N",
                        help="check at N points: X and N-1 more around it (default 1)")
    parser.add_argument("--methods", metavar="A,B,C",
                        help="comma-separated methods (default: every available exact method, "
                             "plus manual for a Function with a hand-written derivative)")
    parser.add_argument("--derivative", choices=DERIVATIVES, default="gradient",
                        help="which derivative to check (default: gradient)")
    parser.add_argument("--dtype", choices=DTYPES, default="float64",
                        help="the methods' working precision (tolerances follow it)")
    parser.add_argument("--rtol", type=number(at_least=0), help="relative tolerance instead of the error model")
    parser.add_argument("--atol", type=number(at_least=0), help="absolute tolerance instead of the error model")
    parser.add_argument("--seed", type=int, default=0, help="seed for the extra points")
    parser.add_argument("--json", action="store_true", help=f"print the {SCHEMA} JSON document only")


def run(args) -> int:
    from ..testing import check_methods

    methods = parse_methods(args.methods)
    if methods is not None:
        from ..analysis.comparison import check_method_names

        check_method_names(methods)
    x = parse_point(args.at)
    function = load_target(args.target)
    dim = getattr(function, "dim", None)
    if isinstance(dim, int) and x.size != dim:
        raise InputError(f"--at has {count(x.size, 'value')}, {args.target} takes {dim}")
    total = None if methods is None else len(methods) * args.points
    from ..console.progress import progress_bar

    with progress_bar() as progress:
        task = progress.add_task("checking", total=total)
        report = check_methods(function, x, methods, args.derivative, args.rtol, args.atol,
                               args.points, args.seed, dtype=args.dtype, kinks="ignore",
                               on_result=lambda name: progress.update(task, description=name, advance=1))
    if args.json:
        print(json.dumps(to_json(report, args.target, args.dtype), indent=2, allow_nan=False))
    else:
        _print(report)
    return 0 if report.ok else 1


# ---------------------------------------------------------------------- loading the function
def load_target(target: str):
    """The callable named by ``MODULE:FUNCTION`` (``FUNCTION`` may be dotted: ``Class.attr``)."""
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise InputError(f"expected MODULE:FUNCTION (such as mypkg.losses:loss), not {target!r}")
    module = _import(module_name)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_") and callable(getattr(obj, n, None))]
            close = difflib.get_close_matches(part, names, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InputError(f"{module_name} has no {attr!r}{hint}{_shadow_note(module, module_name)}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise InputError(f"{target} is a {type(obj).__name__}, not a function")
    return obj


def _import(module_name: str):
    """The module, or a .py file by path; any failure is one InputError line.

    The user's folder (the file's, or the current one for a module name) is searched last,
    after the installed libraries: a ``torch.py`` or ``mpmath.py`` lying beside the user's
    code never stands in for the library that difflab's methods import.
    """
    is_file = module_name.endswith(".py")
    if is_file and not os.path.isfile(module_name):
        raise InputError(f"no such file: {module_name}")
    try:
        folders = [os.getcwd()] + ([os.path.dirname(os.path.abspath(module_name))] if is_file else [])
        _search_last(folders)
        return _load_file(module_name) if is_file else importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise InputError(f"no module named {exc.name!r} (looked on sys.path and in the current "
                             f"directory)") from None
        raise InputError(f"importing {module_name} failed: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the user's module raised while importing
        raise InputError(f"importing {module_name} raised {one_line(exc)}") from None
    except SystemExit as exc:  # a script's sys.exit() ran at import: say so, not exit silently
        raise InputError(f"{module_name} exited (sys.exit({exc.code!r})) while being imported; "
                         "put its script part under if __name__ == '__main__':") from None


def _search_last(folders: list) -> None:
    """Put ``folders`` at the end of ``sys.path``, where their modules (the user's own helpers)
    are found but never ahead of an installed one; ``python -m`` and ``-c`` put the current
    folder first, so it is moved, not just added."""
    last = list(dict.fromkeys(folders))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) not in last] + last


def _load_file(filename: str):
    """A .py file imported by path, in sys.modules (dataclasses and pickle look it up) under
    its own name unless that name belongs to another module, loaded or installed."""
    path = os.path.abspath(filename)
    name = os.path.splitext(os.path.basename(path))[0]
    if not name.isidentifier() or name in sys.modules or _found_elsewhere(name, path):
        name = "_difflab_check_" + "".join(c if c.isalnum() else "_" for c in name)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _found_elsewhere(name: str, path: str) -> bool:
    """Whether ``import name`` finds a module other than the file at ``path``."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return True
    return spec is not None and os.path.abspath(spec.origin or "") != path


def _shadow_note(module, module_name: str) -> str:
    """When the module imported is not the file of the same name in the current folder."""
    local = module_name.replace(".", os.sep) + ".py"
    origin = getattr(module, "__file__", None) or ""
    if not os.path.isfile(local) or os.path.abspath(origin) == os.path.abspath(local):
        return ""
    return (f" ({module_name} was imported from {origin}: an installed module comes before the "
            f"{local} of the current folder; give its path instead, such as {local}:FUNCTION)")


# ---------------------------------------------------------------------- output
def to_json(report, target: str, dtype: str) -> dict:
    from ..analysis.environment import environment

    return {"schema": SCHEMA, "target": target, "dtype": dtype, **report.to_dict(),
            "environment": environment()}


def _print(report) -> None:
    from ..console import console, print_table
    from ..testing.report import check_methods_table, components_table

    print_table(check_methods_table(report))
    if report.failures or report.kinks:
        print_table(components_table(report, WORST_ROWS))
    if report.kinks:
        from ..analysis.kinks import tie_rules_note

        console.print("[unsupported]kink:[/unsupported] the one-sided derivatives differ at "
                      "this point; values between them are accepted", soft_wrap=True)
        console.print(tie_rules_note([m.method for m in report.methods if m.status in ("ok", "fail")]),
                      soft_wrap=True, markup=False)
    verdict = "[success]all methods agree[/success]" if report.ok else "[failed]disagreement[/failed]"
    console.print(verdict)
