"""Every nets layer and model class by name, registered as the class is defined.

As Keras registers its serializable classes, a class that derives from :class:`Registered`
(every :class:`nets.layers.Layer` and every model) is entered here by its ``__init_subclass__``:
the built-in layers, the models, and a user's own ``class MyLayer(nets.layers.Layer)`` alike.
Saved files name a class by ``class_name`` (and ``module``); :mod:`nets.saving` looks it up
here to rebuild it. Nothing here imports a layer or a model, so no module needs to import
its subclasses to find them.
"""
from __future__ import annotations

import difflib

#: class name -> {module: class}: the classes of that name, by the module that defines them.
_CLASSES: dict[str, dict[str, type]] = {}


def register(cls: type) -> type:
    """Enter ``cls`` under its name (a class defined again in the same module replaces it)."""
    _CLASSES.setdefault(cls.__name__, {})[cls.__module__] = cls
    return cls


class Registered:
    """Base of the layer and model classes: each subclass registers itself when defined."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        register(cls)


def lookup(class_name: str, module: str | None = None) -> type:
    """The registered class named ``class_name`` (the one from ``module`` when several share
    the name), or a ValueError naming the close matches."""
    found = _CLASSES.get(str(class_name)) or _case_insensitive(str(class_name))
    if not found:
        close = difflib.get_close_matches(str(class_name), list(_CLASSES), n=3)
        hint = (f"; did you mean {', '.join(close)}?" if close else
                "; define (import) the class before loading a model that uses it")
        raise ValueError(f"unknown layer or model class {class_name!r}{hint}")
    if module in found:
        return found[module]
    if len(found) == 1:
        return next(iter(found.values()))
    nets_own = [cls for mod, cls in found.items() if mod.startswith("nets.")]
    if len(nets_own) == 1 and module is None:
        return nets_own[0]
    raise ValueError(f"several classes are named {class_name!r} (in {', '.join(sorted(found))}); "
                     f"the file names module {module!r}")


def _case_insensitive(class_name: str) -> dict:
    for name, classes in _CLASSES.items():
        if name.lower() == class_name.lower():
            return classes
    return {}


def names() -> list[str]:
    """The registered class names, sorted."""
    return sorted(_CLASSES)
