"""What installing difflab puts on a user's path: only names difflab owns."""
import importlib.metadata
import os
import subprocess
import sys

OWN = {"difflab", "difflab_experiments", "difflab_pytest", "nets"}


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
