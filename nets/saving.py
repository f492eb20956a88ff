"""Save and load models as ``.npz``: the architecture as JSON, then the weight arrays.

Nothing is pickled (``np.load(..., allow_pickle=False)``): the file holds a JSON string
``config`` (format tag, architecture, compile settings and optimiser state names) and
arrays ``weight_0, weight_1, ...`` in ``get_weights()`` order, plus ``optimizer_*`` slots.
"""
from __future__ import annotations

import json
import os
import warnings

import numpy as np

from . import losses, metrics as metrics_module, optimizers
from .model import SAVE_FORMAT, Sequential, model_from_config


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
        builtin = type(model.loss) in losses.LOSSES.values()
        config["compile"] = {
            "loss": model.loss.name if builtin else None,
            "metrics": [name for name, fn in model.metrics if name.lower() in metrics_module.METRICS],
            "differentiator": model.differentiator,
            "optimizer": model.optimizer.get_config() if include_optimizer else None,
            "optimizer_iterations": model.optimizer.iterations if include_optimizer else 0,
        }
        if include_optimizer:
            arrays.update({f"optimizer_{k}": v for k, v in model.optimizer._slots.items()})
    np.savez(path, config=np.array(json.dumps(config)), **arrays)


def load_model(path) -> Sequential:
    """A model saved by :meth:`Sequential.save`, compiled again when its loss was built in."""
    try:
        archive = np.load(os.fspath(path), allow_pickle=False)
    except ValueError:  # NumPy's "contains pickled data" for any file that is not .npy/.npz
        raise ValueError(f"{path} is not a nets model (not an .npz archive)") from None
    if not hasattr(archive, "files"):
        raise ValueError(f"{path} is not a nets model (a single .npy array, not an .npz archive)")
    with archive as data:
        try:
            config = json.loads(str(data["config"]))
        except KeyError:
            raise ValueError(f"{path} is not a nets model (no 'config' entry)") from None
        if config.get("format") != SAVE_FORMAT:
            raise ValueError(f"{path}: unknown format {config.get('format')!r}; expected {SAVE_FORMAT!r}")
        model = model_from_config(config["model"])
        count = sum(1 for k in data.files if k.startswith("weight_"))
        model.set_weights([data[f"weight_{i}"] for i in range(count)])
        slots = {k[len("optimizer_"):]: np.array(data[k]) for k in data.files if k.startswith("optimizer_")}
    compiled = config.get("compile")
    if compiled:
        if compiled["loss"] is None:
            warnings.warn(f"{path}: the model was trained with a custom loss, which cannot be saved; "
                          "it is loaded uncompiled", UserWarning, stacklevel=2)
            return model
        model.compile(optimizer=optimizers.get(compiled["optimizer"] or "rmsprop"), loss=compiled["loss"],
                      metrics=compiled["metrics"], differentiator=compiled["differentiator"])
        model.optimizer.iterations = compiled.get("optimizer_iterations", 0)
        model.optimizer._slots.update(slots)
    return model
