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
    error_console.print(f"[failed]error:[/failed] {message}", soft_wrap=True)
    return code


def is_interactive() -> bool:
    return sys.stderr.isatty()
