"""Rule-table mutation: every derivative piece of ``RULES``, corrupted in memory, is caught.

The oracle reads no rule of the table (docs/reliability.md, "The oracle's independence"), so
scaling any piece by 1.1 must move some engine's answer away from an unchanged oracle;
``difflab.compare`` must flag every piece a registered method reaches, and the CI fuzz
campaign the pieces its generator uses. ``python -m difflab_experiments.rule_mutation``
prints the score table of docs/reliability.md from the same functions.
"""
import numpy as np
import pytest

import difflab
from difflab.ad import forward, reverse
from difflab.ad.rules import RULES
from difflab_experiments import rule_mutation as rm

PIECES = rm.pieces()


@pytest.fixture(scope="module")
def baseline():
    return rm.Baseline()


def test_every_row_has_pieces_and_probes():
    """A new row without a probe fails here, by name."""
    assert {p.op for p in PIECES} == set(RULES)
    missing = sorted(set(RULES) - set(rm.PROBES))
    assert not missing, f"rows without a probe in experiments/rule_mutation.py: {missing}"
    assert len(PIECES) >= 72


@pytest.mark.parametrize("piece", PIECES, ids=[p.label for p in PIECES])
def test_the_oracle_catches_each_corrupted_piece(piece, baseline):
    verdict = rm.judge(piece, baseline, with_compare=False)
    assert verdict.exercised, f"{piece.label}: no probe reaches it"
    assert verdict.oracle, f"{piece.label}: moved {verdict.exercised} but the oracle did not notice"


#: A slice for the default run; every piece in the slow test below.
COMPARE_SLICE = ["sin.partial[0]", "mul.partial[1]", "getitem.transpose", "getitem.batched",
                 "matmul.vjp", "max.partial[0]", "scatter.batched", "conv2d.jvp"]


def _by_label(labels):
    table = {p.label: p for p in PIECES}
    return [table[label] for label in labels]


@pytest.mark.parametrize("piece", _by_label(COMPARE_SLICE), ids=COMPARE_SLICE)
def test_compare_flags_a_corrupted_piece(piece, baseline):
    verdict = rm.judge(piece, baseline)
    assert verdict.compare_reachable and verdict.compare, piece.label


@pytest.mark.slow
def test_compare_flags_every_piece_a_method_reaches(baseline):
    missed = []
    for piece in PIECES:
        verdict = rm.judge(piece, baseline)
        if verdict.compare_reachable and not verdict.compare:
            missed.append(piece.label)
    assert not missed


def test_the_fuzz_campaign_flags_a_corrupted_rule():
    """The CI campaign's first 40 cases, references computed once (they read no rule):
    clean, nothing disagrees; with sin's, mul's or getitem's rule corrupted, something does."""
    campaign = rm.CampaignCache(40)
    assert campaign.disagreements() == 0
    for piece in _by_label(["sin.partial[0]", "mul.partial[0]", "getitem.transpose"]):
        with rm.corrupted(piece):
            assert campaign.disagreements() > 0, piece.label


def test_a_wrong_rule_is_caught_with_the_rule_still_wrong(monkeypatch):
    """The oracle computed while sin's row is wrong still gives cos: it reads no row."""
    def f(x):
        xp = difflab.namespace(x)
        return xp.sum(xp.sin(x) * xp.asarray([1.0, -2.0, 0.5]))
    x = np.array([0.35, -0.6, 0.8])
    with rm.corrupted(rm.Piece("sin", "partial")):
        truth = difflab.reference(f, x)
        bad = [forward.gradient(f, x), reverse.gradient(f, x)]
    np.testing.assert_allclose(truth, np.cos(x) * [1.0, -2.0, 0.5], rtol=1e-15)
    for answer in bad:
        np.testing.assert_allclose(answer, 1.1 * truth, rtol=1e-14)


def test_the_oracle_imports_no_rule():
    """Structural check: the oracle's modules never import difflab.ad."""
    import ast
    import pathlib

    folder = pathlib.Path(difflab.__file__).parent / "oracle"
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                assert "ad" not in module.split(".") and "rules" not in module, (path.name, module)
