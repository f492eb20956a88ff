"""``tensorflow``: ``tf.GradientTape`` and ``tf.autodiff.ForwardAccumulator`` behind the interface.

- gradient, value_and_gradient, vjp: one ``GradientTape`` (``output_gradients`` for the VJP);
- jacobian: ``tape.jacobian`` (vectorised with ``pfor``; with ``pfor=False`` a *persistent*
  tape runs one backward pass per output in a ``while_loop``);
- hessian: nested tapes, ``outer.jacobian(inner.gradient(y, x), x)``;
- jvp: ``tf.autodiff.ForwardAccumulator`` (true forward mode);
- hvp: a ``ForwardAccumulator`` over a ``GradientTape`` (forward over reverse).

The function computes through :mod:`difflab.namespaces.tensorflow_ns`, its input a view of
the tensor (:mod:`difflab.namespaces.view`) with NumPy's indexing, array methods and ``@``
(vectors included); TensorFlow's own classes are left as they are. With ``jit=True`` each
derivative is a ``tf.function`` with a fixed input signature, traced into a graph in ``_build`` (so the time lands in
``setup_seconds``); ``jit="xla"`` also compiles with XLA.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import types

import numpy as np

from ..interface import cost
from ..errors import InputError, NotSupported
from ._framework import FrameworkMethod, computing_in, import_framework, installed_distribution

#: Distributions that install the ``tensorflow`` module, in the order difflab looks for them.
TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel",
                            "tf-nightly", "tf-nightly-cpu")


def _first_operation(tf) -> None:
    """One small op: TensorFlow logs its oneDNN notice when its kernels first load."""
    tf.constant(0.0, dtype=tf.float64) + 0.0


class TensorFlow(FrameworkMethod):
    """TensorFlow 2 (eager by default), tensors of the method's dtype.

    Options
    -------
    jit : {False, True, "xla"}
        Wrap each derivative in ``tf.function`` (graph mode), optionally XLA-compiled.
    pfor : bool
        Vectorise ``tape.jacobian`` (default) or loop over outputs with a persistent tape.
    device : str
        ``"CPU:0"`` (default), ``"GPU:0"``, ... (``"cpu"``/``"gpu"`` for the first); results
        come back as NumPy on the host. A device this machine lacks is an InputError.
    """

    name = "tensorflow"
    costs = cost.reverse_mode(factor=60.0, overhead=3e-3, first_use=8.0)  # a slow first import
    library = installed_distribution(TENSORFLOW_DISTRIBUTIONS) or "tensorflow"
    distributions = TENSORFLOW_DISTRIBUTIONS
    namespace_module = "difflab.namespaces.tensorflow_ns"
    modules = ("tensorflow",)
    options = {"jit": False, "pfor": True, "device": "CPU:0"}
    vmap_name = "tf.vectorized_map"
    native_how = {"hvp": "ForwardAccumulator over GradientTape (forward over reverse)"}

    def __init__(self, dtype="float64", **options):
        super().__init__(dtype=dtype, **options)
        if self.options["jit"] not in (False, True, "xla"):
            raise InputError(f"tensorflow: jit must be False, True or 'xla', not {self.options['jit']!r}")

    @property
    def freezes_closure(self) -> bool:
        """Compiled (``jit``), closed-over data become constants of the graph; eager reads it live."""
        return bool(self.options["jit"])

    def _tf(self):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ banner quiet
        tf = import_framework("tensorflow", self.name, first_use=_first_operation)
        logger = tf.get_logger()
        if not any(isinstance(f, _QuietAutographOnImportlib) for f in logger.filters):
            logger.addFilter(_QuietAutographOnImportlib())
        return tf

    def _device(self, tf) -> str:
        """The TensorFlow device name asked for, or InputError when this machine lacks it."""
        name = str(self.options["device"]).upper().lstrip("/").replace("DEVICE:", "")
        name = name if ":" in name else f"{name}:0"
        present = [d.name.replace("/device:", "") for d in tf.config.list_logical_devices()]
        if name not in present:
            raise InputError(f"tensorflow: device {self.options['device']!r} does not exist on this machine "
                             f"(present: {', '.join(present)}); use device='CPU:0'")
        return name

    def _call(self, op, x, n_vectors=0, vector_shape=None, copy=True, graphs=True):
        """Evaluate ``op`` on tensors made from the NumPy inputs (graph-compiled if ``jit``),
        on the method's device.

        AutoGraph's ``float()``/``int()`` are replaced (:func:`_conversions_refused`, a lock
        and a process-wide table) only while a graph may be traced: every call of an ``op``
        that builds graphs eagerly (``graphs``: ``tape.jacobian``'s pfor), and under ``jit``
        until the first call has traced the one graph of the fixed signature. ``copy=False``
        where the result goes through ``Derivative._finish``, which copies it anyway."""
        tf = self._tf()
        device = self._device(tf)
        dtype = self.dtype
        tf_dtype = tf.as_dtype(dtype)
        jit = bool(self.options["jit"])
        if jit:
            signature = [tf.TensorSpec(x.shape, tf_dtype)]
            signature += [tf.TensorSpec(vector_shape, tf_dtype)] * n_vectors
            op = tf.function(op, input_signature=signature, jit_compile=self.options["jit"] == "xla",
                             reduce_retracing=True)
        untraced = [jit or graphs]  # a graph may still be traced
        out_of = _copied if copy else np.asarray
        constant = tf.constant

        def evaluate(x, *vectors):
            if vector_shape is not None:
                vectors = [np.reshape(v, vector_shape) for v in vectors]
            guard = _conversions_refused() if untraced[0] else contextlib.nullcontext()
            with computing_in(dtype), guard, tf.device(device):
                try:
                    out = op(*(constant(a, dtype=tf_dtype) for a in (x, *vectors)))
                except Exception as exc:  # AutoGraph re-raises difflab's own errors wrapped
                    own = _difflab_error(exc)
                    if own is None:
                        raise
                    raise own from None
            if jit:
                untraced[0] = False  # traced for the one signature: no more tracing
            if isinstance(out, tuple):
                return tuple(out_of(o) for o in out)
            return out_of(out)
        return evaluate

    @staticmethod
    def _gradient(tf, function, x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = function.fn(x)
        return y, tape.gradient(y, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    def _make_value_and_gradient(self, function, x):
        tf = self._tf()
        return self._call(lambda x: self._gradient(tf, function, x), x, copy=False, graphs=False)

    def _vectorise(self, kind, function, x):
        """``tf.vectorized_map`` of one tape per point, for gradients; Jacobians and Hessians
        of a batch loop (None). NotSupported (so: a loop) where the function has Python control
        flow on tensor values, which a vectorised graph cannot follow."""
        if kind not in ("gradient", "value_and_gradient"):
            return None
        tf = self._tf()
        batch = types.SimpleNamespace(shape=(None, x.size))  # jit: any number of points
        evaluate = self._call(lambda X: tf.vectorized_map(lambda x: self._gradient(tf, function, x), X), batch)

        def batched(X):
            try:
                return evaluate(X)
            except (TypeError, ValueError) as exc:  # OperatorNotAllowedInGraphError is a TypeError
                if "Python `bool`" not in str(exc) and "graph" not in str(exc):
                    raise
                raise NotSupported("batched", self.name, f"tf.vectorized_map cannot follow "
                                   f"{function.name}: {type(exc).__name__}") from None
        return batched

    def _make_jacobian(self, function, x):
        tf = self._tf()
        pfor = self.options["pfor"]

        def jacobian(x):
            with tf.GradientTape(persistent=not pfor) as tape:
                tape.watch(x)
                y = function.fn(x)
            return tape.jacobian(y, x, experimental_use_pfor=pfor,
                                 unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return self._call(jacobian, x)

    def _make_hessian(self, function, x):
        tf = self._tf()
        pfor = self.options["pfor"]

        def hessian(x):
            with tf.GradientTape(persistent=not pfor) as outer:
                outer.watch(x)
                _, g = self._gradient(tf, function, x)
            return outer.jacobian(g, x, experimental_use_pfor=pfor,
                                  unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return self._call(hessian, x)

    def _make_jvp(self, function, x):
        tf = self._tf()

        def jvp(x, v):
            with tf.autodiff.ForwardAccumulator(primals=x, tangents=v) as acc:
                y = function.fn(x)
            return acc.jvp(y, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return self._call(jvp, x, 1, x.shape)

    def _make_hvp(self, function, x):
        tf = self._tf()

        def hvp(x, v):
            with tf.autodiff.ForwardAccumulator(primals=x, tangents=v) as acc:
                _, g = self._gradient(tf, function, x)
            return acc.jvp(g, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return self._call(hvp, x, 1, x.shape)

    def _make_vjp(self, function, x):
        tf = self._tf()
        with computing_in(self.dtype):
            out_shape = np.shape(np.asarray(function.fn(x)))

        def vjp(x, u):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = function.fn(x)
            return tape.gradient(y, x, output_gradients=tf.reshape(u, tf.shape(y)),
                                 unconnected_gradients=tf.UnconnectedGradients.ZERO)
        # u arrives as the output's size, flat, or as a 0-d array for scalar outputs.
        size = int(np.prod(out_shape))
        return self._call(vjp, x, 1, (size,) if out_shape else ())


def _difflab_error(exc):
    """difflab's own error (NotSupported, InputError) that AutoGraph re-raised as a
    StagingError while tracing a ``tf.function``, else None."""
    from ..errors import NotSupported

    seen = exc
    while seen is not None:
        if isinstance(seen, (NotSupported, InputError)) and seen is not exc:
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


#: Threads evaluating now (``.depth``), and the AutoGraph builtins installed while any does.
_evaluating = threading.local()
_installed = {"depth": 0, "original": {}}
_install_lock = threading.Lock()


def _float(x=0):
    """AutoGraph's ``float()`` inside ``tf.function``, except in a thread difflab evaluates:
    there a tensor is refused as Python refuses it outside AutoGraph (difflab.interface.boundary then
    names the conversion), instead of AutoGraph's silent cast to float32."""
    if getattr(_evaluating, "depth", 0) and hasattr(x, "dtype") and hasattr(x, "graph"):
        raise TypeError(f"float() argument must be a string or a real number, not '{type(x).__name__}'")
    return _installed["original"]["float"](x)


def _int(x=0, *args):
    """AutoGraph's ``int()``, refused as :func:`_float` is for a floating tensor (a cast to
    int32 of a value of x); a decision (``int(x[0] > 0)``) stays AutoGraph's."""
    if (getattr(_evaluating, "depth", 0) and hasattr(x, "graph")
            and getattr(getattr(x, "dtype", None), "is_floating", False)):
        raise TypeError(f"int() argument must be a string, a bytes-like object or a real number, "
                        f"not '{type(x).__name__}'")
    return _installed["original"]["int"](x, *args)


@contextlib.contextmanager
def _conversions_refused():
    """``float()``/``int()`` of a traced tensor refused under AutoGraph in this thread while
    difflab evaluates here (AutoGraph would cast silently).

    AutoGraph's table of builtins is process-wide: the first evaluation to start installs
    :func:`_float`/:func:`_int` and the last to finish puts AutoGraph's back, under a lock with
    a count; in a thread that is not evaluating they call AutoGraph's own.
    """
    try:  # AutoGraph's table of builtins (internal): absent, float() stays AutoGraph's cast
        from tensorflow.python.autograph.operators import py_builtins
        builtins = py_builtins.BUILTIN_FUNCTIONS_MAP
    except (ImportError, AttributeError):
        builtins = {}
    overloads = [(n, o) for n, o in (("float", _float), ("int", _int)) if n in builtins]
    with _install_lock:
        if _installed["depth"] == 0:
            for name, overload in overloads:
                _installed["original"][name] = builtins[name]
                builtins[name] = overload
        _installed["depth"] += 1
    _evaluating.depth = getattr(_evaluating, "depth", 0) + 1
    try:
        yield
    finally:
        _evaluating.depth -= 1
        with _install_lock:
            _installed["depth"] -= 1
            if _installed["depth"] == 0:
                for name, _ in overloads:
                    builtins[name] = _installed["original"][name]


class _QuietAutographOnImportlib(logging.Filter):
    """Drop two TensorFlow warnings about its own internals, not about the user's code.

    - AutoGraph cannot convert ``importlib`` internals (frozen, no source), which
      ``difflab.namespace`` uses to find a namespace module; it runs them as they are, rightly.
    - Eager ``tape.jacobian`` wraps its ``pfor`` loop in a new ``tf.function`` on every call
      and then warns about retracing; that cost is TensorFlow's eager Jacobian, documented
      in docs/frameworks.md (``jit=True`` traces once).
    """

    def filter(self, record):
        message = record.getMessage()
        return "_gcd_import" not in message and "pfor.<locals>" not in message


def _copied(t):
    return np.array(t, copy=True)
