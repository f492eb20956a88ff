"""``pytensor``: graph-symbolic differentiation with PyTensor (the engine under PyMC).

1. *Trace*: the function runs once on a symbolic ``pytensor.tensor`` input of x's shape and
   dtype; ``difflab.namespace`` gives :mod:`difflab.namespaces.pytensor_ns`, so the result
   is a graph with sharing (a value used twice is one node), not a tree.
2. *Differentiate* the graph: ``pytensor.grad`` (gradient), ``pytensor.gradient.jacobian``
   (vectorised; the Hessian is the Jacobian of the gradient, as ``pytensor.gradient.hessian``
   builds it), ``pushforward`` (Rop: jvp, and the hvp as Rop of the gradient) and
   ``pullback`` (Lop: vjp).
3. *Compile* once per input shape with ``pytensor.function`` (its graph rewrites, then
   PyTensor's default backend, Numba in PyTensor 3; ``mode="C"``/``"CVM"`` for the C
   backend, ``"JAX"`` where installed) and call.

A compiled PyTensor function keeps its inputs and outputs in storage it owns, so one call at
a time: each evaluator holds a lock, and results are copied out under it. ``if``/``while`` on
a value cannot be traced into a graph: :class:`~difflab.NotSupported` (write ``xp.where``).
"""
from __future__ import annotations

import importlib.util
import threading

import numpy as np

from ..interface import cost
from ..errors import InputError, NotSupported
from ._framework import FrameworkMethod, GraphProgram, gradient_of, import_framework

#: PyTensor modes difflab accepts -> the module each needs beyond PyTensor (None: none).
#: None is PyTensor's default mode: in PyTensor 3 its Numba backend; "C"/"CVM" the C backend.
MODES = {None: None, "FAST_COMPILE": None, "C": None, "CVM": None, "NUMBA": "numba", "JAX": "jax"}
#: PyTensor's rewrites and compilation share caches: one preparation at a time.
_BUILD_LOCK = threading.RLock()


class Pytensor(FrameworkMethod):
    """PyTensor: trace to a graph, ``pytensor.grad`` & co., compile with ``pytensor.function``.

    Options
    -------
    mode : None, "FAST_COMPILE", "C", "CVM", "NUMBA" or "JAX"
        PyTensor's compilation mode; None is PyTensor's default (its rewrites, then Numba in
        PyTensor 3, the C backend before).
    """

    name = "pytensor"
    family = "symbolic"
    library = "pytensor"
    distributions = ("pytensor",)
    modules = ("pytensor",)
    namespace_module = "difflab.namespaces.pytensor_ns"
    options = {"mode": None}
    exact = True
    freezes_closure = True  # closed-over data becomes constants of the compiled graph
    native_how = {"hvp": "pytensor.gradient.pushforward (Rop) of pytensor.grad",
                  "jvp": "pytensor.gradient.pushforward (Rop)",
                  "vjp": "pytensor.gradient.pullback (Lop)",
                  "hessian": "pytensor.gradient.jacobian of pytensor.grad, vectorised"}
    #: tracing and the graph rewrites, then a compilation (Numba's JIT: 1-40 s measured)
    costs = cost.reverse_mode(factor=10.0, overhead=5e-5, first_use=3.0)

    def __init__(self, dtype="float64", **options):
        super().__init__(dtype=dtype, **options)
        mode = self.options["mode"]
        if mode is not None and (not isinstance(mode, str) or mode.upper() not in MODES):
            raise InputError(f"pytensor: mode must be one of "
                             f"{', '.join(str(m) for m in MODES)}, not {mode!r}")
        self.options["mode"] = mode if mode is None else mode.upper()

    def _build(self, kind, function, x):
        with _BUILD_LOCK:
            return super()._build(kind, function, x)

    # ------------------------------------------------------------------ the pipeline
    def _trace(self, function, x, scalar=False):
        """``(input variable, output variable)``: f traced on a symbolic vector like ``x``."""
        pt = import_framework("pytensor.tensor", self.name)
        from ..namespaces.pytensor_ns import constant

        xs = pt.tensor("x", shape=x.shape, dtype=self.dtype.name)
        out = constant(function.fn(xs))
        if out.dtype != self.dtype.name:
            out = pt.cast(out, self.dtype.name)
        if scalar:
            if out.ndim:
                raise InputError(f"the function {function.name} must be scalar-valued, "
                                 f"it returns shape {out.type.shape}")
        else:
            out = out.reshape((-1,))
        return xs, out

    def _vector(self, x, name):
        pt = import_framework("pytensor.tensor", self.name)
        return pt.tensor(name, shape=x.shape, dtype=self.dtype.name)

    def _compile(self, inputs, outputs, unpack, mode=None):
        """``pytensor.function`` of the graph; the evaluator calls it under a lock and copies
        its outputs (a compiled function owns its storage), then ``unpack``s them."""
        pytensor = import_framework("pytensor", self.name)
        if mode is None:
            mode = self.options["mode"]
            needs = MODES[mode]
            if needs is not None and importlib.util.find_spec(needs) is None:
                raise NotSupported(f"mode={mode!r}", self.name, f"{needs} is not installed")
        fn = pytensor.function(inputs, outputs, mode=mode, on_unused_input="ignore")
        lock = threading.Lock()

        def evaluate(*args):
            with lock, np.errstate(all="ignore"):  # a NaN is reported by the boundary
                out = [np.array(o, copy=True) for o in fn(*args)]
            return unpack(out)
        evaluate.compiled = fn  # for describe(), the swell experiment and --show
        return evaluate

    def _grad(self, out, xs):
        import pytensor

        return pytensor.grad(out, xs, disconnected_inputs="ignore")

    def _jacobian(self, out, xs):
        """Vectorised (one batched VJP); PyTensor's scan over the rows where an op of the
        graph has no batched form."""
        import pytensor.gradient

        try:
            return pytensor.gradient.jacobian(out, xs, disconnected_inputs="ignore", vectorize=True)
        except NotImplementedError:
            return pytensor.gradient.jacobian(out, xs, disconnected_inputs="ignore", vectorize=False)

    def _make_value_and_gradient(self, function, x):
        xs, out = self._trace(function, x, scalar=True)
        return self._compile([xs], [out, self._grad(out, xs)], tuple)

    def _make_gradient(self, function, x):
        return gradient_of(self._make_value_and_gradient(function, x), function.name)

    def _make_jacobian(self, function, x):
        xs, out = self._trace(function, x)
        return self._compile([xs], [self._jacobian(out, xs)], lambda o: o[0])

    def _make_hessian(self, function, x):
        xs, out = self._trace(function, x, scalar=True)
        return self._compile([xs], [self._jacobian(self._grad(out, xs), xs)], lambda o: o[0])

    def _make_jvp(self, function, x):
        import pytensor.gradient

        xs, out = self._trace(function, x)
        v = self._vector(x, "v")
        jv = pytensor.gradient.pushforward(out, xs, v, disconnected_outputs="ignore",
                                           return_disconnected="zero")
        return self._compile([xs, v], [jv], lambda o: o[0])

    def _make_vjp(self, function, x):
        import pytensor.gradient

        xs, out = self._trace(function, x)
        pt = import_framework("pytensor.tensor", self.name)
        u = pt.tensor("u", shape=out.type.shape, dtype=self.dtype.name)
        uj = pytensor.gradient.pullback(out, xs, u, disconnected_inputs="ignore")
        evaluate = self._compile([xs, u], [uj], lambda o: o[0])
        return lambda x, u: evaluate(x, np.reshape(u, (-1,)))

    def _make_hvp(self, function, x):
        import pytensor.gradient

        xs, out = self._trace(function, x, scalar=True)
        v = self._vector(x, "v")
        hv = pytensor.gradient.pushforward(self._grad(out, xs), xs, v, disconnected_outputs="ignore",
                                           return_disconnected="zero")
        return self._compile([xs, v], [hv], lambda o: o[0])

    # ------------------------------------------------------------------ reporting
    def gradient_program(self, f, x, compiled=True, mode=None) -> GraphProgram:
        """The gradient of ``f`` alone at inputs like ``x`` (for the swell experiment):
        ``graph_nodes``, the apply nodes of the graph ``pytensor.grad`` builds; with
        ``compiled``, compiled in this method's mode, with the compiled graph's sizes after
        PyTensor's rewrites and its ``debugprint``; ``mode``: a PyTensor ``Mode`` instead
        of this method's (the experiment's rewrites without C compilation)."""
        import dataclasses
        import time

        from ..interface.function import as_function
        from ..namespaces.pytensor_ns import NAMESPACE
        from ..namespaces.view import viewed
        from ..namespaces.precision import computing_in
        from pytensor.graph.traversal import applys_between

        function = as_function(f)
        x = np.asarray(x, dtype=self.dtype)
        start = time.perf_counter()
        with _BUILD_LOCK, computing_in(self.dtype):
            traced = dataclasses.replace(function, fn=viewed(NAMESPACE, function.fn))
            xs, out = self._trace(traced, x, scalar=True)
            grad = self._grad(out, xs)
            graph_nodes = sum(1 for _ in applys_between([xs], [grad]))
            if not compiled:
                return GraphProgram(None, None, None, None, text=_debugprint(grad), graph_nodes=graph_nodes)
            evaluate = self._compile([xs], [grad], lambda o: o[0], mode=mode)
        setup = time.perf_counter() - start
        return GraphProgram(evaluate, setup, *_sizes(evaluate.compiled),
                            text=_debugprint(evaluate.compiled), graph_nodes=graph_nodes)


def _sizes(compiled):
    """(apply nodes, scalar-level nodes) of a compiled PyTensor function's graph."""
    from pytensor.scalar.basic import Composite

    nodes = compiled.maker.fgraph.apply_nodes
    scalar = 0
    for node in nodes:
        inner = getattr(node.op, "scalar_op", None)
        scalar += len(inner.fgraph.apply_nodes) if isinstance(inner, Composite) else 1
    return len(nodes), scalar


def _debugprint(compiled) -> str:
    """PyTensor's ``debugprint`` of a compiled function or a variable, as text."""
    import io

    import pytensor

    out = io.StringIO()
    pytensor.dprint(compiled, file=out, print_op_info=False)
    return out.getvalue()
