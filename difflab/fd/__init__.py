"""Finite differences, in the layout of numdifftools and ``scipy.differentiate``.

- :mod:`.stencils`: the coefficient tables and each stencil's error model;
- :mod:`.steps`: the ``"auto"`` step rule (error-optimal for the stencil, scaled to x) and
  exactly representable steps;
- :mod:`.richardson`: extrapolation over a sequence of steps, with an error estimate;
- :mod:`.core`: applying a stencil to a black-box function (gradients, Jacobians, JVPs,
  Hessians as the stencil applied twice), counting evaluations.

The methods ``fd-forward``, ``fd-central``, ``fd-five-point``, ``fd-complex`` and
``fd-richardson`` (:mod:`difflab.backends.finite_differences`) are thin adapters over these.
"""
from .core import FDEstimate
from .stencils import CENTRAL, FIVE_POINT, FORWARD, STENCILS, Stencil

__all__ = ["FDEstimate", "Stencil", "STENCILS", "FORWARD", "CENTRAL", "FIVE_POINT"]
