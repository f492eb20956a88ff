"""Seconds per epoch of the digits CNN: nets with each differentiator, plain tf.keras, plain torch.

Run on demand (not part of the tests)::

    OMP_NUM_THREADS=1 python -m difflab_experiments.bench_nets [--repeats 3] [--json out.json]

The network is ``nets.examples.digits_cnn`` (Conv2D 16 3x3 same - BatchNormalization - ReLU -
MaxPooling2D - Flatten - Dense 10 softmax, Adam(0.01), batches of 32, 1257 training images of
8x8), in float64 everywhere. Each row is CPU seconds (``time.process_time``, one thread) of one
epoch, the minimum over ``--repeats`` epochs after one warm-up epoch (tracing, compiling).
The plain versions are the same architecture written directly in tf.keras and torch.nn.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import time

import numpy as np

import difflab
from nets.datasets import load_digits_images
from nets.examples import digits_cnn

#: (label, differentiator, options) of the nets rows.
NETS_METHODS = [("nets reverse (compiled tape)", "reverse", {}),
                ("nets reverse (tape, jit=False)", "reverse", {"jit": False}),
                ("nets manual (hand backprop)", "manual", {}),
                ("nets torch", "torch", {}), ("nets tensorflow", "tensorflow", {}),
                ("nets jax", "jax", {})]


def _epochs(run_epoch, repeats):
    run_epoch()  # warm-up: tracing, compiling, first use
    times = []
    for _ in range(repeats):
        start = time.process_time()
        run_epoch()
        times.append(time.process_time() - start)
    return min(times)


def bench_nets(x, y, repeats):
    rows = []
    for label, name, options in NETS_METHODS:
        if name != "manual" and not difflab.method_class(name).available():
            rows.append({"method": label, "status": "not installed"})
            continue
        model = digits_cnn(name, **options)
        seconds = _epochs(lambda m=model: m.fit(x, y, epochs=1, batch_size=32, verbose=0), repeats)
        rows.append({"method": label, "seconds_per_epoch": seconds})
    return rows


def bench_keras(x, y, repeats):
    import keras

    keras.backend.set_floatx("float64")
    L = keras.layers
    model = keras.Sequential([keras.Input(shape=(8, 8, 1)), L.Conv2D(16, 3, padding="same"),
                              L.BatchNormalization(), L.Activation("relu"), L.MaxPooling2D(),
                              L.Flatten(), L.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return _epochs(lambda: model.fit(x, y, epochs=1, batch_size=32, verbose=0), repeats)


def bench_torch(x, y, repeats):
    import torch

    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16, momentum=0.01, eps=1e-3),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10)).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    xt = torch.tensor(x.transpose(0, 3, 1, 2).copy())
    yt = torch.tensor(y)
    loss_fn = nn.CrossEntropyLoss()
    order = np.random.default_rng(0)

    def epoch():
        model.train()
        idx = torch.tensor(order.permutation(len(xt)))
        for start in range(0, len(xt), 32):
            b = idx[start:start + 32]
            optimizer.zero_grad()
            loss = loss_fn(model(xt[b]), yt[b])
            loss.backward()
            optimizer.step()
    return _epochs(epoch, repeats)


def single_thread():
    """One thread for every framework (set before any of them computes anything)."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    try:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except ImportError:
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    single_thread()
    (x, y), _ = load_digits_images()
    rows = bench_nets(x, y, args.repeats)
    for label, fn in (("plain tf.keras", bench_keras), ("plain torch", bench_torch)):
        try:
            rows.append({"method": label, "seconds_per_epoch": fn(x, y, args.repeats)})
        except ImportError as exc:
            rows.append({"method": label, "status": f"not installed ({exc.name})"})
    plain_torch = next((r.get("seconds_per_epoch") for r in rows if r["method"] == "plain torch"), None)
    print("| method | CPU s / epoch | / plain torch |\n|---|---:|---:|")
    for r in rows:
        s = r.get("seconds_per_epoch")
        if s is None:
            print(f"| {r['method']} | {r['status']} | |")
            continue
        r["ratio_to_plain_torch"] = s / plain_torch if plain_torch else None
        ratio = f"{s / plain_torch:.2f}" if plain_torch else "-"
        print(f"| {r['method']} | {s:.3f} | {ratio} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
