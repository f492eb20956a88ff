"""Frameworks' native start-up log lines kept off the terminal, everything else passed on.

TensorFlow's C++ side writes absl/glog lines straight to file descriptor 2 while it loads
("WARNING: All log messages before absl::InitializeLog() ...", "I0000 ... port.cc:153]
oneDNN custom operations are on ..."); ``TF_CPP_MIN_LOG_LEVEL`` does not stop all of them.
:func:`native_logs_filtered` points descriptor 2 at a pipe for the duration of a block and a
thread forwards what arrives to the real stderr as it comes (a progress bar drawn meanwhile
from another thread keeps moving), minus the lines in absl/glog's format, which are kept in
:data:`CAPTURED` (``--verbose`` prints them). Descriptor 2 is always restored; overlapping
blocks, from one thread or several, share one window. Numerics are untouched: the lines are
only hidden, nothing is switched off.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import threading

#: A whole native log line: absl's banner, glog's ``I0000 00:00:17.5  123 file.cc:153] ...``
#: and the continuation line of TensorFlow's CPU-feature notice.
NATIVE_LINE = re.compile(
    r"(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWEF]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w.\-/]+:\d+\][^\n]*"
    r"|To enable the following instructions:[^\n]*rebuild TensorFlow[^\n]*)\n")
#: A partial line that may still grow into a native log line: held back until it ends.
_MAY_BECOME = re.compile(r"(W|WA|WAR|WARN|WARNI|WARNIN|WARNING[^\n]*|[IWEF]\d[^\n]*|T|To[^\n]*)$")

#: Native log lines hidden so far, for ``--verbose``.
CAPTURED: list[str] = []
#: ``--verbose``: forward the native lines too (and still record them).
settings = {"show": False}

_lock = threading.Lock()
#: depth: open blocks; off: never redirect again (at exit, or descriptor 2 unusable)
_window = {"depth": 0, "saved": None, "thread": None, "off": False}


def real_stderr():
    """The terminal's descriptor while a window is open (descriptor 2 is then the pipe),
    else None: difflab's own stderr console writes there directly."""
    return _window["saved"]


@contextlib.contextmanager
def native_logs_filtered():
    """Within the block, native absl/glog lines written to descriptor 2 are hidden."""
    _enter()
    try:
        yield
    finally:
        _leave()


def _enter() -> None:
    with _lock:
        if _window["off"]:
            return
        _window["depth"] += 1
        if _window["depth"] > 1:
            return
        try:
            _flush()
            read_end, write_end = os.pipe()
            saved = os.dup(2)
            os.dup2(write_end, 2)
            os.close(write_end)
        except OSError:  # no descriptor 2 to redirect (a daemon, a closed stderr): nothing to do
            _window.update(depth=0, off=True)
            return
        thread = threading.Thread(target=_forward, args=(read_end, saved), daemon=True,
                                  name="difflab-native-logs")
        _window.update(saved=saved, thread=thread)
        thread.start()


def _leave() -> None:
    with _lock:
        if _window["off"]:
            return
        _window["depth"] -= 1
        if _window["depth"] == 0:
            _close()


def _close() -> None:
    """Put descriptor 2 back and let the forwarder pass on what is left (under _lock)."""
    saved, thread = _window["saved"], _window["thread"]
    if saved is None:
        return
    _flush()
    os.dup2(saved, 2)  # the pipe's last writer is gone: the forwarder reads to the end
    thread.join()
    os.close(saved)
    _window.update(saved=None, thread=None)


@atexit.register
def _close_at_exit() -> None:
    """A process that ends while a framework still loads in a background thread (an error
    line, Ctrl-C) must not lose its last words in the pipe: stderr is put back first."""
    with _lock:
        _close()
        _window.update(depth=0, off=True)  # the import thread's own exit from the window: nothing


def _forward(read_end: int, out: int) -> None:
    """Copy the pipe to ``out``, dropping native log lines (kept in CAPTURED)."""
    pending = ""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            chunk = pipe.read(65536)
            text = pending + (chunk.decode("utf-8", "replace") if chunk else "")
            passed, pending = filter_native(text, final=not chunk)
            if passed:
                _write(out, passed)
            if not chunk:
                return


def filter_native(text: str, final: bool = False) -> tuple[str, str]:
    """``(what to pass on, what to hold until more arrives)``; native lines go to CAPTURED."""
    def drop(match):
        CAPTURED.append(match.group(1))
        return match.group(0) if settings["show"] else ""

    passed = NATIVE_LINE.sub(drop, text)
    if final:
        return passed, ""
    start = passed.rfind("\n") + 1
    if _MAY_BECOME.match(passed, start) is None:
        return passed, ""
    return passed[:start], passed[start:]


def _write(fd: int, text: str) -> None:
    data = text.encode("utf-8", "replace")
    while data:
        try:
            data = data[os.write(fd, data):]
        except OSError:
            return


def _flush() -> None:
    for stream in (sys.stderr, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
