"""The brazing residual-stress table (27 finite-element runs), shipped as package data.

The least-squares, Gauss-Newton and Newton studies fit it; :mod:`nets.datasets` re-exports it
for the networks. Nothing is downloaded.
"""
from __future__ import annotations

import csv
from importlib import resources

import numpy as np

BRAZING_FEATURES = ("filler_thickness_um", "brazing_temperature_c", "holding_time_min",
                    "cooling_rate_c_per_min")
BRAZING_TARGETS = ("max_residual_stress_mpa", "path1_max_residual_stress_mpa",
                   "path2_max_residual_stress_mpa")


def load_brazing(target: str = "max_residual_stress_mpa", standardize: bool = False):
    """The brazing residual-stress table (27 FE runs): ``(X (27, 4), y (27,))``.

    With ``standardize=True`` each input column is centred and scaled to unit variance;
    the raw inputs differ in scale by about 300x, which makes plain gradient descent crawl.
    """
    if target not in BRAZING_TARGETS:
        raise ValueError(f"unknown brazing target {target!r}; choose from {', '.join(BRAZING_TARGETS)}")
    text = resources.files("difflab.solvers").joinpath("data/brazing_residual_stress.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    X = np.array([[float(r[c]) for c in BRAZING_FEATURES] for r in rows])
    y = np.array([float(r[target]) for r in rows])
    if standardize:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, y
