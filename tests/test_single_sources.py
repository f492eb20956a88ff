"""Each fact has one source (issue 20): the modules that use a fact read it from its home."""
import importlib

import pytest

import difflab
from difflab.interface import kinds


@pytest.mark.parametrize("module, name, home", [
    ("difflab.interface.derivative", "VECTOR_KINDS", "VECTOR_KINDS"),
    ("difflab.interface.arguments", "VECTOR_KINDS", "VECTOR_KINDS"),
    ("difflab.backends._framework", "VECTOR_KINDS", "VECTOR_KINDS"),
    ("difflab.interface.boundary", "SCALAR_KINDS", "SCALAR_KINDS"),
    ("difflab.analysis.oracle", "DERIVATIVES", "DERIVATIVES"),
    ("difflab.analysis.comparison", "DERIVATIVES", "DERIVATIVES"),
    ("difflab.cli.compare", "DERIVATIVES", "DERIVATIVES"),
    ("difflab.testing.check", "DERIVATIVES", "DERIVATIVES"),
    ("difflab.fuzz.verdict", "KINDS", "FUZZ_KINDS"),
])
def test_kind_tuples_come_from_kinds(module, name, home):
    assert getattr(importlib.import_module(module), name) is getattr(kinds, home)


def test_public_kinds_is_the_one_tuple():
    assert difflab.KINDS is kinds.KINDS
    assert set(kinds.VECTOR_KINDS) | set(kinds.DERIVATIVES) | set(kinds.BATCHED_KINDS) <= set(kinds.KINDS)
    assert set(kinds.FUZZ_KINDS) == set(kinds.KINDS) - {"value_and_gradient"}


def test_derivative_lives_below_the_differentiator():
    import ast
    import pathlib

    from difflab.interface import derivative, differentiator
    assert difflab.Derivative is derivative.Derivative is differentiator.Derivative
    tree = ast.parse(pathlib.Path(derivative.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "differentiator" not in imported  # arguments and derivative never import it
    tree = ast.parse(pathlib.Path(importlib.import_module("difflab.interface.arguments").__file__).read_text())
    assert not {"differentiator", "derivative"} & {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}


NAN_MESSAGE = "must be finite: it contains NaN or infinity"


def _rosen(x):
    xp = difflab.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


@pytest.mark.parametrize("call", [
    lambda x: difflab.get("reverse").gradient(_rosen)(x),
    lambda x: difflab.compare(_rosen, x, methods=["reverse"]),
    lambda x: difflab.reference(_rosen, x),
    lambda x: difflab.trace(_rosen, x),
    lambda x: difflab.solvers.newton(_rosen, x, "reverse"),
], ids=["derivative", "compare", "oracle", "trace", "solver"])
def test_one_message_for_a_point_with_nan(call):
    with pytest.raises(difflab.InputError, match=NAN_MESSAGE):
        call([1.0, float("nan")])


def test_json_writers_clean_numbers_in_one_place():
    from difflab.analysis import comparison
    from difflab.console import json_numbers
    from difflab.cli import optimizers
    from difflab.testing import report
    from experiments import records

    assert comparison._number is optimizers._number is report.number is json_numbers.number
    assert records.to_jsonable is json_numbers.jsonable
    assert json_numbers.jsonable({"a": [1.0, float("nan")], "b": float("-inf")}) == {"a": [1.0, None], "b": None}


def _sources_with(text):
    import pathlib

    root = pathlib.Path(difflab.__file__).parent.parent
    return sorted(str(p.relative_to(root)) for d in ("difflab", "nets", "experiments")
                  for p in (root / d).rglob("*.py") if text in p.read_text())


def test_argparse_internals_are_touched_in_one_place():
    assert _sources_with("._negative_number_matcher") == ["difflab/cli/validators.py"]
    assert _sources_with("ArgumentTypeError(") == ["difflab/cli/validators.py"]


def test_progress_bars_come_from_one_factory():
    # cli/compare subclasses rich's Progress to draw its preview table below the bars
    assert _sources_with("from rich.progress import") == ["difflab/cli/compare.py", "difflab/console/progress.py"]
    assert _sources_with("Progress(") == []
