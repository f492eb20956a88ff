"""Device choice for the frameworks that have one: CPU here, a clear error for what is absent."""
import numpy as np
import pytest

import difflab

X = np.array([0.5, -1.0, 2.0])


def cube(x):
    return difflab.namespace(x).sum(x ** 3)


@pytest.mark.parametrize("name, device", [("torch", "cpu"), ("jax", "cpu"), ("tensorflow", "CPU:0"),
                                          ("tensorflow", "cpu")])
def test_cpu_device_gives_numpy_on_the_host(name, device):
    d = difflab.get(name, device=device)
    out = d.gradient(cube)(X)
    assert type(out) is np.ndarray and out.dtype == np.float64
    np.testing.assert_allclose(out, 3 * X ** 2, rtol=1e-14)
    assert d.describe()["options"]["device"] == device


def _has_gpu(name):
    if name == "torch":
        import torch
        return torch.cuda.is_available()
    if name == "jax":
        import jax
        return any(d.platform == "gpu" for d in jax.devices())
    import tensorflow as tf
    return bool(tf.config.list_logical_devices("GPU"))


@pytest.mark.parametrize("name, device", [("torch", "cuda"), ("torch", "cuda:3"), ("jax", "gpu"),
                                          ("tensorflow", "GPU:0")])
def test_a_missing_device_is_a_clear_input_error(name, device):
    if _has_gpu(name) and ":" not in device:
        pytest.skip("this machine has the device")
    with pytest.raises(difflab.InputError, match="does not exist"):
        difflab.get(name, device=device).gradient(cube)(X)


@pytest.mark.parametrize("name", ["torch", "jax"])
def test_device_must_be_a_name(name):
    with pytest.raises(difflab.InputError, match="device must be a string"):
        difflab.get(name, device=0)


def test_unknown_torch_device_kind():
    with pytest.raises(difflab.InputError, match="unknown device"):
        difflab.get("torch", device="warp-drive").gradient(cube)(X)
