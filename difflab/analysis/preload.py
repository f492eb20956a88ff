"""Import the frameworks of a comparison in the background while the other methods run.

Importing TensorFlow, PyTorch and JAX takes seconds each; :func:`difflab.compare` starts one
:class:`Preloader` thread for the framework methods among those it will run and waits for a
method's modules (:meth:`Preloader.wait`) just before that method's row, so difflab's own
methods (finite differences, forward and reverse mode, SymPy) are done meanwhile. One thread
imports the modules one after another: Python's import lock makes an import from another
thread at the same time wait for it, never run twice. The seconds each import took are
returned by ``wait`` and reported apart from the method's setup time.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Callable, Optional, Sequence


def framework_modules(name: str) -> tuple:
    """The modules a registered method imports on first use (``()`` for difflab's own
    methods and for a framework that is not installed)."""
    from ..interface import registry

    try:
        cls = registry.method_class(name)
    except Exception:  # noqa: BLE001 - compare reports it in the method's row
        return ()
    modules = tuple(getattr(cls, "modules", ()) or ())
    if not modules or not cls.availability()[0]:
        return ()
    return modules


class Preloader:
    """A daemon thread importing the modules of ``names``, in order.

    ``on_event(module, seconds)`` is called from the thread when a module starts loading
    (``seconds`` None) and when it is loaded (the seconds it took); it is for progress lines.
    """

    def __init__(self, names: Sequence[str], on_event: Optional[Callable] = None):
        self._modules = {name: framework_modules(name) for name in names}
        order = []
        for modules in self._modules.values():
            order += [m for m in modules if m not in order]
        self._pending = [m for m in order if m not in sys.modules]
        self._seconds = {m: 0.0 for m in order if m in sys.modules}  # loaded before: no cost
        self._done = {m: threading.Event() for m in order}
        for m in self._seconds:
            self._done[m].set()
        self._on_event = on_event
        self._thread = None
        if self._pending:
            self._thread = threading.Thread(target=self._run, name="difflab-preload", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        from ..backends._framework import import_framework
        from ..errors import NotSupported

        for module in self._pending:
            self._event(module, None)
            start = time.perf_counter()
            try:
                import_framework(module, module)
            except NotSupported:
                pass  # the method's own import fails the same way and reports it in its row
            except Exception:  # noqa: BLE001 - anything else, too, is the method's to report
                pass
            finally:
                self._seconds[module] = time.perf_counter() - start
                self._done[module].set()
                self._event(module, self._seconds[module])

    def _event(self, module, seconds) -> None:
        if self._on_event is not None:
            try:
                self._on_event(module, seconds)
            except Exception:  # noqa: BLE001 - a progress display must not stop the imports
                pass

    def busy(self) -> bool:
        """Whether some module is still being imported."""
        return not all(done.is_set() for done in self._done.values())

    def wait_all(self) -> None:
        """Block until every module is imported."""
        for done in self._done.values():
            done.wait()

    def wait(self, name: str) -> Optional[float]:
        """Block until the modules of method ``name`` are imported; the seconds their import
        took (0.0 when they were loaded before), or None for a method without any."""
        modules = self._modules.get(name, ())
        if not modules:
            return None
        for m in modules:
            self._done[m].wait()
        return float(sum(self._seconds.get(m, 0.0) for m in modules))


class Rows:
    """The re-run policy of a comparison's rows around the imports.

    While the import thread runs it holds the interpreter about half the time, so a row timed
    meanwhile would report about doubled times. A framework method's row waits for every
    import, so none runs while it is timed; difflab's own rows run meanwhile and are run again,
    uncontended, once the imports are done (before the next framework row, or at the end):
    their preparation keeps no global cache, so the second run is a true first one.

    ``start(name, rerun)`` before each row returns the seconds its framework's import took
    (None for a method without one); ``end(index)`` after it; ``finish(rerun)`` at the end.
    ``rerun(index)`` runs row ``index`` again and stores it.
    """

    def __init__(self, names: Sequence[str], on_event: Optional[Callable] = None, preload: bool = True):
        self.preloader = Preloader(names, on_event) if preload else None
        self._contended: list = []
        self._overlaps = False

    def start(self, name: str, rerun: Callable[[int], None]) -> Optional[float]:
        self._overlaps = self.preloader is not None and self.preloader.busy()
        if self.preloader is None or not framework_modules(name):
            return None
        imported = self.preloader.wait(name)
        self._overlaps = False
        self.finish(rerun)
        return imported

    def end(self, index: int) -> None:
        if self._overlaps:
            self._contended.append(index)

    def finish(self, rerun: Callable[[int], None]) -> None:
        """Run again every row run while a framework was loading (after waiting for them all)."""
        if not self._contended:
            return
        self.preloader.wait_all()
        for index in self._contended:
            rerun(index)
        self._contended.clear()
