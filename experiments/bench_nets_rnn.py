"""Seconds per epoch of the sequence LSTM (the stock chapter's network) by differentiator,
beside the same network in plain tf.keras and plain PyTorch; and the RNN chapter's plot.

Run on demand (not part of ``make test``)::

    python -m difflab_experiments.bench_nets_rnn [--epochs 3] [--json out.json] [--plot docs/img/nets_rnn.png]

The network is ``LSTM(16) -> Dense(1)`` on :func:`nets.datasets.load_price_series`
(435 windows of 20 steps, batch 32, Adam, mse, float64 everywhere). Each run trains
``epochs + 1`` epochs and the first (tracing, compiling, imports warming) is dropped;
the figure is the median of the remaining epochs. The plot shows the training loss per
epoch of the nets LSTM, GRU and SimpleRNN against the persistence baseline's test mse.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import difflab
import nets
from nets.datasets import load_price_series

UNITS, BATCH, LEARNING_RATE = 16, 32, 0.01
#: (label, registry name, options) of the difflab methods timed through nets.
METHODS = [
    ("reverse (tape)", "reverse", {"jit": False}),
    ("reverse jit=True", "reverse", {"jit": True}),
    ("autograd", "autograd", {}),
    ("torch", "torch", {}),
    ("tensorflow", "tensorflow", {}),
    ("jax", "jax", {}),
]


class EpochTimer(nets.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def lstm_model(layer=nets.LSTM, seed=0):
    (x, _), _ = load_price_series()
    return nets.Sequential([layer(UNITS, input_shape=x.shape[1:]), nets.Dense(1)], seed=seed)


def time_nets(name, options, epochs):
    (x, y), _ = load_price_series()
    model = lstm_model()
    model.compile(optimizer=nets.optimizers.Adam(LEARNING_RATE), loss="mse", differentiator=name, **options)
    timer = EpochTimer()
    model.fit(x, y, epochs=epochs + 1, batch_size=BATCH, shuffle=False, verbose=0, callbacks=[timer])
    return timer.times[1:]


def time_keras(epochs):
    import keras

    keras.backend.set_floatx("float64")
    (x, y), _ = load_price_series()
    model = keras.Sequential([keras.Input(shape=x.shape[1:]), keras.layers.LSTM(UNITS), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
    model.set_weights(lstm_model().get_weights())
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(x, y, epochs=epochs + 1, batch_size=BATCH, shuffle=False, verbose=0, callbacks=[Timer()])
    return times[1:]


def time_torch(epochs):
    import torch

    (x, y), _ = load_price_series()
    weights = lstm_model().get_weights()
    lstm = torch.nn.LSTM(1, UNITS, batch_first=True, dtype=torch.float64)
    dense = torch.nn.Linear(UNITS, 1, dtype=torch.float64)
    with torch.no_grad():  # Keras's i,f,c,o columns are torch's i,f,g,o rows; one bias, the other zero
        lstm.weight_ih_l0.copy_(torch.tensor(weights[0].T))
        lstm.weight_hh_l0.copy_(torch.tensor(weights[1].T))
        lstm.bias_ih_l0.copy_(torch.tensor(weights[2]))
        lstm.bias_hh_l0.zero_()
        dense.weight.copy_(torch.tensor(weights[3].T))
        dense.bias.copy_(torch.tensor(weights[4]))
    params = list(lstm.parameters()) + list(dense.parameters())
    optimizer = torch.optim.Adam(params, lr=LEARNING_RATE, eps=1e-7)
    xt, yt = torch.tensor(x), torch.tensor(y)
    times = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        for i in range(0, len(xt), BATCH):
            optimizer.zero_grad()
            out, _ = lstm(xt[i:i + BATCH])
            loss = torch.mean((dense(out[:, -1, :])[:, 0] - yt[i:i + BATCH]) ** 2)
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return times[1:]


def run(epochs):
    rows = []
    for label, name, options in METHODS:
        if not difflab.method_class(name).available():
            rows.append({"method": label, "status": "not installed"})
            continue
        rows.append({"method": label, "seconds_per_epoch": statistics.median(time_nets(name, options, epochs))})
    for label, fn in (("plain tf.keras", time_keras), ("plain torch", time_torch)):
        try:
            rows.append({"method": label, "seconds_per_epoch": statistics.median(fn(epochs))})
        except ImportError as exc:
            rows.append({"method": label, "status": f"not installed ({exc})"})
    return rows


def plot(path, epochs=60):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (x, y), (x_test, y_test) = load_price_series()
    persistence = float(np.mean((x_test[:, -1, 0] - y_test) ** 2))
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for layer in (nets.LSTM, nets.GRU, nets.SimpleRNN):
        model = lstm_model(layer)
        model.compile(optimizer=nets.optimizers.Adam(LEARNING_RATE), loss="mse")
        history = model.fit(x, y, epochs=epochs, batch_size=BATCH, validation_data=(x_test, y_test), verbose=0)
        ax.semilogy(history.history["val_loss"], label=f"{layer.__name__}({UNITS}) test mse")
    ax.axhline(persistence, color="k", ls="--", label="persistence (tomorrow = today)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mse")
    ax.set_title("price-like series, 20-step windows (nets, reverse jit=True)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--plot")
    args = parser.parse_args(argv)
    if args.plot:
        plot(args.plot)
    rows = run(args.epochs)
    for row in rows:
        value = row.get("seconds_per_epoch")
        print(f"{row['method']:>18}  " + (f"{value:8.3f} s/epoch" if value is not None else row["status"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"schema": "difflab.bench_nets_rnn/1", "network": f"LSTM({UNITS})-Dense(1)",
                       "data": "load_price_series(): 435 windows x 20 steps", "batch_size": BATCH,
                       "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
