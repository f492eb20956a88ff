"""``casadi``: graph-symbolic differentiation with CasADi (optimal control's workhorse).

1. *Trace*: the function runs once on a NumPy object array of CasADi scalars, the entries
   of ``SX.sym("x", n)`` (``graph="sx"``, scalar expression graphs, the default) or of
   ``MX.sym("x", n)`` (``graph="mx"``, CasADi's matrix graph, here with scalar nodes: the
   namespace works entry by entry); :mod:`difflab.namespaces.casadi_ns` computes with
   CasADi's functions, ``where`` being ``casadi.if_else``.
2. *Differentiate*: ``casadi.gradient``, ``casadi.jacobian``, ``casadi.hessian`` and
   ``casadi.jtimes`` (J v forward, J^T u reverse; the hvp is ``jtimes`` of the gradient).
3. *Compile* into one ``casadi.Function`` (a graph CasADi evaluates in its virtual machine),
   called with NumPy arrays; CasADi computes in double precision, so ``dtype="float32"``
   rounds its results to float32 at the boundary (as ``sympy``'s lambdified NumPy code).

``describe()`` reports the graph type and the node count (``Function.n_nodes``) of every
derivative prepared. An ``if`` on a value has no truth value in a graph: NotSupported.
"""
from __future__ import annotations

import threading

import numpy as np

from ..interface import cost
from ..errors import InputError, NotSupported
from ._framework import FrameworkMethod, GraphProgram, gradient_of, import_framework

GRAPHS = ("sx", "mx")


class Casadi(FrameworkMethod):
    """CasADi: trace to SX (or MX) expressions, differentiate, call a ``casadi.Function``.

    Options
    -------
    graph : {"sx", "mx"}
        CasADi's scalar expression graph (SX, the default) or its matrix graph (MX).
    """

    name = "casadi"
    family = "symbolic"
    library = "casadi"
    distributions = ("casadi",)
    modules = ("casadi",)
    options = {"graph": "sx"}
    exact = True
    freezes_closure = True  # closed-over data becomes constants of the expression graph
    native_how = {"hvp": "casadi.jtimes of casadi.gradient", "jvp": "casadi.jtimes (forward)",
                  "vjp": "casadi.jtimes (transposed, reverse)", "hessian": "casadi.hessian"}
    #: tracing is Python work per scalar operation; a call is CasADi's virtual machine
    costs = cost.reverse_mode(factor=10.0, overhead=2e-5, first_use=0.5)

    def __init__(self, dtype="float64", **options):
        super().__init__(dtype=dtype, **options)
        if self.options["graph"] not in GRAPHS:
            raise InputError(f"casadi: graph must be 'sx' or 'mx', not {self.options['graph']!r}")
        self.nodes: dict = {}  # (function name, kind, n) -> n_nodes of its casadi.Function
        self._nodes_lock = threading.Lock()

    # ------------------------------------------------------------------ the pipeline
    def _symbol_type(self):
        casadi = import_framework("casadi", self.name)
        return casadi.SX if self.options["graph"] == "sx" else casadi.MX

    def _trace(self, function, x, scalar=False):
        """``(input symbol, output column)``: f on the entries of a symbolic vector like x."""
        casadi = import_framework("casadi", self.name)
        from ..namespaces.casadi_ns import as_casadi, objects

        sym = self._symbol_type()
        xs = sym.sym("x", x.size)
        entries = np.empty(x.size, dtype=object)
        entries[:] = casadi.vertsplit(xs)
        try:
            with np.errstate(all="ignore"):  # constants folded by Python: a NaN is reported per call
                out = function.fn(as_casadi(entries.reshape(x.shape)))
        except RuntimeError as exc:
            if "truth value" not in str(exc):
                raise
            raise NotSupported("data-dependent control flow", self.name,
                               f"{function.name} branches on a value of x (an if, while, and/or "
                               "or == test on a CasADi expression, which has no truth value); "
                               "write it with xp.where (casadi.if_else), or use AD or finite "
                               "differences") from None
        flat = np.asarray(objects(out), dtype=object).reshape(-1)
        if scalar and flat.size != 1:
            raise InputError(f"the function {function.name} must be scalar-valued, "
                             f"it has {flat.size} outputs")
        column = casadi.vertcat(*[e if isinstance(e, sym) else sym(float(e)) for e in flat])
        return xs, column

    def _compile(self, function, kind, inputs, outputs, unpack):
        """One ``casadi.Function``; its calls take a lock (one evaluation at a time)."""
        casadi = import_framework("casadi", self.name)
        fn = casadi.Function(f"d_{kind}", inputs, outputs)
        with self._nodes_lock:
            self.nodes[(function.name, kind, int(inputs[0].shape[0]))] = int(fn.n_nodes())
        lock = threading.Lock()

        def evaluate(*args):
            args = [np.asarray(a, dtype=np.float64).reshape(-1) for a in args]
            with lock:
                out = fn(*args)
            out = out if isinstance(out, tuple) else (out,)
            return unpack([np.asarray(o.full() if hasattr(o, "full") else o) for o in out])
        evaluate.compiled = fn
        return evaluate

    def _make_value_and_gradient(self, function, x):
        casadi = import_framework("casadi", self.name)
        xs, out = self._trace(function, x, scalar=True)
        return self._compile(function, "value_and_gradient", [xs], [out, casadi.gradient(out, xs)],
                             lambda o: (o[0].reshape(()), o[1].reshape(-1)))

    def _make_gradient(self, function, x):
        return gradient_of(self._make_value_and_gradient(function, x), function.name)

    def _make_jacobian(self, function, x):
        casadi = import_framework("casadi", self.name)
        xs, out = self._trace(function, x)
        return self._compile(function, "jacobian", [xs], [casadi.jacobian(out, xs)], lambda o: o[0])

    def _make_hessian(self, function, x):
        casadi = import_framework("casadi", self.name)
        xs, out = self._trace(function, x, scalar=True)
        hessian, _ = casadi.hessian(out, xs)
        return self._compile(function, "hessian", [xs], [hessian], lambda o: o[0])

    def _make_jvp(self, function, x):
        casadi = import_framework("casadi", self.name)
        xs, out = self._trace(function, x)
        v = self._symbol_type().sym("v", x.size)
        return self._compile(function, "jvp", [xs, v], [casadi.jtimes(out, xs, v)],
                             lambda o: o[0].reshape(-1))

    def _make_vjp(self, function, x):
        casadi = import_framework("casadi", self.name)
        xs, out = self._trace(function, x)
        u = self._symbol_type().sym("u", out.shape[0])
        return self._compile(function, "vjp", [xs, u], [casadi.jtimes(out, xs, u, True)],
                             lambda o: o[0].reshape(-1))

    def _make_hvp(self, function, x):
        casadi = import_framework("casadi", self.name)
        xs, out = self._trace(function, x, scalar=True)
        v = self._symbol_type().sym("v", x.size)
        hv = casadi.jtimes(casadi.gradient(out, xs), xs, v)
        return self._compile(function, "hvp", [xs, v], [hv], lambda o: o[0].reshape(-1))

    # ------------------------------------------------------------------ reporting
    def gradient_program(self, f, x) -> GraphProgram:
        """The gradient of ``f`` alone at inputs like ``x`` as one ``casadi.Function``, with
        its ``n_nodes`` and printed expression (for the swell experiment)."""
        import time

        from ..interface.function import as_function
        from ..namespaces.precision import computing_in

        casadi = import_framework("casadi", self.name)
        function = as_function(f)
        x = np.asarray(x, dtype=np.float64)
        start = time.perf_counter()
        with computing_in(self.dtype):
            xs, out = self._trace(function, x, scalar=True)
            gradient = casadi.gradient(out, xs)
            evaluate = self._compile(function, "gradient", [xs], [gradient], lambda o: o[0].reshape(-1))
        setup = time.perf_counter() - start
        nodes = int(evaluate.compiled.n_nodes())
        return GraphProgram(evaluate, setup, nodes, nodes, str(gradient))

    def describe(self) -> dict:
        out = super().describe()
        with self._nodes_lock:
            nodes = {f"{name} {kind} n={n}": count for (name, kind, n), count in self.nodes.items()}
        out["graph"] = {"type": self.options["graph"].upper(), "n_nodes": nodes}
        return out
