"""What the four framework methods share: lazy import, distribution lookup, compute dtype.

Nothing here imports a framework. The methods import theirs inside ``_build`` through
:func:`import_framework`, so ``import difflab``, ``difflab list`` and ``available()`` stay
light. The compute dtype (:mod:`difflab.namespaces.precision`) is set for every method by
:class:`difflab.Derivative`; it is re-exported here for the framework methods.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import importlib.util
import sys
import threading

import numpy as np

from ..interface import cost
from ..interface.boundary import check_finite
from ..interface.differentiator import Differentiator
from ..errors import NotSupported
from ..interface.kinds import VECTOR_KINDS
from ..console.quiet import native_logs_filtered
from ..namespaces.precision import compute_dtype, computing_in, float_dtype_for  # noqa: F401 (re-exported)


def installed_distribution(candidates) -> str | None:
    """The first of ``candidates`` (distribution names) that is installed, from metadata only."""
    for name in candidates:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        return name
    return None


#: Frameworks whose ``first_use`` has run (see import_framework).
_first_used: set = set()
#: Frameworks imported completely by import_framework: returned without a lock from then on.
_ready: set = set()
_import_lock = threading.RLock()


def import_framework(module: str, method: str, kind: str = "derivatives", first_use=None):
    """Import ``module`` or raise NotSupported saying why (not installed, import error).

    The first import, and ``first_use(module)`` after it where given (an operation that
    makes the framework finish loading), run with the framework's native log lines hidden
    (:mod:`difflab.console.quiet`). Safe from several threads: the first import runs under a lock,
    and a module is handed out without it only once that import has finished (a module in
    ``sys.modules`` may still be initialising in another thread: handed out then, it had no
    ``jax.value_and_grad`` yet).
    """
    key = (module, first_use is not None)
    if key in _ready:
        return sys.modules[module]
    with _import_lock:
        if key in _ready:
            return sys.modules[module]
        try:
            with native_logs_filtered():
                loaded = importlib.import_module(module)
                if first_use is not None and module not in _first_used:
                    first_use(loaded)
                    _first_used.add(module)
        except ImportError as exc:
            raise NotSupported(kind, method, f"importing {module} failed: {exc}") from None
        _ready.add(key)
        return loaded


def gradient_of(value_and_gradient, name: str):
    """The gradient half of a compiled value-and-gradient (the graph methods compile both in
    one function), refusing a non-finite f(x) as every gradient does."""
    from ..interface.boundary import check_finite

    def gradient(x):
        value, grad = value_and_gradient(x)
        check_finite(value, name)
        return grad
    gradient.compiled = value_and_gradient.compiled
    return gradient


@dataclasses.dataclass
class GraphProgram:
    """A graph-symbolic method's compiled gradient and its size (the swell experiment):
    ``nodes`` (PyTensor: apply nodes after its rewrites; CasADi: ``Function.n_nodes``),
    ``scalar_nodes`` (PyTensor: a fused elementwise node counted by the scalar operations
    inside it; CasADi: the same as ``nodes``), ``graph_nodes`` (PyTensor: the graph
    ``pytensor.grad`` builds, before rewrites), the preparation's seconds, and ``text``
    (PyTensor's ``debugprint``, CasADi's printed expression)."""

    evaluate: object
    setup_seconds: float | None
    nodes: int | None
    scalar_nodes: int | None
    text: str = ""
    graph_nodes: int | None = None


class FrameworkMethod(Differentiator):
    """Base of the framework methods: metadata-only availability, one ``_build`` per kind.

    Subclasses set ``modules`` (the top-level modules that must be importable) and
    ``distributions`` (candidate distribution names, first installed wins) and implement
    ``_make_<kind>(function, x)`` for each native kind.
    """

    family = "automatic"
    native = frozenset({"gradient", "value_and_gradient", "jacobian", "hessian", "jvp", "vjp", "hvp"})
    modules: tuple = ()
    distributions: tuple = ()
    #: per-operation dispatch (about 1 ms a call at small n, measured 6 to 60 evaluations'
    #: time for torch and autograd on rosenbrock) and the first import as setup
    costs = cost.reverse_mode(factor=60.0, overhead=1e-3, first_use=3.0)
    #: The module of the namespace whose views user code sees (difflab.namespaces.view), if any.
    namespace_module: str | None = None

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        if installed_distribution(cls.distributions) is None:
            first, *others = cls.distributions
            return False, f"{first} is not installed" + (f" (nor {', '.join(others)})" if others else "")
        for module in cls.modules:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                return False, f"{module} is installed as a distribution but cannot be found on sys.path"
        return True, ""

    @classmethod
    def version(cls) -> str | None:
        name = installed_distribution(cls.distributions)
        return importlib.metadata.version(name) if name else None

    def _build(self, kind, function, x):
        ok, reason = self.availability()
        if not ok:
            raise NotSupported(kind, self.name, reason)
        maker = getattr(self, f"_make_{kind}", None)
        if maker is None:
            raise NotSupported(kind, self.name)
        evaluate = maker(self._viewing(function), x)
        # Warm-up: tracing, graph building and compilation land in Derivative.setup_seconds.
        probe = [x] if kind not in VECTOR_KINDS else [x, self._probe_vector(kind, function, x)]
        evaluate(*probe)
        return evaluate

    def _viewing(self, function):
        """``function`` called with the framework's tensors as views (NumPy's indexing and
        array methods, :mod:`difflab.namespaces.view`), its output unwrapped."""
        if self.namespace_module is None or not self.availability()[0]:
            return function  # (an absent framework is refused where the derivative is built)
        from ..namespaces.view import viewed

        namespace = importlib.import_module(self.namespace_module).NAMESPACE
        return dataclasses.replace(function, fn=viewed(namespace, function.fn))

    def _vectorised(self, kind, function, x):
        return self._vectorise(kind, self._viewing(function), x)

    def _vectorise(self, kind, function, x):
        """An evaluator of ``kind`` at a batch of points (see Differentiator._vectorised)."""

    def _make_gradient(self, function, x):
        """The gradient from ``value_and_gradient``: every framework computes f(x) on the way,
        so a non-finite value at x is refused (difflab.interface.boundary) at no extra cost."""
        value_and_gradient = self._make_value_and_gradient(function, x)
        dtype = self.dtype

        def gradient(x):
            value, grad = value_and_gradient(x)
            check_finite(value, function.name)
            if (type(grad) is not np.ndarray or grad.dtype != dtype or grad.shape != x.shape
                    or not grad.flags.writeable):  # a framework's read-only buffer (jax): copied
                grad = np.array(grad, dtype=dtype).reshape(x.shape)
            return grad
        # a new, writable array of the method's dtype and x's shape: the Derivative may hand
        # it out as it is, without its general path's copy
        gradient.returns_fresh = True
        return gradient

    def _probe_vector(self, kind, function, x):
        if kind in ("jvp", "hvp"):
            return np.ones_like(x)
        with computing_in(self.dtype):
            m = int(np.size(np.asarray(function(x))))
        return np.ones(m, dtype=self.dtype) if m != 1 else np.ones((), dtype=self.dtype)
