"""Dask worker preload for ``difflab fuzz``: a worker ignores Ctrl-C.

Ctrl-C in a terminal interrupts every process of the foreground group, the workers of a
local cluster included; each would print a KeyboardInterrupt traceback and its lost
connection. The campaign's own process handles Ctrl-C and stops the workers itself, so a
worker (a restarted one too: the first ones inherit the setting) ignores it.
"""
import signal
import threading


def dask_setup(worker=None) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
