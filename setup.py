"""Package discovery that pyproject.toml cannot express (everything else is in pyproject.toml).

The repository's ``experiments/`` folder installs as ``difflab_experiments``: a top-level
package named ``experiments`` in site-packages would hide a user's own ``experiments/``
folder. ``find_namespace_packages`` (what ``packages.find`` does in pyproject.toml) keeps
new subpackages of difflab and nets included without a list to maintain; ``difflab*`` also
matches ``difflab_pytest``, the pytest plugin.
"""
from setuptools import find_namespace_packages, setup

setup(packages=find_namespace_packages(include=["difflab*", "nets*"]) + ["difflab_experiments"],
      package_dir={"difflab_experiments": "experiments"})
