"""Keras's standard data sets from files the user downloaded: MNIST, CIFAR-10 and IMDB.

nets never downloads anything. Each loader reads the file Keras itself would fetch, from the
``path`` given, or by default from Keras's cache (``~/.keras/datasets/``, where
``keras.datasets.*.load_data()`` leaves it), and returns Keras's tuples
``(x_train, y_train), (x_test, y_test)`` with Keras's shapes and dtypes. A missing file is
one ``FileNotFoundError`` naming the file and the address to download it from; a file in
another format is one ``ValueError``.

Pickle: the CIFAR-10 batches are Python pickles and ``imdb.npz`` stores its ragged reviews as
pickled object arrays, so both need unpickling. nets unpickles only files at a path the user
gave (or Keras's cache), and with :class:`ArrayUnpickler`, which rebuilds NumPy arrays,
lists, dicts, numbers and strings and refuses every other global (so a tampered file cannot
run code through a pickle ``__reduce__``), as Keras 3's own loaders do.
"""
from __future__ import annotations

import io
import os
import pickle
import zipfile

import numpy as np

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CIFAR10_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
#: Where Keras caches what it downloads; the loaders look there when no path is given.
KERAS_CACHE = os.path.join("~", ".keras", "datasets")

#: The only globals a data set pickle may name: what rebuilding a NumPy array takes (both
#: the NumPy 1 and NumPy 2 spellings of the module).
_RECONSTRUCT = np.zeros(1).__reduce__()[0]
_ALLOWED = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
            ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
            ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT}


class ArrayUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds NumPy arrays and plain Python data, and nothing else."""

    def find_class(self, module, name):
        try:
            return _ALLOWED[module, name]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}: a data set file "
                                         "holds only arrays, lists and numbers") from None


def _locate(path, default_name: str, origin: str, what: str) -> str:
    """The file or folder to read: ``path``, or Keras's cache; FileNotFoundError saying where
    to get it when it is absent."""
    chosen = os.path.expanduser(os.fspath(path) if path is not None
                                else os.path.join(KERAS_CACHE, default_name))
    if not os.path.exists(chosen):
        raise FileNotFoundError(
            f"{chosen} does not exist. nets does not download data: get {what} from {origin} "
            f"and pass its path (path=...){'' if path is not None else ', or put it in ' + KERAS_CACHE}")
    return chosen


def _read_npz(path: str, need=("x_train", "y_train", "x_test", "y_test")) -> dict:
    """The arrays of an .npz archive; object arrays through :class:`ArrayUnpickler`."""
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.endswith(".npy") and member[:-4] in need:
                    with archive.open(member) as raw:
                        arrays[member[:-4]] = _read_npy(io.BytesIO(raw.read()))
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as exc:
        raise ValueError(f"{path} is not a readable .npz archive of arrays ({exc})") from None
    missing = [k for k in need if k not in arrays]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}; it is not the Keras file")
    return arrays


def _read_npy(stream) -> np.ndarray:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version in ((2, 0), (3, 0)):
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f".npy format {version} is not known")
    if dtype.hasobject:
        array = ArrayUnpickler(stream).load()
        if not isinstance(array, np.ndarray) or array.shape != shape:
            raise ValueError("an object entry is not the array its header describes")
        return array
    stream.seek(0)
    return np.lib.format.read_array(stream, allow_pickle=False)


def load_mnist(path=None):
    """MNIST from Keras's ``mnist.npz``: ``(x_train (60000, 28, 28) uint8, y_train (60000,)),
    (x_test (10000, 28, 28), y_test (10000,))``, as ``keras.datasets.mnist.load_data()``.

    ``path`` is the downloaded file (default ``~/.keras/datasets/mnist.npz``); get it from
    https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz. Nothing is pickled.
    """
    path = _locate(path, "mnist.npz", KERAS_ORIGIN + "mnist.npz", "mnist.npz")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f.files]
            if not missing:
                return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not Keras's mnist.npz ({exc})") from None
    raise ValueError(f"{path} lacks {', '.join(missing)}; it is not Keras's mnist.npz")


CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))


def load_cifar10(path=None):
    """CIFAR-10 from the ``cifar-10-batches-py`` folder (``cifar-10-python.tar.gz`` from
    https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz, extracted with ``tar xzf``):
    ``(x_train (50000, 32, 32, 3) uint8, y_train (50000, 1) uint8), (x_test (10000, 32, 32,
    3), y_test (10000, 1))``, channels last, as ``keras.datasets.cifar10.load_data()``.

    The batches are Python pickles: only the folder the user names (default
    ``~/.keras/datasets/cifar-10-batches-py``) is read, and with :class:`ArrayUnpickler`.
    """
    folder = _locate(path, "cifar-10-batches-py", CIFAR10_ORIGIN,
                     "cifar-10-python.tar.gz (extract it: tar xzf cifar-10-python.tar.gz)")
    if not os.path.isdir(folder):
        raise ValueError(f"{folder} is not a folder: pass the cifar-10-batches-py folder that "
                         "tar xzf cifar-10-python.tar.gz makes")
    train = [_cifar_batch(os.path.join(folder, name)) for name in CIFAR10_TRAIN]
    x_test, y_test = _cifar_batch(os.path.join(folder, "test_batch"))
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return (x_train, y_train), (x_test, y_test)


def _cifar_batch(path: str):
    """One batch: ``data`` (n, 3072) rows of R, G, B planes of 32x32 -> (n, 32, 32, 3) and
    ``labels`` -> (n, 1) uint8, as Keras's ``load_batch`` and ``load_data`` make them."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist: the cifar-10-batches-py folder should hold "
                                f"{', '.join(CIFAR10_TRAIN)} and test_batch (from {CIFAR10_ORIGIN})")
    try:
        with open(path, "rb") as f:
            batch = ArrayUnpickler(f, encoding="bytes").load()
        batch = {(k.decode("utf8") if isinstance(k, bytes) else k): v for k, v in batch.items()}
        data = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch["labels"], dtype=np.uint8)
        images = data.reshape(data.shape[0], 3, 32, 32).transpose(0, 2, 3, 1)
    except (pickle.UnpicklingError, EOFError, KeyError, AttributeError, TypeError, ValueError) as exc:
        raise ValueError(f"{path} is not a CIFAR-10 batch ({type(exc).__name__}: {exc})") from None
    if len(labels) != len(images):
        raise ValueError(f"{path} has {len(images)} images but {len(labels)} labels")
    return images, labels.reshape(-1, 1)


def load_imdb(path=None, num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1,
              oov_char=2, index_from=3):
    """IMDB reviews from Keras's ``imdb.npz``, exactly as ``keras.datasets.imdb.load_data``
    with the same arguments: each split shuffled with ``seed``, every word id shifted by
    ``index_from`` after a ``start_char``, reviews of ``maxlen`` words or more dropped, ids
    outside ``[skip_top, num_words)`` replaced by ``oov_char`` (dropped when it is None).
    Returns ``(x_train, y_train), (x_test, y_test)``, x an object array of lists of ids.

    ``path`` is the file (default ``~/.keras/datasets/imdb.npz``) from
    https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz; its object arrays
    are read with :class:`ArrayUnpickler`.
    """
    path = _locate(path, "imdb.npz", KERAS_ORIGIN + "imdb.npz", "imdb.npz")
    f = _read_npz(path)
    rng = np.random.RandomState(seed)
    splits = []
    for x, y in ((f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])):
        order = np.arange(len(x))
        rng.shuffle(order)
        splits.append((x[order], y[order]))
    (x_train, labels_train), (x_test, labels_test) = splits
    shift = index_from or 0
    lead = [start_char] if start_char is not None else []
    x_train = [lead + [w + shift for w in x] for x in x_train]
    x_test = [lead + [w + shift for w in x] for x in x_test]
    if maxlen:
        x_train, labels_train = _shorter_than(maxlen, x_train, labels_train)
        x_test, labels_test = _shorter_than(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"no review is shorter than maxlen={maxlen}; increase maxlen")
    xs = x_train + x_test
    labels = np.concatenate([labels_train, labels_test])
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    cut = len(x_train)
    return ((_ragged(xs[:cut]), labels[:cut]), (_ragged(xs[cut:]), labels[cut:]))


def _shorter_than(maxlen, xs, labels):
    kept = [i for i, x in enumerate(xs) if len(x) < maxlen]
    return [xs[i] for i in kept], np.asarray(labels)[kept]


def _ragged(lists) -> np.ndarray:
    """An object array of lists (np.array would make a 2-D array when all lengths agree)."""
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out
