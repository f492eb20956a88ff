"""Gradient descent: plain, with momentum and a learning-rate schedule, and the data-driven
variant (batch, mini-batch, stochastic) for losses that are means over samples."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..interface.function import Function
from ._common import Counted, Run, finite, positive, solver_dtype
from .schedules import make_schedule
from ..console.wording import count


def gradient_descent(f, x0, differentiator="reverse", learning_rate: float = 0.1, schedule=None,
                     momentum: float = 0.0, max_iter: int = 1000, tol: float = 1e-8, dtype="float64"):
    """Minimise ``f`` by ``x <- x - lr_k * grad f(x)`` (heavy-ball momentum optional).

    Parameters
    ----------
    f : callable or Function
        ``f: R^n -> R`` written against ``difflab.namespace``.
    x0 : array_like
    differentiator : str or Differentiator
        Gives the gradient (``difflab.get(name).gradient(f)``, prepared once).
    learning_rate : float
        The step; with ``schedule`` the schedule's starting rate.
    schedule : None, str or callable
        ``epoch -> lr`` (see :mod:`difflab.solvers.schedules`); epoch k is the k-th step.
    momentum : float
        Heavy-ball coefficient in [0, 1): ``v <- momentum v - lr g; x <- x + v``.
    max_iter : int
    tol : float
        Stop when ``||grad f(x)||_2 <= tol``.
    dtype : {"float64", "float32"}
        The iterates' precision: with ``"float32"`` x, the gradient (the differentiator computes
        in float32) and the update ``x - lr g`` (lr rounded to float32) are float32, as a
        float32 TensorFlow loop would have them.

    Returns
    -------
    OptimizeResult
        ``success=False`` with the reason when ``max_iter`` runs out or the iterates diverge.
    """
    momentum = _momentum(momentum)
    max_iter, tol = _iterations(max_iter), positive("tol", tol)
    lr = make_schedule(schedule, positive("learning_rate", learning_rate))
    run = Run("gradient descent", f, x0, differentiator, dtype=dtype)
    run.info["learning_rate"] = lr(0)
    x = run.x0
    fx = run.first_value()
    grad = run.prepare("gradient")
    run.record(x, fx)
    velocity = np.zeros_like(x)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(max_iter + 1):
            g = grad(x)
            gnorm = float(np.linalg.norm(g))
            if not finite(g):
                return run.result(x, fx, k, False, f"the gradient is not finite at step {k}")
            if gnorm <= tol:
                return run.result(x, fx, k, True, f"gradient norm {gnorm:.2e} <= tol {tol:g} after {count(k, 'step')}",
                                  grad_norm=gnorm)
            if k == max_iter:
                return run.result(x, fx, k, False, f"max_iter ({max_iter}) reached with gradient norm "
                                  f"{gnorm:.2e} > tol {tol:g}", grad_norm=gnorm)
            velocity = _step(momentum, velocity, lr(k), g)
            x = x + velocity
            if not finite(x):
                return run.result(x, fx, k + 1, False, f"diverged: x is not finite after {count(k + 1, 'step')} "
                                  "(learning rate too large?)")
            fx = run.f(x)
            run.record(x, fx)
            if not finite(fx):
                return run.result(x, fx, k + 1, False, f"diverged: f(x) = {fx} after {count(k + 1, 'step')} "
                                  "(learning rate too large?)")
    raise AssertionError("unreachable")


def data_gradient_descent(loss, data, x0, differentiator="reverse", learning_rate: float = 0.01,
                          schedule=None, momentum: float = 0.0, batch_size=None, epochs: int = 100,
                          shuffle: bool = True, seed: int = 0, tol=None, dtype="float64"):
    """Gradient descent on a loss that is a mean over samples: batch, mini-batch or stochastic.

    Parameters
    ----------
    loss : callable
        ``loss(w, *batch)``: the mean loss over the rows of ``batch`` (e.g. ``(X[i:j], y[i:j])``),
        written against ``difflab.namespace(w)``.
    data : tuple of arrays
        Arrays with one row per sample (``(X, y)``).
    x0 : array_like
    batch_size : None or int
        ``None`` (or the number of samples): batch descent; 1: stochastic; else mini-batch.
    epochs : int
        Passes over the data; the schedule counts epochs.
    shuffle, seed : bool, int
        Reshuffle the samples every epoch with ``numpy.random.default_rng(seed)``.
    tol : float or None
        If given, stop when the full-data gradient norm drops to ``tol`` (checked after each
        epoch, one full gradient each); without it, every epoch runs.
    dtype : {"float64", "float32"}
        The precision of the data, the iterates, the gradients and the update (as in
        :func:`gradient_descent`).

    Notes
    -----
    Each derivative is prepared once, before the loop: the full-data gradient, and, for
    mini-batch and stochastic descent, the gradient of each sample's loss. A batch's gradient is
    the mean of its samples' gradients, which is exact for a mean loss and right for every
    method, including those (SymPy) that fix the closed-over data when they prepare. ``njev``
    counts every gradient call; ``info["sample_gradients"]`` the per-sample ones.
    """
    arrays = _data(data, solver_dtype(dtype))
    m = len(arrays[0])
    batch_size = m if batch_size is None else positive("batch_size", batch_size, integer=True)
    if batch_size > m:
        raise InputError(f"batch_size {batch_size} is larger than the {m} samples")
    epochs, momentum = _iterations(epochs, "epochs"), _momentum(momentum)
    tol = None if tol is None else positive("tol", tol)
    lr = make_schedule(schedule, positive("learning_rate", learning_rate))
    mode = "batch" if batch_size == m else "stochastic" if batch_size == 1 else "mini-batch"

    full = Function(lambda w: loss(w, *arrays), name=getattr(loss, "__name__", "loss"))
    run = Run(f"{mode} gradient descent", full, x0, differentiator, dtype=dtype)
    fx = run.first_value()
    # the full-data gradient serves batch steps and the tolerance test; the others use samples'
    full_grad = run.prepare("gradient") if mode == "batch" or tol is not None else None
    sample_grads = None if mode == "batch" else _sample_gradients(run, loss, arrays)

    rng = np.random.default_rng(seed)
    x = run.x0
    run.record(x, fx)
    velocity = np.zeros_like(x)
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(epochs):
            order = rng.permutation(m) if shuffle else np.arange(m)
            for start in range(0, m, batch_size):
                if mode == "batch":
                    g = full_grad(x)
                else:
                    g = np.mean([sample_grads(i, x) for i in order[start:start + batch_size]], axis=0)
                velocity = _step(momentum, velocity, lr(epoch), g)
                x = x + velocity
                if not finite(x):
                    return _data_result(run, x, fx, epoch + 1, False, "diverged: x is not finite "
                                        f"in epoch {epoch + 1} (learning rate too large?)")
            fx = run.f(x)
            run.record(x, fx)
            if not finite(fx):
                return _data_result(run, x, fx, epoch + 1, False, f"diverged: loss {fx} after epoch "
                                    f"{epoch + 1} (learning rate too large?)")
            if tol is not None:
                gnorm = float(np.linalg.norm(full_grad(x)))
                if gnorm <= tol:
                    return _data_result(run, x, fx, epoch + 1, True, f"full gradient norm {gnorm:.2e} "
                                        f"<= tol {tol:g} after {epoch + 1} epochs")
    if tol is None:
        return _data_result(run, x, fx, epochs, True, f"ran {epochs} epochs (no tolerance set)")
    return _data_result(run, x, fx, epochs, False, f"{epochs} epochs ran and the full gradient norm "
                        f"{gnorm:.2e} is still > tol {tol:g}")


def _sample_gradients(run, loss, arrays):
    """``(i, x) -> gradient of sample i's loss``: one prepared gradient per sample, counted."""
    grads = []
    for i in range(len(arrays[0])):
        sample = tuple(a[i:i + 1] for a in arrays)
        fn = Function(lambda w, sample=sample: loss(w, *sample), name=f"loss of sample {i}")
        grads.append(run.in_dtype(run.derivative("gradient", fn)))
    counted = Counted(lambda i, x: grads[i](x))
    run.derivatives["sample_gradient"] = counted
    return counted


def _data_result(run, x, fx, nit, success, message):
    sample = run.derivatives.get("sample_gradient")
    return run.result(x, fx, nit, success, message, sample_gradients=sample.calls if sample else 0)


def _step(momentum, velocity, lr, g):
    """The heavy-ball step ``momentum v - lr g`` in the iterates' dtype (``g``'s)."""
    real = g.dtype.type
    return real(momentum) * velocity - real(lr) * g


def _data(data, dtype=np.float64):
    arrays = tuple(np.asarray(a, dtype=dtype) for a in (data if isinstance(data, (tuple, list)) else (data,)))
    if not arrays or any(a.ndim == 0 for a in arrays):
        raise InputError("data must be a tuple of arrays with one row per sample, e.g. (X, y)")
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1 or 0 in lengths:
        raise InputError(f"data arrays must have the same, non-zero number of rows, got {sorted(lengths)}")
    return arrays


def _momentum(momentum):
    try:
        momentum = float(momentum)
    except (TypeError, ValueError):
        raise InputError(f"momentum must be a number in [0, 1), got {momentum!r}") from None
    if not 0.0 <= momentum < 1.0:
        raise InputError(f"momentum must be in [0, 1), got {momentum!r}")
    return momentum


def _iterations(value, name="max_iter"):
    return positive(name, value, integer=True)
