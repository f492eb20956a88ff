"""Wrapping a footer line to a width at spaces only: never inside a word, and never
between a number and its unit (``600 s``, ``4.2 MB``, ``16 digits``) or after ``<=``."""
from __future__ import annotations

import re

_GLUE = "\x00"
#: the spaces that must not break a line: number-unit, and comparison-number
_KEEP = re.compile(r"(?<=\d) (?=(?:[kMGT]i?B|[mµun]?s|min|h|%|digits?|cases|bits)\b)"
                   r"|(?<=[<>=]) (?=[-+]?\d)|(?<=[≤≥]) (?=[-+]?\d)")


def wrap_words(text: str, width: int) -> list:
    """The lines of ``text`` (one paragraph) at most ``width`` wide where its words allow;
    a word longer than ``width`` stands alone on its line, whole."""
    glued = _KEEP.sub(_GLUE, " ".join(text.split()))
    lines, line = [], ""
    for word in glued.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return [piece.replace(_GLUE, " ") for piece in lines]
