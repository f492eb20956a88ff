"""``torch``: PyTorch's ``torch.func`` transforms behind the common interface.

``grad_and_value`` (for the gradient too, so that f(x) is checked), ``jacrev``, ``hessian``
(``jacfwd`` over ``jacrev``), ``jvp`` (forward-mode AD with dual tensors), ``vjp``, and the
Hessian-vector product as ``jvp`` of ``grad``. The function sees plain tensors wrapped by
the transforms and computes through :mod:`difflab.namespaces.torch_ns`.

``jacfwd`` vectorises the function with ``vmap``, which cannot follow Python control flow
on tensor values; where the function has such control flow the Hessian falls back to
``jacrev`` over ``jacrev`` (no ``vmap`` around the function) and ``describe()`` says so.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..errors import InputError
from ._framework import FrameworkMethod, computing_in, import_framework


class Torch(FrameworkMethod):
    """PyTorch (``torch.func``), CPU tensors of the method's dtype.

    Options
    -------
    jacobian : {"reverse", "forward"}
        ``torch.func.jacrev`` (one VJP per output, vectorised) or ``jacfwd``.
    """

    name = "torch"
    library = "torch"
    distributions = ("torch",)
    modules = ("torch",)
    options = {"jacobian": "reverse"}
    native_how = {"hvp": "torch.func.jvp of torch.func.grad (forward over reverse)"}

    def __init__(self, dtype="float64", **options):
        super().__init__(dtype=dtype, **options)
        if self.options["jacobian"] not in ("reverse", "forward"):
            raise InputError(f"torch: jacobian must be 'reverse' or 'forward', not {self.options['jacobian']!r}")
        self.hessian_fallbacks: set = set()

    def _build(self, kind, function, x):
        with warnings.catch_warnings():
            # torch's forward-mode AD scripts its decompositions on first use, with torch's own
            # deprecation notice for torch.jit.script: nothing the user wrote or can change.
            warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated",
                                    category=DeprecationWarning)
            return super()._build(kind, function, x)

    def _func(self):
        torch = import_framework("torch", self.name)
        return torch, torch.func

    def _call(self, op):
        """Run ``op`` on tensors made from the NumPy inputs; NumPy arrays come back."""
        torch, _ = self._func()
        dtype = self.dtype

        def evaluate(*args):
            with computing_in(dtype):
                out = op(*(torch.from_numpy(np.ascontiguousarray(a)) for a in args))
            if isinstance(out, tuple):
                return tuple(_numpy(o) for o in out)
            return _numpy(out)
        return evaluate

    def _make_value_and_gradient(self, function, x):
        _, func = self._func()
        gv = func.grad_and_value(function.fn)
        return self._call(lambda x: tuple(reversed(gv(x))))

    def _make_jacobian(self, function, x):
        _, func = self._func()
        jac = func.jacrev if self.options["jacobian"] == "reverse" else func.jacfwd
        return self._call(jac(function.fn))

    def _make_hessian(self, function, x):
        _, func = self._func()
        evaluate = self._call(func.hessian(function.fn))
        try:
            evaluate(x)
        except RuntimeError as exc:
            if "data-dependent control flow" not in str(exc) and "vmap" not in str(exc):
                raise
            self.hessian_fallbacks.add(function.name)
            evaluate = self._call(func.jacrev(func.jacrev(function.fn)))
        return evaluate

    def _make_jvp(self, function, x):
        _, func = self._func()
        return self._call(lambda x, v: func.jvp(function.fn, (x,), (v,))[1])

    def _make_hvp(self, function, x):
        _, func = self._func()
        grad = func.grad(function.fn)
        return self._call(lambda x, v: func.jvp(grad, (x,), (v,))[1])

    def _make_vjp(self, function, x):
        _, func = self._func()

        def vjp(x, u):
            value, pullback = func.vjp(function.fn, x)
            return pullback(u.reshape(value.shape).to(value.dtype))[0]
        return self._call(vjp)

    def describe(self) -> dict:
        out = super().describe()
        if self.hessian_fallbacks:
            out["kinds"]["hessian"] = ("native (jacrev over jacrev for functions with control flow: "
                                       + ", ".join(sorted(self.hessian_fallbacks)) + ")")
        return out


def _numpy(t):
    return t.detach().cpu().numpy().copy() if hasattr(t, "detach") else np.array(t, copy=True)
