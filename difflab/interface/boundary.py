"""The contract at the interface boundary, checked in one place for every method.

What goes in: ``x`` is a non-empty 1-D array of finite real numbers. A value traced by
another differentiation (a framework tensor, a JAX tracer, an autograd box, a SymPy symbol,
one of difflab's own duals or tape nodes) is not data: only difflab's own engines can
differentiate through a difflab derivative, and every other pairing is refused here, so
that no method silently treats a traced value as a constant and returns a zero.

What ``f`` must give back: numbers, finite at ``x``, a single number for the kinds that need
a scalar function. :class:`difflab.Derivative` checks ``f(x)`` when it prepares, whenever a
derivative comes out non-finite, and wherever a method computes ``f(x)`` anyway; the
messages are written here once, so every method says the same thing.
"""
from __future__ import annotations

import math
import re

import numpy as np

from ..errors import InputError, NotSupported, derivative_not_finite, not_finite, not_scalar  # noqa: F401 - the boundary's messages
from .kinds import SCALAR_KINDS

#: dtype kinds of a function value that are numbers (integers and reals).
_NUMBER_KINDS = frozenset("iuf")


# ---------------------------------------------------------------------- what goes in
def check_x(x, dtype) -> np.ndarray:
    """``x`` as a 1-D array of ``dtype``, or :class:`InputError` saying what is wrong."""
    if type(x) is np.ndarray and x.dtype == dtype and x.ndim == 1 and x.size:
        if math.isfinite(np.dot(x, x)) or np.isfinite(x).all():  # the common case, on every call
            return x
        raise not_finite_input("x")
    if _is_complex(x):
        raise InputError("x must be real: write a function of complex z on Re z and Im z "
                         "as separate real inputs (docs/frameworks.md, Complex inputs); "
                         "fd-complex cannot differentiate through a difflab derivative")
    return check_point(x, dtype, "x", empty="x is empty: a derivative needs at least one input")


def check_point(x, dtype=np.float64, what: str = "the point", *, flat: bool = True,
                empty: str | None = None) -> np.ndarray:
    """``x`` as a non-empty finite array of ``dtype`` (a number as one element; 1-D unless
    ``flat`` is false), or the :class:`InputError` naming ``what`` is wrong: the one point
    validator of the derivatives, compare, the oracle, the trace, the solvers and the CLI.
    ``empty`` replaces the message for an empty array."""
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be {'a 1-D array of ' if flat else ''}numbers: {exc}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if flat and arr.ndim != 1:
        raise InputError(f"{what} must be a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(empty or f"{what} must be a non-empty array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise not_finite_input(what)
    return arr


def not_finite_input(what: str) -> InputError:
    """The one error for given numbers holding NaN or infinity (x, a point, a direction)."""
    return InputError(f"{what} must be finite: it contains NaN or infinity")


def traced(x, vectors=()):
    """The namespace of a traced or foreign value among ``x`` and ``vectors``, else None.

    Plain data (NumPy numbers, Python numbers and lists of them, mpmath numbers) is None;
    so is complex data, which :func:`check_x` refuses with its own reason;
    anything ``difflab.namespace`` gives another namespace for is a value some
    differentiation may be tracing.
    """
    if type(x) is np.ndarray and x.dtype.kind in "fiu" and all(
            type(v) is np.ndarray and v.dtype.kind in "fiu" for v in vectors):
        return None  # the common case first: this runs on every call
    from ..namespaces import COMPLEX_STEP, MPMATH, NUMPY, namespace

    plain = (NUMPY, MPMATH, COMPLEX_STEP)  # complex data: check_x says why it is refused

    for a in (x, *vectors):
        if type(a) is np.ndarray and a.dtype.kind in "fiubc":
            continue
        ns = namespace(*a) if isinstance(a, (list, tuple)) and a else namespace(a)
        if all(ns is not p for p in plain):
            return ns
    return None


def refused_trace(derivative, ns) -> InputError:
    """The error for a derivative called on a value another differentiation traces."""
    from ..ad.traced import ADNamespace

    what = f"{derivative.kind} by {derivative.differentiator.name}"
    if isinstance(ns, ADNamespace):
        return InputError(
            f"{what} was called on a value traced by difflab's {ns.name.split('-')[-1]} mode: "
            f"only difflab's forward and reverse derivatives can be differentiated by difflab's "
            f"engines; differentiate the whole function with one method (its hessian, say) instead")
    return InputError(
        f"{what} was called on a {ns.name} value: a difflab derivative takes NumPy arrays and "
        f"cannot be differentiated by {ns.name}; differentiate the whole function with one "
        f"method (its hessian, say), or pass a NumPy array outside any differentiation")


# ---------------------------------------------------------------------- what comes out

def check_value(value, kind: str, name: str) -> np.ndarray:
    """``f(x)`` as an array of finite numbers (one for a scalar kind), else InputError."""
    if value is None or isinstance(value, (str, bytes)):
        raise InputError(f"{name} returned {_describe(value)}, not numbers")
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 (any object NumPy cannot turn into an array)
        raise InputError(f"{name} returned {_describe(value)}, not numbers") from None
    if arr.dtype.kind not in _NUMBER_KINDS:
        if arr.dtype.kind == "c":
            raise InputError(f"{name} returned complex values at a real x; difflab differentiates "
                             "real-valued functions")
        raise InputError(f"{name} returned {_describe(value)}, not numbers")
    if kind in SCALAR_KINDS and arr.size != 1:
        raise not_scalar(kind, name, arr.shape)
    if not np.all(np.isfinite(arr)):
        raise not_finite(name)
    return arr


def as_output(fn, scalar: bool):
    """``fn`` as every method sees it, so that all follow one rule for what f returns: a
    Python number is a constant (zero derivatives), a list
    or tuple of numbers is the vector that stacks them (in f's namespace), and for a scalar
    kind a one-element output (shape (1,) or (1, 1), a one-element list) is the scalar it
    holds; a larger output is left for :func:`check_value` to refuse (:func:`not_scalar`)."""
    import functools

    return functools.partial(_output_call, fn, scalar)


def _output_call(fn, scalar, x, *args):
    out = fn(x, *args)
    kind = type(out)
    if kind is np.ndarray or kind is np.float64:  # the common case first: it runs per evaluation
        if scalar and out.ndim and out.size == 1:
            return out.reshape(())
        return out
    if kind is float or kind is int:  # a constant: in a traced x's namespace, as a float
        return out if type(x) is np.ndarray else _namespace(x).asarray(float(out))
    if (kind is list or kind is tuple) and out:
        if scalar and len(out) == 1:
            out = out[0]
        else:
            ns = _namespace(x, *out)  # constants among the items follow x
            out = ns.stack([ns.asarray(item) for item in out])
    shape = getattr(out, "shape", None)
    if scalar and shape is not None and len(shape) and all(s == 1 for s in shape):
        out = _namespace(out).reshape(out, ())
    return out


def _namespace(*arrays):
    from ..namespaces import namespace

    return namespace(*arrays)


def check_finite(value, name: str) -> None:
    """A scalar ``f(x)`` a method computed anyway: refuse NaN and infinity (cheap)."""
    if getattr(value, "ndim", 0) == 0:
        try:
            finite = math.isfinite(value)  # floats, NumPy scalars and 0-d arrays, traced values
        except TypeError:
            finite = None
        if finite is True:
            return
        if finite is False:
            raise not_finite(name)
    check_value(_plain(value), "jacobian", name)  # anything else: the general check


def scalar_in(value, dtype):
    """A scalar result (the value of ``value_and_gradient``, the Hessian of a scalar) in the
    method's dtype: a Python float for float64, as always, and a NumPy scalar of the dtype
    otherwise (``np.float32``), so that float32 work returns float32 results throughout."""
    number = np.real(np.asarray(value)).reshape(())
    if np.dtype(dtype) == np.float64:
        return float(number)
    return np.dtype(dtype).type(number)


def _plain(value):
    from ..ad.traced import strip

    return strip(value)


def _describe(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, (str, bytes)):
        return f"a string ({value[:20]!r})"
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "b":
            return "booleans"
        if value.dtype.kind == "O" and value.size:
            return f"an array of {type(value.flat[0]).__name__}"
    return f"a value of type {type(value).__name__}"


def _is_complex(x):
    try:
        return np.iscomplexobj(x)
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------- plain NumPy functions
#: What NumPy (or a framework, asked by NumPy for an array) raises on a traced value.
_NUMPY_ON_TRACED = ("does not support ufuncs", "loop of ufunc does not support argument",
                    "Can't call numpy() on Tensor that requires grad",
                    "Cannot access data pointer of Tensor", "to a numpy array",
                    "__array__() was called on traced array")


def guarded(fn, method: str, name: str):
    """``fn`` for a method that traces it: a function written with NumPy instead of
    ``difflab.namespace`` is refused with :func:`plain_numpy` instead of failing deep inside
    the method or, where NumPy turns the traced value into numbers, giving a zero derivative."""
    import functools

    return functools.partial(_guarded_call, fn, method, name)


def _guarded_call(fn, method, name, x, *args):
    conversions = _conversions()
    before = conversions()
    try:
        out = fn(x, *args)
    except (TypeError, RuntimeError, AttributeError, NotImplementedError, ValueError) as exc:
        text = str(exc)
        conversion = _conversion(exc, text)
        if conversion and not _is_data(x):
            raise conversion_refused(method, name, conversion) from None
        if not _is_data(x) and (type(exc).__name__ == "TracerArrayConversionError"
                                or any(t in text for t in _NUMPY_ON_TRACED)
                                or ("unsupported operand" in text and "'numpy." in text)):
            raise plain_numpy(method, name) from None
        raise
    if _numpy_numbers(out) and not _is_data(x) and not _constant(x, conversions() - before):
        raise plain_numpy(method, name)
    return out


def _conversions():
    """``difflab.ad.traced.conversions``, imported once: an import statement in a function
    runs the import machinery on every call (9 us, a third of the guard's cost per call)."""
    global _conversions_counter
    if _conversions_counter is None:
        from ..ad.traced import conversions

        _conversions_counter = conversions
    return _conversions_counter


_conversions_counter = None


def _constant(x, converted) -> bool:
    """Plain numbers from a traced ``x`` that no conversion could have made: f is a constant
    (``xp.cos(1.018)``), whose derivatives are zeros. Only where every silent conversion of a
    traced value is seen: difflab's engines count theirs, autograd's boxes refuse them;
    NumPy turns a TensorFlow tensor into numbers unseen, but TensorFlow, torch and JAX give
    their own tensors for a constant, so plain numbers there still mean NumPy was used."""
    if converted:
        return False
    from ..ad.traced import Traced
    from ..namespaces.view import unview

    item = unview(x[0] if isinstance(x, (list, tuple)) and x else x)  # a framework's view: its tensor
    return isinstance(item, Traced) or type(item).__module__.startswith("autograd")


#: How the frameworks say that Python's float() or int() met a value they trace.
_CONVERSION_TEXT = re.compile(
    r"^(?P<a>float|int)\(\) argument must be .*not '(?!NoneType'|list'|tuple'|dict'|str'|set')\w+'"
    r"|The problem arose with the `(?P<b>float|int)` function"
    r"|^Cannot convert (?:expression|symbols) to (?P<c>float|int)", re.MULTILINE)


def _conversion(exc, text) -> str:
    """``"float()"`` or ``"int()"`` when ``exc`` is a framework refusing that conversion."""
    if type(exc).__name__ == "TracerIntegerConversionError":
        return "int()"
    match = _CONVERSION_TEXT.search(text)
    if match is None:
        return ""
    return f"{match.group('a') or match.group('b') or match.group('c')}()"


def conversion_refused(method, name, conversion):
    """The one refusal, for every method that cannot, of ``float()``/``int()`` of a traced value."""
    return NotSupported(
        "conversion of a traced value to a Python number", method,
        f"{name} calls {conversion} on a value computed from x, a data-dependent conversion that "
        f"{method} cannot follow while it traces; keep the value an array, or use forward, "
        f"reverse, torch or eager tensorflow, which follow it and treat the number as a "
        f"constant (no derivative flows through it)")


def plain_numpy(method, name):
    from ..errors import NotSupported

    return NotSupported("functions written with NumPy", method,
                        f"{name} calls NumPy (np.sin, np.sum, ...) on the value {method} traces, or "
                        f"mixes it with NumPy arrays; port it: xp = difflab.namespace(x), then xp.sin, "
                        f"xp.sum, ... and xp.asarray(data) (the numeric methods fd-* take it as it is)")


def _is_data(x):
    return isinstance(x, (float, int, np.number)) or (isinstance(x, np.ndarray) and x.dtype.kind in "fiuc")


def _numpy_numbers(out):
    """NumPy's own numbers, which no traced computation returns (a Python float is a constant)."""
    return isinstance(out, np.floating) or (isinstance(out, np.ndarray) and out.dtype.kind in "fiu")
