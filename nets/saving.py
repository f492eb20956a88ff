"""Save and load models as ``.npz``: the architecture as JSON, then the weight arrays.

Nothing is pickled: the file holds a JSON string ``config`` (format tag, architecture,
compile settings and optimiser state names) and arrays ``weight_0, weight_1, ...`` in
``get_weights()`` order, plus ``optimizer_*`` slots.

Saving is atomic: the archive is written to a temporary file beside the target, flushed to
disk and renamed over it only when complete, so a save cut short (disk full, a file-size
limit, an interrupt) leaves the previous file as it was. The temporary file is named
``.<name>.<pid>.<random>.tmp``; one left by a process killed outright (SIGKILL, power loss)
is removed by the next save to the same name once its process is gone. Saving onto a
symbolic link writes through to the link's target, as editors do; ``overwrite=False``
refuses any existing name, a dangling link included.

Loading reads nothing blindly: the file must be a regular file; the config is read first
(at most :data:`MAX_CONFIG_BYTES`), the model is rebuilt from it, and every array's ``.npy``
header (shape, dtype) is checked against that model before any array data is read, so what
is read is what the architecture needs. Anything else is one ``ValueError`` naming the file
and the problem: missing, a directory, a link loop, truncated, corrupt, nested too deeply,
an entry missing or extra, or arrays of the wrong shape or dtype.

Deserialisation lives here: a layer or model is rebuilt from its config by class name
through :mod:`nets.registry`, where every layer and model class (a user's own included)
registered itself when it was defined.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
import time
import warnings
import zipfile
import zlib

import numpy as np

from difflab.analysis.environment import one_line

from . import losses, optimizers, registry
from . import metrics as metrics_module
from .symbolic import Input

#: Version tag of the saved-model format.
SAVE_FORMAT = "nets.model/1"

#: What NumPy and zipfile raise for a file that is not a readable, complete .npz archive.
_UNREADABLE = (ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError)
#: What rebuilding a model from a damaged config raises (a missing key, a wrong type, a
#: nesting or a size no model has).
_MALFORMED = (KeyError, TypeError, AttributeError, IndexError, ValueError, RecursionError,
              MemoryError, OverflowError)
#: The config is a short JSON text; a larger one is refused before it is read.
MAX_CONFIG_BYTES = 16 * 2 ** 20
#: Array dtypes a model file may hold (floats and integers, cast to the model's floats);
#: complex, bool, datetime, string, object and structured arrays are refused.
_NUMBER_KINDS = "fiu"
#: A temporary file older than this is stale whoever wrote it (its process may live on
#: another machine, or its id may have been reused).
STALE_AFTER_SECONDS = 24 * 3600


def save_model(model, path, overwrite=True, include_optimizer=True) -> None:
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise ValueError(f"nets saves models as .npz; give a path ending in .npz, not {path!r}")
    path = _save_target(path, overwrite)
    model._need_built()
    config = {"format": SAVE_FORMAT, "model": model._save_config(), "compile": None}
    arrays = {f"weight_{i}": w for i, w in enumerate(model.get_weights())}
    if model.loss is not None:
        per_output = getattr(model, "output_losses", None) or [model.loss]
        builtin = all(type(loss) in losses.LOSSES.values() for loss in per_output)
        names = [loss.name for loss in per_output] if len(per_output) > 1 else model.loss.name
        config["compile"] = {
            "loss": names if builtin else None,
            "loss_config": [loss.get_config() for loss in per_output] if builtin else [],
            "loss_weights": getattr(model, "loss_weights", None),
            "metrics": [name for name, fn in model.metrics if name.lower() in metrics_module.METRICS],
            "differentiator": model.differentiator,
            "optimizer": model.optimizer.get_config() if include_optimizer else None,
            "optimizer_iterations": model.optimizer.iterations if include_optimizer else 0,
        }
        if include_optimizer:
            arrays.update({f"optimizer_{k}": v for k, v in model.optimizer._slots.items()})
    write_atomically(path, lambda f: np.savez(f, config=np.array(json.dumps(config)), **arrays))


def layer_config(layer) -> dict:
    """How a layer (or a nested model) is saved: its class (name and module) and config."""
    return {"class_name": type(layer).__name__, "module": type(layer).__module__,
            "config": layer.get_config()}


def layer_from_config(class_name: str, config: dict, module: str | None = None):
    """The layer ``class_name`` (a registered class) made from its config; a nested model's
    entry is its whole model config, rebuilt by :func:`model_from_config`."""
    cls = registry.lookup(class_name, module)
    if hasattr(cls, "_leaf_layers"):  # a model nested in a Sequential
        return model_from_config(config)
    return cls(**config)


def model_from_config(config: dict):
    """A model rebuilt from its ``get_config()``: a Sequential chain, a functional graph, or
    a subclassed model made by its class from its own config and built for its input shape."""
    if config.get("functional"):
        return _functional_from_config(config)
    if config.get("subclassed"):
        model = registry.lookup(config["class_name"], config.get("module"))(**config.get("config", {}))
        if config.get("input_shape"):
            model.build((None, *config["input_shape"]))  # Keras's build: the batch axis first
        return model
    layers = [layer_from_config(entry["class_name"], entry["config"], entry.get("module"))
              for entry in config["layers"]]
    cls = registry.lookup(config.get("class_name", "Sequential"), config.get("module", "nets.model"))
    model = cls(layers, seed=config.get("seed"), name=config.get("name", "sequential"))
    if not model.built and config.get("input_shape"):
        model.build(tuple(config["input_shape"]))
    elif not model.built and config.get("input_dim"):
        model.build(config["input_dim"])
    return model


def _functional_from_config(config: dict):
    """Rebuild a functional model from its ``get_config()``: the layers called again on the
    saved graph's inputs."""
    inputs = [Input(tuple(entry["shape"]), name=entry["name"]) for entry in config["inputs"]]
    layers = [layer_from_config(entry["class_name"], entry["config"], entry.get("module"))
              for entry in config["layers"]]
    made = []

    def tensor(ref):
        kind, i = ref
        return inputs[i] if kind == "input" else made[i]

    for node in config["nodes"]:
        args = [tensor(ref) for ref in node["inputs"]]
        layer = layers[node["layer"]]
        made.append(layer(args if getattr(layer, "takes_list", False) else args[0]))
    outputs = [tensor(ref) for ref in config["outputs"]]
    cls = registry.lookup(config.get("class_name", "Functional"), config.get("module", "nets.functional"))
    return cls(inputs, outputs[0] if config.get("single_output", True) else outputs,
               seed=config.get("seed"), name=config.get("name", "model"))


def _save_target(path: str, overwrite: bool) -> str:
    """The file a save writes: ``path``, or the target of the symbolic link ``path`` (written
    through, as editors do; a dangling link's target is created). ``overwrite=False`` refuses
    any existing name, a dangling link included."""
    if os.path.islink(path):
        if not overwrite:
            raise ValueError(f"{path} exists (a symbolic link); pass overwrite=True to write "
                             "through it")
        target = os.path.realpath(path)
        if os.path.islink(target):
            raise ValueError(f"{path} is a symbolic link loop; nothing was written")
        path = target
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory; give a file name ending in .npz")
    if not overwrite and os.path.exists(path):
        raise ValueError(f"{path} exists; pass overwrite=True to replace it")
    return path


def write_atomically(path: str, write) -> None:
    """Call ``write(file)`` on a new temporary file beside ``path``, fsync it and rename it
    over ``path``; on any failure remove the temporary file and leave ``path`` untouched.
    An OSError (disk full, file too large) is raised again saying so. Temporary files of
    earlier saves to ``path`` whose process is gone are removed first."""
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    remove_stale_temporaries(folder, name)
    temporary = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    existed = os.path.exists(path)
    try:
        # os.open with 0o666 so the saved file gets the usual permissions (umask applied)
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
            kept = "the previous file is unchanged" if existed else "nothing was written"
            raise OSError(exc.errno, f"saving {path} failed ({exc.strerror or exc}); {kept}") from exc
        raise
    _sync_folder(folder)


def remove_stale_temporaries(folder: str, name: str) -> list:
    """Remove ``.<name>.<pid>.<hex>.tmp`` files (and the older ``.<name>.<hex>.tmp``) whose
    writing process no longer runs on this machine, or that are over a day old; the names
    removed. A save in progress elsewhere keeps its file: its process is alive."""
    prefix, removed = f".{name}.", []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
            continue
        middle = entry.name[len(prefix):-len(".tmp")].split(".")
        if not (middle and _is_hex8(middle[-1]) and len(middle) <= 2
                and (len(middle) == 1 or middle[0].isdigit())):
            continue  # not a name this module makes
        pid = int(middle[0]) if len(middle) == 2 else None
        try:
            old = time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_SECONDS
        except OSError:
            continue
        if old or (pid is not None and not _running(pid)):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def _is_hex8(text: str) -> bool:
    return len(text) == 8 and all(c in "0123456789abcdef" for c in text)


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (POSIX; elsewhere assume it does, and
    let the age rule clean up)."""
    if os.name != "posix" or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


def _sync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_model(path) :
    """A model saved by :meth:`Sequential.save`, compiled again when its loss was built in.

    Raises ValueError naming the problem when ``path`` is not a complete nets model.
    """
    path = os.fspath(path)
    with _open_archive(path) as archive:
        members = _members(archive, path)
        config = _read_config(archive, members, path)
        with _problem(path, "the architecture in the file cannot be rebuilt"):
            model = model_from_config(config["model"])
            model._need_built()
        arrays = _read_arrays(archive, members, _expected_arrays(model, members, path), path)
    model.set_weights([arrays[f"weight_{i}"] for i in range(len(model.get_weights()))])
    compiled = config.get("compile")
    if not compiled:
        return model
    with _problem(path, "the compile settings in the file are damaged"):
        if compiled["loss"] is None:
            warnings.warn(f"{path}: the model was trained with a custom loss, which cannot be saved; "
                          "it is loaded uncompiled", UserWarning, stacklevel=2)
            return model
        loss = _saved_losses(compiled["loss"], compiled.get("loss_config"))
        extra = {"loss_weights": compiled["loss_weights"]} if compiled.get("loss_weights") else {}
        model.compile(optimizer=optimizers.get(compiled["optimizer"] or "rmsprop"), loss=loss,
                      metrics=compiled["metrics"], differentiator=compiled["differentiator"], **extra)
        iterations = compiled.get("optimizer_iterations", 0)
        if not isinstance(iterations, int) or iterations < 0:
            raise ValueError(f"optimizer_iterations must be a non-negative integer, not {iterations!r}")
    model.optimizer.iterations = iterations
    model.optimizer._slots.update(_optimizer_slots(arrays, path))
    return model


def _open_archive(path: str) -> zipfile.ZipFile:
    """``path`` opened as a zip archive, or the ValueError saying what it is instead."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ValueError(_unopenable(path, exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise ValueError(f"{path} is a directory, not a nets model file")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path} is not a regular file, so not a nets model file")
    try:
        return zipfile.ZipFile(path)
    except OSError as exc:
        raise ValueError(_unopenable(path, exc)) from None
    except _UNREADABLE as exc:
        raise ValueError(f"{path} is not a nets model (not a readable .npz archive: "
                         f"{one_line(exc)})") from None


def _unopenable(path: str, exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        if os.path.islink(path):
            return f"{path} is a symbolic link to {os.readlink(path)!r}, which does not exist"
        return f"{path} does not exist"
    if exc.errno == errno.ELOOP:
        return f"{path} is a symbolic link loop, not a nets model file"
    return f"{path} cannot be read ({exc.strerror or one_line(exc)})"


def _members(archive: zipfile.ZipFile, path: str) -> dict:
    """Entry name (``config``, ``weight_0``, ...) -> ``(shape, dtype)`` from its ``.npy``
    header alone: no array data is read here."""
    members = {}
    for name in archive.namelist():
        if name.endswith(".npy"):
            members[name[:-4]] = _header(archive, name, path)
    if "config" not in members:
        raise ValueError(f"{path} is not a nets model (no 'config' entry)")
    return members


def _header(archive: zipfile.ZipFile, name: str, path: str):
    try:
        with archive.open(name) as stream:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise ValueError(f"a .npy format {version} that nets does not write")
    except _UNREADABLE as exc:
        raise ValueError(f"{path} is damaged or truncated ({one_line(exc)})") from None
    return shape, dtype


def _read_config(archive: zipfile.ZipFile, members: dict, path: str) -> dict:
    """The config entry: one JSON text of at most MAX_CONFIG_BYTES, format tag checked."""
    shape, dtype = members["config"]
    if shape != () or dtype.kind != "U" or dtype.itemsize > MAX_CONFIG_BYTES:
        raise ValueError(f"{path} is not a nets model (its 'config' entry is {dtype} of shape "
                         f"{shape}, not one text of at most {MAX_CONFIG_BYTES:,} bytes)")
    text = str(_read_member(archive, "config", path))
    try:
        config = json.loads(text)
    except RecursionError:
        raise ValueError(f"{path} is not a nets model (its 'config' entry is nested too "
                         "deeply)") from None
    except ValueError:
        raise ValueError(f"{path} is not a nets model (its 'config' entry is not JSON)") from None
    if not isinstance(config, dict) or config.get("format") != SAVE_FORMAT:
        found = config.get("format") if isinstance(config, dict) else None
        raise ValueError(f"{path}: unknown format {found!r}; expected {SAVE_FORMAT!r}")
    return config


def _expected_arrays(model, members: dict, path: str) -> dict:
    """Entry -> the shape the rebuilt model needs, checked against each header: exactly the
    model's ``weight_i`` (each of its layer's shape) and ``optimizer_*`` slots of one number
    per trainable parameter, all of number dtypes."""
    parameters = model.parameters
    specs = [(f"{parameters.layers[i].name}/{spec.name}", spec.shape)
             for i, row in enumerate(parameters.slots) for spec, _ in row]
    names = [f"weight_{i}" for i in range(len(specs))]
    missing = [n for n in names if n not in members]
    if missing:
        raise ValueError(f"{path} is incomplete: the model has {len(specs)} weight arrays but "
                         f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing")
    extra = sorted(k for k in members if k.startswith("weight_") and k not in names)
    if extra:
        raise ValueError(f"{path}: the model has {len(specs)} weight arrays but the file also "
                         f"holds {', '.join(extra)}")
    expected = {}
    for name, (label, shape) in zip(names, specs):
        found, dtype = members[name]
        if found != shape:
            raise ValueError(f"{path}: its weights do not fit the architecture ({name}: {label} "
                             f"has shape {shape}, got {found})")
        if dtype.kind not in _NUMBER_KINDS or dtype.names is not None:
            raise ValueError(f"{path}: its weights do not fit the architecture ({name}: {label} "
                             f"holds {dtype} values; weights are real numbers)")
        expected[name] = shape
    size = parameters.size
    for key, (found, dtype) in members.items():
        if key.startswith("optimizer_"):
            if found != (size,) or dtype.kind not in "fiu" or dtype.names is not None:
                raise ValueError(f"{path}: optimizer slot {key[len('optimizer_'):]!r} has shape "
                                 f"{found} and dtype {dtype}; the model has {size} trainable "
                                 f"parameters, so it must be ({size},) floats")
            expected[key] = found
    return expected


def _read_arrays(archive: zipfile.ZipFile, members: dict, expected: dict, path: str) -> dict:
    """Read the entries whose headers were checked, each in full now (so a truncated or
    corrupt member is found here, not halfway through loading); nothing else is read."""
    return {name: _read_member(archive, name, path) for name in expected}


def _read_member(archive: zipfile.ZipFile, name: str, path: str) -> np.ndarray:
    """One entry's array: its header's worth of data, then the end of the entry, which makes
    zipfile check the CRC."""
    try:
        with archive.open(name + ".npy") as stream:
            array = np.lib.format.read_array(stream, allow_pickle=False)
            if stream.read(1):
                raise ValueError("data after the array")
    except _UNREADABLE as exc:
        raise ValueError(f"{path} is damaged or truncated ({one_line(exc)})") from None
    return array


def _optimizer_slots(arrays: dict, path: str) -> dict:
    """The optimiser's state (shapes and dtypes already checked): finite floats."""
    slots = {}
    for key, value in arrays.items():
        if not key.startswith("optimizer_"):
            continue
        slot = value.astype(float)
        if not np.all(np.isfinite(slot)):
            raise ValueError(f"{path}: optimizer slot {key[len('optimizer_'):]!r} contains NaN "
                             "or infinity")
        slots[key[len("optimizer_"):]] = slot
    return slots


@contextlib.contextmanager
def _problem(path: str, what: str):
    """Turn the KeyError/TypeError of a damaged config into one ValueError naming the file."""
    try:
        yield
    except _MALFORMED as exc:
        raise ValueError(f"{path}: {what} ({one_line(exc)})") from None


def _saved_losses(names, configs):
    """The compiled loss (or one per output) rebuilt with its saved options (``from_logits``)."""
    several = isinstance(names, list)
    names = names if several else [names]
    if isinstance(configs, dict):  # files written before per-output losses: one config
        configs = [configs]
    configs = list(configs or []) + [{}] * (len(names) - len(configs or []))
    built = []
    for name, config in zip(names, configs):
        loss = losses.get(name)
        built.append(type(loss)(**config) if config else loss)
    return built if several else built[0]
