"""The one progress display of every long run (compare and its oracle, check, fuzz, the
experiments, nets training), built on :mod:`rich.progress`: a description, the bar, done/total
and the elapsed time, on stderr (``difflab.console.error_console``) so that stdout stays the
table or the JSON. rich loads on first use, never at ``import difflab``."""
from __future__ import annotations


def progress_bar(description: str = "{task.description:<16}", *, logs: bool = False,
                 transient: bool = True, only_on_terminal: bool = True, progress_class=None):
    """A :class:`rich.progress.Progress` (not started: use it as a context manager).

    Parameters
    ----------
    description : str
        The template of the first column (rich markup and ``task`` fields allowed).
    logs : bool
        Add a last column with the task's ``logs`` field, folded on narrow terminals; the
        other columns are then never wrapped or cropped, and the bar is 20 cells wide.
    transient : bool
        Erase the bars when done.
    only_on_terminal : bool
        Draw nothing when stderr is not interactive (a pipe, a CI log).
    progress_class : type, optional
        A subclass of ``Progress`` (one that renders more below the bars, say).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Column

    from . import error_console, is_interactive

    def whole():  # never cropped to "…": the logs fold instead
        return {"table_column": Column(no_wrap=True, overflow="ignore")} if logs else {}

    columns = [TextColumn(description, **whole()), BarColumn(bar_width=20 if logs else 40, **whole()),
               MofNCompleteColumn(**whole()), TimeElapsedColumn(**whole())]
    if logs:
        columns.append(TextColumn("{task.fields[logs]}", table_column=Column(overflow="fold", ratio=1)))
    return (progress_class or Progress)(*columns, console=error_console, transient=transient,
                                        disable=only_on_terminal and not is_interactive())
