"""difflab.testing next to torch.autograd.gradcheck, jax check_grads and scipy check_grad.

The same examples through each checker: a correct float32 gradient, a backward pass wrong
by a factor 1 + delta in one component, and ReLU at its kink. ``python
tests/test_testing_peers.py`` prints the table docs/testing.md shows; the slow tests below
assert the claims the docs make from it.
"""
import warnings

import numpy as np
import pytest

import difflab
from difflab.testing import KinkWarning, check_gradient

X = np.array([0.3, 0.7, 1.2, -0.4, 0.9])
DELTAS = (1e-2, 1e-3, 1e-4)
WRONG = 1  # the component the wrong backward scales


def rosen(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_grad(x, delta=0.0, lib=np):
    """The hand-written gradient, component WRONG scaled by 1 + delta; any array library."""
    a, b = x[:-1], x[1:]
    inner = -400.0 * a * (b - a ** 2) - 2.0 * (1.0 - a)
    outer = 200.0 * (b - a ** 2)
    zero = 0.0 * outer[:1]
    g = lib.concatenate([inner, zero]) + lib.concatenate([zero, outer])
    scale = np.ones(x.shape[0])
    scale[WRONG] += delta
    return g * lib.asarray(scale, dtype=x.dtype)


def relu_sum(x):
    xp = difflab.namespace(x)
    return xp.sum(xp.maximum(x, 0.0))


# ---------------------------------------------------------------------- each checker
def torch_gradcheck(dtype, delta=0.0, kink=False):
    import torch

    class Rosen(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return rosen(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * rosen_grad(x, delta, torch)

    if kink:
        x = torch.tensor([0.0, 1.0], dtype=dtype, requires_grad=True)
        fn = lambda x: torch.relu(x).sum()
    else:
        x = torch.tensor(X, dtype=dtype, requires_grad=True)
        fn = Rosen.apply
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(torch.autograd.gradcheck(fn, (x,), raise_exception=False))


def jax_check_grads(delta=0.0, kink=False):
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    @jax.custom_vjp
    def f(x):
        return rosen(x)

    f.defvjp(lambda x: (rosen(x), x), lambda x, g: (g * rosen_grad(x, delta, jnp),))
    fn, x = (lambda x: jax.nn.relu(x).sum(), jnp.array([0.0, 1.0], dtype=jnp.float32)) if kink \
        else (f, jnp.array(X, dtype=jnp.float32))
    try:
        check_grads(fn, (x,), order=1, modes=("rev",))
        return True
    except AssertionError:
        return False


def scipy_check_grad(delta=0.0):
    from scipy.optimize import check_grad

    return float(check_grad(lambda x: rosen(x), lambda x: rosen_grad(x, delta), X))


def difflab_check(dtype, delta=0.0, kink=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KinkWarning)
        if kink:
            report = check_gradient(relu_sum, lambda x: (x > 0).astype(float), np.array([0.0, 1.0]))
            return "kink" if report.ok and report.kinks else report.ok
        return check_gradient(rosen, lambda x: rosen_grad(x, delta), X.astype(dtype)).ok


# ---------------------------------------------------------------------- the claims
@pytest.mark.slow
def test_difflab_catches_what_gradcheck_and_check_grads_let_through():
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    import torch

    assert not torch_gradcheck(torch.float32)          # a correct float32 function fails
    assert difflab_check(np.float32)                   # and passes here
    assert torch_gradcheck(torch.float64, 1e-3)        # 0.1% wrong passes gradcheck
    assert jax_check_grads(1e-3)                       # and check_grads in float32
    for delta in DELTAS:                               # every one fails here in float64
        assert not difflab_check(np.float64, delta)
    assert difflab_check(np.float64, 0.0)
    assert difflab_check(np.float64, kink=True) == "kink"


def table() -> str:
    import torch

    def mark(ok):
        return "pass" if ok is True else "FAIL" if ok is False else ok

    rows = [("correct, float32", mark(torch_gradcheck(torch.float32)), mark(jax_check_grads()),
             "—", mark(difflab_check(np.float32)))]
    rows.append(("correct, float64", mark(torch_gradcheck(torch.float64)), "—",
                 f"{scipy_check_grad():.1e}", mark(difflab_check(np.float64))))
    for delta in DELTAS:
        rows.append((f"backward x (1 + {delta:g}), float64", mark(torch_gradcheck(torch.float64, delta)),
                     "—", f"{scipy_check_grad(delta):.1e}", mark(difflab_check(np.float64, delta))))
        rows.append((f"backward x (1 + {delta:g}), float32", mark(torch_gradcheck(torch.float32, delta)),
                     mark(jax_check_grads(delta)), "—", mark(difflab_check(np.float32, delta))))
    rows.append(("ReLU at 0 (framework's own rule)", mark(torch_gradcheck(torch.float64, kink=True)),
                 mark(jax_check_grads(kink=True)), "—", mark(difflab_check(np.float64, kink=True))))
    header = ("case", "torch gradcheck", "jax check_grads", "scipy check_grad", "difflab check_gradient")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    import jax
    import scipy
    import torch

    print(f"torch {torch.__version__}, jax {jax.__version__}, scipy {scipy.__version__}, "
          f"difflab {difflab.__version__}")
    print(table())
