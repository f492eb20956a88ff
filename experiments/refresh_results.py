"""Rerun every study and rewrite docs/results.md from the run (``make experiments``).

Runs the core benchmark, swell, accuracy and speed at their default sizes, writes the
figures and the JSON documents to docs/img/, and the tables, the fitted growth rates and a
few sentences read off the numbers to docs/results.md. Nothing in that page is typed by
hand: every figure in it comes from this run.

``python -m difflab_experiments.refresh_results [--docs DIR] [--quick]``
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path
from typing import Optional

from . import accuracy, bench_compiled, bench_core, bench_hvp, plots, speed, swell
from .records import environment_line, write_json
from .tables import accuracy_tables, render_all, speed_tables, swell_tables


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_all(quick: bool = False) -> dict:
    """Every study, in one process: {name: (result, seconds)}."""
    out = {}
    studies = {
        "bench": lambda: bench_core.run(dims=(10, 1000) if quick else bench_core.DIMS,
                                        repeat=5 if quick else 41),
        "swell": lambda: swell.run(sizes=swell.QUICK_SIZES if quick else None,
                                   simplify_cap=0.5 if quick else 2.0, repeat=3),
        "accuracy": lambda: accuracy.run(table=True),
        "speed": lambda: speed.run(dims=(10, 100) if quick else speed.DIMS, repeat=3 if quick else 5,
                                   budget=1.0 if quick else 3.0,
                                   hessian_dims=(5, 10) if quick else speed.HESSIAN_DIMS),
        "compiled": lambda: bench_compiled.run(repeat=2 if quick else 7, quick=quick),
        "hvp": lambda: bench_hvp.run(100 if quick else bench_hvp.DIM, repeat=3 if quick else 7),
    }
    for name, study in studies.items():
        _say(f"running {name} ...")
        start = time.perf_counter()
        result = study()
        out[name] = (result, time.perf_counter() - start)
        _say(f"  {name}: {out[name][1]:.0f} s")
    return out


# ---------------------------------------------------------------------- sentences
def _fmt(v, digits=2):
    return "—" if v is None else f"{v:.{digits}g}"


def bench_findings(result) -> list[str]:
    lines = []
    for g in result.gradients:
        ra, rt, rf = g.ratio("reverse", "autograd"), g.ratio("reverse", "torch"), g.ratio("reverse", "numpy f")
        lines.append(f"n = {g.dim:,}: reverse takes {_fmt(ra)}x autograd's time, {_fmt(rt)}x torch "
                     f"eager's and {_fmt(rf)}x the function's.")
    j = result.jacobian
    lines.append(f"R^{j.n} -> R^{j.m} Jacobian: forward {j.reverse_seconds / j.forward_seconds:.3g}x "
                 f"faster than reverse.")
    vs_autograd = [g.ratio("reverse", "autograd") for g in result.gradients]
    largest = result.gradients[-1]
    lines.append("Targets: reverse no slower than autograd at every n — "
                 + ("met" if all(r is not None and r <= 1 for r in vs_autograd) else "not met")
                 + f"; reverse within 6x of f at n = {largest.dim:,} — "
                 + ("met" if (largest.ratio("reverse", "numpy f") or 99) <= 6 else "not met")
                 + f" ({_fmt(largest.ratio('reverse', 'numpy f'))}x); forward beats reverse on the "
                 f"R^{j.n} -> R^{j.m} Jacobian — " + ("met" if j.forward_seconds < j.reverse_seconds else "not met")
                 + ".")
    f_reverse, f_f = largest.faults.get("reverse"), largest.faults.get("numpy f")
    if f_reverse is not None and f_f is not None:
        same = (f_reverse >= 1) == (f_f >= 1)
        lines.append(f"Page faults per call at n = {largest.dim:,} in this run: reverse {f_reverse:,.0f}, "
                     f"f {f_f:,.0f} — " + ("one allocator state for both" if same else
                                         "two allocator states, so reverse/f is inflated")
                     + "; each state in a fresh process in the last table.")
    return lines


def swell_findings(result) -> list[str]:
    lines = []
    for case in result.cases:
        g = {x.quantity: x for x in case.growth()}
        nonzero = [r for r in case.rows if r.symbolic_cse_ops and r.ad_tape_ops]
        cse_tape = ""
        if nonzero:
            first, last = nonzero[0], nonzero[-1]
            cse_tape = (f"; cse operations per tape entry go from "
                        f"{first.symbolic_cse_ops / first.ad_tape_ops:.2g} (n = {first.n}) to "
                        f"{last.symbolic_cse_ops / last.ad_tape_ops:.2g} (n = {last.n})")
        lines.append(f"**{case.name}**: f grows {g['function_ops'].describe()}, the raw derivative "
                     f"{g['symbolic_ops'].describe()}, after cse {g['symbolic_cse_ops'].describe()}, "
                     f"the reverse tape {g['ad_tape_ops'].describe()}{cse_tape}.")
    verdicts = {case.name: cse_tracks_tape(case) for case in result.cases}
    held = [name for name, ok in verdicts.items() if ok]
    failed = [name for name, ok in verdicts.items() if ok is False]
    lines.append("Target: CSE brings the symbolic gradient within a constant of the tape — "
                 + (f"holds for {', '.join(held)}" if held else "holds for none")
                 + (f"; not for {', '.join(failed)}, where cse operations per tape entry keep growing "
                    "(the tape counts array operations, which do not grow with an MLP's width; for "
                    "scalar code the written-out gradient is itself quadratic: SymPy flattens "
                    "l_{k+1} = 4 l_k (1 - l_k) into one product of about k factors, and the product "
                    "rule writes k terms of k factors, which cse cannot share; reverse mode shares them "
                    "on the tape)" if failed else "") + ".")
    return lines


def cse_tracks_tape(case) -> Optional[bool]:
    """Does cse-ops / tape-entries stay bounded? Judged on the larger half of the sizes: the
    ratio at the largest n within 1.5x of the ratio at the middle one. None: too few sizes."""
    ratios = [r.symbolic_cse_ops / r.ad_tape_ops for r in case.rows if r.symbolic_cse_ops and r.ad_tape_ops]
    if len(ratios) < 4:
        return None
    return ratios[-1] <= 1.5 * ratios[len(ratios) // 2]


def accuracy_findings(result) -> list[str]:
    lines = []
    for b in result.best:
        if b.dtype == "float64" and b.step is not None:
            exact = " (every bit right)" if b.error == 0 else ""
            lines.append(f"{b.method}: best relative error {_fmt(b.error)}{exact} at h = {_fmt(b.step)}.")
    return lines + estimate_findings(result)


def estimate_findings(result) -> list[str]:
    """Part 3 in sentences: per method (float64), the median true error and how often its own
    estimate (the library's, for the peers) and its reported bound covered the true error."""
    from .estimates import summary

    lines = []
    for r in summary(getattr(result, "estimates", None) or []):
        if r["dtype"] != "float64":
            continue
        own = ("" if r["library_bounded"] is None else
               f"; the library's own estimate covered it in {r['library_bounded']} of {r['cells']}, "
               f"the reported bound in {r['bounded']}")
        mine = f"; its bound covered it in {r['bounded']} of {r['cells']}" if not own else own
        lines.append(f"{r['method']} {r['kind']}s at the default step: median error {_fmt(r['median_error'])}, "
                     f"{r['median_evaluations']:.0f} evaluations{mine}.")
    return lines


def speed_findings(result) -> list[str]:
    lines = []
    big = max((r.dim for r in result.rows), default=None)
    if big is not None:
        rows = sorted((r for r in result.rows if r.dim == big), key=lambda r: r.ratio)
        lines.append(f"At n = {big:,} the cheapest gradients cost " + ", ".join(
            f"{r.method} {r.ratio:.3g}x" for r in rows[:4]) + " the function.")
    cross = result.crossover()
    lines.append("Forward and reverse Jacobians cost the same at m/n ~ " + (_fmt(cross, 3) if cross else
                 "— (no crossover in the range measured)") + "; forward mode wins above it (few inputs, "
                 "many outputs), reverse below.")
    return lines


def _markdown_report(text: str) -> str:
    """A benchmark's plain report as Markdown: its table, then its other lines as bullets."""
    lines = text.splitlines()
    table = [line for line in lines if line.startswith("|")]
    other = [line for line in lines if line and not line.startswith("|")]
    return "\n".join(other[:1] + [""] + table + [""] + [f"- {line}" for line in other[1:]]) + "\n"


# ---------------------------------------------------------------------- the page
def write_page(results: dict, docs: Path) -> Path:
    img = docs / "img"
    img.mkdir(parents=True, exist_ok=True)
    bench, _ = results["bench"]
    sw, sw_s = results["swell"]
    acc, acc_s = results["accuracy"]
    sp, sp_s = results["speed"]
    compiled, compiled_s = results["compiled"]
    hvp, hvp_s = results["hvp"]
    for name, result in (("bench_core", bench), ("swell", sw), ("accuracy", acc), ("speed", sp),
                         ("bench_hvp", hvp)):
        write_json(result.to_dict(), img / f"{name}.json")
    write_json(compiled, img / "bench_compiled.json")
    plots.plot_swell(sw, img / "swell.png")
    plots.plot_accuracy(acc, img / "accuracy.png")
    plots.plot_speed(sp, img / "speed.png")

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    bullets = lambda lines: "\n".join(f"- {line}" for line in lines) + "\n"  # noqa: E731
    parts = [
        "# Experiment results\n",
        f"Generated by `make experiments` (`python -m difflab_experiments.refresh_results`) on {stamp}. "
        "Every number and figure below comes from that one run; rerun it to refresh this page. "
        "JSON documents of the run sit beside the figures in `docs/img/`.\n",
        f"Machine and libraries: {environment_line(sw.environment)}.\n",
        "Timings are medians of repeated measurements (`difflab.analysis.timing`) on a shared machine; "
        "ratios measured in the same run are more trustworthy than absolute times. PyTorch runs "
        "single-threaded throughout (`torch.set_num_threads(1)`, like NumPy and difflab): with its "
        "default pool its workers fought the other peers' samples on this 2-core machine.\n",
        "## Core benchmark (`make bench`)\n",
        bullets(bench_findings(bench)),
        render_all(bench_core.tables(bench)),
        f"## Expression swell (`difflab swell`, {sw_s:.0f} s)\n",
        "![swell](img/swell.png)\n",
        bullets(swell_findings(sw)),
        render_all(swell_tables(sw)),
        f"## Accuracy (`difflab accuracy`, {acc_s:.0f} s)\n",
        "![accuracy](img/accuracy.png)\n",
        bullets(accuracy_findings(acc)),
        render_all(accuracy_tables(acc)),
        f"## Speed (`difflab speed`, {sp_s:.0f} s)\n",
        "![speed](img/speed.png)\n",
        bullets(speed_findings(sp)),
        render_all(speed_tables(sp)),
        f"## The compiled tape (`make bench-compiled`, {compiled_s:.0f} s)\n",
        "`reverse` with `jit=True` against its peers; CPU time, the minimum over round-robin "
        "samples, OMP_NUM_THREADS=1. `manual` is the hand-written gradient called directly, "
        "`torch` and `autograd` go through difflab's interface as `compare` does.\n",
        _markdown_report(bench_compiled.report(compiled)),
        f"## Hessian-vector products (`python -m difflab_experiments.bench_hvp`, {hvp_s:.0f} s)\n",
        render_all(bench_hvp.tables(hvp)),
    ]
    page = docs / "results.md"
    page.write_text("\n".join(parts))
    return page


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m difflab_experiments.refresh_results",
                                     description="Rerun the experiments and rewrite docs/results.md.")
    parser.add_argument("--docs", default="docs", help="docs folder (default: docs)")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")   # TensorFlow's start-up chatter
    start = time.perf_counter()
    page = write_page(run_all(args.quick), Path(args.docs))
    _say(f"wrote {page} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
