"""Each fact has one source (issue 20): the modules that use a fact read it from its home."""
import importlib

import pytest

import difflab
from difflab import kinds


@pytest.mark.parametrize("module, name, home", [
    ("difflab.derivative", "VECTOR_KINDS", "VECTOR_KINDS"),
    ("difflab.arguments", "VECTOR_KINDS", "VECTOR_KINDS"),
    ("difflab.backends._framework", "VECTOR_KINDS", "VECTOR_KINDS"),
    ("difflab.boundary", "SCALAR_KINDS", "SCALAR_KINDS"),
    ("difflab.oracle", "DERIVATIVES", "DERIVATIVES"),
    ("difflab.comparison", "DERIVATIVES", "DERIVATIVES"),
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

    from difflab import derivative, differentiator
    assert difflab.Derivative is derivative.Derivative is differentiator.Derivative
    tree = ast.parse(pathlib.Path(derivative.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "differentiator" not in imported  # arguments and derivative never import it
    tree = ast.parse(pathlib.Path(importlib.import_module("difflab.arguments").__file__).read_text())
    assert not {"differentiator", "derivative"} & {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
