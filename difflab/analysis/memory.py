"""Opt-in allocator tuning for large reverse-mode sweeps (glibc only).

A tape keeps every intermediate array alive until the backward sweep, so a gradient at
n = 1e5 holds a few dozen 800 kB arrays at once. Blocks that size are mapped fresh from
the operating system (above glibc's mmap threshold) and returned when freed, so every 4 kB
page touched is a page fault: at n = 1e5 that is most of the cost of a sweep, and of plain
NumPy code on the same arrays (about 5x in both; docs/methods.md has the figures).

:func:`retain_freed_memory` asks glibc to keep up to ``megabytes`` of freed memory in the
process instead. It changes the whole process's allocator, so difflab never calls it on its
own; the speed benchmark reports figures with and without it.
"""
from __future__ import annotations

import ctypes
import ctypes.util

from ..errors import NotSupported

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def retain_freed_memory(megabytes: int = 256) -> None:
    """Keep up to ``megabytes`` of freed heap memory in the process (glibc ``mallopt``)."""
    libc_name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(libc_name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        raise NotSupported("retain_freed_memory", "this platform", "needs glibc's mallopt") from None
    size = int(megabytes) * 1024 * 1024
    ok = mallopt(_M_MMAP_THRESHOLD, min(size, 32 * 1024 * 1024)) and mallopt(_M_TRIM_THRESHOLD, size)
    if not ok:
        raise NotSupported("retain_freed_memory", "this C library", "mallopt refused the setting")
