"""Reports built from analysis records: rich tables (registered per record type with
:func:`difflab.console.display.render`) and graph pictures."""
from . import report  # noqa: F401 - registers the renderers of the analysis records
