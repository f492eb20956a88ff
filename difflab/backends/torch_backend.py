"""``torch``: PyTorch's autograd and ``torch.func`` transforms behind the common interface.

``torch.autograd.grad`` for the value and gradient (the value too, so that f(x) is checked;
plain autograd is the cheapest route, see ``_make_value_and_gradient``), ``jacrev``, ``hessian``
(``jacfwd`` over ``jacrev``), ``jvp`` (forward-mode AD with dual tensors), ``vjp``, and the
Hessian-vector product as ``jvp`` of ``grad``. The function sees plain tensors wrapped by
the transforms, each as a view with NumPy's indexing and array methods
(:mod:`difflab.namespaces.view`), and computes through :mod:`difflab.namespaces.torch_ns`.

``jacfwd`` vectorises the function with ``vmap``, which cannot follow Python control flow
on tensor values; where the function has such control flow the Hessian falls back to
``jacrev`` over ``jacrev`` (no ``vmap`` around the function) and ``describe()`` says so.
"""
from __future__ import annotations

import threading
import warnings

import numpy as np

from ..errors import InputError, NotSupported
from ._framework import FrameworkMethod, computing_in, import_framework


#: Serialises torch's preparations (see Torch._build).
_BUILD_LOCK = threading.RLock()


class Torch(FrameworkMethod):
    """PyTorch (``torch.func``), CPU tensors of the method's dtype.

    Options
    -------
    jacobian : {"reverse", "forward"}
        ``torch.func.jacrev`` (one VJP per output, vectorised) or ``jacfwd``.
    device : str
        Where tensors live: ``"cpu"`` (default), ``"cuda"``, ``"cuda:1"``, ``"mps"``; results
        come back as NumPy on the host. A device this machine lacks is an InputError.
    """

    name = "torch"
    library = "torch"
    distributions = ("torch",)
    namespace_module = "difflab.namespaces.torch_ns"
    modules = ("torch",)
    options = {"jacobian": "reverse", "device": "cpu"}
    vmap_name = "torch.func.vmap"
    native_how = {"hvp": "torch.func.jvp of torch.func.grad (forward over reverse)"}

    def __init__(self, dtype="float64", **options):
        super().__init__(dtype=dtype, **options)
        if self.options["jacobian"] not in ("reverse", "forward"):
            raise InputError(f"torch: jacobian must be 'reverse' or 'forward', not {self.options['jacobian']!r}")
        if not isinstance(self.options["device"], str):
            raise InputError(f"torch: device must be a string such as 'cpu' or 'cuda', not {self.options['device']!r}")
        self.hessian_fallbacks: set = set()

    def _build(self, kind, function, x):
        # warnings' filters are process-wide and catch_warnings is not thread-safe (two at once
        # can leave the filter installed for good): one torch preparation at a time
        with _BUILD_LOCK, warnings.catch_warnings():
            # torch's forward-mode AD scripts its decompositions on first use, with torch's own
            # deprecation notice for torch.jit.script: nothing the user wrote or can change.
            warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated",
                                    category=DeprecationWarning)
            return super()._build(kind, function, x)

    def _func(self):
        torch = import_framework("torch", self.name)
        return torch, torch.func

    def _device(self):
        """The torch device asked for, or InputError when this machine does not have it."""
        torch, _ = self._func()
        name = self.options["device"]
        try:
            device = torch.device(name)
        except RuntimeError as exc:
            raise InputError(f"torch: unknown device {name!r} ({exc}); use 'cpu', 'cuda' or 'cuda:N'") from None
        if device.type == "cpu":
            return device
        backend = getattr(torch, device.type, None) if device.type != "mps" else torch.backends.mps
        available = bool(backend is not None and backend.is_available())
        count = backend.device_count() if available and hasattr(backend, "device_count") else 1
        if not available or (device.index or 0) >= count:
            raise InputError(f"torch: device {name!r} does not exist on this machine "
                             f"(torch.{device.type}.is_available() is {available}"
                             + (f", {count} device(s)" if available else "") + "); use device='cpu'")
        return device

    def _call(self, op, copy=True):
        """Run ``op`` on tensors made from the NumPy inputs, on the method's device (factory
        calls such as ``xp.asarray(data)`` land there too); NumPy arrays come back.

        On the CPU with no torch function mode active (so the default device is the CPU, and
        factory calls land there already) the device context is left out: it routes every
        torch call through a Python ``__torch_function__`` (60-100 us a call of rosenbrock at
        n = 10). ``copy=False`` where the result goes through ``Derivative._finish``, which
        copies it anyway."""
        torch, _ = self._func()
        dtype = self.dtype
        device = self._device()
        on_cpu = device.type == "cpu"
        modes = torch._C._len_torch_function_stack
        out_of = _numpy if copy else _numpy_view

        def evaluate(*args):
            tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in args]
            with computing_in(dtype):
                if on_cpu and not modes():
                    out = op(*tensors)
                else:
                    with device:
                        out = op(*(t.to(device) for t in tensors))
            if isinstance(out, tuple):
                return tuple(out_of(o) for o in out)
            return out_of(out)
        return evaluate

    def _make_value_and_gradient(self, function, x):
        """``torch.autograd.grad`` on a leaf tensor, not ``torch.func.grad_and_value``: the
        same gradient without functorch's wrapping of every tensor (2.7x the call at n = 10,
        1.4x at 1e5, measured on rosenbrock). A value that does not depend on x (a constant)
        has the zero gradient, as under ``torch.func``."""
        torch, _ = self._func()
        fn = function.fn

        def value_and_gradient(x):
            x = x.detach().requires_grad_(True)
            if torch.is_grad_enabled():
                y = fn(x)
            else:  # called under torch.no_grad(): the gradient is still asked for
                with torch.enable_grad():
                    y = fn(x)
            if not (isinstance(y, torch.Tensor) and y.requires_grad):
                return (y.detach() if isinstance(y, torch.Tensor) else y), torch.zeros_like(x)
            (grad,) = torch.autograd.grad(y, x, allow_unused=True)
            return y.detach(), (torch.zeros_like(x) if grad is None else grad)
        return self._call(value_and_gradient, copy=False)

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

    def _vectorise(self, kind, function, x):
        """``torch.func.vmap`` over the points; NotSupported (so: a loop) where the function
        has control flow on tensor values, which vmap cannot follow."""
        _, func = self._func()
        per_point = {
            "gradient": lambda x: tuple(reversed(func.grad_and_value(function.fn)(x))),
            "value_and_gradient": lambda x: tuple(reversed(func.grad_and_value(function.fn)(x))),
            "jacobian": (func.jacrev if self.options["jacobian"] == "reverse" else func.jacfwd)(function.fn),
            "hessian": func.hessian(function.fn),
        }[kind]
        evaluate = self._call(func.vmap(per_point))

        def batched(X):
            try:
                return evaluate(X)
            except RuntimeError as exc:
                if "data-dependent control flow" not in str(exc) and "vmap" not in str(exc):
                    raise
                raise NotSupported("batched", self.name, f"vmap cannot follow {function.name}: {exc}") from None
        return batched

    def describe(self) -> dict:
        out = super().describe()
        if self.hessian_fallbacks:
            out["kinds"]["hessian"] = ("native (jacrev over jacrev for functions with control flow: "
                                       + ", ".join(sorted(self.hessian_fallbacks)) + ")")
        return out


def _numpy(t):
    return t.detach().cpu().numpy().copy() if hasattr(t, "detach") else np.array(t, copy=True)


def _numpy_view(t):
    """``t`` as NumPy without a copy (its memory, kept alive by the array)."""
    if not hasattr(t, "detach"):
        return np.asarray(t)
    t = t.detach()
    return (t if t.is_cpu else t.cpu()).numpy()
