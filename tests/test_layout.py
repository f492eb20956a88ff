"""The layered layout: old module paths keep importing, records draw through the renderer
registry, and the top level stays small."""
import importlib
import pickle
import sys
import warnings
from pathlib import Path

import pytest

import difflab
from difflab.console.display import Tabular, render

PACKAGE = Path(difflab.__file__).parent


@pytest.mark.parametrize("old", sorted(set(difflab._MOVED) - difflab._PUBLIC))
def test_an_old_module_path_imports_the_moved_module_with_a_warning(old):
    new = difflab._MOVED[old]
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert module.__name__ == new and module.__spec__.name == new  # its identity is its own


def test_the_catalogue_keeps_its_public_path_without_a_warning():
    sys.modules.pop("difflab.functions", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import difflab.analysis.functions as catalogue
    assert catalogue.get("rosenbrock", 3)(difflab.functions.get("rosenbrock", 3).x0) >= 0
    # a function defined in a moved module pickles by its real module path
    assert pickle.loads(pickle.dumps(catalogue.get)) is catalogue.get


def test_a_record_type_without_a_renderer_says_so():
    class Orphan(Tabular):
        def summary(self):
            return "orphan"

    with pytest.raises(TypeError, match="no renderer is registered for Orphan"):
        str(Orphan())
    assert repr(Orphan()) == "<orphan>"


def test_a_comparison_draws_through_the_reporting_layer():
    from difflab.analysis.comparison import Comparison

    c = difflab.compare(difflab.functions.get("rosenbrock", 3), [1.0, 2.0, 3.0],
                        methods=["reverse"], repeat=1, min_time=0.0)
    text = str(c)
    assert "reverse" in text and "digits" in text
    assert render.dispatch(Comparison) is not render.registry[object]


def test_the_top_level_names_the_architecture():
    entries = sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__")
    assert len(entries) <= 15, entries
    assert all((PACKAGE / e).is_dir() for e in entries if not e.endswith(".py")), entries
