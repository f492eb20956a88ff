"""The notes' iris optimiser comparison exactly as their TensorFlow loop runs it.

Three things make ``difflab optimizers --notes`` the notes' own run rather than one like it:

- the initial weights are the notes' ``tf.random.truncated_normal([4, 3] / [3], stddev=0.1,
  seed=1)`` after ``tf.random.set_seed(116)``, shipped as the bits of their float32 numbers
  (TensorFlow's generator cannot be reproduced by NumPy; the slow test in
  tests/test_nets_notes_iris.py draws them again with TensorFlow);
- everything is float32: the data, the weights, the gradients and the optimiser's update;
- the epoch loss is the notes' ``loss_all / 4``: the unweighted mean of the batch losses
  (each measured before its batch's update), summed in float64 as ``loss_all +=
  loss.numpy()`` does under NumPy 1 (Keras weights the batches by their size, and the last
  batch holds 24 of 120 rows).

:func:`fit_batch_means` is that loop for any compiled nets model.
"""
from __future__ import annotations

import numpy as np

from . import callbacks as callbacks_module

#: ``tf.random.truncated_normal([4, 3], stddev=0.1, seed=1)`` after ``tf.random.set_seed(116)``
#: in a fresh TensorFlow 2 process: the notes' w1 (row-major), as float32 bits.
IRIS_W1_BITS = (0x3DA8F583, 0xBD8BE80E, 0x3E49680F, 0xBD607E83, 0x3D3B3562, 0x3E0AF8D9,
                0x3D9EBD05, 0xBE2B5DAE, 0xBDD2D51B, 0x3E21A0D2, 0xBE084DFF, 0x3D779DB3)
#: The next draw, ``tf.random.truncated_normal([3], stddev=0.1, seed=1)``: the notes' b1.
IRIS_B1_BITS = (0xBDBC4FF0, 0xBDFD7ADB, 0xBD5C6D15)


def iris_w1() -> np.ndarray:
    """The notes' initial w1 (4, 3), float32: [[0.08249953, -0.0683137, 0.19668601], ...]."""
    return np.array(IRIS_W1_BITS, dtype=np.uint32).view(np.float32).reshape(4, 3)


def iris_b1() -> np.ndarray:
    """The notes' initial b1 (3,), float32: [-0.09194934, -0.12376948, -0.05381497]."""
    return np.array(IRIS_B1_BITS, dtype=np.uint32).view(np.float32).copy()


def fit_batch_means(model, x, y, epochs, batch_size=32, validation_data=None, callbacks=None):
    """Train ``model`` (compiled) as the notes' loops do and return a :class:`~nets.History`.

    The batches are taken in order (no shuffling); ``history["loss"][k]`` is the unweighted
    mean of epoch k's batch losses (each before its update), summed in float64; each metric
    likewise; ``val_*`` entries are evaluated after every epoch. Data are cast to the
    compiled dtype, as ``fit`` casts them.
    """
    from .model import _cast, _take

    model._need_compiled()
    x, y = model._check_data(x, y)
    x, y = _cast(x, model.dtype), _cast(y, model.dtype)
    model.parameters.theta = model.parameters.theta.astype(model.dtype, copy=False)
    if validation_data is not None:
        validation_data = model._check_data(*validation_data)
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    model._need_gradient_source()
    history = callbacks_module.History()
    history.params = {"epochs": int(epochs), "steps": -(-len(x) // batch_size), "batch_size": batch_size,
                      "differentiator": model.differentiator}
    every = [*(callbacks or []), history]
    for cb in every:
        cb.set_model(model)
    model.stop_training = False
    for cb in every:
        cb.on_train_begin()
    try:
        for epoch in range(int(epochs)):
            for cb in every:
                cb.on_epoch_begin(epoch)
            sums, batches = {}, 0
            for start in range(0, len(x), batch_size):
                idx = np.arange(start, min(start + batch_size, len(x)))
                for key, value in model._train_step(_take(x, idx), _take(y, idx)).items():
                    sums[key] = sums.get(key, 0.0) + float(value)
                batches += 1
            logs = {k: v / batches for k, v in sums.items()}
            if validation_data is not None:
                logs.update({f"val_{k}": v for k, v in model._evaluate_prepared(*validation_data).items()})
            for cb in every:
                cb.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
    finally:
        for cb in every:
            cb.on_train_end()
    return history
