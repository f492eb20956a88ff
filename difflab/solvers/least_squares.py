"""Linear least squares in closed form: ``min ||A x - b||_2``."""
from __future__ import annotations

import time

import numpy as np

from ..errors import InputError
from .result import OptimizeResult

METHODS = ("svd", "qr", "normal")


def least_squares(A, b, method: str = "svd") -> OptimizeResult:
    """The least-squares solution of ``A x ~ b``, and how well conditioned the problem is.

    Parameters
    ----------
    A : array_like (m, n), m >= n
    b : array_like (m,)
    method : {"svd", "qr", "normal"}
        ``svd``: ``numpy.linalg.lstsq`` (any rank, minimum-norm solution). ``qr``: ``A = QR``,
        ``R x = Q^T b`` (full column rank). ``normal``: ``(A^T A) x = A^T b``, for teaching:
        it squares the condition number, so it loses twice the digits.

    Returns
    -------
    OptimizeResult
        ``fun`` is ``0.5 ||A x - b||^2``; no iterations and no derivatives. ``info`` holds
        ``cond`` (of A), ``cond_normal`` (of A^T A, the square of it), ``rank``,
        ``singular_values`` and ``residual_norm``. A rank-deficient ``A`` with ``qr`` or
        ``normal`` gives ``success=False`` and ``x`` of NaN, not a wrong answer.
    """
    start = time.perf_counter()
    A, b = _check(A, b)
    if method not in METHODS:
        raise InputError(f"unknown least-squares method {method!r}; choose from {', '.join(METHODS)}")
    sv = np.linalg.svd(A, compute_uv=False)
    tiny = sv[0] * max(A.shape) * np.finfo(float).eps if sv.size else 0.0
    rank = int(np.sum(sv > tiny))
    cond = float(sv[0] / sv[-1]) if sv[-1] > 0 else float("inf")
    info = {"cond": cond, "cond_normal": float(np.linalg.cond(A.T @ A)), "rank": rank,
            "singular_values": sv}
    full_rank = rank == A.shape[1]
    if method == "svd":
        x = np.linalg.lstsq(A, b, rcond=None)[0]
        message = "numpy.linalg.lstsq (SVD)" + ("" if full_rank else f"; rank {rank} < {A.shape[1]}: "
                                                "the minimum-norm solution")
    elif not full_rank:
        x = np.full(A.shape[1], np.nan)
        message = (f"A has rank {rank} < {A.shape[1]} columns: {method} cannot solve it; "
                   "use method='svd' for the minimum-norm solution")
    elif method == "qr":
        Q, R = np.linalg.qr(A)
        x = np.linalg.solve(R, Q.T @ b)
        message = "A = QR, R x = Q^T b"
    else:
        x = np.linalg.solve(A.T @ A, A.T @ b)
        message = (f"normal equations (A^T A) x = A^T b; cond(A^T A) = {info['cond_normal']:.2e} "
                   f"= cond(A)^2, so expect about {np.log10(max(info['cond_normal'], 1.0)):.0f} "
                   "digits lost")
    residual = A @ x - b
    info["residual_norm"] = float(np.linalg.norm(residual))
    return OptimizeResult(x=x, fun=0.5 * float(residual @ residual), success=method == "svd" or full_rank,
                          message=message, history={"x": x[None, :], "fun": np.array([0.5 * float(residual @ residual)])},
                          method=f"least squares ({method})", seconds=time.perf_counter() - start,
                          info=info)


def _check(A, b):
    try:
        A, b = np.asarray(A, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"A and b must be numbers: {exc}") from None
    if A.ndim != 2 or b.ndim != 1:
        raise InputError(f"A must be 2-D and b 1-D, got shapes {A.shape} and {b.shape}")
    if A.shape[0] != b.shape[0]:
        raise InputError(f"A has {A.shape[0]} rows but b has {b.shape[0]} entries")
    if A.shape[0] < A.shape[1] or A.size == 0:
        raise InputError(f"A must have at least as many rows as columns, got {A.shape}")
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(b))):
        raise InputError("A and b must be finite")
    return A, b
