"""``difflab fuzz``: random programs x methods x derivative kinds against the oracle.

Runs in this process, on ``--workers K`` local processes, or on an existing Dask cluster
(``--scheduler tcp://host:8786``); the results are the same for a seed either way. Prints
a summary table (method x kind) and the findings with their shrunk reproducers, or with
``--json`` the ``difflab.fuzz/1`` document. Exit 0 when nothing new was found (known
behaviours, ``--expected``, allowed), 1 when a new disagreement, crash or timeout was, 2 for
bad input, 130 for Ctrl-C after printing what finished. ``--max-seconds`` stops taking new
chunks once spent, and reports what was done.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import time

from ..errors import InputError
from .validators import comma_list, non_negative_int, positive_int, positive_seconds

DEFAULT_CASES = 100
DEFAULT_SECONDS = 600.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cases", type=positive_int, default=DEFAULT_CASES, metavar="N",
                        help=f"number of random programs (default {DEFAULT_CASES})")
    parser.add_argument("--seed", type=non_negative_int, default=0, metavar="S",
                        help="campaign seed: case i is regenerated from (S, i) (default 0)")
    parser.add_argument("--methods", metavar="A,B,C",
                        help="methods (default: every available one but manual, plus reverse-jit)")
    parser.add_argument("--kinds", default="gradient,hessian", metavar="K1,K2",
                        help="derivative kinds: gradient, jacobian, hessian, jvp, vjp, hvp "
                             "(default gradient,hessian)")
    parser.add_argument("--families", default="scalar,vector,control", metavar="F1,F2",
                        help="program families: scalar, vector, control, and kinks (programs "
                             "exactly at a kink: each method's convention; default: the first three)")
    parser.add_argument("--json", action="store_true", help="print the difflab.fuzz/1 JSON document only")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, metavar="K",
                       help="run on a local Dask cluster of K processes")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on an existing Dask cluster (tcp://host:8786)")
    parser.add_argument("--max-seconds", type=positive_seconds, default=DEFAULT_SECONDS, metavar="SECONDS",
                        help=f"stop taking new cases after this long and report what was done "
                             f"(default {DEFAULT_SECONDS:g})")
    parser.add_argument("--call-seconds", type=positive_seconds, default=None, metavar="SECONDS",
                        help="a method call over this long is a timeout (default 60)")
    parser.add_argument("--shrink", type=non_negative_int, default=None, metavar="N",
                        help="shrink the first N findings of each method x kind (default 2; 0: none)")
    parser.add_argument("--expected", metavar="FILE.json",
                        help="more known behaviours to report apart (a JSON list; see docs/fuzz.md)")
    parser.add_argument("--chunk", type=positive_int, default=None, metavar="N",
                        help="cases per task sent to a worker (default 10)")


def _list(text, option) -> tuple:
    return tuple(comma_list(text, f"{option} is empty"))


def spec_from(args):
    """The campaign :class:`~difflab.fuzz.run.Spec` from the command line, checked."""
    from ..fuzz import generate, run

    methods = run.check_methods(_list(args.methods, "--methods") if args.methods else run.default_methods())
    kinds = run.check_kinds(_list(args.kinds, "--kinds"))
    families = _list(args.families, "--families")
    for f in families:
        if f not in generate.FAMILIES + generate.OPT_IN:
            raise InputError(f"unknown program family {f!r}; choose from "
                             f"{', '.join(generate.FAMILIES + generate.OPT_IN)}")
    options = {}
    if args.call_seconds is not None:
        options["call_seconds"] = args.call_seconds
    if args.chunk is not None:
        options["chunk"] = args.chunk
    return run.Spec(args.seed, args.cases, methods, kinds, families, **options)


def load_expected(path) -> None:
    """Add the entries of ``path`` (a JSON list) to the known behaviours."""
    from ..fuzz import expected

    try:
        with open(path) as fh:
            entries = json.load(fh)
    except FileNotFoundError:
        raise InputError(f"--expected: no such file {path}") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"--expected {path}: not a readable JSON file ({exc})") from None
    if not isinstance(entries, list):
        raise InputError(f"--expected {path}: want a JSON list of entries, not {type(entries).__name__}")
    added = []
    for i, e in enumerate(entries):
        try:
            added.append(expected.Expected(
                str(e["name"]), tuple(e["methods"]), tuple(e["kinds"]), str(e.get("verdict", "disagree")),
                tuple(e["ops"]), str(e.get("message", "")), str(e.get("why", ""))))
        except (KeyError, TypeError) as exc:
            raise InputError(f"--expected {path}: entry {i} needs name, methods, kinds and ops "
                             f"(missing or wrong: {exc})") from None
    expected.EXPECTED = expected.EXPECTED + tuple(added)


class _Stop(Exception):
    """--max-seconds spent."""


def run(args) -> int:
    from ..fuzz.report import Campaign
    from ._output import shown_if_stopped

    spec = spec_from(args)
    if args.expected:
        load_expected(args.expected)
    campaign = Campaign(spec)
    start = time.perf_counter()
    where = "in-process"
    ready = [start]  # when the workers were ready: throughput counts from there
    with shown_if_stopped(lambda: _finish(args, campaign, start, where, True, ready[0], "Ctrl-C")):
        with contextlib.ExitStack() as stack:
            c = None
            if args.workers or args.scheduler:
                from ..fuzz import cluster

                where = f"scheduler {args.scheduler}" if args.scheduler else f"local cluster of {args.workers}"
                # started before the progress bar's thread, so a Ctrl-C meanwhile is held
                c = stack.enter_context(cluster.client(args.workers, args.scheduler))
                ready[0] = time.perf_counter()
            bar = stack.enter_context(_progress(spec.cases))

            def on_chunk(results):
                campaign.add(results)
                bar(campaign)
                if time.perf_counter() - start > args.max_seconds:
                    raise _Stop()
            try:
                if c is not None:
                    cluster.run_on(c, spec, on_chunk)
                else:
                    from ..fuzz.run import run_local

                    run_local(spec, on_chunk)
            except _Stop:
                campaign.interrupted = True
                campaign.stopped_by = budget_words(args.max_seconds)
    return _finish(args, campaign, start, where, campaign.interrupted, ready[0], campaign.stopped_by)


def budget_words(seconds: float) -> str:
    """What stopped a campaign that ran out of time, naming the option that allows more."""
    return f"the {seconds:g} s budget (--max-seconds)"


def _finish(args, campaign, start, where, interrupted, ready, stopped_by=None) -> int:
    from ..console import console, error_console, print_footer, print_table
    from ..fuzz.report import SHRINK_PER_GROUP, findings_text, summary_table

    campaign.interrupted = interrupted
    campaign.stopped_by = stopped_by if interrupted else None
    end = time.perf_counter()
    shrink_start = time.perf_counter()
    shrink = SHRINK_PER_GROUP if args.shrink is None else args.shrink
    if interrupted and args.shrink is None:
        shrink = 0  # a stopped campaign reports at once
    campaign.collect(shrink=shrink)
    campaign.timing = _timing(campaign, end - start, ready - start, time.perf_counter() - shrink_start, where)
    if args.json:
        print(json.dumps(campaign.to_dict(), indent=2, allow_nan=False))
    else:
        print_table(summary_table(campaign))
        for line in findings_text(campaign):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        t = campaign.timing
        print_footer(f"{t['cases_per_second']:.3g} cases/s ({where}); the oracle took "
                     f"{100 * t['oracle_share']:.0f}% of the work", style="muted")
        if campaign.stopped_by and campaign.stopped_by != "Ctrl-C":
            print_footer(f"stopped by {campaign.stopped_by} after {campaign.cases} of "
                         f"{campaign.spec.cases} cases; allow more with --max-seconds or ask for "
                         f"fewer --cases", style="unsupported")
    new = [f for f in campaign.findings if not f.expected]
    if new and not interrupted:
        (error_console if args.json else console).print(
            f"[failed]{len(new)} new finding(s)[/failed]; see above" if not args.json else
            f"[failed]{len(new)} new finding(s)[/failed]", soft_wrap=True)
    return 1 if new else 0


def _timing(campaign, wall, startup, shrink_seconds, where) -> dict:
    """Where the time went; ``cases_per_second`` counts from when the workers were ready
    (``startup_seconds``: starting or reaching the cluster)."""
    results = campaign.results.values()
    oracle = sum(r.oracle_seconds for r in results)
    methods = sum(r.method_seconds for r in results)
    generate = sum(r.generate_seconds for r in results)
    work = oracle + methods + generate
    working = wall - startup
    return {"where": where, "wall_seconds": round(wall, 3), "startup_seconds": round(startup, 3),
            "shrink_seconds": round(shrink_seconds, 3),
            "cases_per_second": campaign.cases / working if working > 0 else 0.0,
            "oracle_seconds": round(oracle, 3), "method_seconds": round(methods, 3),
            "generate_seconds": round(generate, 3),
            "oracle_share": oracle / work if work > 0 else 0.0}


@contextlib.contextmanager
def _progress(total: int):
    """``update(campaign)``: a bar over the cases on stderr (a terminal only), with the
    disagreements so far in its description."""
    from ..console.progress import progress_bar

    with progress_bar("{task.description:<22}") as progress:
        task = progress.add_task("fuzzing", total=total)

        def update(campaign):
            bad = sum(1 for r in campaign.results.values() for o in r.outcomes if o.verdict == "disagree")
            progress.update(task, completed=campaign.cases, description=f"fuzzing ({bad} disagree)")
        yield update
