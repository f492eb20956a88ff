"""Every fenced ```python block of README.md and docs/*.md runs as written.

Per page, the blocks run in order in one namespace (a block may use names an earlier block of the
same page defined), in a temporary working directory, with matplotlib's Agg backend. The test
executes the docs' own code, our files, never user input. Blocks that are not meant to run
(shell sessions, output) carry another fence language: ```console, ```text, ```pycon.
A block that takes seconds (a 10,000-step reproduction) is fenced ```python slow: it runs
under ``-m slow`` only, and later blocks of its page must not need it.
"""
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def blocks(page):
    """``(language, first line number, code)`` of each fenced block of the page."""
    text = page.read_text()
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        yield match.group(1).strip(), line, match.group(2)


def python_blocks(page, slow=False):
    """The page's Python blocks, ``(line, code)``; ``python slow`` ones only when ``slow``."""
    found = []
    for info, line, code in blocks(page):
        words = info.split()
        if words[:1] == ["python"] and (slow or "slow" not in words[1:]):
            found.append((line, code))
    return found


def test_the_collector_finds_the_blocks():
    """A guard on the collector itself: the README's first block is Python and is found."""
    found = python_blocks(ROOT / "README.md")
    assert found and "import difflab" in found[0][1]


def test_every_block_names_its_language():
    """An unlabelled fence hides Python from this test: every block says what it holds."""
    unlabelled = [f"{page.name}:{line}" for page in PAGES for language, line, _ in blocks(page)
                  if not language]
    assert not unlabelled, f"fenced blocks without a language: {unlabelled}"


def run_page(page, tmp_path, monkeypatch, slow):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": f"docs_{page.stem}"}
    try:
        for line, code in python_blocks(page, slow):
            compiled = compile(code, f"{page.relative_to(ROOT)}:{line}", "exec")
            exec(compiled, namespace)  # noqa: S102 - the docs' own code, not user input
    finally:
        import matplotlib.pyplot as plt
        plt.close("all")


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    run_page(page, tmp_path, monkeypatch, slow=False)


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p, slow=True) != python_blocks(p)],
                         ids=lambda p: p.name)
def test_python_blocks_run_with_the_slow_ones(page, tmp_path, monkeypatch):
    run_page(page, tmp_path, monkeypatch, slow=True)
