"""The computational graph of an evaluation trace, drawn with networkx and matplotlib.

Nodes are the trace's rows (inputs, then operations, with their values), edges the data flow
from an argument to the operation that reads it; with ``adjoints=True`` each edge is labelled
with the adjoint contribution the reverse sweep sends back along it. networkx places the rows
in columns by depth (:func:`networkx.multipartite_layout`): inputs on the left, the output
on the right.
"""
from __future__ import annotations


def graph(record):
    """A :class:`networkx.DiGraph` of ``record`` (a :class:`difflab.evaluation_trace.Trace`):
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    from .evaluation_trace import summary

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
        nx.draw_networkx_edge_labels(
            g, pos, ax=ax, font_size=7, font_color="#a03030", label_pos=0.3,
            edge_labels={(j, i): summary(a, decimals) for j, i, a in g.edges(data="adjoint")
                         if a is not None})
    ax.set_title(f"{record.name}: computational graph"
                 + (" (edges: adjoint contributions)" if adjoints else ""), fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
