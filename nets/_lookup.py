"""Name lookup shared by activations, losses, metrics, optimisers and regularisers."""
from __future__ import annotations

import difflib


def lookup(kind: str, name, table: dict):
    """``table[name]``, or a ValueError naming the unknown ``kind`` and the close matches."""
    if isinstance(name, str):
        key = name.lower()
        if key in table:
            return table[key]
    close = difflib.get_close_matches(str(name).lower(), list(table), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(table)}"
    raise ValueError(f"unknown {kind} {name!r}{hint}")
