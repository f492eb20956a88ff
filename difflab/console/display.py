"""Records that show themselves: a short ``repr`` in a REPL, the table as ``str()``, an HTML
table in Jupyter, rich's renderable in rich, and plain records for pandas.

A class mixes in :class:`Tabular` and defines ``summary()`` (one line), ``to_records()`` (a
list of dicts) and its table: either a ``rich_table()`` method, or a renderer registered for
its type with :func:`render` (``@render.register``), which lets a record of the analysis
layer be drawn by the reporting layer above it without importing it. Everything else derives
from these, so the REPL, the notebook and the terminal show the same numbers. Jupyter calls
``_repr_html_`` (IPython's display formatter); rich's ``__rich__`` is used only where rich
draws, so no rich extension is needed in a notebook.
"""
from __future__ import annotations

import functools
import html
import importlib

#: The longest ``repr``: a REPL line, not a page.
MAX_REPR = 200


class Tabular:
    """Mixin: ``repr`` from ``summary()``; ``str``, HTML and rich from ``rich_table()``."""

    def summary(self) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def rich_table(self):
        """The record's ``rich.table.Table``: the renderer registered for its type."""
        return render(self)

    def to_records(self) -> list:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{shorten(self.summary(), MAX_REPR - 2)}>"

    def __str__(self) -> str:
        from . import plain_text

        return plain_text(self.rich_table())

    def __rich__(self):
        return self.rich_table()

    def _repr_html_(self) -> str:
        return html_table(self.rich_table())


#: Modules that register renderers for records defined below them, imported on first need.
RENDERER_MODULES = ("difflab.reporting",)


@functools.singledispatch
def render(record):
    """The rich table of ``record``, by the renderer registered for its type.

    Records of the analysis layer (a comparison, say) are drawn by the reporting layer, which
    imports them; they never import their tables. The first record with no renderer loads
    :data:`RENDERER_MODULES` once, which register theirs.
    """
    for name in RENDERER_MODULES:
        importlib.import_module(name)
    implementation = render.dispatch(type(record))
    if implementation is render.registry[object]:
        raise TypeError(f"no renderer is registered for {type(record).__name__}")
    return implementation(record)


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def cell_text(cell) -> str:
    """The plain text of a rich table cell (a str with markup, a Text, anything else)."""
    from rich.text import Text

    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        return Text.from_markup(cell).plain
    return str(cell)


def table_rows(table) -> tuple[list, list]:
    """``(header, rows)`` of a rich Table as plain strings."""
    header = [cell_text(c.header) for c in table.columns]
    columns = [[cell_text(cell) for cell in c.cells] for c in table.columns]
    return header, [list(row) for row in zip(*columns)]


def html_table(table) -> str:
    """A rich Table as an HTML ``<table>``: title as caption, its caption below, text escaped."""
    header, rows = table_rows(table)
    right = {i for i, c in enumerate(table.columns) if c.justify == "right"}

    def cells(tag, values):
        align = ' style="text-align:right"'
        return "".join(f"<{tag}{align if i in right else ''}>{html.escape(v)}</{tag}>"
                       for i, v in enumerate(values))

    parts = ["<table>"]
    if table.title:
        parts.append(f"<caption>{html.escape(cell_text(table.title))}</caption>")
    parts.append(f"<thead><tr>{cells('th', header)}</tr></thead><tbody>")
    parts += [f"<tr>{cells('td', row)}</tr>" for row in rows]
    parts.append("</tbody></table>")
    if table.caption:
        parts.append(f"<p><small>{html.escape(cell_text(table.caption))}</small></p>")
    return "".join(parts)
