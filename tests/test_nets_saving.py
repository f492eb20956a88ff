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



# ---------------------------------------------------------------------- hostile files
def zip_bomb(path, entries, declared_shape):
    """The model file ``entries`` with weight_0's header declaring ``declared_shape`` float64
    zeros, stored deflated (a few hundred KB on disk for hundreds of MB decompressed)."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = declared_shape
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in entries.items():
            if name != "weight_0":
                with archive.open(name + ".npy", "w") as f:
                    np.lib.format.write_array(f, array)
        with archive.open("weight_0.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, header)
            block = bytes(2 ** 20)
            for _ in range(int(np.prod(declared_shape)) * 8 // len(block)):
                f.write(block)


def test_a_decompression_bomb_is_refused_from_its_header_before_any_data_is_read(tmp_path,
                                                                                 monkeypatch):
    _, path = trained(tmp_path)
    with np.load(path, allow_pickle=False) as data:
        entries = {k: data[k] for k in data.files}
    bomb = tmp_path / "bomb.npz"
    zip_bomb(bomb, entries, (20_000_000,))          # 160 MB of zeros declared
    assert bomb.stat().st_size < 1_000_000
    read = [0]
    real_read = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        data = real_read(self, n)
        read[0] += len(data)
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    with pytest.raises(ValueError, match=r"bomb\.npz: its weights do not fit the architecture "
                                         r"\(weight_0: dense_0/kernel has shape \(3, 4\), "
                                         r"got \(20000000,\)\)"):
        nets.load_model(bomb)
    assert read[0] < 100_000, f"{read[0]:,} bytes decompressed before refusing"


def test_a_config_larger_than_the_limit_is_refused_unread(tmp_path, monkeypatch):
    from nets import saving

    _, path = trained(tmp_path)
    monkeypatch.setattr(saving, "MAX_CONFIG_BYTES", 1000)
    with pytest.raises(ValueError, match="not one text of at most 1,000 bytes"):
        nets.load_model(path)


def test_a_deeply_nested_config_is_a_value_error(tmp_path):
    _, path = trained(tmp_path)
    rewrite(path, lambda e: e.update(config=np.array("[" * 100_000 + "]" * 100_000)))
    with pytest.raises(ValueError, match=r"its 'config' entry is nested too deeply"):
        nets.load_model(path)


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.npz", r"missing\.npz does not exist"),
    (lambda d: d, r"is a directory, not a nets model file"),
    (lambda d: (d / "a.npz").symlink_to(d / "b.npz") or (d / "b.npz").symlink_to(d / "a.npz")
     or d / "a.npz", r"a\.npz is a symbolic link loop"),
    (lambda d: (d / "link.npz").symlink_to(d / "gone.npz") or d / "link.npz",
     r"link\.npz is a symbolic link to '.*gone\.npz', which does not exist"),
])
def test_a_path_that_is_not_a_model_file_is_a_value_error(tmp_path, make, message):
    folder = tmp_path / "models"
    folder.mkdir()
    with pytest.raises(ValueError, match=message):
        nets.load_model(make(folder))


@pytest.mark.parametrize("weight", [
    np.ones((3, 4), dtype=complex),
    np.ones((3, 4), dtype=bool),
    np.zeros((3, 4), dtype="datetime64[s]"),
    np.zeros((3, 4), dtype=[("a", "f8")]),
], ids=["complex", "bool", "datetime64", "structured"])
def test_weights_of_a_dtype_that_is_not_real_numbers_are_refused(tmp_path, weight):
    _, path = trained(tmp_path)
    rewrite(path, lambda e: e.update(weight_0=weight))
    with pytest.raises(ValueError, match=r"its weights do not fit the architecture \(weight_0: "
                                         r"dense_0/kernel holds .* values; weights are real"):
        nets.load_model(path)


# ---------------------------------------------------------------------- saving onto links, kills
@pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL and /proc-style pids")
def test_a_save_killed_with_sigkill_leaves_no_temporary_file_after_the_next_save(tmp_path):
    script = textwrap.dedent('''
        import sys, time
        import numpy as np
        import nets
        def stuck(f, **arrays):
            f.write(b"PK" + bytes(1000))
            f.flush()
            print("writing", flush=True)
            time.sleep(600)
        model = nets.Sequential([nets.Dense(1, input_dim=2)], seed=0)
        np.savez = stuck
        model.save(sys.argv[1])
    ''')
    model, path = trained(tmp_path)
    before = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline() == "writing\n"
    finally:
        child.kill()  # SIGKILL: no handler, no cleanup runs
        child.wait()
    left = sorted(os.listdir(tmp_path))
    assert len(left) == 2 and left[0].startswith(".model.npz.") and left[0].endswith(".tmp")
    assert path.read_bytes() == before
    model.save(path)
    assert os.listdir(tmp_path) == ["model.npz"]


def test_a_temporary_file_of_a_running_save_is_kept(tmp_path):
    from nets import saving

    model, path = trained(tmp_path)
    mine = tmp_path / f".model.npz.{os.getpid()}.0123abcd.tmp"        # this process: alive
    other = tmp_path / ".model.npz.notes.tmp"                           # not our naming
    mine.write_bytes(b"in progress")
    other.write_bytes(b"someone else's")
    model.save(path)
    assert mine.exists() and other.exists()
    old = os.stat(mine).st_mtime - saving.STALE_AFTER_SECONDS - 60
    os.utime(mine, (old, old))                                          # a day old: stale
    model.save(path)
    assert not mine.exists() and other.exists()


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_saving_onto_a_symbolic_link_writes_through_to_its_target(tmp_path):
    model, target = trained(tmp_path, "real.npz")
    link = tmp_path / "current.npz"
    link.symlink_to(target)
    model.set_weights([w + 1.0 for w in model.get_weights()])
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(nets.load_model(target).get_weights()[0], model.get_weights()[0])
    dangling = tmp_path / "next.npz"
    dangling.symlink_to(tmp_path / "created.npz")
    model.save(dangling)                                     # creates the target, as editors do
    assert dangling.is_symlink() and (tmp_path / "created.npz").is_file()


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_overwrite_false_refuses_a_dangling_symbolic_link(tmp_path):
    model, _ = trained(tmp_path)
    link = tmp_path / "new.npz"
    link.symlink_to(tmp_path / "nowhere.npz")
    with pytest.raises(ValueError, match=r"new\.npz exists \(a symbolic link\); pass overwrite=True"):
        model.save(link, overwrite=False)
    assert link.is_symlink() and not (tmp_path / "nowhere.npz").exists()
