"""Weight penalties added to the loss: ``l1``, ``l2`` and ``l1_l2`` (Keras defaults 0.01)."""
from __future__ import annotations

import numpy as np

from ._lookup import lookup


class Regularizer:
    """``penalty(xp, w)`` for every method and the hand-derived ``gradient(w)``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def penalty(self, xp, w):
        total = 0.0
        if self.l1:
            total = total + self.l1 * xp.sum(xp.abs(w))
        if self.l2:
            total = total + self.l2 * xp.sum(xp.square(w))
        return total

    def gradient(self, w):
        return self.l1 * np.sign(w) + 2.0 * self.l2 * w

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"Regularizer(l1={self.l1}, l2={self.l2})"


def L1(l1: float = 0.01) -> Regularizer:
    return Regularizer(l1=l1)


def L2(l2: float = 0.01) -> Regularizer:
    return Regularizer(l2=l2)


def L1L2(l1: float = 0.0, l2: float = 0.0) -> Regularizer:
    return Regularizer(l1=l1, l2=l2)


l1, l2, l1_l2 = L1, L2, L1L2

#: Keras's lowercase spellings (``regularizers.l2()``).
l1, l2, l1_l2 = L1, L2, L1L2

REGULARIZERS = {"l1": L1, "l2": L2, "l1_l2": L1L2}


def get(reg):
    """None, a Regularizer, a name (``"l2"``) or a config dict."""
    if reg is None or isinstance(reg, Regularizer):
        return reg
    if isinstance(reg, dict):
        unknown = set(reg) - {"l1", "l2"}
        if unknown:
            raise ValueError(f"a regularizer config takes l1 and l2, not {', '.join(sorted(unknown))}")
        return Regularizer(**reg)
    return lookup("regularizer", reg, REGULARIZERS)()
