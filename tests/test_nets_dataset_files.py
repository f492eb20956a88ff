"""nets.datasets.load_mnist / load_cifar10 / load_imdb on tiny files written in the real
formats (mnist.npz, the cifar-10-batches-py pickles, imdb.npz with object arrays)."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from nets import datasets


def write_mnist(path, n_train=5, n_test=3):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "y_test": rng.integers(0, 10, n_test, dtype=np.uint8)}
    np.savez(path, **arrays)
    return arrays


def test_mnist_reads_the_four_arrays(tmp_path):
    arrays = write_mnist(tmp_path / "mnist.npz")
    (x_train, y_train), (x_test, y_test) = datasets.load_mnist(path=tmp_path / "mnist.npz")
    for name, got in zip(("x_train", "y_train", "x_test", "y_test"), (x_train, y_train, x_test, y_test)):
        np.testing.assert_array_equal(got, arrays[name])
        assert got.dtype == np.uint8


def test_a_missing_file_says_where_to_get_it(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"absent\.npz does not exist\. nets does not download data: "
                                                r"get mnist\.npz from https://storage\.googleapis\.com/"
                                                r"tensorflow/tf-keras-datasets/mnist\.npz"):
        datasets.load_mnist(path=tmp_path / "absent.npz")
    monkeypatch.setenv("HOME", str(tmp_path))  # no Keras cache in this home
    with pytest.raises(FileNotFoundError, match=r"cifar-10-python\.tar\.gz .*or put it in"):
        datasets.load_cifar10()
    with pytest.raises(FileNotFoundError, match=r"\.keras/datasets/imdb\.npz does not exist"):
        datasets.load_imdb()


def test_the_keras_cache_is_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    os.makedirs(tmp_path / ".keras" / "datasets")
    arrays = write_mnist(tmp_path / ".keras" / "datasets" / "mnist.npz")
    (x_train, _), _ = datasets.load_mnist()
    np.testing.assert_array_equal(x_train, arrays["x_train"])


def test_a_file_of_another_kind_is_one_value_error(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="lacks x_train, y_train, x_test, y_test"):
        datasets.load_mnist(path=tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="is not Keras's mnist.npz"):
        datasets.load_mnist(path=tmp_path / "text.npz")


# ---------------------------------------------------------------------- CIFAR-10
class Python2Pickler(pickle._Pickler):
    """Protocol 2 as Python 2's cPickle wrote the CIFAR batches: byte strings are Python 2
    ``str`` (the BINSTRING opcodes), which Python 3 reads back as bytes with encoding='bytes'."""

    dispatch = dict(pickle._Pickler.dispatch)  # noqa: RUF012 (the pickler's own table, copied)

    def save_bytes(self, obj):
        n = len(obj)
        self.write((pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else
                    pickle.BINSTRING + n.to_bytes(4, "little")) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def write_cifar(folder, n=2):
    """Batches as the real files are: pickled dicts with bytes keys (Python 2's cPickle read
    with encoding='bytes'), ``data`` (n, 3072) uint8 rows of R, G, B planes, ``labels`` a list."""
    os.makedirs(folder)
    rng = np.random.default_rng(1)
    written = {}
    for name in (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"):
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n)]
        with open(os.path.join(folder, name), "wb") as f:
            Python2Pickler(f, protocol=2).dump({b"batch_label": b"fake", b"labels": labels, b"data": data,
                                                b"filenames": [b"a.png"] * n})
        written[name] = (data, labels)
    return written


def test_cifar10_images_are_channels_last(tmp_path):
    written = write_cifar(tmp_path / "cifar-10-batches-py")
    (x_train, y_train), (x_test, y_test) = datasets.load_cifar10(path=tmp_path / "cifar-10-batches-py")
    assert x_train.shape == (10, 32, 32, 3) and y_train.shape == (10, 1)
    assert x_test.shape == (2, 32, 32, 3) and y_test.shape == (2, 1)
    assert x_train.dtype == y_train.dtype == np.uint8
    # pixel (row 4, column 7) of the third training image: its R, G, B are at 4*32+7 in each plane
    data, labels = written["data_batch_2"]
    np.testing.assert_array_equal(x_train[2, 4, 7], data[0, [4 * 32 + 7, 1024 + 4 * 32 + 7, 2048 + 4 * 32 + 7]])
    assert y_train[2, 0] == labels[0]
    np.testing.assert_array_equal(y_test[:, 0], written["test_batch"][1])


def test_cifar10_refuses_a_pickle_that_names_other_code(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo should-not-run",))

    with open(folder / "data_batch_3", "wb") as f:
        Python2Pickler(f, protocol=2).dump({b"data": Payload(), b"labels": [0]})
    with pytest.raises(ValueError, match=r"data_batch_3 is not a CIFAR-10 batch .*refusing to unpickle "
                                         r"(posix|nt)\.system"):
        datasets.load_cifar10(path=folder)


def test_cifar10_names_a_missing_batch_and_a_tarball(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    os.remove(folder / "test_batch")
    with pytest.raises(FileNotFoundError, match="test_batch does not exist"):
        datasets.load_cifar10(path=folder)
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"")
    with pytest.raises(ValueError, match="is not a folder: pass the cifar-10-batches-py folder"):
        datasets.load_cifar10(path=tmp_path / "cifar-10-python.tar.gz")


# ---------------------------------------------------------------------- IMDB
def ragged(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = [list(x) for x in lists]
    return out


REVIEWS_TRAIN = [[1, 5, 2], [7, 1], [3, 3, 3, 9], [2]]
REVIEWS_TEST = [[4, 4], [8, 1, 1, 6, 2]]


def write_imdb(path):
    np.savez(path, x_train=ragged(REVIEWS_TRAIN), y_train=np.array([1, 0, 1, 0]),
             x_test=ragged(REVIEWS_TEST), y_test=np.array([0, 1]))


def keras_imdb_by_hand(seed, num_words, skip_top, maxlen, start_char=1, oov_char=2, index_from=3):
    """Keras's documented recipe, step by step, on the lists above."""
    rng = np.random.RandomState(seed)
    out = []
    for reviews, labels in ((REVIEWS_TRAIN, [1, 0, 1, 0]), (REVIEWS_TEST, [0, 1])):
        order = np.arange(len(reviews))
        rng.shuffle(order)
        out.append(([[start_char] + [w + index_from for w in reviews[i]] for i in order],
                    [labels[i] for i in order]))
    if maxlen:
        out = [([x for x in xs if len(x) < maxlen], [y for x, y in zip(xs, ys) if len(x) < maxlen])
               for xs, ys in out]
    top = num_words or max(max(x) for xs, _ in out for x in xs)
    return [([[w if skip_top <= w < top else oov_char for w in x] for x in xs], ys) for xs, ys in out]


@pytest.mark.parametrize("options", [{}, {"num_words": 8}, {"num_words": 10, "skip_top": 5},
                                     {"maxlen": 4}, {"seed": 0, "num_words": 6}])
def test_imdb_follows_keras_recipe(tmp_path, options):
    write_imdb(tmp_path / "imdb.npz")
    got = datasets.load_imdb(path=tmp_path / "imdb.npz", **options)
    expected = keras_imdb_by_hand(options.get("seed", 113), options.get("num_words"),
                                  options.get("skip_top", 0), options.get("maxlen"))
    for (x, y), (ex, ey) in zip(got, expected):
        assert x.dtype == object and [list(r) for r in x] == ex
        assert list(y) == ey


def test_imdb_refuses_a_pickle_that_names_other_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo should-not-run",))

    np.savez(tmp_path / "imdb.npz", x_train=np.array([Payload()], dtype=object), y_train=np.array([0]),
             x_test=ragged([[1]]), y_test=np.array([0]))
    with pytest.raises(ValueError, match=r"not a readable \.npz archive .*refusing to unpickle"):
        datasets.load_imdb(path=tmp_path / "imdb.npz")


@pytest.mark.slow
@pytest.mark.parametrize("options", [{}, {"num_words": 8, "skip_top": 2, "maxlen": 5}])
def test_imdb_matches_keras_on_the_same_file(keras, tmp_path, monkeypatch, options):
    from keras.src.datasets import imdb as keras_imdb

    write_imdb(tmp_path / "imdb.npz")
    monkeypatch.setattr(keras_imdb, "get_file", lambda *a, **k: str(tmp_path / "imdb.npz"))
    theirs = keras_imdb.load_data(**options)
    ours = datasets.load_imdb(path=tmp_path / "imdb.npz", **options)
    for (x, y), (kx, ky) in zip(ours, theirs):
        assert [list(r) for r in x] == [list(r) for r in kx]
        np.testing.assert_array_equal(y, ky)


@pytest.mark.slow
def test_cifar10_matches_keras_batch_reader(keras, tmp_path):
    from keras.src.datasets.cifar import load_batch

    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    (x_train, y_train), (x_test, y_test) = datasets.load_cifar10(path=folder)
    data, labels = load_batch(str(folder / "data_batch_5"))
    test_data, test_labels = load_batch(str(folder / "test_batch"))
    np.testing.assert_array_equal(x_test, test_data.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y_test[:, 0], test_labels)
    np.testing.assert_array_equal(x_train[8:], data.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y_train[8:, 0], labels)
