"""Fit a rich table into a width without dropping anything: split it into column groups.

rich shrinks a table that is too wide by wrapping its wrapable columns and then by cropping
cells, which silently hides numbers and whole columns. :func:`column_groups` instead returns
tables that each fit: the same rows, the first ``key_columns`` columns (the row labels)
repeated in every group, the other columns spread over as few groups as fit. A wrapable
column (a note) counts with its narrowest width, so it wraps instead of moving away.

A table says how many leading columns label its rows with :func:`set_key_columns`
(default 1).
"""
from __future__ import annotations

from typing import List

from rich.console import Console
from rich.table import Column, Table


def set_key_columns(table: Table, count: int) -> Table:
    """Mark the first ``count`` columns as row labels, repeated in every column group."""
    table.key_columns = count
    return table


def key_columns(table: Table) -> int:
    return min(getattr(table, "key_columns", 1), len(table.columns))


def _ranges(console: Console, table: Table):
    """Per column: (narrowest width without cropping, natural width, wrapable), padding
    included. A no-wrap column (numbers never wrap) is as wide as its longest cell; a
    wrapable one can go down to its longest word."""
    options = console.options.update_width(10_000)
    out = []
    for column in table.columns:
        measured = table._measure_column(console, options, column)  # rich's private measure
        wrapable = not column.no_wrap and column.width is None
        out.append((measured.minimum if wrapable else measured.maximum, measured.maximum, wrapable))
    return out


def _width(table: Table, widths: List[int]) -> int:
    edges = 2 if table.box and table.show_edge else 0
    separators = len(widths) - 1 if table.box else 0
    return sum(widths) + edges + separators


def fits(console: Console, table: Table, width: int) -> bool:
    """Does ``table`` render within ``width`` columns with nothing cropped?"""
    return _width(table, [low for low, _, _ in _ranges(console, table)]) <= width


def column_groups(console: Console, table: Table, width: int) -> List[Table]:
    """Tables that each fit ``width``: ``[table]`` itself at its natural width; else the key
    columns plus as many of the others as fit, in order, with column widths set so that
    only wrapable columns wrap, at word boundaries. The title goes on the first, the
    caption on the last."""
    ranges = _ranges(console, table)
    if _width(table, [high for _, high, _ in ranges]) <= width or len(table.columns) <= 1:
        return [table]
    keys = list(range(key_columns(table)))
    groups: List[List[int]] = []
    current: List[int] = []
    for index in range(len(keys), len(table.columns)):
        trial = keys + current + [index]
        if current and _width(table, [ranges[i][0] for i in trial]) > width:
            groups.append(current)
            current = []
        current.append(index)
    groups.append(current)
    parts = []
    for number, group in enumerate(groups):
        indexes = keys + group
        part = _subtable(table, indexes)
        _set_widths(table, part, [ranges[i] for i in indexes], width)
        if number:
            part.title = f"{table.title} (continued)" if table.title else None
        if number < len(groups) - 1:
            part.caption = None
        parts.append(part)
    return parts


def _set_widths(table: Table, part: Table, ranges, width: int) -> None:
    """Give each column of ``part`` a fixed width: its narrowest, plus a share of the room
    left, handed to the wrapable columns up to their natural width."""
    widths = [low for low, _, _ in ranges]
    room = width - _width(part, widths)
    while room > 0:
        wanting = [i for i, (low, high, wrapable) in enumerate(ranges) if wrapable and widths[i] < high]
        if not wanting:
            break
        share = max(1, room // len(wanting))
        for i in wanting:
            grow = min(share, ranges[i][1] - widths[i], room)
            widths[i] += grow
            room -= grow
    for column, total in zip(part.columns, widths):
        padding = part._get_padding_width(column._index)  # rich's private API
        column.width = max(1, total - padding)


def _subtable(table: Table, indexes: List[int]) -> Table:
    """A copy of ``table`` with only the columns at ``indexes`` (settings and cells kept)."""
    columns = [table.columns[i] for i in indexes]
    part = Table(title=table.title, caption=table.caption, box=table.box,
                 title_style=table.title_style, caption_style=table.caption_style,
                 show_header=table.show_header, show_edge=table.show_edge,
                 header_style=table.header_style, padding=table.padding,
                 pad_edge=table.pad_edge, expand=False, row_styles=table.row_styles,
                 show_lines=table.show_lines, leading=table.leading)
    for column in columns:
        part.columns.append(Column(header=column.header, footer=column.footer,
                                   header_style=column.header_style, style=column.style,
                                   justify=column.justify, vertical=column.vertical,
                                   overflow=column.overflow, width=column.width,
                                   min_width=column.min_width, max_width=column.max_width,
                                   ratio=column.ratio, no_wrap=column.no_wrap,
                                   _cells=list(column._cells)))  # rich's private API
    for index, column in enumerate(part.columns):
        column._index = index  # rich's private API
    part.rows = list(table.rows)
    return part
