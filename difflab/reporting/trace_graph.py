"""The computational graph of an evaluation trace, drawn with networkx and matplotlib.

Nodes are the trace's rows (inputs, then operations, with their values), edges the data flow
from an argument to the operation that reads it; with ``adjoints=True`` each edge is labelled
with the adjoint contribution the reverse sweep sends back along it. networkx places the rows
in columns by depth (:func:`networkx.multipartite_layout`): inputs on the left, the output
on the right.
"""
from __future__ import annotations


def graph(record):
    """A :class:`networkx.DiGraph` of ``record`` (a :class:`difflab.analysis.evaluation_trace.Trace`):
    node ``i`` is row ``v_i`` (attributes ``text``, ``value``, ``depth``); edge ``j -> i``
    carries ``adjoint``, what ``v̄_i`` contributes to ``v̄_j`` (summed if ``v_i`` reads
    ``v_j`` twice)."""
    import networkx as nx

    g = nx.DiGraph()
    depth = {}
    for r in record.rows:
        depth[r.index] = 1 + max((depth[a] for a in r.args), default=-1)
        g.add_node(r.index, text=r.text, value=r.value, depth=depth[r.index])
        for a in r.args:
            g.add_edge(a, r.index, adjoint=None)
    for r in record.rows:
        for reader, amount in r.contributions:
            edge = g.edges[r.index, reader]
            edge["adjoint"] = amount if edge["adjoint"] is None else edge["adjoint"] + amount
    return g


def draw(record, path, adjoints: bool = False, decimals: int = 6) -> None:
    """Write the graph of ``record`` to ``path`` (PNG, PDF or SVG)."""
    import matplotlib.pyplot as plt

    fig = figure(record, adjoints, decimals)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def figure(record, adjoints: bool = False, decimals: int = 6):
    """The matplotlib figure :func:`draw` writes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    from ..analysis.evaluation_trace import summary

    g = graph(record)
    pos = nx.multipartite_layout(g, subset_key="depth")
    columns = 1 + max(d for _, d in g.nodes(data="depth"))
    tallest = max(sum(1 for _, d in g.nodes(data="depth") if d == k) for k in range(columns))
    fig, ax = plt.subplots(figsize=(max(6.0, 2.6 * columns), max(3.5, 1.3 * tallest)))
    labels = {i: f"v_{i} = {data['text']}\n{summary(data['value'], decimals)}"
              for i, data in g.nodes(data=True)}
    colours = ["#dde8f5" if i <= 0 else "#f5e6cc" if i == record.output else "#eeeeee"
               for i in g.nodes]
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color=colours, node_size=2600, node_shape="s")
    nx.draw_networkx_labels(g, pos, labels=labels, ax=ax, font_size=7)
    nx.draw_networkx_edges(g, pos, ax=ax, arrows=True, arrowsize=14, node_size=2600,
                           node_shape="s")
    if adjoints:
        edges = [(j, i, a) for j, i, a in g.edges(data="adjoint") if a is not None]
        for (j, i, a), (x, y) in zip(edges, _label_points(pos, [(j, i) for j, i, _ in edges])):
            ax.text(x, y, summary(a, decimals), fontsize=7, color="#a03030", ha="center",
                    va="center", zorder=3, gid=f"adjoint {j}->{i}",
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})
    ax.set_title(f"{record.name}: computational graph"
                 + (" (edges: adjoint contributions)" if adjoints else ""), fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    return fig


#: Where along an edge (0 at its source, 1 at its target) a label may sit, best first.
_LABEL_SPOTS = (0.5, 0.4, 0.6, 0.3, 0.7)


def _label_points(pos, edges) -> list:
    """One point per edge for its label: along the edge, as far as it can be from the labels
    already placed and from the other edges, so that a label is never read as another
    edge's and two labels never cover each other where edges cross (one label's white box
    used to hide part of the other's number: x1's 0.5 showed as "0")."""
    import numpy as np

    segments = {(j, i): (np.asarray(pos[j], dtype=float), np.asarray(pos[i], dtype=float))
                for j, i in edges}
    placed = []
    for edge in edges:
        start, end = segments[edge]
        others = [seg for key, seg in segments.items() if key != edge]
        best, best_room = None, -1.0
        for t in _LABEL_SPOTS:
            point = start + t * (end - start)
            room = min([_distance(point, q, q) for q in placed]
                       + [_distance(point, a, b) for a, b in others], default=np.inf)
            if room > best_room + 1e-9:
                best, best_room = point, room
        placed.append(best)
    return [tuple(p) for p in placed]


def _distance(p, a, b) -> float:
    """From point ``p`` to the segment ``a``-``b``; labels are wide and short, so a
    horizontal gap counts a third as much as a vertical one."""
    import numpy as np

    scale = np.array([1 / 3, 1.0])
    p, a, b = p * scale, a * scale, b * scale
    d = b - a
    t = 0.0 if not d.any() else float(np.clip(np.dot(p - a, d) / np.dot(d, d), 0.0, 1.0))
    return float(np.hypot(*(p - (a + t * d))))
