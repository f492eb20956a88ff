"""Convolution and pooling layers, Keras-shaped and channels-last: ``Conv2D``,
``MaxPooling2D``, ``AveragePooling2D``, ``GlobalAveragePooling2D``, ``Flatten``.

``call`` uses difflab's ops (``xp.conv2d``, ``xp.max_pool2d``, ``xp.avg_pool2d``), so every
method differentiates it with its own rules (native ops in the frameworks). ``forward`` and
``backward`` are the hand-derived ``manual`` path, written with im2col: each output is a dot
product of a window of the input with the kernel, so

    z = cols(x) @ K + b,   dK = cols(x)^T @ dz,   db = sum dz,   dx = col2im(dz @ K^T)

where ``col2im`` adds every window's share back to the pixels it came from (the transpose of
taking overlapping windows: weight sharing makes the kernel's gradient a sum over positions).
Only the padding arithmetic (:func:`difflab.namespaces.windows.geometry`) is shared with difflab.
"""
from __future__ import annotations

import numpy as np

from difflab.namespaces import NUMPY
from difflab.namespaces.windows import geometry, numpy_windows, padding_mode, pair

from . import activations
from .layers import Layer, WeightSpec, _initializer, _positive_int


class SpatialLayer(Layer):
    """A layer whose input is an image batch (N, H, W, C): ``input_shape=(H, W, C)``."""

    def __init__(self, name=None, input_shape=None):
        super().__init__(name)
        if input_shape is not None:
            shape = tuple(input_shape)
            if len(shape) != 3:
                raise ValueError(f"{type(self).__name__} takes images: input_shape must be (height, "
                                 f"width, channels), got {input_shape}")
            self.input_dim = tuple(_positive_int(s, "input_shape entries") for s in shape)

    input_rank = 3
    build_shape = Layer._build_any_shape
    declared_input_shape = Layer._declared_any_shape

    def _check_image(self, input_dim):
        if not (isinstance(input_dim, tuple) and len(input_dim) == 3):
            raise ValueError(f"layer {self.name} takes images (height, width, channels); its input "
                             f"has shape {input_dim}")
        return input_dim

    def get_config(self):
        return {"name": self.name, "input_shape": self.input_dim}


def im2col(x, window, strides, padding):
    """``(cols (N, Ho, Wo, kh*kw*C), padded shape)``: each output's window as one row."""
    (ho, wo), pads = geometry(x.shape[1:3], window, strides, padding)
    xpad = np.pad(x, ((0, 0),) + pads + ((0, 0),))
    win = numpy_windows(xpad, window, strides, (ho, wo))            # (N, Ho, Wo, C, kh, kw)
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(x.shape[0], ho, wo, -1)
    return cols, xpad.shape, pads


def col2im(cols, window, strides, padded_shape, pads, image_hw):
    """The transpose of :func:`im2col`: add each window's row back onto its pixels."""
    n, ho, wo, _ = cols.shape
    kh, kw = window
    c = padded_shape[-1]
    parts = cols.reshape(n, ho, wo, kh, kw, c)
    out = np.zeros(padded_shape)
    for i in range(kh):             # a loop over the window's kh*kw positions, not over pixels
        for j in range(kw):
            out[:, i:i + strides[0] * (ho - 1) + 1:strides[0],
                j:j + strides[1] * (wo - 1) + 1:strides[1], :] += parts[:, :, :, i, j, :]
    (t, _), (l, _) = pads
    return out[:, t:t + image_hw[0], l:l + image_hw[1], :]


class Conv2D(SpatialLayer):
    """``activation(conv2d(x, kernel) + bias)``; kernel (kh, kw, in channels, filters) as Keras."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 input_shape=None, name=None):
        super().__init__(name, input_shape)
        self.filters = _positive_int(filters, "filters")
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.strides = pair(strides, "strides")
        self.padding = padding_mode(padding)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializer(kernel_initializer)
        self.bias_initializer = _initializer(bias_initializer)

    def _output_dim(self, input_dim):
        h, w, c = self._check_image(input_dim)
        (ho, wo), _ = _geometry((h, w), self.kernel_size, self.strides, self.padding, self.name)
        self.weight_specs = [WeightSpec("kernel", self.kernel_size + (c, self.filters), True,
                                        self.kernel_initializer)]
        if self.use_bias:
            self.weight_specs.append(WeightSpec("bias", (self.filters,), True, self.bias_initializer))
        return (ho, wo, self.filters)

    def call(self, xp, weights, x, batch):
        z = xp.conv2d(x, weights[0], self.strides, self.padding)
        if self.use_bias:
            z = z + weights[1]
        return self.activation.forward(xp, z)

    def forward(self, weights, x, batch):
        cols, padded_shape, pads = im2col(x, self.kernel_size, self.strides, self.padding)
        z = cols @ weights[0].reshape(-1, self.filters)
        if self.use_bias:
            z = z + weights[1]
        a = self.activation.forward(NUMPY, z)
        return a, (cols, padded_shape, pads, x.shape[1:3], z, a)

    def backward(self, weights, cache, g):
        cols, padded_shape, pads, hw, z, a = cache
        gz = self.activation.backward(z, a, g)                           # (N, Ho, Wo, filters)
        g_kernel = (cols.reshape(-1, cols.shape[-1]).T @ gz.reshape(-1, self.filters)).reshape(weights[0].shape)
        grads = [g_kernel] + ([gz.sum(axis=(0, 1, 2))] if self.use_bias else [])
        g_cols = gz @ weights[0].reshape(-1, self.filters).T
        return col2im(g_cols, self.kernel_size, self.strides, padded_shape, pads, hw), grads

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "activation": self.activation.name,
                "use_bias": self.use_bias}


class _Pooling2D(SpatialLayer):
    op = "abstract"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", input_shape=None, name=None):
        super().__init__(name, input_shape)
        self.pool_size = pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else pair(strides, "strides")
        self.padding = padding_mode(padding)

    def _output_dim(self, input_dim):
        h, w, c = self._check_image(input_dim)
        (ho, wo), _ = _geometry((h, w), self.pool_size, self.strides, self.padding, self.name)
        return (ho, wo, c)

    def call(self, xp, weights, x, batch):
        return getattr(xp, self.op)(x, self.pool_size, self.strides, self.padding)

    def _windows(self, x, fill):
        """(N, Ho, Wo, C, ph*pw) windows of x padded with ``fill``, and the padded geometry."""
        out, pads = geometry(x.shape[1:3], self.pool_size, self.strides, self.padding)
        xpad = np.pad(x, ((0, 0),) + pads + ((0, 0),), constant_values=fill)
        win = numpy_windows(xpad, self.pool_size, self.strides, out)
        return win.reshape(win.shape[:4] + (-1,)), xpad.shape, pads

    def _spread(self, share, padded_shape, pads, hw):
        """Send each window's (N, Ho, Wo, C, ph*pw) shares back to its pixels."""
        n, ho, wo, c, _ = share.shape
        cols = share.reshape(n, ho, wo, c, *self.pool_size).transpose(0, 1, 2, 4, 5, 3).reshape(n, ho, wo, -1)
        return col2im(cols, self.pool_size, self.strides, padded_shape, pads, hw)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding}


class MaxPooling2D(_Pooling2D):
    """The maximum of each window. Its gradient goes to the first maximum of the window
    (row-major), as in PyTorch, TensorFlow and JAX."""

    op = "max_pool2d"

    def forward(self, weights, x, batch):
        win, padded_shape, pads = self._windows(x, -np.inf)
        first = win.argmax(axis=-1)
        out = np.take_along_axis(win, first[..., None], axis=-1)[..., 0]
        return out, (first, win.shape, padded_shape, pads, x.shape[1:3])

    def backward(self, weights, cache, g):
        first, win_shape, padded_shape, pads, hw = cache
        share = np.zeros(win_shape)
        np.put_along_axis(share, first[..., None], g[..., None], axis=-1)
        return self._spread(share, padded_shape, pads, hw), []


class AveragePooling2D(_Pooling2D):
    """The mean of each window's real inputs ("same" padding is not counted, as Keras)."""

    op = "avg_pool2d"

    def forward(self, weights, x, batch):
        win, padded_shape, pads = self._windows(x, 0.0)
        real, _, _ = self._windows(np.ones((1,) + x.shape[1:3] + (1,)), 0.0)
        count = real.sum(axis=-1)                                          # (1, Ho, Wo, 1)
        return win.sum(axis=-1) / count, (count, win.shape, padded_shape, pads, x.shape[1:3])

    def backward(self, weights, cache, g):
        count, win_shape, padded_shape, pads, hw = cache
        share = np.broadcast_to((g / count)[..., None], win_shape)      # each input of a window: 1/count
        return self._spread(share, padded_shape, pads, hw), []


#: Keras's short spellings of the pooling layers (the same classes).
MaxPool2D, AvgPool2D = MaxPooling2D, AveragePooling2D


class GlobalAveragePooling2D(SpatialLayer):
    """The mean over height and width: (N, H, W, C) -> (N, C)."""

    def _output_dim(self, input_dim):
        return self._check_image(input_dim)[2]

    def call(self, xp, weights, x, batch):
        return xp.mean(x, axis=(1, 2))

    def forward(self, weights, x, batch):
        return x.mean(axis=(1, 2)), x.shape

    def backward(self, weights, cache, g):
        _, h, w, _ = cache
        return np.broadcast_to(g[:, None, None, :] / (h * w), cache).copy(), []


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...), in C order as Keras (channels last)."""

    build_shape = Layer._build_any_shape
    declared_input_shape = Layer._declared_any_shape

    def __init__(self, name=None, input_shape=None):
        super().__init__(name)
        if input_shape is not None:
            self.input_dim = tuple(int(s) for s in input_shape)

    def _output_dim(self, input_dim):
        return int(np.prod(input_dim))

    def call(self, xp, weights, x, batch):
        return xp.reshape(x, (xp.shape(x)[0], self.output_dim))

    def forward(self, weights, x, batch):
        return x.reshape(len(x), -1), x.shape

    def backward(self, weights, cache, g):
        return g.reshape(cache), []

    def get_config(self):
        return {"name": self.name, "input_shape": self.input_dim}


def _geometry(hw, window, strides, padding, name):
    try:
        return geometry(hw, window, strides, padding)
    except ValueError as exc:
        raise ValueError(f"layer {name}: {exc}") from None

