"""The ``difflab`` command: one module per subcommand, listed in :data:`SUBCOMMANDS`.

Each subcommand module defines ``add_arguments(parser)`` and ``run(args) -> int``. Bad
input is one line on stderr and exit code 2, never a traceback; so is running out of memory
(exit 2) and Ctrl-C (exit 130), after the command has printed what it finished.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
import warnings

from .validators import terminal_width

#: subcommand -> (module under difflab.cli, one-line help)
SUBCOMMANDS = {
    "list": ("list_methods", "every registered method: family, availability, version"),
    "functions": ("functions", "the catalogue of test functions"),
    "compare": ("compare", "compare methods on a function (default: the catalogue)"),
    "swell": ("experiments", "expression swell: symbolic vs tape sizes"),
    "accuracy": ("experiments", "accuracy of finite differences vs step, and of every method"),
    "speed": ("experiments", "speed of every method vs input size"),
    "train": ("train", "train a network with a chosen differentiator"),
    "optimizers": ("optimizers", "one network trained with SGD, SGDM, Adagrad, RMSProp and Adam side by side"),
    "solve": ("solve", "gradient descent, least squares, Newton with any differentiator"),
    "check": ("check", "check a user's function: do the methods agree with the oracle?"),
    "trace": ("trace", "the evaluation trace of a function with its forward and reverse sweeps"),
    "fuzz": ("fuzz", "random programs x methods x kinds against the oracle, on one machine or Dask"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line."""

    def error(self, message):
        from ..console import fail

        sys.exit(fail(f"{message} (see '{self.prog} --help')"))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="difflab", description="Compare ways of differentiating a program.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _add_display_options(p)
        try:
            module = _module(module_name)
        except ImportError as exc:  # one broken subcommand must not take the others down
            p.set_defaults(_module=None, _broken=f"'difflab {name}' is unavailable: {exc}")
            continue
        if getattr(module, "TAKES_COMMAND_NAME", False):
            module.add_arguments(p, name)
        else:
            module.add_arguments(p)
        p.set_defaults(_module=module_name)
    return parser


def _add_display_options(parser) -> None:
    """``--width``, ``--no-color`` and ``--verbose``, taken by every subcommand."""
    parser.add_argument("--width", type=terminal_width, metavar="N",
                        help="fit tables to N columns (default: the terminal's width; "
                             "piped output keeps each table's natural width)")
    parser.add_argument("--no-color", action="store_true",
                        help="no colours (the NO_COLOR environment variable does the same)")
    parser.add_argument("--verbose", action="store_true",
                        help="also show other libraries' warnings (once each, one line) and the "
                             "frameworks' native start-up log lines")


def _module(name):
    """A subcommand module; each must import only light modules at load time."""
    return importlib.import_module(f"difflab.cli.{name}")


def _version() -> str:
    from .. import __version__

    return f"difflab {__version__}"


#: Folders whose warnings are difflab's own, shown without ``--verbose``.
_OWN_FOLDERS = None


def _own_warning(filename: str) -> bool:
    """Whether a warning was raised in difflab, nets or the experiments (not another library)."""
    global _OWN_FOLDERS
    import os

    if _OWN_FOLDERS is None:
        import difflab

        here = os.path.dirname(os.path.dirname(os.path.abspath(difflab.__file__)))
        _OWN_FOLDERS = tuple(os.path.join(here, name) + os.sep
                             for name in ("difflab", "nets", "experiments", "difflab_experiments"))
    return os.path.abspath(filename or "").startswith(_OWN_FOLDERS)


@contextlib.contextmanager
def _warnings_as_lines(verbose: bool = True):
    """On the command line a warning is one line on stderr ("warning: ..."), not Python's
    two-line form with the source line that raised it, and each text is shown once. Other
    libraries' warnings are shown only with ``verbose`` (``--verbose``)."""
    from ..console import error_console

    shown = set()

    def show(message, category, filename, lineno, file=None, line=None):
        from rich.markup import escape

        text = str(message)
        if text in shown or not (verbose or _own_warning(filename)):
            return
        shown.add(text)
        error_console.print(f"[unsupported]warning:[/unsupported] {escape(text)}", soft_wrap=True)

    previous = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def main(argv=None) -> int:
    from ..console import fail
    from ..errors import InputError, NotSupported

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):  # a usage error, but the help is worth paging
        parser.print_help()
        return 2
    if args._module is None:
        return fail(args._broken)
    from ..console import configure
    from ..console.quiet import settings as native_logs

    configure(width=args.width, color=not args.no_color)
    native_logs["show"] = args.verbose
    try:
        with _warnings_as_lines(args.verbose):
            return int(_module(args._module).run(args) or 0)
    except (InputError, NotSupported, FileNotFoundError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:  # what finished was printed by the command on its way out
        return fail("interrupted", 130)
    except MemoryError as exc:
        detail = f" ({exc})" if str(exc) else ""
        return fail(f"out of memory{detail}; what finished is shown above", 2)
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
