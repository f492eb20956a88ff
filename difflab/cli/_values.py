"""Argument types for numbers with a range, so that a bad value is refused while parsing,
before any work, with the flag the user typed in the message ("argument --lr: must be > 0,
not '-1'") rather than the name of a parameter deep inside a solver."""
from __future__ import annotations

import argparse
import math


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

