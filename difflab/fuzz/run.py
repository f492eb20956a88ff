"""Running a campaign: cases in chunks, in this process or handed to an executor.

:func:`run_chunk` is the unit of work: it takes plain values (a seed and case indices, the
method labels, the kinds) and returns plain records, so it runs the same way in this
process and on a Dask worker (cluster.py). Each case is regenerated from ``(seed, index)``
where it runs; nothing but numbers and names travels. Methods are made once per process.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..interface import registry
from ..errors import InputError
from . import generate as gen
from .verdict import CALL_SECONDS, KINDS, Outcome, References, applicable, judge

#: Method labels that are a registered method with options (``difflab.get(name, **options)``).
VARIANTS = {"reverse-jit": ("reverse", {"jit": True})}
#: difflab's own exact methods: the campaign's zero-disagreement target.
OWN_EXACT = ("forward", "reverse", "reverse-jit", "sympy")
#: Left out of the default set: it needs hand-written derivatives, which programs have not.
NOT_BY_DEFAULT = ("manual",)
DEFAULT_KINDS = ("gradient", "hessian")
CHUNK = 10


@dataclass(frozen=True)
class Spec:
    """What a campaign runs: plain values, the same for every process."""

    seed: int
    cases: int
    methods: tuple
    kinds: tuple = DEFAULT_KINDS
    families: tuple = gen.FAMILIES
    call_seconds: float = CALL_SECONDS
    chunk: int = CHUNK

    def chunks(self) -> list:
        """Case indices in chunks of ``chunk``, in order."""
        return [tuple(range(i, min(i + self.chunk, self.cases))) for i in range(0, self.cases, self.chunk)]


@dataclass
class CaseResult:
    """The outcomes of one case, with where the time went (``oracle_seconds`` etc.)."""

    index: int
    family: str
    size: int
    margin: float
    outcomes: list = field(default_factory=list)
    invalid: str = ""
    oracle_seconds: float = 0.0
    method_seconds: float = 0.0
    generate_seconds: float = 0.0


# ---------------------------------------------------------------------- methods
def default_methods() -> list:
    """Every available registered method (not ``manual``), plus ``reverse-jit``."""
    out = []
    for name in registry.methods():
        if name in NOT_BY_DEFAULT:
            continue
        try:
            if registry.method_class(name).available():
                out.append(name)
        except ImportError:
            continue
        if name == "reverse":
            out.append("reverse-jit")
    return out


def check_methods(labels) -> tuple:
    """The labels, checked: registered names or :data:`VARIANTS`; InputError otherwise."""
    from ..interface.method_names import unknown_method

    known = list(registry.methods()) + list(VARIANTS)
    for label in labels:
        if label not in known:
            raise InputError(unknown_method(label, known))
        name = VARIANTS.get(label, (label, {}))[0]
        ok, why = registry.method_class(name).availability()
        if not ok:
            raise InputError(f"method {label!r} is not available: {why}")
    return tuple(labels)


def check_kinds(kinds) -> tuple:
    for k in kinds:
        if k not in KINDS:
            raise InputError(f"unknown derivative kind {k!r}; choose from {', '.join(KINDS)}")
    return tuple(kinds)


def make_method(label: str):
    name, options = VARIANTS.get(label, (label, {}))
    # each call has the campaign's own bound (--call-seconds, a timeout verdict): no library budget
    return registry.get(name, max_seconds=None, max_bytes=None, **options)


_methods: dict = {}  # label -> Differentiator, one per process (frameworks load once)


def _method(label):
    if label not in _methods:
        _methods[label] = make_method(label)
    return _methods[label]


# ---------------------------------------------------------------------- the work
def run_case(spec: Spec, index: int) -> CaseResult:
    """Every method x applicable kind on case ``index``."""
    import warnings

    import numpy as np

    start = time.perf_counter()
    case = gen.generate(spec.seed, index, spec.families)
    result = CaseResult(index, case.family, case.tree.size(), case.margin,
                        generate_seconds=time.perf_counter() - start)
    fn = case.function()
    refs = References(case, fn)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # frameworks' warnings are not findings
        for kind in applicable(case, spec.kinds):
            try:
                refs[kind]
            except Exception as exc:  # noqa: BLE001 - a case the oracle cannot do is reported, not judged
                from ..analysis.environment import one_line

                result.invalid = f"oracle: {one_line(exc)}"
                break
            for label in spec.methods:
                try:
                    method = _method(label)
                except Exception as exc:  # noqa: BLE001 - a method that cannot even be made
                    from ..analysis.environment import one_line

                    result.outcomes.append(Outcome(label, kind, "crashed", message=one_line(exc)))
                    continue
                result.outcomes.append(judge(method, label, case, fn, kind, refs, spec.call_seconds))
    result.oracle_seconds = refs.seconds
    result.method_seconds = sum(o.seconds for o in result.outcomes)
    return result


def run_chunk(spec: Spec, indices: Iterable[int]) -> list:
    """The unit of work sent to a worker: the results of the cases ``indices``."""
    return [run_case(spec, i) for i in indices]


def run_local(spec: Spec, on_chunk: Callable | None = None) -> list:
    """Every chunk in this process, in order; ``on_chunk(results)`` after each."""
    done = []
    for chunk in spec.chunks():
        results = run_chunk(spec, chunk)
        done.extend(results)
        if on_chunk is not None:
            on_chunk(results)
    return done
