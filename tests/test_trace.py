"""difflab.trace and ``difflab trace``: the textbook's evaluation trace, tangents and adjoints,
checked against closed forms, the reverse engine's gradient and the JSON schema."""
import json
import math

import numpy as np
import pytest
from cli_helpers import run

import difflab

TEXTBOOK = "log(x1) + x1*x2 - sin(x2)"
X1, X2 = 2.0, 5.0


def textbook_function(x):
    xp = difflab.namespace(x)
    return xp.log(x[0]) + x[0] * x[1] - xp.sin(x[1])


def rosenbrock(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_gradient(x):
    """The closed form, written out for n = 3."""
    x1, x2, x3 = x
    return np.array([-400 * x1 * (x2 - x1 ** 2) - 2 * (1 - x1),
                     200 * (x2 - x1 ** 2) - 400 * x2 * (x3 - x2 ** 2) - 2 * (1 - x2),
                     200 * (x3 - x2 ** 2)])


@pytest.mark.parametrize("f", [TEXTBOOK, textbook_function], ids=["expression", "python"])
def test_textbook_rows_values_tangents_and_adjoints(f):
    t = difflab.trace(f, [X1, X2], direction=[1.0, 0.0])
    ops = [(r.index, r.op, r.args) for r in t.rows]
    assert ops == [(-1, "input", ()), (0, "input", ()), (1, "log", (-1,)), (2, "mul", (-1, 0)),
                   (3, "sin", (0,)), (4, "add", (1, 2)), (5, "sub", (4, 3))]
    values = [float(t.row(i).value) for i in range(1, 6)]
    expected = [math.log(X1), X1 * X2, math.sin(X2), math.log(X1) + X1 * X2,
                math.log(X1) + X1 * X2 - math.sin(X2)]
    assert values == pytest.approx(expected, rel=1e-15)
    assert t.jvp[0] == pytest.approx(1 / X1 + X2, rel=1e-15)          # 5.5
    assert t.gradient == pytest.approx([1 / X1 + X2, X1 - math.cos(X2)], rel=1e-15)
    # fan-out: x1 feeds v1 and v2, and its adjoint is the sum of both contributions
    contributions = dict(t.row(-1).contributions)
    assert contributions[1] == pytest.approx(1 / X1) and contributions[2] == pytest.approx(X2)


def test_textbook_table_shows_the_notes_numbers(capsys):
    code, out, err = run(capsys, "trace", TEXTBOOK, "--at", "2,5")
    assert code == 0, err
    for shown in ("0.693147", "10", "-0.958924", "11.652071", "5.5", "1.716338",
                  "log(v_-1)", "v_-1 * v_0", "sin(v_0)", "v_1 + v_2", "v_4 - v_3"):
        assert shown in out, shown
    assert "v_2: 5 + v_1: 0.5" in out  # the fan-out sum of x̄1, shown


def test_json_schema_and_rows(capsys):
    code, out, err = run(capsys, "trace", TEXTBOOK, "--at", "2,5", "--direction", "1,0", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "difflab.trace/1"
    rows = {r["index"]: r for r in doc["rows"]}
    assert set(rows) == {-1, 0, 1, 2, 3, 4, 5}
    assert all({"index", "op", "args", "value", "tangent", "adjoint"} <= set(r) for r in doc["rows"])
    assert [rows[i]["value"] for i in (1, 2, 3, 5)] == [0.693147, 10.0, -0.958924, 11.652071]
    assert rows[2]["args"] == [-1, 0] and rows[5]["op"] == "sub"
    assert doc["jvp"] == [5.5] and rows[5]["tangent"] == [5.5]
    assert (rows[-1]["adjoint"], rows[0]["adjoint"]) == (5.5, 1.716338)
    assert doc["gradient"] == [5.5, 1.716338]


def test_array_rows_gradient_and_jvp_match_independent_references():
    x = np.array([0.3, -1.2, 0.8])
    v = np.array([0.5, 2.0, -1.0])
    t = difflab.trace(rosenbrock, x, direction=v)
    assert t.gradient == pytest.approx(rosenbrock_gradient(x), rel=1e-13)
    assert t.gradient == pytest.approx(difflab.get("reverse").gradient(rosenbrock)(x), rel=1e-15)
    assert t.jvp[0] == pytest.approx(rosenbrock_gradient(x) @ v, rel=1e-13)
    assert t.row(0).op == "input" and np.shape(t.row(0).value) == (3,)
    assert any(np.shape(r.value) == (2,) for r in t.rows)


def test_default_directions_are_the_basis_for_small_n():
    t = difflab.trace(TEXTBOOK, [X1, X2])
    assert t.jvp == pytest.approx([1 / X1 + X2, X1 - math.cos(X2)], rel=1e-15)


def test_max_rows_refuses_a_long_trace(capsys):
    with pytest.raises(difflab.InputError, match="rows, more than max_rows=5"):
        difflab.trace(TEXTBOOK, [X1, X2], max_rows=5)
    code, out, err = run(capsys, "trace", "rosenbrock", "--at", "1,2,3,4", "--max-rows", "4")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--max-rows" in err


@pytest.mark.parametrize("argv, says", [
    (["--at", "2,x"], "--at takes comma-separated numbers"),
    (["--at", "2,5,7"], "--at has 3 value(s)"),
    (["--at", "2,5", "--direction", "1"], "the direction has 1 value(s)"),
    (["--at", "2,5", "--direction", "1,nan"], "--direction takes comma-separated finite numbers"),
    (["--at", "2,5", "--max-rows", "0"], "must be a positive integer"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, says):
    code, _out, err = run(capsys, "trace", TEXTBOOK, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert says in err


@pytest.mark.parametrize("function, says", [("log(x1", "unclosed"), ("nosuchfunction", "unknown function")])
def test_bad_function_is_one_line_exit_2(capsys, function, says):
    code, _out, err = run(capsys, "trace", function, "--at", "2")
    assert code == 2 and len(err.strip().splitlines()) == 1 and says in err


def test_difflab_trace_stays_the_function_after_the_cli_loads():
    import difflab.cli.trace  # a submodule named trace would shadow the function

    assert callable(difflab.trace) and difflab.trace.__module__ == "difflab.analysis.evaluation_trace"


def test_graph_edges_carry_the_adjoint_contributions():
    from difflab.reporting.trace_graph import graph

    g = graph(difflab.trace(TEXTBOOK, [X1, X2]))
    assert set(g.edges) == {(-1, 1), (-1, 2), (0, 2), (0, 3), (1, 4), (2, 4), (4, 5), (3, 5)}
    assert g.edges[-1, 2]["adjoint"] == pytest.approx(X2)
    assert g.edges[-1, 1]["adjoint"] == pytest.approx(1 / X1)
    assert g.edges[0, 3]["adjoint"] == pytest.approx(-math.cos(X2))
    assert g.nodes[5]["value"] == pytest.approx(math.log(X1) + X1 * X2 - math.sin(X2))


def test_graph_edge_labels_show_whole_numbers_and_never_cover_each_other():
    """x1's edge to log(x1) carries 0.5; its label used to sit under the white box of x2's
    -0.283662 where the two edges cross, so the picture showed "0"."""
    import matplotlib.pyplot as plt

    from difflab.analysis.evaluation_trace import summary
    from difflab.reporting.trace_graph import figure, graph

    record = difflab.trace(TEXTBOOK, [X1, X2])
    fig = figure(record, adjoints=True)
    try:
        fig.canvas.draw()  # places the label boxes
        renderer = fig.canvas.get_renderer()
        labels = {t.get_gid(): t for t in fig.axes[0].texts if (t.get_gid() or "").startswith("adjoint")}
        edges = graph(record).edges(data="adjoint")
        assert {f"adjoint {j}->{i}": summary(a, 6) for j, i, a in edges} == \
            {gid: t.get_text() for gid, t in labels.items()}
        assert labels["adjoint -1->1"].get_text() == "0.5"
        boxes = {gid: t.get_bbox_patch().get_window_extent(renderer) for gid, t in labels.items()}
        names = sorted(boxes)
        for k, first in enumerate(names):
            for second in names[k + 1:]:
                assert not boxes[first].overlaps(boxes[second]), (first, second)
    finally:
        plt.close(fig)


def test_graph_file_is_written_and_never_overwritten_silently(capsys, tmp_path):
    path = tmp_path / "graph.png"
    code, _out, err = run(capsys, "trace", TEXTBOOK, "--at", "2,5", "--graph", str(path),
                         "--graph-adjoints")
    assert code == 0, err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = path.read_bytes()
    code, _out, err = run(capsys, "trace", TEXTBOOK, "--at", "2,5", "--graph", str(path))
    assert code == 2 and "already exists" in err and path.read_bytes() == before
