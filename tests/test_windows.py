"""Convolution and pooling primitives (difflab.namespaces.windows) against closed forms, PyTorch's
conv2d as an independent reference, and the oracle; the max-pool tie rule of every framework."""
import numpy as np
import pytest

import difflab
from difflab.ad import forward, reverse
from difflab.namespaces import MPMATH, NUMPY
from difflab.namespaces.windows import output_size

RNG = np.random.default_rng(7)


def test_output_size_arithmetic():
    # floor((n + 2p - k) / s) + 1 for valid; ceil(n / s) for same, extra pad after
    assert output_size(8, 3, 1, "valid") == (6, 0, 0)
    assert output_size(7, 3, 2, "valid") == (3, 0, 0)
    assert output_size(7, 3, 2, "same") == (4, 1, 1)
    assert output_size(8, 3, 2, "same") == (4, 0, 1)       # TF: the odd pad at the bottom/right
    assert output_size(5, 4, 1, "same") == (5, 1, 2)
    assert output_size(5, 1, 3, "same") == (2, 0, 0)
    with pytest.raises(difflab.InputError):
        output_size(2, 3, 1, "valid")


def test_a_delta_kernel_copies_the_input():
    x = RNG.normal(size=(2, 5, 4, 3))
    kernel = np.zeros((3, 3, 3, 3))
    kernel[1, 1] = np.eye(3)                                 # centre tap: the identity
    np.testing.assert_array_equal(NUMPY.conv2d(x, kernel, padding="same"), x)
    np.testing.assert_array_equal(NUMPY.conv2d(x, kernel), x[:, 1:-1, 1:-1, :])
    shift = np.zeros((1, 2, 1, 1))
    shift[0, 1, 0, 0] = 2.0                                  # y[i, j] = 2 x[i, j + 1]
    np.testing.assert_array_equal(NUMPY.conv2d(x[..., :1], shift, (1, 1), "valid")[..., 0],
                                  2.0 * x[:, :, 1:4, 0])


def test_pooling_on_a_known_array():
    x = np.arange(20.0).reshape(1, 4, 5, 1)
    np.testing.assert_array_equal(NUMPY.max_pool2d(x)[0, :, :, 0], [[6, 8], [16, 18]])
    np.testing.assert_array_equal(NUMPY.avg_pool2d(x)[0, :, :, 0], [[3, 5], [13, 15]])
    # same padding: 3 columns out, the last window holds column 4 only (padding not counted)
    np.testing.assert_array_equal(NUMPY.max_pool2d(x, padding="same")[0, :, :, 0], [[6, 8, 9], [16, 18, 19]])
    np.testing.assert_array_equal(NUMPY.avg_pool2d(x, padding="same")[0, :, :, 0],
                                  [[3, 5, 6.5], [13, 15, 16.5]])
    np.testing.assert_array_equal(NUMPY.max_pool2d(x, (3, 3), (1, 2))[0, :, :, 0], [[12, 14], [17, 19]])


@pytest.mark.parametrize("strides, padding", [((1, 1), "valid"), ((2, 2), "same"), ((2, 1), "valid"),
                                              ((1, 3), "same"), ((3, 2), "same")])
def test_conv2d_values_match_torch_and_mpmath(strides, padding):
    torch = pytest.importorskip("torch")
    x, k = RNG.normal(size=(2, 7, 6, 3)), RNG.normal(size=(3, 2, 3, 4))
    ours = NUMPY.conv2d(x, k, strides, padding)
    (_, t, b), (_, l, r) = (output_size(n, kk, s, padding) for n, kk, s in zip((7, 6), (3, 2), strides))
    xt = torch.nn.functional.pad(torch.tensor(x).permute(0, 3, 1, 2), (l, r, t, b))
    theirs = torch.nn.functional.conv2d(xt, torch.tensor(k).permute(3, 2, 0, 1), stride=strides)
    np.testing.assert_allclose(ours, theirs.permute(0, 2, 3, 1).numpy(), rtol=0, atol=1e-13)
    exact = MPMATH.conv2d(x.astype(object), k.astype(object), strides, padding)
    np.testing.assert_allclose(ours, exact.astype(float), rtol=0, atol=1e-13)


def _layer_fn(strides, padding, pool):
    """A scalar of x (1, 4, 5, 2) and a kernel (2, 3, 2, 2): conv, tanh, pool, weighted sum."""
    w = RNG.normal(size=200)

    def f(theta):
        xp = difflab.namespace(theta)
        x = xp.reshape(theta[:40], (1, 4, 5, 2))
        k = xp.reshape(theta[40:64], (2, 3, 2, 2))
        y = getattr(xp, pool)(xp.tanh(xp.conv2d(x, k, strides, padding)), (2, 2), None, padding)
        flat = xp.reshape(y, (-1,))
        return xp.sum(flat * xp.asarray(w[:flat.shape[0]]))
    return f


@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("strides, padding", [((1, 1), "valid"), ((2, 1), "same")])
def test_gradients_and_hessians_of_both_engines_match_the_oracle(strides, padding, pool):
    f = _layer_fn(strides, padding, pool)
    theta = RNG.normal(size=64)
    ref = difflab.reference(f, theta)
    for engine in (forward, reverse):
        np.testing.assert_allclose(engine.gradient(f, theta), ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(difflab.get("reverse", jit=True).gradient(f)(theta), ref, rtol=1e-12, atol=1e-14)
    small = theta[:64]
    hv = difflab.reference(f, small, "hvp", vector=np.sin(np.arange(64.0)))
    np.testing.assert_allclose(reverse.hvp(f, small, np.sin(np.arange(64.0))), hv, rtol=1e-10, atol=1e-12)


def _tied_pool(xp, x):
    # one 2x2 window holding 1, 3, 3, 2: the max 3 is tied at positions 1 and 2
    return xp.sum(xp.max_pool2d(xp.reshape(x, (1, 2, 2, 1))))


TIED = np.array([1.0, 3.0, 3.0, 2.0])


@pytest.mark.parametrize("method", ["reverse", "forward", "torch", "tensorflow", "jax"])
def test_max_pool_sends_a_tie_to_the_first_maximum(method):
    ok, why = difflab.method_class(method).availability()
    if not ok:
        pytest.skip(why)
    grad = difflab.get(method).gradient(lambda x: _tied_pool(difflab.namespace(x), x))(TIED)
    np.testing.assert_array_equal(grad, [0.0, 1.0, 0.0, 0.0])


def test_bad_window_arguments_are_input_errors():
    x = np.zeros((1, 4, 4, 1))
    with pytest.raises(difflab.InputError, match="padding"):
        NUMPY.conv2d(x, np.zeros((2, 2, 1, 1)), padding="full")
    with pytest.raises(difflab.InputError, match="strides"):
        NUMPY.max_pool2d(x, 2, strides=0)
    with pytest.raises(difflab.InputError, match="channels-last"):
        NUMPY.conv2d(np.zeros((4, 4)), np.zeros((2, 2, 1, 1)))
