"""The precision a difflab evaluation computes in, for data a function brings in itself.

A function closes over data (weights, targets) as float64 NumPy arrays and brings it in with
``xp.asarray(data)``. Under ``difflab.get(name, dtype="float32")`` that data must not
promote the computation back to float64, or the float32 figures would be float64 figures in
disguise. Every evaluation therefore runs inside :func:`computing_in`, and every namespace's
``asarray``/``zeros``/``ones`` give float data the dtype :func:`float_dtype_for` names.
Outside an evaluation nothing changes: ``xp.asarray`` keeps the data's own dtype.

The oracle's mpmath digits are another matter: mpmath's working precision is one setting for
the whole process, so :func:`mpmath_digits` sets it for one thread at a time.
"""
from __future__ import annotations

import contextlib
import contextvars
import threading

import numpy as np

_COMPUTE_DTYPE: contextvars.ContextVar = contextvars.ContextVar("difflab_compute_dtype", default=None)


def compute_dtype():
    """The float dtype of the difflab evaluation now running (``np.float64``/``np.float32``),
    or None outside one."""
    return _COMPUTE_DTYPE.get()


@contextlib.contextmanager
def computing_in(dtype):
    """Within the block, namespaces bring float data in as ``dtype``."""
    token = _COMPUTE_DTYPE.set(np.dtype(dtype))
    try:
        yield
    finally:
        _COMPUTE_DTYPE.reset(token)


def float_dtype_for(data, default=None, integers=False):
    """The dtype ``asarray`` should give ``data``: the compute dtype for real floats, else None
    (integers, booleans, complex and object data keep their own).

    With ``integers=True`` integer data takes the compute dtype too, during an evaluation:
    for namespaces whose operators do not promote an integer operand meeting a float one
    as NumPy does (TensorFlow's operators, PyTorch's ``@``), bringing it in as floats is
    NumPy's promotion done in advance.
    """
    dtype = getattr(data, "dtype", None)
    try:
        kind = np.asarray(data).dtype.kind if dtype is None else np.dtype(dtype).kind
    except TypeError:  # a framework dtype NumPy does not know
        return None
    if kind == "f" or (integers and kind in "iu"):
        return compute_dtype() or default
    return None


def zeros(shape) -> np.ndarray:
    """NumPy zeros at the evaluation's precision (float64 outside one)."""
    return np.zeros(shape, dtype=compute_dtype() or np.float64)


def ones(shape) -> np.ndarray:
    """NumPy ones at the evaluation's precision (float64 outside one)."""
    return np.ones(shape, dtype=compute_dtype() or np.float64)


_MPMATH_LOCK = threading.RLock()


@contextlib.contextmanager
def mpmath_digits(digits):
    """``mpmath.workdps(digits)`` for one thread at a time.

    mpmath's precision (``mpmath.mp``) is process-wide, not per thread: two threads in
    ``workdps`` at once compute with each other's digits, and the first to leave puts back
    what it found (15 digits) under the other's feet, silently. The lock is re-entrant (an
    oracle inside an oracle); a function that waits inside it for another thread's oracle
    would wait for ever.
    """
    import mpmath

    with _MPMATH_LOCK, mpmath.workdps(digits):
        yield
