"""Saving is atomic and loading refuses a damaged file with a ValueError naming the problem."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import nets


def trained(tmp_path, name="model.npz"):
    """A small Adam-trained model saved to ``tmp_path/name``: (model, path)."""
    model = nets.Sequential([nets.Dense(4, activation="tanh", input_dim=3), nets.Dense(1)], seed=0)
    model.compile(optimizer="adam", loss="mse")
    x = np.linspace(-1, 1, 24).reshape(8, 3)
    model.fit(x, x.sum(axis=1), epochs=2, verbose=0)
    path = tmp_path / name
    model.save(path)
    return model, path


def rewrite(path, change):
    """Rewrite the .npz at ``path`` with ``change(entries)`` applied to its dict of arrays."""
    with np.load(path, allow_pickle=False) as data:
        entries = {k: data[k] for k in data.files}
    change(entries)
    np.savez(path, **entries)


def edit_config(change):
    def apply(entries):
        config = json.loads(str(entries["config"]))
        change(config)
        entries["config"] = np.array(json.dumps(config))
    return apply


@pytest.mark.skipif(sys.platform != "linux", reason="the file-size limit as Linux applies it")
def test_a_save_cut_short_by_the_file_size_limit_leaves_the_previous_model(tmp_path):
    script = textwrap.dedent('''
        import json, os, resource, sys
        import numpy as np
        import nets
        path = sys.argv[1]
        model = nets.Sequential([nets.Dense(64, input_dim=32), nets.Dense(1)], seed=0)
        model.compile(optimizer="adam", loss="mse")
        model.save(path)
        before = open(path, "rb").read()
        model.set_weights([w + 1.0 for w in model.get_weights()])
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        try:
            model.save(path)
            error = None
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        print(json.dumps({"size": len(before), "error": error, "same": open(path, "rb").read() == before,
                          "files": sorted(os.listdir(os.path.dirname(path)))}))
    ''')
    path = tmp_path / "model.npz"
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["size"] > 4096  # the limit does cut the second save short
    assert result["error"].startswith("OSError: ")
    assert f"saving {path} failed" in result["error"] and "the previous file is unchanged" in result["error"]
    assert result["same"], "the previous model was damaged"
    assert result["files"] == ["model.npz"], "a temporary file was left behind"
    nets.load_model(path)  # and it still loads


def test_a_failed_write_removes_its_temporary_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    model, path = trained(tmp_path)
    before = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.raises(OSError, match="No space left on device.*the previous file is unchanged"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]
    monkeypatch.undo()
    model.save(path)  # the replacement gets the usual permissions, not a temporary file's 0600
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "not a readable .npz archive"),
    (lambda p: p.write_bytes(b""), "not a readable .npz archive"),
    (lambda p: p.write_bytes(b"PK\x03\x04" + np.random.default_rng(0).bytes(2000)),
     "not a readable .npz archive"),
    (lambda p: p.write_bytes(np.random.default_rng(1).bytes(2000)), "is not a nets model"),
])
def test_a_truncated_or_random_file_is_a_value_error(tmp_path, damage, message):
    _, path = trained(tmp_path)
    damage(path)
    with pytest.raises(ValueError, match=message):
        nets.load_model(path)


def test_a_corrupt_member_is_a_value_error(tmp_path):
    """The zip's directory is intact but a weight's bytes are flipped: zipfile's CRC error."""
    _, path = trained(tmp_path)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("weight_0.npy")
    raw = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    data_end = info.header_offset + 30 + name_length + extra_length + info.compress_size
    raw[data_end - 1] ^= 0xFF  # the last byte of the array data
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"model\.npz is damaged or truncated \(BadZipFile: Bad CRC"):
        nets.load_model(path)


@pytest.mark.parametrize("change, message", [
    (lambda e: e.pop("weight_1"), r"the model has 4 weight arrays but weight_1 is missing"),
    (lambda e: e.update(weight_4=np.ones(3)), r"the model has 4 weight arrays but the file also holds weight_4"),
    (lambda e: e.update(weight_0=np.ones((4, 4))),
     r"model\.npz: its weights do not fit the architecture .*dense_0/kernel has shape \(3, 4\), got \(4, 4\)"),
    (lambda e: e.update(weight_2=np.array(["a"] * 4)), r"model\.npz: its weights do not fit the architecture"),
    (lambda e: e.update(optimizer_m=np.ones(7)),
     r"optimizer slot 'm' has shape \(7,\) .* the model has 21 trainable parameters, so it must be \(21,\)"),
    (lambda e: e.update(optimizer_v=np.full(21, np.nan)), r"optimizer slot 'v' contains NaN"),
    (lambda e: e.update(config=np.array("{not json")), r"its 'config' entry is not JSON"),
    (lambda e: e.update(config=np.array("[1, 2]")), r"unknown format None"),
    (edit_config(lambda c: c["compile"].pop("metrics")), r"the compile settings in the file are damaged \(KeyError"),
    (edit_config(lambda c: c["compile"]["optimizer"].update(beta_3=1.0)),
     r"the compile settings in the file are damaged \(TypeError"),
    (edit_config(lambda c: c["compile"].update(optimizer_iterations="many")),
     r"optimizer_iterations must be a non-negative integer"),
    (edit_config(lambda c: c["model"]["layers"][0].pop("config")),
     r"the architecture in the file cannot be rebuilt \(KeyError"),
    (edit_config(lambda c: c["model"].update(layers=None)), r"the architecture in the file cannot be rebuilt"),
])
def test_a_damaged_model_file_is_a_value_error_naming_the_problem(tmp_path, change, message):
    _, path = trained(tmp_path)
    rewrite(path, change)
    with pytest.raises(ValueError, match=message):
        nets.load_model(path)

