"""``autograd``: HIPS autograd behind the common interface.

Every kind is autograd's own operator: ``value_and_grad`` (for the gradient too, so that
f(x) is checked), ``jacobian``, ``hessian`` (forward over reverse), ``make_jvp`` (forward
mode), ``make_vjp``, and the Hessian-vector product as ``make_jvp`` of ``grad`` (forward
over reverse). autograd
traces the function anew on every call (there is nothing to compile), so the warm-up call
in ``_build`` only imports autograd and checks the function runs.
"""
from __future__ import annotations

import numpy as np

from ._framework import FrameworkMethod, computing_in, import_framework


class Autograd(FrameworkMethod):
    """HIPS autograd: boxes over NumPy arrays, reverse mode and forward mode.

    float32 computes in float32: the input is a float32 array, Python constants are weak
    scalars under NumPy 2, and ``xp.asarray`` brings float data in as float32.
    """

    name = "autograd"
    library = "autograd"
    distributions = ("autograd",)
    namespace_module = "difflab.namespaces.autograd_ns"
    modules = ("autograd",)
    native_how = {"hvp": "autograd make_jvp of grad (forward over reverse)"}

    def _operators(self):
        return import_framework("autograd", self.name)

    def _call(self, op):
        dtype = self.dtype

        def evaluate(*args):
            with computing_in(dtype):
                return op(*args)
        return evaluate

    def _make_value_and_gradient(self, function, x):
        vg = self._operators().value_and_grad(function.fn)
        return self._call(lambda x: tuple(np.asarray(r) for r in vg(x)))

    def _make_jacobian(self, function, x):
        jac = self._operators().jacobian(function.fn)
        return self._call(lambda x: np.asarray(jac(x)))

    def _make_hessian(self, function, x):
        hess = self._operators().hessian(function.fn)
        return self._call(lambda x: np.asarray(hess(x)))

    def _make_jvp(self, function, x):
        make_jvp = self._operators().make_jvp(function.fn)
        return self._call(lambda x, v: np.asarray(make_jvp(x)(v)[1]))

    def _make_hvp(self, function, x):
        ag = self._operators()
        make_jvp = ag.make_jvp(ag.grad(function.fn))
        return self._call(lambda x, v: np.asarray(make_jvp(x)(v)[1]))

    def _make_vjp(self, function, x):
        make_vjp = self._operators().make_vjp(function.fn)

        def vjp(x, u):
            pullback, value = make_vjp(x)
            return np.asarray(pullback(np.reshape(u, np.shape(value)).astype(x.dtype)))
        return self._call(vjp)
