"""Solvers that take any differentiator: least squares, gradient descent, Newton, Gauss-Newton.

>>> from difflab import solvers
>>> res = solvers.newton(lambda w: (w[0] + 1.0) ** 2, [5.0], differentiator="reverse")
>>> res.x, res.nit
(array([-1.]), 1)

Every solver takes ``differentiator=`` (a registry name or a Differentiator), prepares the
derivatives it needs once, and returns an :class:`OptimizeResult` with honest evaluation
counts; not converging is ``success=False`` with the reason, never an exception.
"""
from .gauss_newton import gauss_newton
from .gradient_descent import data_gradient_descent, gradient_descent
from .least_squares import least_squares
from .newton import newton, newton_root
from .peers import scipy_least_squares, scipy_minimize
from .problems import PROBLEMS, Problem
from .result import OptimizeResult
from .schedules import constant, exponential_decay, inverse_time_decay, step_decay

__all__ = ["OptimizeResult", "least_squares", "gradient_descent", "data_gradient_descent",
           "newton", "newton_root", "gauss_newton", "scipy_minimize", "scipy_least_squares", "Problem", "PROBLEMS",
           "constant", "exponential_decay", "step_decay", "inverse_time_decay"]
