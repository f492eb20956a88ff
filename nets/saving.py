"""Save and load models as ``.npz``: the architecture as JSON, then the weight arrays.

Nothing is pickled (``np.load(..., allow_pickle=False)``): the file holds a JSON string
``config`` (format tag, architecture, compile settings and optimiser state names) and
arrays ``weight_0, weight_1, ...`` in ``get_weights()`` order, plus ``optimizer_*`` slots.

Saving is atomic: the archive is written to a temporary file in the same folder, flushed
to disk and renamed over ``path`` only when complete, so a save cut short (disk full, a
file-size limit, an interrupt) leaves the previous file as it was. Loading checks
everything it reads and raises ``ValueError`` naming the problem for a file that is not a
complete nets model: truncated, corrupt, missing an entry, or with arrays of the wrong shape.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import warnings
import zipfile
import zlib

import numpy as np

from difflab.environment import one_line

from . import losses, metrics as metrics_module, optimizers
from .model import SAVE_FORMAT, Sequential, model_from_config

#: What NumPy and zipfile raise for a file that is not a readable, complete .npz archive.
_UNREADABLE = (ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError)
#: What rebuilding a model from a damaged config raises (a missing key, a wrong type).
_MALFORMED = (KeyError, TypeError, AttributeError, IndexError, ValueError)


def save_model(model: Sequential, path, overwrite=True, include_optimizer=True) -> None:
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise ValueError(f"nets saves models as .npz; give a path ending in .npz, not {path!r}")
    if not overwrite and os.path.exists(path):
        raise ValueError(f"{path} exists; pass overwrite=True to replace it")
    model._need_built()
    config = {"format": SAVE_FORMAT, "model": model.get_config(), "compile": None}
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


def write_atomically(path: str, write) -> None:
    """Call ``write(file)`` on a new temporary file beside ``path``, fsync it and rename it
    over ``path``; on any failure remove the temporary file and leave ``path`` untouched.
    An OSError (disk full, file too large) is raised again saying so."""
    folder = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
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


def load_model(path) -> Sequential:
    """A model saved by :meth:`Sequential.save`, compiled again when its loss was built in.

    Raises ValueError naming the problem when ``path`` is not a complete nets model.
    """
    path = os.fspath(path)
    config, arrays = _read_archive(path)
    with _problem(path, "the architecture in the file cannot be rebuilt"):
        model = model_from_config(config["model"])
        model._need_built()
    _set_weights(model, arrays, path)
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
    model.optimizer._slots.update(_optimizer_slots(model, arrays, path))
    return model


def _read_archive(path: str):
    """The config (a dict with the format tag checked) and every array, read in full now so
    that a truncated or corrupt member is found here, not halfway through loading."""
    try:
        archive = np.load(path, allow_pickle=False)
    except _UNREADABLE as exc:  # NumPy's "contains pickled data" for a file that is not .npy/.npz
        raise ValueError(f"{path} is not a nets model (not a readable .npz archive: {one_line(exc)})") from None
    if not hasattr(archive, "files"):
        raise ValueError(f"{path} is not a nets model (a single .npy array, not an .npz archive)")
    with archive as data:
        if "config" not in data.files:
            raise ValueError(f"{path} is not a nets model (no 'config' entry)")
        try:
            arrays = {name: data[name] for name in data.files}
        except _UNREADABLE as exc:
            raise ValueError(f"{path} is damaged or truncated ({one_line(exc)})") from None
    try:
        config = json.loads(str(arrays.pop("config")))
    except ValueError:
        raise ValueError(f"{path} is not a nets model (its 'config' entry is not JSON)") from None
    if not isinstance(config, dict) or config.get("format") != SAVE_FORMAT:
        found = config.get("format") if isinstance(config, dict) else None
        raise ValueError(f"{path}: unknown format {found!r}; expected {SAVE_FORMAT!r}")
    return config, arrays


def _set_weights(model: Sequential, arrays: dict, path: str) -> None:
    """The ``weight_i`` arrays into ``model``: exactly as many as it has, each of its shape."""
    expected = len(model.get_weights())
    found = sorted(k for k in arrays if k.startswith("weight_"))
    names = [f"weight_{i}" for i in range(expected)]
    missing = [n for n in names if n not in arrays]
    if missing:
        raise ValueError(f"{path} is incomplete: the model has {expected} weight arrays but "
                         f"{', '.join(missing)} is missing")
    if len(found) != expected:
        extra = sorted(set(found) - set(names))
        raise ValueError(f"{path}: the model has {expected} weight arrays but the file also holds "
                         f"{', '.join(extra)}")
    with _problem(path, "its weights do not fit the architecture"):
        model.set_weights([arrays[n] for n in names])


def _optimizer_slots(model: Sequential, arrays: dict, path: str) -> dict:
    """The optimiser's state: each slot one finite value per trainable parameter."""
    slots = {}
    size = model.parameters.size
    for key, value in arrays.items():
        if not key.startswith("optimizer_"):
            continue
        name = key[len("optimizer_"):]
        if value.shape != (size,) or value.dtype.kind not in "fiu":
            raise ValueError(f"{path}: optimizer slot {name!r} has shape {value.shape} and dtype "
                             f"{value.dtype}; the model has {size} trainable parameters, so it "
                             f"must be ({size},) floats")
        slot = value.astype(float)
        if not np.all(np.isfinite(slot)):
            raise ValueError(f"{path}: optimizer slot {name!r} contains NaN or infinity")
        slots[name] = slot
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
