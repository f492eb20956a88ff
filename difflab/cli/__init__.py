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

#: subcommand -> (module under difflab.cli, one-line help)
SUBCOMMANDS = {
    "list": ("list_methods", "every registered method: family, availability, version"),
    "functions": ("functions", "the catalogue of test functions"),
    "compare": ("compare", "compare methods on a function (default: the catalogue)"),
    "swell": ("experiments", "expression swell: symbolic vs tape sizes"),
    "accuracy": ("experiments", "accuracy of finite differences vs step, and of every method"),
    "speed": ("experiments", "speed of every method vs input size"),
    "train": ("train", "train a network with a chosen differentiator"),
    "solve": ("solve", "gradient descent, least squares, Newton with any differentiator"),
    "check": ("check", "check a user's function: do the methods agree with the oracle?"),
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
    """``--width`` and ``--no-color``, taken by every subcommand."""
    parser.add_argument("--width", type=_positive_width, metavar="N",
                        help="fit tables to N columns (default: the terminal's width; "
                             "piped output keeps each table's natural width)")
    parser.add_argument("--no-color", action="store_true",
                        help="no colours (the NO_COLOR environment variable does the same)")


def _positive_width(text: str) -> int:
    try:
        width = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--width must be a whole number of columns, not {text!r}")
    if width < 20:
        raise argparse.ArgumentTypeError(f"--width must be at least 20, not {width}")
    return width


def _module(name):
    """A subcommand module; each must import only light modules at load time."""
    return importlib.import_module(f"difflab.cli.{name}")


def _version() -> str:
    from .. import __version__

    return f"difflab {__version__}"


@contextlib.contextmanager
def _warnings_as_lines():
    """On the command line a warning is one line on stderr ("warning: ..."), not Python's
    two-line form with the source line that raised it."""
    from ..console import error_console

    def show(message, category, filename, lineno, file=None, line=None):
        from rich.markup import escape

        error_console.print(f"[unsupported]warning:[/unsupported] {escape(str(message))}", soft_wrap=True)

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
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    if args._module is None:
        return fail(args._broken)
    from ..console import configure

    configure(width=args.width, color=not args.no_color)
    try:
        with _warnings_as_lines():
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
