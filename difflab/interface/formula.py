"""A derivative as formulas: the raw expressions, their CSE form, and what each costs.

``difflab.get("sympy").formula(f, x_or_n, kind="gradient")`` returns a :class:`Formula`:
the entries of the derivative as SymPy expressions exactly as differentiation built them
(``raw``), the same after common-subexpression elimination (``replacements``, then
``reduced``: what the ``sympy`` method compiles), and ``sympy.count_ops`` of each form. It
shows itself like difflab's other records (:mod:`difflab.console.display`): a one-line ``repr``,
the formulas drawn by SymPy's pretty printer as ``str`` (and in IPython and Jupyter), and
:meth:`Formula.latex`. A very long formula is cut at ``max_chars`` characters, never
silently: a last line says how much was left out and how to see all of it.
"""
from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass

from ..console.display import MAX_REPR, shorten
from ..errors import InputError
from ..console.wording import count

#: The kinds a formula is built for (hvp and jvp: in x and a direction v of symbols).
FORMULA_KINDS = ("gradient", "jacobian", "hessian", "hvp", "jvp")
#: Characters of expression text shown per form (raw, CSE) before the rest is left out.
DEFAULT_MAX_CHARS = 4000
#: The width formulas are drawn at unless told otherwise (a terminal's classic width).
DEFAULT_WIDTH = 80
_INDENT = "  "


@dataclass(frozen=True, repr=False, eq=False)
class Formula:
    """The derivative of one function at one input size, as expressions.

    Attributes
    ----------
    function, method, kind : str
        What was differentiated, by which method, which derivative.
    n : int
        Input size; ``variables`` are its symbols (named as the function's variables where
        it has names, else ``x0 .. x{n-1}``), ``vectors`` the direction's (hvp, jvp).
    outputs : tuple
        The traced function, one expression per output.
    positions : tuple
        Where each entry sits: ``(i,)`` in a vector, ``(i, j)`` in a matrix (the Hessian:
        its upper triangle only, ``j >= i``; the lower one mirrors it).
    raw : tuple
        The entries as differentiation built them, unsimplified.
    replacements, reduced : tuple
        ``sympy.cse`` of ``raw``: ``(symbol, subexpression)`` pairs, then the entries
        written with those symbols.
    raw_ops, cse_ops : int
        ``sympy.count_ops`` of ``raw``, and of the CSE form (replacements included).
    """

    function: str
    method: str
    kind: str
    n: int
    variables: tuple
    vectors: tuple
    outputs: tuple
    positions: tuple
    raw: tuple
    replacements: tuple
    reduced: tuple
    raw_ops: int
    cse_ops: int

    @classmethod
    def build(cls, function, method, kind, variables, vectors, outputs, positions, raw,
              replacements, reduced) -> Formula:
        """The record, with the operation counts of both forms."""
        import sympy

        return cls(function, method, kind, len(variables), tuple(variables), tuple(vectors),
                   tuple(outputs), tuple(positions), tuple(raw),
                   tuple((s, e) for s, e in replacements), tuple(reduced),
                   int(sympy.count_ops(list(raw))),
                   int(sympy.count_ops([e for _, e in replacements]) + sympy.count_ops(list(reduced))))

    # ------------------------------------------------------------------ showing
    def summary(self) -> str:
        """One line: what, how many entries, the operation counts of both forms."""
        return (f"{self.kind} of {self.function} by {self.method} (n = {self.n}): "
                f"{count(len(self.raw), 'entry', 'entries')}, {self.raw_ops:,} operations raw, "
                f"{self.cse_ops:,} after CSE ({count(len(self.replacements), 'replacement')})")

    def __repr__(self) -> str:
        return f"<{shorten(self.summary(), MAX_REPR - 2)}>"

    def __str__(self) -> str:
        return self.pretty()

    def _repr_pretty_(self, printer, cycle) -> None:
        """IPython: the formulas, drawn."""
        printer.text(repr(self) if cycle else self.pretty())

    def _repr_html_(self) -> str:
        """Jupyter: the drawn formulas, as preformatted text."""
        return f"<pre>{html.escape(self.pretty())}</pre>"

    def pretty(self, width: int = DEFAULT_WIDTH, max_chars: int | None = DEFAULT_MAX_CHARS,
               more: str = "max_chars=None") -> str:
        """Both forms drawn by SymPy's pretty printer (unicode), wrapped to ``width``
        columns. Past ``max_chars`` characters of expression text per form (SymPy's one-line
        form) the rest is left out and a line says how much, and ``more`` how to see it all."""
        import sympy

        def draw(label, expr, room):
            picture = sympy.Eq(sympy.Symbol(label), expr, evaluate=False)
            return sympy.pretty(picture, use_unicode=True, wrap_line=True, num_columns=room)

        return self._render(draw, sympy.sstr, width, max_chars, more, latex=False)

    def latex(self, width: int | None = None, max_chars: int | None = None,
              more: str = "max_chars=None") -> str:
        """Both forms as LaTeX, one ``label = expression`` line per entry (``%`` comment
        lines between); with ``width``, long lines are broken at spaces (LaTeX ignores the
        breaks); past ``max_chars`` characters per form the rest is left out, and said."""
        import sympy

        def draw(label, expr, room):
            text = f"{label} = {sympy.latex(expr)}"
            if room is None:
                return text
            return "\n".join(textwrap.wrap(text, room, subsequent_indent=_INDENT,
                                           break_long_words=False, break_on_hyphens=False))

        return self._render(draw, sympy.latex, width, max_chars, more, latex=True)

    def to_dict(self, latex: bool = False) -> dict:
        """The record as JSON-ready text (SymPy's one-line form, or LaTeX)."""
        import sympy

        text = sympy.latex if latex else sympy.sstr
        return {"method": self.method, "kind": self.kind, "n": self.n,
                "variables": [str(v) for v in self.variables],
                "vectors": [str(v) for v in self.vectors],
                "positions": [list(p) for p in self.positions],
                "raw": [text(e) for e in self.raw], "raw_ops": self.raw_ops,
                "replacements": [[str(s), text(e)] for s, e in self.replacements],
                "reduced": [text(e) for e in self.reduced], "cse_ops": self.cse_ops,
                "format": "latex" if latex else "sympy"}

    # ------------------------------------------------------------------ rendering
    def _render(self, draw, one_line, width, max_chars, more, latex) -> str:
        if max_chars is not None and max_chars < 1:
            raise InputError(f"max_chars must be a positive number of characters or None, not {max_chars!r}")
        if width is not None and width < 20:
            raise InputError(f"width must be at least 20 columns, not {width!r}")
        comment = "% " if latex else ""
        room = None if width is None else width - len(_INDENT)
        labels = [_label(self, p, latex) for p in self.positions]

        def note(text):  # a line of prose, wrapped (a LaTeX comment on every line)
            if width is None:
                return [comment + text]
            return textwrap.wrap(text, width, initial_indent=comment,
                                 subsequent_indent=comment + _INDENT)

        lines = note(self.summary())
        if self.vectors:
            lines += note(f"v = ({', '.join(map(str, self.vectors))}): a direction of symbols")
        if self.kind == "hessian":
            lines += note("the upper triangle; the Hessian is symmetric")
        lines += ["", *note(f"raw: {self.raw_ops:,} operations (sympy.count_ops)")]
        lines += _entries(list(zip(labels, self.raw)), draw, one_line, room, max_chars, more, note)
        lines += [""]
        if not self.replacements:
            return "\n".join(lines + note("after CSE: no common subexpressions, the same "
                                          f"{self.cse_ops:,} operations"))
        lines += note(f"after CSE: {self.cse_ops:,} operations, replacements included")
        cse = [(_latex_symbol(s) if latex else str(s), e) for s, e in self.replacements]
        lines += _entries(cse + list(zip(labels, self.reduced)), draw, one_line, room,
                          max_chars, more, note)
        if width is not None and not latex:  # a drawing SymPy could not fit: wrapped, not cropped
            lines = [line for text in lines for line in _wrapped(text, width)]
        return "\n".join(lines)


def _entries(entries, draw, one_line, room, max_chars, more, note) -> list:
    """The lines of one form's entries, until ``max_chars`` characters of text; then what
    was left out."""
    lines, used = [], 0
    for k, (label, expr) in enumerate(entries):
        size = len(one_line(expr))
        if max_chars is not None and used + size > max_chars:
            left = max_chars - used
            if left > 0:  # as much of this entry as fits, on one line form, marked as cut
                cut = f"{label} = {one_line(expr)[:left]} …"
                lines += [_INDENT + t for t in (textwrap.wrap(cut, room) if room else [cut])]
            rest = sum(len(one_line(e)) for _, e in entries[k:]) - max(left, 0)
            lines += note(f"… {rest:,} more characters left out ({count(len(entries) - k, 'entry', 'entries')} "
                          f"not shown in full); {more} shows everything")
            return lines
        used += size
        lines += [(_INDENT + line).rstrip() for line in draw(label, expr, room).splitlines()]
    return lines


def _wrapped(text: str, width: int) -> list:
    """``text`` in lines of at most ``width`` characters (a note longer than the width)."""
    if len(text) <= width:
        return [text.rstrip()]
    return textwrap.wrap(text, width, subsequent_indent=_INDENT) or [""]


def _label(formula, position, latex) -> str:
    """What an entry is: ``∂f/∂x1``, ``∂f[0]/∂x1`` (output 0), ``∂²f/∂x1∂x2``, ``∂(∇f·v)/∂x1``
    (hvp), ``(J·v)[0]`` (jvp), or the same in LaTeX."""
    names = [(_latex_symbol(v) if latex else str(v)) for v in formula.variables]
    kind = formula.kind
    if kind == "hvp":  # entry i of H v is the derivative of grad f . v by x_i
        return (fr"\frac{{\partial (\nabla f \cdot v)}}{{\partial {names[position[0]]}}}" if latex
                else f"∂(∇f·v)/∂{names[position[0]]}")
    if kind == "jvp":
        return fr"\left(J v\right)_{{{position[0]}}}" if latex else f"(J·v)[{position[0]}]"
    if kind == "gradient":
        return (fr"\frac{{\partial f}}{{\partial {names[position[0]]}}}" if latex
                else f"∂f/∂{names[position[0]]}")
    i, j = position
    if kind == "jacobian":
        return (fr"\frac{{\partial f_{{{i}}}}}{{\partial {names[j]}}}" if latex
                else f"∂f[{i}]/∂{names[j]}")
    if i == j:
        return (fr"\frac{{\partial^{{2}} f}}{{\partial {names[i]}^{{2}}}}" if latex
                else f"∂²f/∂{names[i]}²")
    return (fr"\frac{{\partial^{{2}} f}}{{\partial {names[i]} \partial {names[j]}}}" if latex
            else f"∂²f/∂{names[i]}∂{names[j]}")


def _latex_symbol(symbol) -> str:
    import sympy

    return sympy.latex(symbol)


def positions(kind: str, n: int, m: int) -> list:
    """The position of each entry, in the order the symbolic pipeline builds them."""
    if kind == "jacobian":
        return [(i, j) for i in range(m) for j in range(n)]
    if kind == "hessian":
        return [(i, j) for i in range(n) for j in range(i, n)]
    return [(i,) for i in range(m if kind == "jvp" else n)]
