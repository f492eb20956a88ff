"""One themed rich Console for every report, with semantic styles."""
from __future__ import annotations

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


console = make_console()
error_console = make_console(stderr=True)


def print_table(table) -> None:
    """Print a rich renderable: on a terminal at its width; piped (a file, a test), at the
    table's natural width, so that no column is squeezed or dropped."""
    if console.is_terminal:
        console.print(table)
        return
    natural = make_console(width=10_000).measure(table).maximum
    make_console(width=max(console.width, natural)).print(table)


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
