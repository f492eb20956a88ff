"""Known behaviours of the methods that a campaign finds again and again.

Each entry matches a finding by method, derivative kind, verdict, the ops the program uses
(any one of them) and a piece of the message; a campaign reports matching findings as
``expected``, apart from new disagreements. docs/fuzz.md lists each with a reproducer.
Keep an entry only while the behaviour is real: a test re-runs each reproducer's program.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..interface.kinds import FUZZ_KINDS


@dataclass(frozen=True)
class Expected:
    """One known behaviour; ``name`` is what reports show."""

    name: str
    methods: tuple
    kinds: tuple
    verdict: str
    ops: tuple          # the program uses at least one of these
    message: str = ""   # a piece of the message (crashes, refusals)
    why: str = ""

    def matches(self, method: str, kind: str, verdict: str, ops, message: str = "") -> bool:
        return (method in self.methods and kind in self.kinds and verdict == self.verdict
                and bool(set(self.ops) & set(ops)) and self.message in (message or ""))


#: Behaviours of other libraries that a scalar campaign finds at points away from kinks. The
#: first campaign's three entries were difflab's own defects, fixed since (docs/fuzz.md):
#: SymPy's DiracDelta and unevaluated Derivative in Hessians, autograd's sigmoid without JVP.
EXPECTED = ()


#: Every derivative kind (conventions at a kink show in all of them).
_ALL = FUZZ_KINDS
#: Programs of the opt-in kinks family sit exactly on one kink, where the derivative does
#: not exist and each method answers by its own convention; the oracle's (difflab's rule
#: table) gives half to each side of a tie (clip is composed from maximum and minimum, so
#: half at its ends too) and 0 for |x| at 0.
EXPECTED += (
    Expected("tensorflow-tie-goes-to-the-first-argument", ("tensorflow",), _ALL, "disagree",
             ("kink:maximum", "kink:minimum"),
             why="tf.maximum/tf.minimum send the whole derivative of a tie to their first argument"),
    Expected("jax-abs-slope-1-at-0", ("jax",), _ALL, "disagree", ("kink:abs",),
             why="jax.numpy.abs differentiates to 1 at 0 (sign taken as +1), not 0"),
    Expected("clip-slope-at-its-ends", ("sympy", "autograd", "jax"), _ALL, "disagree", ("kink:clip",),
             why="their clip takes slope 1 (or 0) at the ends of its interval; difflab's is "
                 "composed from maximum and minimum and gives 1/2"),
    Expected("finite-differences-across-a-kink",
             ("fd-forward", "fd-central", "fd-five-point", "fd-complex", "fd-richardson",
              "fd-numdifftools", "fd-scipy"), _ALL,
             "disagree", ("kink:maximum", "kink:minimum", "kink:abs", "kink:clip", "kink:max"),
             why="a stencil that straddles a kink differences two pieces: a one-sided or mixed "
                 "slope, and an error estimate that assumes smoothness"),
)


#: At a point of a ``control`` case, the branch condition is MARGIN from its threshold in its
#: own value, which a steep condition (sec x near pi/2, say) turns into a few 1e-3 of x.
EXPECTED += (
    Expected("numdifftools-steps-across-a-branch", ("fd-numdifftools",), _ALL, "disagree", ("if",),
             why="numdifftools takes 15 steps from about 2 max(log(e + |x|), 1) down by halves and extrapolates; "
                 "where the branch switches within those steps it differences two pieces, and its "
                 "error estimate, which assumes smoothness, does not see the jump (case 2026:275: "
                 "the condition sec(x4) > 16.64 switches 1.2e-3 from x4)"),
)


def match(method: str, kind: str, verdict: str, ops, message: str = "") -> Expected | None:
    """The first known behaviour this finding is, or None."""
    for entry in EXPECTED:
        if entry.matches(method, kind, verdict, ops, message):
            return entry
    return None
