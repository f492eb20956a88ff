"""``jax``: ``jax.grad`` and friends behind the common interface, in 64-bit.

``value_and_grad`` (for the gradient too, so that f(x) is checked), ``jacrev`` (or
``jacfwd``), ``hessian`` (``jacfwd`` over ``jacrev``), ``jvp``, ``vjp``, and the
Hessian-vector product as ``jvp`` of ``grad``. The function computes through
:mod:`difflab.namespaces.jax_ns`.

64-bit without touching the user's settings: tracing and every call run inside JAX's
thread-local ``enable_x64`` context manager (``jax.enable_x64`` in current JAX,
``jax.experimental.enable_x64`` in older releases), so ``jax.config.jax_enable_x64`` keeps
whatever value the user gave it. Only a JAX with neither falls back to flipping the global
flag, and says so in ``describe()``. float32 runs with 64-bit types disabled, as JAX's default.

With ``jit=True`` each derivative is ``jax.jit``-compiled in ``_build`` (one warm-up call),
so compile time lands in ``setup_seconds``; without it JAX dispatches op by op.
"""
from __future__ import annotations

import contextlib

import numpy as np

from ..errors import InputError, NotSupported
from ._framework import FrameworkMethod, computing_in, import_framework


class Jax(FrameworkMethod):
    """JAX on CPU, float64 through a local ``enable_x64`` context.

    Options
    -------
    jit : bool
        ``jax.jit`` each derivative (compiled once per input shape, during setup).
    jacobian : {"reverse", "forward"}
        ``jax.jacrev`` or ``jax.jacfwd``.
    device : str
        ``"cpu"`` (default), ``"gpu"`` or ``"tpu"``, with ``":N"`` for the N-th such device;
        results come back as NumPy on the host. A device this machine lacks is an InputError.
    """

    name = "jax"
    library = "jax"
    distributions = ("jax",)
    namespace_module = "difflab.namespaces.jax_ns"
    modules = ("jax", "jaxlib")
    options = {"jit": False, "jacobian": "reverse", "device": "cpu"}
    vmap_name = "jax.vmap"
    native_how = {"hvp": "jax.jvp of jax.grad (forward over reverse)"}

    def __init__(self, dtype="float64", **options):
        super().__init__(dtype=dtype, **options)
        if self.options["jacobian"] not in ("reverse", "forward"):
            raise InputError(f"jax: jacobian must be 'reverse' or 'forward', not {self.options['jacobian']!r}")
        if not isinstance(self.options["device"], str):
            raise InputError(f"jax: device must be a string such as 'cpu' or 'gpu', not {self.options['device']!r}")
        self.x64_mode = None

    @property
    def freezes_closure(self) -> bool:
        """Compiled (``jit``), closed-over data become constants of the graph; eager reads it live."""
        return bool(self.options["jit"])

    def _jax(self):
        return import_framework("jax", self.name)

    def _x64(self):
        """A context manager giving 64-bit types (or not, for float32) to this thread only."""
        jax = self._jax()
        want = self.dtype == np.float64
        manager = getattr(jax, "enable_x64", None)  # a config State usable as a context manager
        if manager is not None and callable(manager):
            self.x64_mode = "jax.enable_x64 context manager (thread-local)"
            return manager(want)
        try:
            from jax.experimental import disable_x64, enable_x64
        except ImportError:  # no local switch: the global flag is the only way left
            self.x64_mode = "jax.config.update('jax_enable_x64', True) (global: this JAX has no local switch)"
            jax.config.update("jax_enable_x64", True)
            return contextlib.nullcontext()
        self.x64_mode = "jax.experimental.enable_x64 context manager (thread-local)"
        return enable_x64() if want else disable_x64()

    def _device(self):
        """The JAX device asked for, or InputError when this machine does not have it."""
        jax = self._jax()
        name = self.options["device"]
        platform, _, index = name.lower().partition(":")
        platform = {"cuda": "gpu", "rocm": "gpu"}.get(platform, platform)
        try:
            devices = jax.devices(platform)
        except RuntimeError as exc:
            raise InputError(f"jax: device {name!r} does not exist on this machine ({str(exc).splitlines()[0]}); "
                             f"use device='cpu' (here: {', '.join(sorted({d.platform for d in jax.devices()}))})") from None
        if not index.isdigit() and index:
            raise InputError(f"jax: device {name!r}: write 'gpu' or 'gpu:N'")
        if int(index or 0) >= len(devices):
            raise InputError(f"jax: device {name!r} does not exist: this machine has {len(devices)} {platform} device(s)")
        return devices[int(index or 0)]

    def _call(self, op, copy=True):
        """Evaluate ``op`` on the NumPy inputs inside the x64 context (jit-compiled if asked),
        on the method's device. What does not change between calls (the x64 switch, whether
        a device context is needed) is found here, once; ``copy=False`` where the result goes
        through ``Derivative._finish``, which copies it anyway."""
        jax = self._jax()
        dtype = self.dtype
        device = self._device()
        jit = bool(self.options["jit"])
        if jit:
            op = jax.jit(op)
        x64 = self._x64_switch()
        out_of = _copied if copy else np.asarray
        concretization = jax.errors.ConcretizationTypeError

        def evaluate(*args):
            with x64(), computing_in(dtype), jax.default_device(device):
                try:
                    out = op(*args)
                except concretization as exc:
                    if not jit:
                        raise
                    raise NotSupported("Python control flow on traced values", "jax (jit=True)",
                                       f"jax.jit traces without values; use jit=False or lax.cond/"
                                       f"while_loop ({type(exc).__name__})") from None
                if isinstance(out, tuple):
                    return tuple(out_of(o) for o in out)
                return out_of(out)
        return evaluate

    def _x64_switch(self):
        """A callable giving :meth:`_x64`'s context manager, with the lookups done once."""
        self._x64()  # records x64_mode, and flips the global flag where that is the only way
        jax = self._jax()
        want = self.dtype == np.float64
        manager = getattr(jax, "enable_x64", None)
        if manager is not None and callable(manager):
            return lambda: manager(want)
        return self._x64

    def _make_value_and_gradient(self, function, x):
        return self._call(self._jax().value_and_grad(function.fn), copy=False)

    def _make_jacobian(self, function, x):
        jax = self._jax()
        jac = jax.jacrev if self.options["jacobian"] == "reverse" else jax.jacfwd
        return self._call(jac(function.fn))

    def _make_hessian(self, function, x):
        return self._call(self._jax().hessian(function.fn))

    def _make_jvp(self, function, x):
        jax = self._jax()
        return self._call(lambda x, v: jax.jvp(function.fn, (x,), (v,))[1])

    def _make_hvp(self, function, x):
        jax = self._jax()
        grad = jax.grad(function.fn)
        return self._call(lambda x, v: jax.jvp(grad, (x,), (v,))[1])

    def _make_vjp(self, function, x):
        jax = self._jax()

        def vjp(x, u):
            value, pullback = jax.vjp(function.fn, x)
            return pullback(u.reshape(value.shape).astype(value.dtype))[0]
        return self._call(vjp)

    def _vectorise(self, kind, function, x):
        """``jax.vmap`` over the points; NotSupported (so: a loop) where the function has
        Python control flow on traced values, which vmap cannot follow."""
        jax = self._jax()
        jac = jax.jacrev if self.options["jacobian"] == "reverse" else jax.jacfwd
        per_point = {"gradient": jax.value_and_grad, "value_and_gradient": jax.value_and_grad,
                     "jacobian": jac, "hessian": jax.hessian}[kind](function.fn)
        evaluate = self._call(jax.vmap(per_point))

        def batched(X):
            try:
                return evaluate(X)
            except jax.errors.ConcretizationTypeError as exc:
                raise NotSupported("batched", self.name, f"vmap cannot follow {function.name}: "
                                   f"{type(exc).__name__}") from None
        return batched

    def describe(self) -> dict:
        out = super().describe()
        out["x64"] = self.x64_mode or "jax.enable_x64 context, chosen when first used"
        return out


def _copied(a):
    return np.array(a, copy=True)
