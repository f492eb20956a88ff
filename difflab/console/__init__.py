"""One themed rich Console for every report, with semantic styles."""
from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.theme import Theme

THEME = Theme({
    "ok": "green", "success": "bold green", "failed": "bold red", "error": "red",
    "unsupported": "yellow", "skipped": "dim", "muted": "dim", "method": "cyan",
    "number": "magenta", "title": "bold",
})


def make_console(stderr: bool = False, **kwargs) -> Console:
    return Console(theme=THEME, stderr=stderr, highlight=False, **kwargs)


class _Stderr:
    """``sys.stderr``, except while :mod:`difflab.console.quiet` filters descriptor 2 (a framework
    loading): then the terminal itself, so that progress bars never pass through the
    filter's pipe, where their cursor movements could arrive out of order."""

    def _real(self):
        from .quiet import real_stderr

        return real_stderr()

    @staticmethod
    def _stream():
        """sys.stderr as it is now (a test's capture too), not rich's own redirect of it
        (a live display's FileProxy prints into this console: a loop)."""
        stream = sys.stderr
        return getattr(stream, "rich_proxied_file", stream)

    def write(self, text: str) -> int:
        fd = self._real()
        if fd is not None:
            try:
                os.write(fd, text.encode(self.encoding or "utf-8", "replace"))
                return len(text)
            except OSError:  # the window closed meanwhile: descriptor 2 is the terminal again
                pass
        return self._stream().write(text)

    def flush(self) -> None:
        self._stream().flush()

    def isatty(self) -> bool:
        fd = self._real()
        return os.isatty(fd) if fd is not None else self._stream().isatty()

    def fileno(self) -> int:
        fd = self._real()
        return fd if fd is not None else self._stream().fileno()

    @property
    def encoding(self):
        return getattr(self._stream(), "encoding", None)


console = make_console()
error_console = make_console(file=_Stderr())


#: ``--width N`` of the command line: tables are fitted to it instead of the terminal.
_settings = {"width": None}


def configure(width: int | None = None, color: bool = True) -> None:
    """The command line's global ``--width`` and ``--no-color`` (``NO_COLOR`` is honoured
    by rich itself)."""
    _settings["width"] = width
    if not color:  # the consoles other modules imported: changed in place, not replaced
        console.no_color = error_console.no_color = True


def print_table(table) -> None:
    """Print a rich table with nothing cropped or dropped.

    On a terminal (or with ``--width``) a table wider than the width is split into column
    groups that each fit, its row labels repeated (:mod:`difflab.console.table_fit`). Piped into a
    file or a test, it prints at its natural width, without trailing spaces.
    """
    from .table_fit import column_groups

    width = _settings["width"]
    caption = table.caption if isinstance(table.caption, str) and width or console.is_terminal else None
    if isinstance(caption, str):  # a footer as wide as the screen, not as the (last) table part
        table.caption = None
    if console.is_terminal:
        width = width or console.width
        for number, part in enumerate(column_groups(console, table, width)):
            if number:
                console.print()
            console.print(part, width=width)
        if isinstance(caption, str):
            print_footer(caption, width, table.caption_style)
        return
    parts = [table] if width is None else column_groups(console, table, width)
    console.file.write("\n\n".join(_plain_lines(part, width) for part in parts) + "\n")
    if isinstance(caption, str):
        console.file.write("\n".join(" " + line for line in _footer_lines(caption, width)) + "\n")


def _footer_lines(text: str, width: int) -> list:
    from .wrapping import wrap_words

    return wrap_words(text, max(width - 1, 20))


def print_footer(text: str, width: int | None = None, style=None) -> None:
    """A line under a table (plain text, no markup), wrapped to ``width`` (default: the
    console's) at spaces only: never inside a word, nor between a number and its unit."""
    from rich.text import Text

    width = width or _settings["width"] or console.width
    for line in _footer_lines(text, width):
        console.print(Text(" " + line, style=style or ""), soft_wrap=True, highlight=False)


def plain_text(table) -> str:
    """A rich renderable as plain text at its natural width, without colour or trailing
    spaces: ``str()`` of difflab's records (:mod:`difflab.console.display`)."""
    return _plain_lines(table, None)


def _plain_lines(table, width: int | None) -> str:
    """``table`` rendered for a file: at ``width`` (or its natural width), no trailing spaces."""
    import io

    if width is None:
        width = max(make_console(width=10_000).measure(table).maximum, 20)
    buffer = io.StringIO()
    make_console(file=buffer, width=width).print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


def digits_style(digits: float | None) -> str:
    """Colour for a count of correct digits: green >= 12, yellow >= 6, red below."""
    if digits is None:
        return "muted"
    if digits >= 12:
        return "green"
    if digits >= 6:
        return "yellow"
    return "red"


def fail(message: str, code: int = 2) -> int:
    """Print one clear error line on stderr and return the exit code."""
    from rich.markup import escape

    error_console.print(f"[failed]error:[/failed] {escape(message)}", soft_wrap=True)
    return code


def is_interactive() -> bool:
    return sys.stderr.isatty()
