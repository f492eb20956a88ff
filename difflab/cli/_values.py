"""Moved: the argparse types live in :mod:`difflab.cli.validators`."""
from .validators import number  # noqa: F401
