"""Keras 3 weight files (``.weights.h5``) read and written by nets, via h5py.

Keras 3's ``model.save_weights("x.weights.h5")`` writes one HDF5 group per layer, addressed
by the layer's *class* (not its name, which Keras generates afresh in every session)::

    vars                                   (attrs: name = the model's name; no datasets)
    layers/dense/vars/0, layers/dense/vars/1           kernel, bias of the first Dense
    layers/dense_1/vars/0, ...                         the second Dense
    layers/conv2d/vars/0..1                            kernel (kh, kw, in, out), bias
    layers/batch_normalization/vars/0..3               gamma, beta, moving_mean, moving_variance
    layers/lstm/cell/vars/0..2                         a recurrent layer's weights live in its cell
    layers/<nested model>/layers/...                   a model used as a layer, recursively

Keys are the class name in snake case, numbered ``_1, _2, ...`` per class in ``model.layers``
order (Keras's ``_save_container_state``); a functional model also lists its inputs
(``layers/input_layer``, no weights). A subclassed model is keyed by its attribute names
(``d1/vars/0``, a list attribute ``blocks/dense/vars/0``). Each ``vars`` group carries the
layer's name as an attribute; the weights are in Keras's order, which is nets' own
(:attr:`Layer.weight_specs`): the LSTM gates i, f, c, o and the GRU's z, r, h with its
(2, 3u) bias under ``reset_after=True`` are the same arrays in both libraries.

Loading reads no data blindly: every layer's group must exist, hold exactly the arrays the
nets layer has, each of the nets shape and a number dtype (checked from the metadata before
any data is read); anything else is one ``ValueError`` naming the file, the layer and both
shapes. Only hard links inside the file are followed (no external links). A Keras file's
``optimizer`` group (written after training) is ignored: nets loads weights, not the
optimiser's slots. Writing is atomic (:func:`nets.saving.write_atomically`) and refuses an
existing file unless ``overwrite=True``.
"""
from __future__ import annotations

import io
import os
import re

import numpy as np

from difflab.analysis.environment import one_line

from . import registry

#: What Keras requires the file name to end with (and so does nets).
SUFFIX = ".weights.h5"
#: nets layer classes whose weights Keras keeps in a sub-object: the recurrent cells.
_SUBPATH = {"SimpleRNN": "cell", "LSTM": "cell", "GRU": "cell"}
#: nets class name -> the name Keras 3 gives the same object (only where they differ).
_KERAS_CLASS = {"Model": "Functional"}
_NUMBER_KINDS = "fiu"


def to_snake_case(name: str) -> str:
    """Keras's ``naming.to_snake_case``: ``BatchNormalization`` -> ``batch_normalization``,
    ``Conv2D`` -> ``conv2d``, ``LSTM`` -> ``lstm``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _unique(name: str, used: dict) -> str:
    """Keras's ``_get_unique_name``: the first ``dense``, then ``dense_1``, ``dense_2``, ..."""
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _key(obj) -> str:
    cls = type(obj).__name__
    return to_snake_case(_KERAS_CLASS.get(cls, cls))


def _model_class() -> type:
    """nets' model base, found in the registry (nets.model imports this module)."""
    return registry.lookup("Sequential", "nets.model")


def _is_model(obj) -> bool:
    return isinstance(obj, _model_class())


def _is_graph(model) -> bool:
    """Sequential and functional models keep their layers in ``model.layers`` (Keras saves
    those under ``layers/``); a model whose class defines its own ``call`` (a subclassed
    model) is saved by attribute, as Keras saves one."""
    call = getattr(type(model), "call", None)
    return call is None or getattr(call, "__module__", "").startswith("nets.")


def entries(model, prefix: str = "") -> list:
    """``[(group path, object)]`` for every layer of ``model``, with Keras 3's paths; a
    layer's weights are at ``<path>/vars/<i>`` (``<path>/cell/vars/<i>`` for a recurrent
    layer). Layers without weights are listed too (Keras writes their empty groups), and so
    are nested models (``object`` a model) and a functional model's inputs (``object`` None):
    see :func:`_holds_weights`."""
    out = []
    if _is_graph(model):
        used: dict = {}
        if hasattr(model, "nodes") and hasattr(model, "inputs"):  # functional: the inputs first
            out += [(_join(prefix, "layers", _unique("input_layer", used)), None)
                    for _ in model.inputs]
        for layer in model.layers:
            out += _entry(layer, _join(prefix, "layers", _unique(_key(layer), used)))
        return out
    seen = set()
    for attr in sorted(vars(model)):
        if attr.startswith("_") or attr in _model_attributes():
            continue  # the model's own machinery (Keras skips it too), not the user's layers
        for path, obj in _attribute_entries(getattr(model, attr), _join(prefix, attr)):
            if id(obj) not in seen:  # a layer reachable twice is saved once, where first met
                seen.add(id(obj))
                out.append((path, obj))
    return out


def _model_attributes() -> set:
    """Attribute names every nets model has; a subclassed model's layers are the others."""
    return set(vars(_model_class()())) | {"layers"}


def _attribute_entries(value, path: str) -> list:
    from .layers import Layer

    if isinstance(value, Layer) or _is_model(value):
        return _entry(value, path)
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        out, used = [], {}
        for item in value:
            if isinstance(item, Layer) or _is_model(item):
                out += _entry(item, _join(path, _unique(_key(item), used)))
            elif isinstance(item, (list, tuple, dict)):
                out += _attribute_entries(item, _join(path, _unique("container", used)))
        return out
    return []


def _entry(layer, path: str) -> list:
    if _is_model(layer):  # its own (empty) group, then its layers under it
        return [(path, layer)] + entries(layer, path)
    return [(path, layer)]


def _holds_weights(obj) -> bool:
    from .layers import Layer

    return isinstance(obj, Layer) and not _is_model(obj)


def _join(*parts) -> str:
    return "/".join(p for p in parts if p)


def _vars_path(path: str, layer) -> str:
    sub = _SUBPATH.get(type(layer).__name__) if _holds_weights(layer) else None
    return _join(path, sub, "vars")


def _layer_weights(model) -> dict:
    """id(layer) -> (layer, [(spec name, array)]) from the model's flat parameters."""
    model._need_built()
    parameters = model.parameters
    arrays = iter(parameters.get_weights())
    return {id(layer): (layer, [(spec.name, next(arrays)) for spec, _ in row])
            for layer, row in zip(parameters.layers, parameters.slots)}


# ---------------------------------------------------------------------- writing
def save_weights(model, path, overwrite: bool = False) -> None:
    """Write ``model``'s weights to ``path`` (``*.weights.h5``) in Keras 3's layout.

    An existing file is replaced only with ``overwrite=True`` (Keras replaces it silently;
    nets asks). The arrays are written in the model's float dtype (float64 unless compiled
    with ``dtype="float32"``); Keras casts them to its variables' dtype on loading.
    """
    from .saving import _save_target, write_atomically

    h5py = _h5py()

    path = _checked_name(path)
    path = _save_target(path, overwrite)
    weights = _layer_weights(model)
    dtype = getattr(model, "dtype", np.dtype("float64"))
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5.create_group("vars").attrs["name"] = str(model.name)
        for group, obj in entries(model):
            own = h5.require_group(group).create_group("vars")
            own.attrs["name"] = group.rsplit("/", 1)[-1] if obj is None else str(obj.name)
            if not _holds_weights(obj):
                continue
            if _SUBPATH.get(type(obj).__name__):
                own = h5.require_group(_vars_path(group, obj))
                own.attrs["name"] = f"{to_snake_case(type(obj).__name__)}_cell"
            for i, (_, array) in enumerate(weights.get(id(obj), (None, []))[1]):
                own.create_dataset(str(i), data=np.asarray(array, dtype=dtype))
    write_atomically(path, lambda f: f.write(buffer.getvalue()))


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("reading and writing Keras .weights.h5 files needs h5py: "
                          "pip install h5py (or difflab[keras-files])") from None
    return h5py


def _checked_name(path) -> str:
    path = os.fspath(path)
    if not str(path).endswith(SUFFIX):
        raise ValueError(f"Keras 3 weight files end in {SUFFIX}; give a path such as "
                         f"'model{SUFFIX}', not {path!r} (TensorFlow checkpoints such as "
                         "'.ckpt' are not read or written)")
    return path


# ---------------------------------------------------------------------- reading
def load_weights(model, path) -> None:
    """Set ``model``'s weights from a Keras 3 ``.weights.h5`` file (see the module text).

    Raises ValueError, naming the file and the layer, when the file is missing or not HDF5,
    a layer's group is absent, it holds a different number of arrays, or an array's shape
    differs from the nets layer's (both shapes are given). Nothing is changed on failure.
    """
    h5py = _h5py()
    path = _checked_name(path)
    if not os.path.isfile(path):
        what = "is a directory" if os.path.isdir(path) else "does not exist"
        raise ValueError(f"{path} {what}; give a Keras 3 weights file ({SUFFIX})")
    weights = _layer_weights(model)
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path} is not an HDF5 file ({one_line(exc)})") from None
    new = {}
    with h5:
        for group, layer in entries(model):
            if not _holds_weights(layer):
                continue
            specs = weights.get(id(layer), (None, []))[1]
            stored = _stored(h5, _vars_path(group, layer), layer, path)
            if len(stored) != len(specs):
                raise ValueError(
                    f"{path}: layer {layer.name!r} ({type(layer).__name__}, '{group}') has "
                    f"{len(specs)} weight arrays ({', '.join(n for n, _ in specs) or 'none'}) but "
                    f"the file holds {len(stored)} under '{_vars_path(group, layer)}'")
            arrays = []
            for i, ((name, mine), data) in enumerate(zip(specs, stored)):
                if data.shape != mine.shape:
                    raise ValueError(
                        f"{path}: layer {layer.name!r} ({type(layer).__name__}) weight {name!r} "
                        f"has shape {mine.shape} in nets but {data.shape} in the file "
                        f"('{_vars_path(group, layer)}/{i}')")
                if data.dtype.kind not in _NUMBER_KINDS:
                    raise ValueError(f"{path}: '{_vars_path(group, layer)}/{i}' holds {data.dtype} "
                                     "data, not numbers")
                arrays.append(np.asarray(data[()], dtype=float))
            new[id(layer)] = arrays
        _check_nothing_left(h5, model, path)
    parameters = model.parameters
    model.set_weights([w for layer in parameters.layers for w in new.get(id(layer), [])])


def _stored(h5, vars_path: str, layer, path: str) -> list:
    """The datasets ``0, 1, ...`` of a layer's ``vars`` group, hard links only."""
    import h5py

    group = _hard(h5, vars_path)
    if group is None:
        if not layer.weight_specs:
            return []
        present = ", ".join(sorted(_weight_groups(h5))) or "none"
        raise ValueError(f"{path} has no weights for layer {layer.name!r} "
                         f"({type(layer).__name__}): '{vars_path}' is missing (layers with "
                         f"weights in the file: {present}); the file was saved from a "
                         "different architecture")
    if not isinstance(group, h5py.Group):
        raise ValueError(f"{path}: '{vars_path}' is not a group")  # noqa: TRY004 (a bad file)
    out = []
    for i in range(len(group)):
        item = _hard(group, str(i))
        if not isinstance(item, h5py.Dataset):
            link = group.get(str(i), getlink=True)
            what = ("missing" if link is None else "not a dataset" if item is not None else
                    f"an {type(link).__name__}, which nets does not follow")
            raise ValueError(f"{path}: '{vars_path}' should hold datasets 0..{len(group) - 1}, "  # noqa: TRY004
                             f"but '{i}' is {what}")
        out.append(item)
    return out


def _hard(group, name: str):
    """``group[name]`` when every link on the way is a hard link inside the file, else None
    (a soft or external link, which could point outside the file, is not followed)."""
    import h5py

    for part in name.split("/"):
        link = group.get(part, getlink=True)
        if not isinstance(link, h5py.HardLink):
            return None
        group = group[part]
    return group


def _weight_groups(h5) -> list:
    """Paths of the ``vars`` groups that hold datasets (the optimiser's excluded)."""
    import h5py

    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Group) and name.endswith("vars") and len(obj) and \
                not name.startswith("optimizer"):
            found.append(name.rsplit("/vars", 1)[0] or "/")
    h5.visititems(visit)
    return found


def _check_nothing_left(h5, model, path: str) -> None:
    """Refuse a file with weights for layers the nets model does not have."""
    known = {_join(group, _SUBPATH.get(type(obj).__name__)) if _holds_weights(obj) else group
             for group, obj in entries(model)}
    extra = [g for g in _weight_groups(h5) if g not in known and g != "/"]
    if extra:
        raise ValueError(f"{path} holds weights for layers the model does not have: "
                         f"{', '.join(sorted(extra))}; the file was saved from a different "
                         "architecture")
