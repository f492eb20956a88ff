"""Rule-table mutation testing: corrupt each derivative piece of ``RULES``, see who notices.

Every row of :data:`difflab.ad.rules.RULES` has derivative *pieces*: the partials of an
elementwise or reduction rule, ``batched``/``transpose`` of a linear rule, ``jvp``/``vjp`` of
a custom one. Each piece in turn is scaled by 1.1 in memory (:func:`corrupted`) while
difflab's own engines (``forward``, ``reverse``, ``reverse`` with ``jit=True``) differentiate
small probe functions that use the op. A piece is *exercised* when some engine's answer
moves. The judges:

- ``oracle``: :func:`difflab.reference` is unchanged by the corruption and disagrees with an
  engine whose answer moved (it must: the oracle reads no rule of the table);
- ``compare``: :func:`difflab.compare` on the same probe reports fewer than 12 correct digits
  for ``forward`` or ``reverse``;
- ``fuzz``: the CI campaign's cases (own exact methods) give at least one ``disagree``.

Run ``python -m difflab_experiments.rule_mutation [--fuzz-cases N] [--json FILE]`` for the
score table docs/reliability.md reports; the suite runs the same functions
(tests/test_rule_mutation.py).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

import difflab
from difflab.ad.rules import MINUS_ONE, ONE, RULES

#: The factor a corrupted piece is scaled by.
FACTOR = 1.1
#: Fewer correct digits than this is a flag (an exact engine gives 13 to 16 on the probes).
DIGITS = 12.0
#: The engines that read the table.
ENGINES = {"forward": ("forward", {}), "reverse": ("reverse", {}), "reverse-jit": ("reverse", {"jit": True})}


@dataclass(frozen=True)
class Piece:
    """One derivative piece: ``RULES[op]``'s ``part`` (``partial``/``batched``/...), ``index``
    for the partials."""

    op: str
    part: str
    index: int = 0

    @property
    def label(self) -> str:
        return f"{self.op}.{self.part}" + (f"[{self.index}]" if self.part == "partial" else "")


def pieces() -> list:
    """Every derivative piece of the table, in table order."""
    out = []
    for name, rule in RULES.items():
        if rule.kind in ("elementwise", "reduction"):
            out += [Piece(name, "partial", i) for i, p in enumerate(rule.partials) if p is not None]
        elif rule.kind == "linear":
            out += [Piece(name, "batched"), Piece(name, "transpose")]
        else:
            out += [Piece(name, "jvp"), Piece(name, "vjp")]
    return out


def _scaled(fn):
    def wrong(*args, **kwargs):
        out = fn(*args, **kwargs)
        if out is ONE:
            return FACTOR
        if out is MINUS_ONE:
            return -FACTOR
        return out * FACTOR
    return wrong


@contextlib.contextmanager
def corrupted(piece: Piece):
    """``RULES[piece.op]`` with ``piece`` scaled by :data:`FACTOR`, restored afterwards."""
    row = RULES[piece.op]
    if piece.part == "partial":
        partials = list(row.partials)
        partials[piece.index] = _scaled(partials[piece.index])
        wrong = dataclasses.replace(row, partials=tuple(partials))
    else:
        wrong = dataclasses.replace(row, **{piece.part: _scaled(getattr(row, piece.part))})
    RULES[piece.op] = wrong
    try:
        yield
    finally:
        RULES[piece.op] = row


# ---------------------------------------------------------------------- probes
def _ns(x):
    return difflab.namespace(x)


W = np.array([1.0, -2.0, 0.5, 1.5, -0.7, 0.9, 1.2, -1.1])


def _u(x):
    """Inputs in (0.2, 0.9): inside every domain."""
    return 0.5 * x + 0.5


def unary(name):
    def f(x):
        xp = _ns(x)
        return xp.sum(getattr(xp, name)(_u(x)) * xp.asarray(W[:3]))
    return f


def binary(fn):
    def f(x):
        xp = _ns(x)
        a, b = _u(x), xp.asarray([0.3, 0.9, 0.5]) + 0.2 * x  # a > b and a < b both occur
        return xp.sum(fn(xp, a, b) * xp.asarray(W[:3]))
    return f


def _image(x, xp):
    """x (12,) as a (1, 3, 4, 1) image and a (2, 2, 1, 1) kernel from its first entries."""
    return xp.reshape(x, (1, 3, 4, 1)), xp.reshape(x[:4] * 0.5, (2, 2, 1, 1))


def _conv(x):
    xp = _ns(x)
    img, k = _image(x, xp)
    y = xp.conv2d(img, k)
    return xp.sum(y * y)


def _max_pool(x):
    xp = _ns(x)
    img, _ = _image(x, xp)
    y = xp.max_pool2d(img * img, pool_size=(2, 2), strides=(1, 1))
    return xp.sum(y * y)


def _avg_pool(x):
    xp = _ns(x)
    img, _ = _image(x, xp)
    y = xp.avg_pool2d(img * img, pool_size=(2, 2), strides=(1, 1))
    return xp.sum(y * y)


X3 = np.array([0.35, -0.6, 0.8])
X12 = np.array([0.3, -0.5, 0.7, 0.2, -0.9, 0.4, 0.65, -0.15, 0.55, -0.35, 0.85, 0.1])
X6 = np.array([0.35, -0.6, 0.8, 0.25, -0.45, 0.7])


def _cumsum(x):
    xp = _ns(x)
    y = xp.cumsum(xp.reshape(x, (2, 3)), axis=1)
    return xp.sum(xp.sin(y) * xp.asarray(W[:6].reshape(2, 3))) + xp.sum(xp.sin(xp.cumsum(x * x)) * xp.asarray(W[:6]))


def _einsum(x):
    """A contraction, one where a letter only the second operand has is summed away, and a
    diagonal (a letter repeated in one operand)."""
    xp = _ns(x)
    a, b = xp.reshape(x, (2, 3)), xp.reshape(xp.sin(x), (3, 2))
    return (xp.sum(xp.sin(xp.einsum("ij,jk->ik", a, b)) * xp.asarray(W[:4].reshape(2, 2)))
            + xp.sum(xp.einsum("ij,jk->i", a, b * b) * xp.asarray(W[:2]))
            + xp.sum(xp.sin(xp.einsum("ii->i", a @ b)) * xp.asarray(W[2:4])))


def _probe_table() -> dict:
    """op -> [(function, x)]: small functions whose derivatives use the op."""
    probes = {name: [(unary(name), X3)] for name in
              ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "exp",
               "expm1", "log", "log1p", "sqrt", "square", "abs", "sigmoid")}
    probes.update({
        "neg": [(lambda x: _ns(x).sum(-_ns(x).sin(x) * x), X3)],
        "add": [(binary(lambda xp, a, b: xp.sin(a + b)), X3)],
        "sub": [(binary(lambda xp, a, b: xp.sin(a - b)), X3)],
        "mul": [(binary(lambda xp, a, b: a * b * a), X3)],
        "div": [(binary(lambda xp, a, b: a / b), X3)],
        "pow": [(binary(lambda xp, a, b: a ** b), X3), (binary(lambda xp, a, b: a ** 3.0), X3)],
        "maximum": [(binary(lambda xp, a, b: xp.maximum(a, b) ** 2), X3)],
        "minimum": [(binary(lambda xp, a, b: xp.minimum(a, b) ** 2), X3)],
        "where": [(lambda x: _ns(x).sum(_ns(x).where(x > 0, _ns(x).sin(x), _ns(x).cos(x)) * x), X3)],
        "clip": [(lambda x: _ns(x).sum(_ns(x).clip(x, -0.5, 0.5) ** 2 * _ns(x).asarray(W[:3])), X3)],
        "sum": [(lambda x: _ns(x).sum(_ns(x).sin(x)) ** 2, X3)],
        "prod": [(lambda x: _ns(x).prod(x + 2.0), X3)],
        "max": [(lambda x: _ns(x).max(_ns(x).sin(x)) ** 2, X3)],
        "min": [(lambda x: _ns(x).min(_ns(x).sin(x)) ** 2, X3)],
        "logsumexp": [(lambda x: _ns(x).logsumexp(x * x), X3)],
        "getitem": [(lambda x: _ns(x).sum(_ns(x).sin(x[1:]) * x[:-1]), X3)],
        "scatter": [(lambda x: _ns(x).sum(_ns(x).sin(x[1:]) * x[:-1]), X3)],
        "reshape": [(lambda x: _ns(x).sum(_ns(x).sin(_ns(x).reshape(x, (2, 3))) * _ns(x).asarray(W[:6].reshape(2, 3))), X6)],
        "transpose": [(lambda x: _ns(x).sum(_ns(x).sin(_ns(x).transpose(_ns(x).reshape(x, (2, 3)))) * _ns(x).asarray(W[:6].reshape(3, 2))), X6)],
        "broadcast_to": [(lambda x: _ns(x).sum(_ns(x).sin(_ns(x).broadcast_to(x, (2, 3))) * _ns(x).asarray(W[:6].reshape(2, 3))), X3)],
        "stack": [(lambda x: _ns(x).sum(_ns(x).sin(_ns(x).stack([x, x * x])) * _ns(x).asarray(W[:6].reshape(2, 3))), X3)],
        "concatenate": [(lambda x: _ns(x).sum(_ns(x).sin(_ns(x).concatenate([x, x * x])) * _ns(x).asarray(W[:6])), X3)],
        "cumsum": [(_cumsum, X6)],
        "einsum": [(_einsum, X6)],
        "matmul": [(lambda x: _ns(x).sum(_ns(x).sin(_ns(x).reshape(x, (2, 3)) @ _ns(x).reshape(x, (3, 2)))), X6)],
        "conv2d": [(_conv, X12)],
        "conv2d_transpose": [(_conv, X12)],
        "conv2d_kernel_grad": [(_conv, X12)],
        "max_pool2d": [(_max_pool, X12)],
        "max_pool2d_gather": [(_max_pool, X12)],
        "max_pool2d_scatter": [(_max_pool, X12)],
        "avg_pool2d": [(_avg_pool, X12)],
        "avg_pool2d_transpose": [(_avg_pool, X12)],
    })
    return probes


PROBES = _probe_table()
#: Derivatives the probes are differentiated to: second derivatives reach the rules of the
#: transposes (forward over reverse).
KINDS = ("gradient", "hessian")


def _fresh(fn):
    """A new function object: compiled and prepared derivatives are cached per function."""
    return lambda x: fn(x)


def nested_hvp(fn, x, v):
    """H v by reverse over reverse (no registered method nests so): reaches the rules of the
    transposes' transposes."""
    from difflab.ad import reverse

    def directional(y):
        return _ns(y).sum(reverse.gradient(fn, y) * _ns(y).asarray(v))
    return reverse.gradient(directional, x)


def nested_forward_hvp(fn, x, v):
    """H v by reverse over forward: reaches the transposes of forward mode's own rules (the
    max pool's gather)."""
    from difflab.ad import forward, reverse

    return reverse.gradient(lambda y: forward.jvp(fn, y, v)[1], x)


#: Nestings of difflab's engines that no registered method uses, each giving H v.
NESTED = {"reverse-over-reverse": nested_hvp, "reverse-over-forward": nested_forward_hvp}


def engine_answers(fn, x) -> dict:
    """(engine, kind) -> answer, from fresh derivatives (NaN where an engine raised)."""
    out = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for label, (name, options) in ENGINES.items():
            d = difflab.get(name, **options)
            for kind in KINDS:
                try:
                    out[label, kind] = np.asarray(getattr(d, kind)(_fresh(fn))(x), dtype=float)
                except Exception:  # noqa: BLE001 - a corrupted rule may make an engine raise: it moved
                    out[label, kind] = np.full(1, np.nan)
        v = np.linspace(0.5, -0.5, x.size)
        for label, nested in NESTED.items():
            try:
                out[label, "hvp"] = np.asarray(nested(fn, x, v), dtype=float)
            except Exception:  # noqa: BLE001
                out[label, "hvp"] = np.full(1, np.nan)
    return out


def oracle_answers(fn, x) -> dict:
    v = np.linspace(0.5, -0.5, x.size)
    return {"gradient": difflab.reference(fn, x), "hessian": difflab.reference(fn, x, "hessian"),
            "hvp": difflab.reference(fn, x, "hvp", vector=v)}


def _moved(a, b) -> bool:
    return a.shape != b.shape or not np.allclose(a, b, rtol=1e-12, atol=1e-14, equal_nan=False)


@dataclass
class Verdict:
    """What happened to one corrupted piece."""

    piece: Piece
    exercised: list = field(default_factory=list)   # (engine, kind) whose answer moved
    oracle: bool = False        # the oracle is unchanged and disagrees with every moved answer
    compare: bool = False       # difflab.compare flagged forward or reverse
    compare_reachable: bool = False  # forward or reverse (not only nesting) moved
    fuzz: object = None         # None: not run; else the number of disagreeing outcomes

    def to_dict(self) -> dict:
        return {"piece": self.piece.label, "exercised": [f"{e} {k}" for e, k in self.exercised],
                "oracle": self.oracle, "compare": self.compare,
                "compare_reachable": self.compare_reachable, "fuzz": self.fuzz}


class Baseline:
    """The uncorrupted answers of every probe (engines and oracle), computed once."""

    def __init__(self):
        self._engines: dict = {}
        self._oracle: dict = {}

    def engines(self, key, fn, x):
        if key not in self._engines:
            self._engines[key] = engine_answers(fn, x)
        return self._engines[key]

    def oracle(self, key, fn, x):
        if key not in self._oracle:
            self._oracle[key] = oracle_answers(fn, x)
        return self._oracle[key]


def judge(piece: Piece, baseline: Baseline, with_compare: bool = True) -> Verdict:
    """Corrupt ``piece``; which engines move, and do the oracle and compare notice."""
    verdict = Verdict(piece)
    oracle_ok = True
    for i, (fn, x) in enumerate(PROBES[piece.op]):
        key = (piece.op, i)
        good = baseline.engines(key, fn, x)
        truth = baseline.oracle(key, fn, x)
        with corrupted(piece):
            bad = engine_answers(fn, x)
            oracle_now = oracle_answers(fn, x)
            flagged = _compare_flags(fn, x, bad) if with_compare else False
        if any(_moved(oracle_now[k], truth[k]) for k in truth):
            oracle_ok = False  # the oracle moved with the table: it is not independent
        for (engine, kind), answer in bad.items():
            if _moved(answer, good[engine, kind]):
                verdict.exercised.append((engine, kind))
                ref_kind = "hvp" if engine in NESTED else kind
                if not _moved(answer, truth[ref_kind]):
                    oracle_ok = False  # a moved answer the oracle agrees with
                if engine in ("forward", "reverse"):
                    verdict.compare_reachable = True
        verdict.compare = verdict.compare or flagged
    verdict.oracle = oracle_ok and bool(verdict.exercised)
    return verdict


def _compare_flags(fn, x, bad) -> bool:
    """Does difflab.compare show fewer than DIGITS digits for forward or reverse, on a kind
    whose answer the corruption moved?"""
    flagged = False
    for kind in KINDS:
        comparison = difflab.compare(_fresh(fn), x, methods=["forward", "reverse"], derivative=kind,
                                     repeat=1, min_time=0.0, preload=False)
        for r in comparison.results:
            if r.status == "ok" and r.digits is not None and r.digits < DIGITS:
                flagged = True
            if r.status != "ok":
                flagged = True  # a corrupted rule that makes an engine fail is noticed too
    return flagged


# ---------------------------------------------------------------------- the fuzz campaign
class CampaignCache:
    """The CI campaign's cases with their oracle references computed once: the references
    do not read the rule table, so every corruption is judged against the same ones."""

    #: The CI campaign's seed and kinds (tests/test_fuzz.py).
    SEED, KINDS = 2026, ("gradient", "hessian")

    def __init__(self, cases: int, seed: int = SEED):
        from difflab.fuzz import generate as gen
        from difflab.fuzz.verdict import References, applicable

        self.cases = []
        for index in range(cases):
            case = gen.generate(seed, index, gen.FAMILIES)
            fn = case.function()
            refs = References(case, fn)
            try:
                for kind in applicable(case, self.KINDS):
                    refs[kind]
            except Exception:  # noqa: BLE001 - a case the oracle cannot do is left out, as the campaign does
                continue
            self.cases.append((case, refs))

    def disagreements(self) -> int:
        """Outcomes of the own engines that disagree with the oracle, on every cached case."""
        from difflab.fuzz.verdict import applicable, judge as fuzz_judge

        count = 0
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for case, refs in self.cases:
                for label, (name, options) in ENGINES.items():
                    method = difflab.get(name, **options)
                    for kind in applicable(case, self.KINDS):
                        outcome = fuzz_judge(method, label, case, case.function(), kind, refs, 60.0)
                        count += outcome.verdict in ("disagree", "crashed")
        return count


def score(verdicts) -> dict:
    """Pieces corrupted and how many each judge caught."""
    total = len(verdicts)
    return {"pieces": total,
            "exercised": sum(bool(v.exercised) for v in verdicts),
            "oracle": sum(v.oracle for v in verdicts),
            "compare": sum(v.compare for v in verdicts),
            "compare_reachable": sum(v.compare_reachable for v in verdicts),
            "fuzz": sum(bool(v.fuzz) for v in verdicts if v.fuzz is not None),
            "fuzz_run": sum(v.fuzz is not None for v in verdicts)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m difflab_experiments.rule_mutation",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz-cases", type=int, default=300,
                        help="CI campaign cases per corrupted piece (0: skip the fuzz judge)")
    parser.add_argument("--json", help="write the verdicts to this file")
    args = parser.parse_args(argv)
    baseline = Baseline()
    campaign = CampaignCache(args.fuzz_cases) if args.fuzz_cases > 0 else None
    if campaign is not None and campaign.disagreements():
        print("the uncorrupted table already disagrees on the campaign", file=sys.stderr)
        return 1
    verdicts = []
    for piece in pieces():
        v = judge(piece, baseline)
        if campaign is not None:
            with corrupted(piece):
                v.fuzz = campaign.disagreements()
        verdicts.append(v)
        print(f"{piece.label:34} exercised={len(v.exercised):2}  oracle={'yes' if v.oracle else 'NO':3}  "
              f"compare={'yes' if v.compare else ('NO' if v.compare_reachable else 'n/a'):3}  "
              f"fuzz={v.fuzz}", flush=True)
    summary = score(verdicts)
    print(json.dumps(summary))
    if args.json:
        with open(args.json, "x") as fh:
            json.dump({"schema": "difflab.rule_mutation/1", "score": summary,
                       "verdicts": [v.to_dict() for v in verdicts]}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
