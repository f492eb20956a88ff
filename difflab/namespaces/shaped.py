"""What an array-like derives from its ``shape``: ``ndim``, ``size`` and ``len``.

Shared by the values difflab's engines pass through user code (:class:`~difflab.ad.traced.Traced`)
and the compiled tape's symbolic values (:class:`~difflab.ad.codegen.Expr`), which each define
``shape`` their own way.
"""
from __future__ import annotations

import math


class Shaped:
    """Mixin: ``ndim``, ``size`` and ``len()`` from the subclass's ``shape``."""

    __slots__ = ()

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    def __len__(self):
        return self.shape[0]
