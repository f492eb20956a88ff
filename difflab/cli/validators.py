"""The command line's value checks, in one place: argparse ``type`` functions for numbers with a
range (refused while parsing, before any work, with the flag the user typed in the message:
"argument --lr: must be > 0, not '-1'"), the parsers of comma-separated points and names, and
the one setting that lets ``--at -1,2`` read as a point rather than an option."""
from __future__ import annotations

import argparse
import math
import re

from ..errors import InputError

#: What argparse takes as a negative number (a value, not an option): number lists too.
NUMBER_LIST = re.compile(r"^-(\d|\.\d)[\d.,eE+\- ]*$")


def points_may_be_negative(parser: argparse.ArgumentParser) -> None:
    """Let ``--at -1,2`` read as a point, not an option: argparse takes an argument that looks
    like a negative number as a value, so widen its idea of one to number lists. argparse has
    no public setting for this; its private matcher is set here and nowhere else."""
    parser._negative_number_matcher = NUMBER_LIST


def number(above: float | None = None, at_least: float | None = None, below: float | None = None,
           integer: bool = False, what: str = ""):
    """An argparse ``type`` accepting a finite number (a whole one with ``integer``) that is
    ``> above``, ``>= at_least`` and ``< below`` where given; ``what`` names the unit."""
    bounds = [f"> {above:g}" if above is not None else "",
              f">= {at_least:g}" if at_least is not None else "",
              f"< {below:g}" if below is not None else ""]
    rule = " and ".join(b for b in bounds if b)
    kind = "a whole number" if integer else "a number"
    wanted = f"{kind}{' ' + rule if rule else ''}{' ' + what if what else ''}"

    def parse(text: str):
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            value = math.nan
        ok = math.isfinite(value) and (above is None or value > above) and (
            at_least is None or value >= at_least) and (below is None or value < below)
        if not ok:
            raise argparse.ArgumentTypeError(f"must be {wanted}, not {text!r}")
        return value

    parse.__name__ = "integer" if integer else "number"
    return parse


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, not {text!r}")
    return value


def terminal_width(text: str) -> int:
    """``--width``: a whole number of columns, at least 20."""
    try:
        width = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--width must be a whole number of columns, not {text!r}") from None
    if width < 20:
        raise argparse.ArgumentTypeError(f"--width must be at least 20, not {width}")
    return width


def parse_point(text: str, option: str = "--at"):
    """``"1, 2.5,-3"`` -> float64 array; InputError for anything else, NaN or infinity."""
    import numpy as np

    from ..interface.boundary import check_point

    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InputError(f"{option} takes comma-separated numbers, not {text!r}") from None
    return check_point(values, np.float64, option)


def comma_list(text, empty: str | None = None):
    """``"a, b,c"`` -> ``["a", "b", "c"]``; None stays None; where nothing is named, the
    InputError ``empty`` when given (else the empty list)."""
    if text is None:
        return None
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items and empty is not None:
        raise InputError(empty)
    return items


def parse_methods(text):
    """``--methods a,b``: the names, or None when not given; InputError when empty."""
    return comma_list(text, "--methods is empty; see 'difflab list'")
