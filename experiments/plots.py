"""Figures for the three studies (matplotlib, Agg backend; log axes where sizes grow).

Each ``plot_*`` takes the study's result record and a path, writes one PNG and returns the
path. Nothing is shown on screen.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SWELL_SERIES = (("function_ops", "f itself", "k", "-"),
                ("symbolic_ops", "sympy.diff (raw)", "tab:red", "-"),
                ("symbolic_cse_ops", "after cse", "tab:orange", "-"),
                ("simplified_ops", "simplified (capped)", "tab:purple", ":"),
                ("ad_tape_ops", "reverse tape entries", "tab:blue", "--"),
                ("pytensor_graph_nodes", "PyTensor grad graph", "tab:olive", "-."),
                ("pytensor_scalar_nodes", "PyTensor rewritten (scalar nodes)", "tab:green", ":"),
                ("casadi_nodes", "CasADi SX nodes", "tab:brown", "-."))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def _grid(count, width=4.2, height=3.3):
    plt = _pyplot()
    cols = min(3, count)
    rows = (count + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False,
                             layout="constrained")
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


# ---------------------------------------------------------------------- swell
def plot_swell(result, path) -> Path:
    """Operation counts against n, one panel per case (log y; log x where n doubles)."""
    fig, axes = _grid(len(result.cases))
    for ax, case in zip(axes, result.cases):
        ns = [r.n for r in case.rows]
        for field, label, colour, style in SWELL_SERIES:
            pts = [(n, getattr(r, field)) for n, r in zip(ns, case.rows)
                   if getattr(r, field) is not None and getattr(r, field) > 0]
            if pts:
                ax.plot(*zip(*pts), style, marker="o", ms=3, color=colour, label=label)
        ax.set_yscale("log")
        if len(ns) > 2 and all(b >= 1.9 * a for a, b in zip(ns, ns[1:])):   # sizes that double
            ax.set_xscale("log", base=2)
        ax.set_title(case.name)
        ax.set_xlabel("n")
        ax.set_ylabel("operations")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Expression swell: the derivative as a tree (SymPy) and as graphs (CSE, "
                 "PyTensor, CasADi, difflab's reverse tape)")
    return _save(fig, path)


# ---------------------------------------------------------------------- accuracy
def plot_accuracy(result, path) -> Path:
    """Relative error against step, one panel per dtype, with each stencil's model curve and
    its optimum (star)."""
    dtypes = list(dict.fromkeys(c.dtype for c in result.curves))
    cells = [c for c in (getattr(result, "estimates", None) or []) if c.status == "ok" and c.error]
    fig, axes = _grid(len(dtypes) + bool(cells), width=6.0, height=4.5)
    if cells:
        _plot_estimates(axes[len(dtypes)], cells)
    colours = {}
    palette = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for ax, dtype in zip(axes, dtypes):
        eps = float(np.finfo(dtype).eps)
        floor = eps / 16
        for curve in (c for c in result.curves if c.dtype == dtype):
            base = curve.method.replace("-estimate", "")
            colour = colours.setdefault(base, palette[len(colours) % len(palette)])
            pts = [(h, max(e, floor)) for h, e in zip(curve.steps, curve.errors) if e is not None]
            if not pts:
                continue
            estimate = curve.method.endswith("-estimate")
            ax.plot(*zip(*pts), ":" if estimate else "-", marker="" if estimate else ".", ms=3,
                    color=colour, label=f"{base} (its own error estimate)" if estimate else base)
        for t in (t for t in result.theory if t.dtype == dtype):
            colour = colours.get(t.method, "grey")
            steps = result.curves[0].steps
            ax.plot(steps, [max(v, floor) for v in t.curve], "--", lw=0.8, color=colour, alpha=0.6)
            if t.step is not None:
                ax.plot([t.step], [max(t.error, floor)], "*", ms=11, color=colour, mec="k", mew=0.5)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(floor / 2, 10.0)
        ax.invert_xaxis()
        ax.set_xlabel("step h")
        ax.set_ylabel("relative error vs oracle")
        ax.set_title(f"{result.function} at x = {', '.join(f'{v:g}' for v in result.x)}, {dtype}")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Finite differences: error vs step (dashed: error model, star: model optimum)")
    return _save(fig, path)


def _plot_estimates(ax, cells):
    """Part 3: reported bound (filled) and the library's own estimate (open) against the true
    error, per method; below the diagonal an estimate missed."""
    markers = {"fd-richardson": "o", "fd-numdifftools": "s", "fd-scipy": "^"}
    colours = {"fd-richardson": "tab:purple", "fd-numdifftools": "tab:green", "fd-scipy": "tab:red"}
    for method in dict.fromkeys(c.method for c in cells):
        mine = [c for c in cells if c.method == method]
        style = dict(marker=markers.get(method, "x"), ls="", ms=5, color=colours.get(method, "grey"))
        ax.plot([c.error for c in mine if c.bound], [c.bound for c in mine if c.bound], **style,
                label=f"{method}: reported bound")
        own = [c for c in mine if c.library]
        if own:
            ax.plot([c.error for c in own], [c.library for c in own], **{**style, "mfc": "none"},
                    label=f"{method}: the library's own estimate")
    lo = min(c.error for c in cells) / 3
    hi = max(max(c.error for c in cells), max(c.bound or 0 for c in cells)) * 3
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("true relative error vs oracle")
    ax.set_ylabel("estimated error")
    ax.set_title("Error estimates on the catalogue (below the line: missed)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=6, loc="upper left")


# ---------------------------------------------------------------------- speed
def _method_styles(names):
    """A colour and line style per method, the same in every panel (13 methods: tab20)."""
    plt = _pyplot()
    colours = plt.get_cmap("tab20").colors
    return {m: (colours[(2 * i) % 20 + (i // 10) % 2], "-" if i < 10 else "-.")
            for i, m in enumerate(names)}


def _size_ticks(ax, sizes):
    from matplotlib.ticker import FixedLocator, NullLocator

    ax.xaxis.set_major_locator(FixedLocator(sorted(set(sizes))))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{d:,}" for d in sorted(set(sizes))])


def plot_speed(result, path) -> Path:
    """(a) gradient cost vs n, (b) forward/reverse Jacobian vs m/n, (c) setup vs per call,
    (d) Hessian cost vs n."""
    fig, axes = _grid(4, width=5.2, height=4.0)
    ax = axes[0]
    methods = list(dict.fromkeys(r.method for r in result.rows))
    styles = _method_styles(list(dict.fromkeys(methods + [r.method for r in result.hessian])))
    for m in methods:
        rows = [r for r in result.rows if r.method == m]
        colour, style = styles[m]
        ax.plot([r.dim for r in rows], [r.call_seconds for r in rows], style, color=colour,
                marker="o", ms=3, label=m)
    f_pts = sorted({(r.dim, r.f_seconds) for r in result.rows})
    if f_pts:
        ax.plot(*zip(*f_pts), "k--", lw=2, label="f itself (NumPy)")
    ax.set(xscale="log", yscale="log", xlabel="n", ylabel="seconds per gradient",
           title=f"(a) gradient of {result.function}")
    if result.rows:
        _size_ticks(ax, [r.dim for r in result.rows])
    ax.legend(fontsize=6, ncol=2)

    ax = axes[1]
    for m in ("forward", "reverse"):
        rows = sorted((r for r in result.jacobian if r.method == m), key=lambda r: r.m / r.n)
        if rows:
            ax.plot([r.m / r.n for r in rows], [r.call_seconds for r in rows], marker="o", ms=3, label=m)
    cross = result.crossover()
    if cross:
        ax.axvline(cross, color="grey", ls=":", label=f"crossover m/n ~ {cross:.2g}")
    ax.set(xscale="log", yscale="log", xlabel="m / n (outputs per input, n m fixed)",
           ylabel="seconds per Jacobian", title="(b) Jacobian R^n -> R^m")
    ax.legend(fontsize=7)

    ax = axes[2]
    if result.setup:
        labels = [f"{r.method}\nn={r.dim}" for r in result.setup]
        pos = np.arange(len(labels))
        ax.bar(pos - 0.2, [r.setup_seconds for r in result.setup], 0.4, label="setup (once)")
        ax.bar(pos + 0.2, [r.call_seconds for r in result.setup], 0.4, label="per call")
        ax.set_xticks(pos, labels, fontsize=6, rotation=45, ha="right")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    ax.set(ylabel="seconds", title="(c) setup vs per call")

    ax = axes[3]
    for m in dict.fromkeys(r.method for r in result.hessian):
        rows = [r for r in result.hessian if r.method == m]
        colour, style = styles[m]
        ax.plot([r.dim for r in rows], [r.call_seconds for r in rows], style, color=colour,
                marker="o", ms=3, label=m)
    ax.set(xscale="log", yscale="log", xlabel="n", ylabel="seconds per Hessian",
           title=f"(d) Hessian of {result.function}")
    if result.hessian:
        _size_ticks(ax, [r.dim for r in result.hessian])
    ax.legend(fontsize=6, ncol=2)
    for a in axes:
        a.grid(True, which="major", alpha=0.3)
    return _save(fig, path)


def plot(result, path) -> Path:
    """The figure for any of the three results."""
    name = type(result).__name__
    table = {"SwellResult": plot_swell, "AccuracyResult": plot_accuracy, "SpeedResult": plot_speed}
    return table[name](result, path)
