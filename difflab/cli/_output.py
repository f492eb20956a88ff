"""What a subcommand writes: files checked before the work, results kept when it stops.

Where a subcommand will write a file (``--plot``): a user's existing file is never
overwritten without ``--overwrite`` (the one flag for it in every subcommand), and a path that cannot be written (a directory, a missing
folder, no permission) is one error line before any solver, training run or study starts.
A run cut short by Ctrl-C or by running out of memory prints what finished first
(:func:`shown_if_stopped`); ``difflab.cli.main`` then prints the one error line.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from ..errors import InputError

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def check_output_file(path, force: bool, suffixes=FIGURE_SUFFIXES, option: str = "--plot",
                      makes_folders: bool = False, force_option: str = "--overwrite") -> Path:
    """``path`` as a Path, or an InputError saying why it cannot be written.

    ``makes_folders``: the writer creates missing folders, so only the nearest existing one
    must be writable; otherwise the file's own folder must exist.
    """
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise InputError(f"{option} writes a {'/'.join(s[1:].upper() for s in suffixes)} file; "
                         f"give a file name ending in {' or '.join(suffixes)}, not {path.name!r}")
    if path.is_dir():
        raise InputError(f"{option} {path} is a directory; give a file name such as "
                         f"{path / ('figure' + suffixes[0])}")
    if path.exists() and not force:
        raise InputError(f"{path} already exists; pass {force_option} to overwrite it")
    folder = path.absolute().parent
    if not makes_folders and not folder.is_dir():
        raise InputError(f"{option}: the folder {path.parent} does not exist")
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK) or (
            path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"cannot write {option} {path}: permission denied or not a folder ({folder})")
    return path


class _DeprecatedForce(argparse.Action):
    """``--force`` where it meant "overwrite the file": still accepted, with a note."""

    def __call__(self, parser, namespace, values, option_string=None):
        print("note: --force is now --overwrite here (--force will go)", file=sys.stderr)
        setattr(namespace, self.dest, True)


def add_overwrite(parser, what: str = "--plot", deprecated_force: bool = True) -> None:
    """``--overwrite``: replace an existing output file. ``deprecated_force``: also accept the
    old ``--force`` (hidden from --help), where that flag used to mean the same."""
    parser.add_argument("--overwrite", action="store_true", help=f"replace an existing {what} file")
    if deprecated_force:
        parser.add_argument("--force", action=_DeprecatedForce, nargs=0, dest="overwrite",
                            help=argparse.SUPPRESS)


@contextlib.contextmanager
def shown_if_stopped(show):
    """On Ctrl-C or out of memory, call ``show()`` (print what finished), then let the
    error go on to main's one line and exit code."""
    try:
        yield
    except (KeyboardInterrupt, MemoryError):
        show()
        raise
