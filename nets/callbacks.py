"""Callbacks: ``History``, ``EarlyStopping``, ``ModelCheckpoint``, ``LearningRateScheduler``,
``ReduceLROnPlateau`` and the progress display.

A callback gets ``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)``,
``on_epoch_end(epoch, logs)`` and ``on_train_end(logs)``; ``logs`` holds the epoch's
``loss``, metrics and ``val_`` entries. Setting ``model.stop_training = True`` ends ``fit``.
As in Keras, the model's own ``History`` is called after the callbacks given to ``fit``, so
it records what they add to the logs (``learning_rate``). ``verbose=1`` messages go to
stderr, where the progress bar is.
"""
from __future__ import annotations

import inspect
import math
import os
import sys
import time

import numpy as np

from difflab.console.display import Tabular


class Callback:
    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_end(self, logs=None): ...


class History(Callback, Tabular):
    """``history.history["loss"]``: one entry per epoch; ``history.seconds``: time per epoch.

    Shown as one line in a REPL, as a table of the epochs by ``str()`` and in Jupyter;
    ``to_records()`` gives one dict per epoch (pandas).
    """

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.seconds: list[float] = []
        self.params: dict = {}
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    @property
    def seconds_per_epoch(self) -> float:
        """Median seconds per epoch (robust to a first epoch that prepares the method)."""
        return float(np.median(self.seconds)) if self.seconds else float("nan")

    def to_records(self) -> list:
        """``[{"epoch": 1, "loss": ..., <metrics>, "seconds": ...}, ...]``, epochs from 1."""
        return [{"epoch": epoch + 1, **{k: float(v[i]) for k, v in self.history.items()},
                 "seconds": self.seconds[i]} for i, epoch in enumerate(self.epoch)]

    def summary(self) -> str:
        """``History 200 epochs: loss 1.1 -> 0.051, accuracy 0.33 -> 0.97; 2.1 ms/epoch``."""
        from difflab.analysis.timing import format_seconds
        from difflab.console.wording import count

        if not self.epoch:
            return "History: no epochs yet"
        trends = ", ".join(f"{k} {v[0]:.3g} -> {v[-1]:.3g}" for k, v in self.history.items())
        return (f"History {count(len(self.epoch), 'epoch')}: {trends}; "
                f"{format_seconds(self.seconds_per_epoch)}/epoch")

    def rich_table(self):
        """One row per epoch: the loss, the metrics and the seconds it took."""
        from rich.table import Table

        from difflab.analysis.timing import format_seconds

        table = Table(title=self.summary().split(":")[0], title_style="title")
        table.add_column("epoch", justify="right")
        for key in self.history:
            table.add_column(key, justify="right")
        table.add_column("time", justify="right")
        for i, epoch in enumerate(self.epoch):
            table.add_row(str(epoch + 1), *(f"{v[i]:.6g}" for v in self.history.values()),
                          format_seconds(self.seconds[i]))
        return table


class _Monitor(Callback):
    """Shared by the callbacks that watch one logged quantity for improvement."""

    def __init__(self, monitor="val_loss", mode="auto", min_delta=0.0):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(float(min_delta))
        self.best = None

    def _current(self, logs):
        """The monitored value, or None in an epoch that ``fit(validation_freq=...)`` did not
        validate (Keras skips such epochs too)."""
        if self.monitor not in (logs or {}):
            if self.monitor.startswith("val_") and getattr(self.model, "validation_skipped", False):
                return None
            raise ValueError(f"{type(self).__name__} monitors {self.monitor!r}, which is not logged; "
                             f"available: {', '.join(logs or {})}")
        return logs[self.monitor]

    def _improved(self, value) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    With ``restore_best_weights`` the model ends ``fit`` with the weights of its best epoch,
    whether training stopped early or ran all its epochs (Keras 3's behaviour).
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 restore_best_weights=False):
        super().__init__(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = int(patience), bool(restore_best_weights)
        self.verbose = int(verbose)
        self.wait, self.stopped_epoch, self.best_epoch, self.best_weights = 0, 0, 0, None

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.stopped_epoch, self.best_epoch, self.best_weights = None, 0, 0, 0, None

    def on_epoch_end(self, epoch, logs=None):
        value = self._current(logs)
        if value is None:
            return
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        """Keras's two messages with ``verbose=1``: where training stopped and which epoch's
        weights came back. (The first epoch always improves, so stopped_epoch > 0 means
        training was stopped, as Keras reads it.)"""
        if self.stopped_epoch > 0 and self.verbose > 0:
            say(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                say(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


def say(text: str) -> None:
    """A callback's ``verbose`` message: one line on stderr, beside the progress bar."""
    from difflab.console import error_console

    error_console.print(text, markup=False, highlight=False)


def _set_learning_rate(model, value, who: str) -> float:
    """Set the optimiser's (fixed) learning rate; a schedule cannot be overridden."""
    optimizer = model.optimizer
    if callable(optimizer.learning_rate):
        raise ValueError(f"{who} sets the learning rate, but the optimizer follows a schedule "
                         f"({type(optimizer.learning_rate).__name__}); give it a number instead")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: the learning rate must be a number, got {value!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{who}: the learning rate must be finite and non-negative, got {value}")
    optimizer.learning_rate = value
    return value


class LearningRateScheduler(Callback):
    """At the start of each epoch, set the learning rate to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``; epochs counted from 0); ``logs["learning_rate"]`` records it."""

    def __init__(self, schedule, verbose=0):
        if not callable(schedule):
            raise ValueError(f"LearningRateScheduler takes a function schedule(epoch, lr), got {schedule!r}")
        self.schedule, self.verbose = schedule, int(verbose)
        self._takes_lr = _positional_count(schedule) >= 2

    def on_epoch_begin(self, epoch, logs=None):
        current = self.model.optimizer.current_learning_rate()
        value = self.schedule(epoch, current) if self._takes_lr else self.schedule(epoch)
        value = _set_learning_rate(self.model, value, "LearningRateScheduler")
        if self.verbose > 0:
            say(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {value}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.current_learning_rate()


def _positional_count(fn) -> int:
    """How many positional arguments ``fn`` takes (2 for ``*args``)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved by
    ``min_delta`` for ``patience`` epochs; then wait ``cooldown`` epochs; never below
    ``min_lr``. Keras 3's rule and defaults; ``logs["learning_rate"]`` records the rate."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__(monitor, mode, min_delta)
        if not 0.0 <= float(factor) < 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1 (or < 0), got {factor}")
        self.factor, self.patience, self.verbose = float(factor), int(patience), int(verbose)
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)
        self.wait = self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        logs["learning_rate"] = self.model.optimizer.current_learning_rate()
        value = self._current(logs)
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(value):
            self.best, self.wait = value, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = self.model.optimizer.current_learning_rate()
                if old > self.min_lr:
                    new = _set_learning_rate(self.model, max(old * self.factor, self.min_lr),
                                             "ReduceLROnPlateau")
                    if self.verbose > 0:
                        say(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class ModelCheckpoint(_Monitor):
    """Save the model (``.npz``) after each epoch, or only when ``monitor`` improves.

    ``filepath`` may hold ``{epoch}`` and logged names: ``"ckpt-{epoch:03d}-{val_loss:.3f}.npz"``.
    With ``save_weights_only=True`` a filepath ending in ``.weights.h5`` writes Keras 3's
    weights file (:meth:`Sequential.save_weights`, replaced at each save as Keras does).
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto",
                 save_weights_only=False):
        super().__init__(monitor, mode)
        self.filepath, self.save_best_only = os.fspath(filepath), bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        keras_file = self.save_weights_only and self.filepath.endswith(".weights.h5")
        if not (self.filepath.endswith(".npz") or keras_file):  # refused now, not after an epoch
            raise ValueError(f"ModelCheckpoint saves .npz files, or Keras weight files with "
                             f"save_weights_only=True; give a filepath ending in .npz (or "
                             f".weights.h5), not {self.filepath!r}")

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only:
            value = self._current(logs)
            if not self._improved(value):
                return
            self.best = value
        try:
            path = self.filepath.format(epoch=epoch + 1, **(logs or {}))
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"ModelCheckpoint filepath {self.filepath!r} cannot be filled in ({exc!r}); "
                             f"it may name {{epoch}} and the logged {', '.join(logs or {})}") from None
        if path.endswith(".weights.h5"):
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, include_optimizer=not self.save_weights_only)


class ProgressBar(Callback):
    """A rich progress bar over the epochs with the latest logs (``verbose=1``), or a line
    per epoch (``verbose=2``).

    In a notebook rich draws its bar with ipywidgets; without them (rich would only warn
    'install "ipywidgets"' and show nothing) the bar falls back, without a warning, to about
    ten plain lines: every tenth of the epochs and the last one.
    """

    def __init__(self, epochs: int, verbose: int = 1, description: str = "training"):
        self.epochs, self.verbose, self.description = epochs, verbose, description
        self._progress = self._task = None
        self._every = 0  # > 0: the plain-line fallback, a line every this many epochs

    def on_train_begin(self, logs=None):
        self._every = 0
        if self.verbose == 1 and not live_display_works():
            self._every = max(1, self.epochs // 10)
        elif self.verbose == 1:
            from difflab.console.progress import progress_bar

            self._progress = progress_bar("[method]{task.description}", logs=True, transient=False,
                                          only_on_terminal=False)
            self._task = self._progress.add_task(self.description, total=self.epochs, logs="")
            self._progress.start()

    def on_epoch_end(self, epoch, logs=None):
        text = format_logs(logs)
        if self._progress is not None:
            self._progress.update(self._task, advance=1, logs=text)
        elif self._every:  # a notebook without ipywidgets: plain text, which any front end shows
            if (epoch + 1) % self._every == 0 or epoch + 1 == self.epochs:
                print(f"epoch {epoch + 1}/{self.epochs}  {text}", file=sys.stderr, flush=True)
        elif self.verbose == 2:
            from difflab.console import error_console

            error_console.print(f"epoch {epoch + 1}/{self.epochs}  {text}")

    def on_train_end(self, logs=None):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def live_display_works() -> bool:
    """Can rich draw a live bar here? Everywhere but a notebook without ipywidgets."""
    from difflab.console import error_console

    if not error_console.is_jupyter:
        return True
    try:
        import ipywidgets  # noqa: F401 - what rich draws a notebook's live display with
    except ImportError:
        return False
    return True


def format_logs(logs) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in (logs or {}).items())
