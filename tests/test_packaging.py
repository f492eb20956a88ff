"""What installing difflab puts on a user's path: only names difflab owns."""
import importlib.metadata
import os
import pathlib
import subprocess
import sys

import pytest

OWN = {"difflab", "difflab_experiments", "nets"}
ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_the_distribution_installs_only_its_own_top_level_names():
    top = set((importlib.metadata.distribution("difflab").read_text("top_level.txt") or "").split())
    assert top == OWN  # no "experiments", which would hide a user's own experiments/ folder


def test_experiments_is_not_importable_outside_the_repository(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ("import importlib.util, difflab_experiments.records; "
            "print(importlib.util.find_spec('experiments'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "None"


def test_the_package_list_names_every_package_folder():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {**{name: name for name in ("difflab", "nets")}, **config["package-dir"]}
    found = set()
    for package, folder in folders.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *parts)))
    assert set(config["packages"]) == found
