"""A campaign's results: the summary (method x kind), the findings, the table and the JSON.

Everything here but ``timing`` depends only on the seed and the spec: results are kept by
case index, findings sorted, and shrinking (in this process) is deterministic, so the same
campaign gives the same document in one process, on two workers or on a cluster.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from . import expected as known
from . import generate as gen
from . import reproducer
from .run import Spec
from .verdict import VERDICTS

SCHEMA = "difflab.fuzz/1"
#: Findings of one method and kind shrunk per campaign (the rest keep their full program).
SHRINK_PER_GROUP = 2
#: Case ids listed per crash group.
CASES_PER_CRASH = 5


@dataclass
class Finding:
    """A disagreement (one per case), or a group of crashes/timeouts with one message."""

    method: str
    kind: str
    verdict: str
    case: str
    error: float | None = None
    bound: float | None = None
    ratio: float | None = None
    message: str = ""
    expected: str = ""
    count: int = 1
    cases: list = field(default_factory=list)
    reproducer: str = ""
    expression: str | None = None
    shrunk: dict | None = None

    def to_dict(self) -> dict:
        out = {"method": self.method, "kind": self.kind, "case": self.case}
        if self.verdict == "disagree":
            out.update(error=_number(self.error), bound=_number(self.bound), ratio=_number(self.ratio))
        else:
            out.update(verdict=self.verdict, message=self.message, count=self.count, cases=self.cases)
        out.update(expected=self.expected or None, reproducer=self.reproducer,
                   expression=self.expression, shrunk=self.shrunk)
        return out


class Campaign:
    """Results of a campaign so far, by case index."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.results: dict = {}
        self.interrupted = False
        self.stopped_by: str | None = None  # "Ctrl-C" or "the 600 s budget (--max-seconds)"
        self.timing: dict = {}
        self.findings: list = []

    def add(self, results) -> None:
        for r in results:
            self.results[r.index] = r

    @property
    def cases(self) -> int:
        return len(self.results)

    def ordered(self) -> list:
        return [self.results[i] for i in sorted(self.results)]

    # ------------------------------------------------------------------ counts
    def summary(self) -> list:
        """Rows per method x kind: counts per verdict, ``expected`` apart, worst ratio."""
        rows = {}
        for r in self.ordered():
            for o in r.outcomes:
                row = rows.setdefault((o.method, o.kind), {"method": o.method, "kind": o.kind, "cases": 0,
                                                           **{v: 0 for v in VERDICTS}, "expected": 0,
                                                           "worst": None})
                row["cases"] += 1
                # the case's ops (a regeneration) only where a known behaviour may match
                if o.verdict in ("disagree", "crashed", "timeout") and \
                        known.match(o.method, o.kind, o.verdict, _ops(self.spec, r.index), o.message):
                    row["expected"] += 1
                else:
                    row[o.verdict] += 1
                if o.ratio is not None and math.isfinite(o.ratio) and o.verdict in ("agree", "disagree"):
                    row["worst"] = o.ratio if row["worst"] is None else max(row["worst"], o.ratio)
                elif o.verdict == "disagree":
                    row["worst"] = math.inf
        order = {m: i for i, m in enumerate(self.spec.methods)}
        kinds = {k: i for i, k in enumerate(self.spec.kinds)}
        return sorted(rows.values(), key=lambda r: (order.get(r["method"], 99), kinds.get(r["kind"], 99)))

    def invalid(self) -> list:
        return [{"case": f"{self.spec.seed}:{r.index}", "message": r.invalid}
                for r in self.ordered() if r.invalid]

    # ------------------------------------------------------------------ findings
    def collect(self, shrink: int = SHRINK_PER_GROUP, on_shrink=None) -> list:
        """The findings, with reproducers; the first ``shrink`` new ones of each method x kind
        shrunk, and the first of each known behaviour (for its reproducer)."""
        findings, groups = [], {}
        for r in self.ordered():
            case = None
            for o in r.outcomes:
                if o.verdict not in ("disagree", "crashed", "timeout"):
                    continue
                case = case or gen.generate(self.spec.seed, r.index, self.spec.families)
                hit = known.match(o.method, o.kind, o.verdict, case.tree.ops() | gen.markers(case), o.message)
                if o.verdict == "disagree":
                    findings.append(Finding(o.method, o.kind, o.verdict, case.id, o.error, o.bound,
                                            o.ratio, expected=hit.name if hit else "",
                                            reproducer=reproducer.python_line(case, o.method, o.kind),
                                            expression=reproducer.expression(case)))
                    findings[-1]._case = case
                    continue
                key = (o.method, o.kind, o.verdict, _message_key(o.message))
                if key in groups:
                    g = groups[key]
                    g.count += 1
                    if len(g.cases) < CASES_PER_CRASH:
                        g.cases.append(case.id)
                    continue
                g = Finding(o.method, o.kind, o.verdict, case.id, message=o.message,
                            expected=hit.name if hit else "", cases=[case.id],
                            reproducer=reproducer.python_line(case, o.method, o.kind),
                            expression=reproducer.expression(case))
                g._case = case
                groups[key] = g
                findings.append(g)
        shrunk = Counter()
        for f in findings:  # new findings: ``shrink`` per method x kind; known ones: one each
            group = ("expected", f.expected) if f.expected else (f.method, f.kind, f.verdict)
            if shrunk[group] >= (min(shrink, 1) if f.expected else shrink):
                continue
            shrunk[group] += 1
            if on_shrink is not None:
                on_shrink(f)
            f.shrunk = shrink_finding(self.spec, f)
        for f in findings:
            f.__dict__.pop("_case", None)
        self.findings = findings
        return findings

    def to_dict(self) -> dict:
        spec = self.spec
        disagreements = [f.to_dict() for f in self.findings if f.verdict == "disagree"]
        crashes = [f.to_dict() for f in self.findings if f.verdict != "disagree"]
        families = Counter(r.family for r in self.results.values())
        return {"schema": SCHEMA, "seed": spec.seed, "cases": self.cases, "requested": spec.cases,
                "interrupted": self.interrupted, "stopped_by": self.stopped_by, "methods": list(spec.methods), "kinds": list(spec.kinds),
                "families": {f: families.get(f, 0) for f in spec.families},
                "bound": "exact: 64 order eps (|r| + sqrt(N) kappa + s); numeric: 10 x estimate + that",
                "summary": [_json_row(r) for r in self.summary()],
                "disagreements": disagreements, "crashes": crashes, "invalid": self.invalid(),
                "timing": self.timing}


def shrink_finding(spec: Spec, finding: Finding) -> dict | None:
    """The smallest program with the same finding, as a dict for the JSON."""
    from .run import _method
    from .shrink import shrink
    from .verdict import References, judge

    case = finding._case
    method = _method(finding.method)

    def fails(candidate) -> bool:
        try:
            o = judge(method, finding.method, candidate, candidate.function(), finding.kind,
                      References(candidate), spec.call_seconds)
        except Exception:  # noqa: BLE001 - the oracle cannot do the candidate: not kept
            return False
        if finding.verdict == "disagree":
            return o.verdict == "disagree"
        return o.verdict == finding.verdict and _message_key(o.message) == _message_key(finding.message)

    small, spent = shrink(case, fails)
    return {"size": small.tree.size(), "from_size": case.tree.size(), "checks": spent,
            "reproducer": reproducer.python_line(small, finding.method, finding.kind),
            "expression": reproducer.expression(small),
            "compare": reproducer.compare_line(small, finding.method, finding.kind)}


def _number(v):
    """A float for the JSON; "inf" or "nan" as text (a method that returned NaN)."""
    return float(v) if v is not None and math.isfinite(v) else str(v)


def _message_key(message: str) -> str:
    """Crashes are grouped by exception type and the start of the message (numbers out)."""
    import re

    return re.sub(r"[-+]?\d[\d.e+-]*", "#", message or "")[:60]


_ops_cache: dict = {}


def _ops(spec: Spec, index: int) -> set:
    key = (spec.seed, index, spec.families)
    if key not in _ops_cache:
        case = gen.generate(spec.seed, index, spec.families)
        _ops_cache[key] = case.tree.ops() | gen.markers(case)
    return _ops_cache[key]


def _json_row(row: dict) -> dict:
    out = dict(row)
    w = out.pop("worst")
    out["worst_ratio"] = None if w is None else (w if math.isfinite(w) else "inf")
    return out


# ---------------------------------------------------------------------- the table
def summary_table(campaign: Campaign):
    """method x kind: cases, agree, disagree, expected, refused, crashed, timeout, worst."""
    from rich.table import Table

    from ..console.table_fit import set_key_columns

    by = getattr(campaign, "stopped_by", None) if campaign.interrupted else None
    if by:  # say what stopped it: Ctrl-C, or the budget and the option that allows more
        title = (f"difflab fuzz: {campaign.cases} of {campaign.spec.cases} cases, "
                 f"seed {campaign.spec.seed}, stopped by {by}")
    else:
        title = (f"difflab fuzz: {campaign.cases} cases, seed {campaign.spec.seed}"
                 + (" (interrupted)" if campaign.interrupted else ""))
    table = Table(title=title, title_style="title", caption="cases: the programs the kind applies "
                  "to (gradient and hessian need a scalar output); worst: largest error / bound of "
                  "an answer (<= 1 agrees)", caption_style="muted")
    set_key_columns(table, 2)  # split to fit a narrow screen, each part keeps method and kind
    table.add_column("method", style="method")
    table.add_column("kind")
    for name in ("cases", "agree", "disagree", "expected", "refused", "crashed", "timeout"):
        table.add_column({"disagree": "disagr.", "expected": "expect.", "timeout": "t/o",
                          "refused": "refus.", "crashed": "crash"}.get(name, name), justify="right")
    table.add_column("worst", justify="right")
    for row in campaign.summary():
        cells = [row["method"], row["kind"], str(row["cases"])]
        for name, style in (("agree", "ok"), ("disagree", "failed"), ("expected", "unsupported"),
                            ("refused", "muted"), ("crashed", "error"), ("timeout", "error")):
            n = row[name]
            cells.append(f"[{style}]{n}[/{style}]" if n else "[muted]0[/muted]")
        w = row["worst"]
        cells.append("-" if w is None else ("inf" if not math.isfinite(w) else f"{w:.2g}"))
        table.add_row(*cells)
    return table


def findings_text(campaign: Campaign, limit: int = 10) -> list:
    """Lines for the findings: new ones first, each with its (shrunk) reproducer."""
    lines = []
    new = [f for f in campaign.findings if not f.expected]
    old = [f for f in campaign.findings if f.expected]
    for f in (new + old)[:limit]:
        what = (f"error {f.ratio:.3g} x bound" if f.verdict == "disagree"
                else f"{f.verdict} x{f.count}: {f.message}")
        tag = f" [expected: {f.expected}]" if f.expected else ""
        lines.append(f"{f.method} {f.kind} case {f.case}: {what}{tag}")
        repro = f.shrunk or {"reproducer": f.reproducer, "expression": f.expression}
        if repro.get("expression"):
            lines.append(f"  expression: {repro['expression']}")
        lines.append(f"  {repro['reproducer']}")
    if len(campaign.findings) > limit:
        lines.append(f"... and {len(campaign.findings) - limit} more findings (all in --json)")
    return lines
