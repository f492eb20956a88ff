"""difflab's expression language: a formula typed by a user, parsed (never evaluated).

``"sin(x)*exp(y) + x1^2/rate"`` becomes an :class:`Expression`, a small tree of difflab's
own nodes, and from it a function over any difflab namespace. The text goes through
Python's :func:`ast.parse` (parsing only: nothing is compiled or run) and every node is
checked against the grammar below; anything else is one :class:`~difflab.InputError` that
names the offending piece.

Grammar::

    expr := expr ('+' | '-') expr | expr ('*' | '/') expr | expr ('**' | '^') expr
          | ('-' | '+') expr | '(' expr ')' | NUMBER | NAME | FUNCTION '(' expr, ... ')'

- Names are whole identifiers: ``x1``, ``x_2``, ``rate``, ``theta`` are one variable each.
  There is no implicit multiplication: ``2x`` and ``x y`` are errors that suggest ``2*x``.
- ``pi`` and ``e`` are the constants; :data:`FUNCTIONS` lists the functions (the op list's
  elementwise functions, ``asin``-style aliases, ``max``/``min`` of two or more arguments).
- Constant parts are folded in float64 at parse time; a constant that overflows or is not
  real (``9**9**9**9``, ``(-8)**(1/3)``, ``1/0``) is an error, found in microseconds.
- Limits: :data:`MAX_LENGTH` characters, :data:`MAX_DEPTH` levels of nesting.
- The variables are ordered naturally (``x2`` before ``x10``, otherwise alphabetically):
  that is the order ``--at`` takes their values in.
"""
from __future__ import annotations

import ast
import difflib
import keyword as keyword_module
import math
import operator
import re
from dataclasses import dataclass
from functools import reduce
from typing import Callable, Sequence, Union

from .errors import InputError
from .ops import BINARY, UNARY

MAX_LENGTH = 10_000
MAX_DEPTH = 200
#: Folded integer constants stay exact Python ints up to this size (float64's exact range).
MAX_EXACT_INT = 2 ** 53

#: Function name in the text -> (namespace op, least arguments, most arguments or None).
FUNCTIONS: dict[str, tuple[str, int, int | None]] = {
    **{name: (name, 1, 1) for name in UNARY},
    "asin": ("arcsin", 1, 1), "acos": ("arccos", 1, 1), "atan": ("arctan", 1, 1),
    "ln": ("log", 1, 1),
    **{name: (name, 2, 2) for name in BINARY},
    "max": ("maximum", 2, None), "min": ("minimum", 2, None),
}
CONSTANTS = {"pi": math.pi, "e": math.e}

_ALLOWED_CHARS = re.compile(r"[A-Za-z0-9_.+\-*/^(),\s]")
_NUMBER_THEN_NAME = re.compile(r"(?<![A-Za-z_0-9.])(\d+\.?\d*(?:[eE][+-]?\d+)?)([A-Za-z_(])")
_TWO_OPERANDS = re.compile(r"([A-Za-z_]\w*|\d+\.?\d*|\))\s+([A-Za-z_]\w*|\d+\.?\d*|\()")


# ---------------------------------------------------------------------- the tree
@dataclass(frozen=True)
class Number:
    value: Union[int, float]


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class Negate:
    arg: "Node"


@dataclass(frozen=True)
class Chain:
    """``first op1 t1 op2 t2 ...`` for one precedence level: ``+``/``-`` or ``*``/``/``.

    Chains are flat, so a sum of a thousand terms is one node, not a thousand levels."""
    first: "Node"
    rest: tuple  # ((op symbol, node), ...)


@dataclass(frozen=True)
class Power:
    base: "Node"
    exponent: "Node"


@dataclass(frozen=True)
class Call:
    function: str  # the name as FUNCTIONS has it
    args: tuple


Node = Union[Number, Variable, Negate, Chain, Power, Call]

_APPLY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}  # Negate is 3, Power 4, atoms 5


@dataclass(frozen=True)
class Expression:
    """A parsed formula: its tree, its variables (in ``--at`` order) and its text.

    ``str(expression)`` prints the formula as parsed, with ``**`` for powers and only the
    brackets it needs; calling it evaluates the formula at a 1-D array of the variables.
    """

    tree: Node
    variables: tuple
    source: str

    def __str__(self) -> str:
        return _format(self.tree)

    def evaluator(self) -> Callable:
        """``fn(x)``: the formula with ``x[i]`` for the i-th variable, in any namespace."""
        return _compile(self.tree, {name: i for i, name in enumerate(self.variables)})


def parse(text: str) -> Expression:
    """Parse ``text`` with difflab's grammar; :class:`InputError` on anything else."""
    if not isinstance(text, str):
        raise InputError(f"an expression must be text, not {type(text).__name__}")
    if not text.strip():
        raise InputError("empty expression")
    if len(text) > MAX_LENGTH:
        raise InputError(f"expression too long: {len(text):,} characters (at most {MAX_LENGTH:,})")
    _check_characters(text)
    _check_brackets(text)
    python_text = text.replace("^", "**")
    try:
        tree = ast.parse(python_text.strip(), mode="eval")
    except SyntaxError as exc:
        raise InputError(f"cannot parse {_quote(text)}: {_syntax_problem(text, exc)}") from None
    except (RecursionError, MemoryError):
        raise InputError(f"cannot parse {_quote(text)}: too many operators in one chain "
                         "for the parser; split the expression") from None
    node = _Converter(python_text.strip()).convert(tree.body, depth=0)
    variables = tuple(sorted(_variables(node), key=natural_key))
    if not variables:
        raise InputError(f"expression {_quote(text)} has no variables")
    return Expression(node, variables, text)


def compile_expression(text: str):
    """``(fn, expression)``: the function of ``text`` and its parsed :class:`Expression`."""
    expression = parse(text)
    fn = expression.evaluator()
    fn.__name__ = "expression"
    return fn, expression


def natural_key(name: str):
    """Sort key putting ``x2`` before ``x10``: digit runs compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", name) if part]


# ---------------------------------------------------------------------- checks on the text
def _quote(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit - 3] + "...")


def _check_characters(text: str) -> None:
    for i, ch in enumerate(text):
        if not _ALLOWED_CHARS.fullmatch(ch):
            raise InputError(f"unexpected character {ch!r} at position {i + 1} of {_quote(text)}; "
                             "an expression has names, numbers, + - * / ** ^, brackets and commas")


def _check_brackets(text: str) -> None:
    depth, opened = 0, []
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
            opened.append(i)
            if depth > MAX_DEPTH:
                raise InputError(f"cannot parse {_quote(text)}: nested too deeply (more than "
                                 f"{MAX_DEPTH} levels of brackets)")
        elif ch == ")":
            if depth == 0:
                raise InputError(f"cannot parse {_quote(text)}: a ')' without its '(' at "
                                 f"position {i + 1}")
            depth -= 1
            opened.pop()
    if depth:
        raise InputError(f"cannot parse {_quote(text)}: {depth} unclosed '(' (the first at "
                         f"position {opened[0] + 1})")


def _syntax_problem(text: str, exc: SyntaxError) -> str:
    """What is wrong, in words a user can act on: a missing '*' first, else where it broke."""
    match = _NUMBER_THEN_NAME.search(text)
    if match:
        number, after = match.groups()
        return f"no implicit multiplication: write {number}*{after} instead of {number}{after}"
    match = _TWO_OPERANDS.search(text)
    if match:
        left, right = match.groups()
        keyword = next((w for w in (left, right) if keyword_module.iskeyword(w)), None)
        if keyword:
            return f"{keyword!r} is a Python keyword, not part of the expression language"
        return f"missing operator between {left!r} and {right!r} (write {left}*{right}?)"
    where = f" at position {_original_column(text, exc.offset)}" if exc.offset else ""
    return f"invalid syntax{where}"


def _original_column(text: str, offset: int) -> int:
    """A column of the ``^`` -> ``**`` text mapped back to the user's text (1-based)."""
    column = 0
    for i, ch in enumerate(text):
        column += 2 if ch == "^" else 1
        if column >= offset:
            return i + 1
    return len(text)


# ---------------------------------------------------------------------- ast -> tree
class _Converter:
    """Python ast -> difflab's nodes, node by node, refusing everything not in the grammar."""

    def __init__(self, source: str):
        self.source = source

    def piece(self, node) -> str:
        segment = ast.get_source_segment(self.source, node) or type(node).__name__
        return repr(segment if len(segment) <= 40 else segment[:37] + "...")

    def refuse(self, node, what: str):
        raise InputError(f"{what} is not part of the expression language: {self.piece(node)}")

    def convert(self, node, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise InputError(f"expression nested too deeply: more than {MAX_DEPTH} levels")
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            self.refuse(node, _DESCRIPTIONS.get(type(node).__name__, f"{type(node).__name__}"))
        return method(node, depth)

    def _Constant(self, node, depth):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.refuse(node, "a constant of type " + type(value).__name__)
        if isinstance(value, int) and abs(value) > MAX_EXACT_INT:
            value = _checked(float, value, piece=self.piece(node))
        elif isinstance(value, float) and not math.isfinite(value):  # 1e400: Python reads inf
            raise InputError(f"the constant {self.piece(node)} overflows a float")
        return Number(value)

    def _Name(self, node, depth):
        if node.id in CONSTANTS:
            return Number(CONSTANTS[node.id])
        if node.id in FUNCTIONS:
            raise InputError(f"{node.id} is a function: call it, as in {node.id}(x)")
        if node.id.startswith("__"):
            self.refuse(node, "a dunder name")
        return Variable(node.id)

    def _UnaryOp(self, node, depth):
        if isinstance(node.op, ast.UAdd):
            return self.convert(node.operand, depth + 1)
        if not isinstance(node.op, ast.USub):
            self.refuse(node, f"the operator {_OPERATOR_TEXT.get(type(node.op).__name__, '')}".strip())
        arg = self.convert(node.operand, depth + 1)
        if isinstance(arg, Number):
            return Number(-arg.value)
        return Negate(arg)

    def _BinOp(self, node, depth):
        op = type(node.op).__name__
        if op == "Pow":
            base = self.convert(node.left, depth + 1)
            exponent = self.convert(node.right, depth + 1)
            if isinstance(base, Number) and isinstance(exponent, Number):
                return _fold_power(base.value, exponent.value, self.piece(node))
            return Power(base, exponent)
        if op not in ("Add", "Sub", "Mult", "Div"):
            self.refuse(node, f"the operator {_OPERATOR_TEXT.get(op, op)}")
        level = _PRECEDENCE["+" if op in ("Add", "Sub") else "*"]
        # walk down the left spine of one precedence level without recursion
        spine = []
        while (isinstance(node, ast.BinOp) and type(node.op).__name__ in _SYMBOL
               and _PRECEDENCE[_SYMBOL[type(node.op).__name__]] == level):
            spine.append((_SYMBOL[type(node.op).__name__], node.right, node))
            node = node.left
        first = self.convert(node, depth + 1)
        rest = []
        for symbol, right, whole in reversed(spine):
            term = self.convert(right, depth + 1)
            if isinstance(first, Number) and isinstance(term, Number) and not rest:
                first = _fold(symbol, first.value, term.value, self.piece(whole))
            else:
                rest.append((symbol, term))
        return Chain(first, tuple(rest)) if rest else first

    def _Call(self, node, depth):
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.Call)):
                left = ast.get_source_segment(self.source, node.func)
                left = left if isinstance(node.func, (ast.Constant, ast.Call)) else f"({left})"
                raise InputError(f"no implicit multiplication: write {left}*(...) "
                                 f"in {self.piece(node)}")
            self.refuse(node.func, _DESCRIPTIONS.get(type(node.func).__name__, "a call of this"))
        name = node.func.id
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name, FUNCTIONS, n=1, cutoff=0.6)
            if close:
                hint = f"; did you mean {close[0]}?"
            elif len(name) <= 3 or not name.isalpha():
                hint = f"; for a product write {name}*(...)"
            else:
                hint = f"; known: {', '.join(sorted(FUNCTIONS))}"
            raise InputError(f"unknown function {name!r}{hint}")
        if node.keywords:
            self.refuse(node.keywords[0].value, "a keyword argument")
        op, least, most = FUNCTIONS[name]
        if len(node.args) < least or (most is not None and len(node.args) > most):
            wanted = (f"{least}" if least == most else f"at least {least}")
            raise InputError(f"{name} takes {wanted} argument{'s' if wanted != '1' else ''}, "
                             f"got {len(node.args)}: {self.piece(node)}")
        args = tuple(self.convert(a, depth + 1) for a in node.args)
        if all(isinstance(a, Number) for a in args):
            return Number(_fold_call(op, [a.value for a in args], self.piece(node)))
        return Call(name, args)


_SYMBOL = {"Add": "+", "Sub": "-", "Mult": "*", "Div": "/"}
_OPERATOR_TEXT = {"FloorDiv": "//", "Mod": "%", "MatMult": "@", "BitXor": "^", "BitAnd": "&",
                  "BitOr": "|", "LShift": "<<", "RShift": ">>", "Not": "not", "Invert": "~"}
_DESCRIPTIONS = {
    "Attribute": "attribute access", "Subscript": "indexing", "Lambda": "a lambda",
    "ListComp": "a comprehension", "GeneratorExp": "a generator", "SetComp": "a comprehension",
    "DictComp": "a comprehension", "Compare": "a comparison", "BoolOp": "and/or",
    "IfExp": "a conditional expression", "Tuple": "a tuple (a comma outside a call)",
    "List": "a list", "Dict": "a dict", "Set": "a set", "Starred": "unpacking with *",
    "JoinedStr": "a string", "NamedExpr": "an assignment", "Await": "await", "Yield": "yield",
    "YieldFrom": "yield", "Slice": "a slice",
}


# ---------------------------------------------------------------------- constant folding
def _exactly(value: float) -> Union[int, float]:
    """An integral float within float64's exact range as an int (``x**2`` stays integral)."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_EXACT_INT:
        return int(value)
    return value


def _checked(fn, *args, piece: str = "") -> float:
    """``fn(*args)`` in float64, or an InputError for overflow or a value that is not real."""
    try:
        value = float(fn(*args))
    except OverflowError:
        raise InputError(f"the constant {piece} overflows a float") from None
    except ZeroDivisionError:
        raise InputError(f"the constant {piece} divides by zero") from None
    except (ValueError, TypeError):
        raise InputError(f"the constant {piece} is not a real number") from None
    if not math.isfinite(value):
        raise InputError(f"the constant {piece} is not finite")
    return value


def _fold(symbol, a, b, piece) -> Number:
    return Number(_exactly(_checked(_APPLY[symbol], float(a), float(b), piece=piece)))


def _fold_power(base, exponent, piece) -> Number:
    """``base ** exponent`` in float64 (never as a huge exact int), checked."""
    return Number(_exactly(_checked(math.pow, float(base), float(exponent), piece=piece)))


def _fold_call(op, values, piece) -> Union[int, float]:
    import numpy as np

    with np.errstate(all="ignore"):
        fn = _NUMPY_FOLD.get(op) or getattr(np, op)
        return _exactly(_checked(lambda *v: reduce(fn, v) if len(v) > 1 else fn(*v),
                                 *map(float, values), piece=piece))


_NUMPY_FOLD = {"sigmoid": lambda v: 1.0 / (1.0 + math.exp(-v)) if v > -700 else 0.0}


# ---------------------------------------------------------------------- uses of the tree
def _variables(node) -> set:
    found, stack = set(), [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Variable):
            found.add(n.name)
        elif isinstance(n, Negate):
            stack.append(n.arg)
        elif isinstance(n, Chain):
            stack.append(n.first)
            stack.extend(t for _, t in n.rest)
        elif isinstance(n, Power):
            stack += [n.base, n.exponent]
        elif isinstance(n, Call):
            stack.extend(n.args)
    return found


def _precedence(node) -> int:
    if isinstance(node, Chain):
        return _PRECEDENCE[node.rest[0][0]]
    if isinstance(node, Negate) or (isinstance(node, Number) and node.value < 0):
        return 3
    return 4 if isinstance(node, Power) else 5


def _wrap(node, at_least: int) -> str:
    text = _format(node)
    return f"({text})" if _precedence(node) < at_least else text


def _format(node) -> str:
    if isinstance(node, Number):
        return repr(node.value)
    if isinstance(node, Variable):
        return node.name
    if isinstance(node, Negate):
        return "-" + _wrap(node.arg, 3)
    if isinstance(node, Chain):
        level = _precedence(node)
        parts = [_wrap(node.first, level)]
        for symbol, term in node.rest:
            spaced = f" {symbol} " if level == 1 else symbol
            parts.append(spaced + _wrap(term, level + 1))  # a - (b - c): right side binds tighter
        return "".join(parts)
    if isinstance(node, Power):  # right associative: (a**b)**c needs brackets, a**b**c not
        return f"{_wrap(node.base, 5)}**{_wrap(node.exponent, 4)}"
    return f"{node.function}({', '.join(_format(a) for a in node.args)})"


def _compile(node, index: dict) -> Callable:
    """A closure tree evaluating ``node``: built once, called per point, any namespace."""
    if isinstance(node, Number):
        value = node.value
        return lambda x: value
    if isinstance(node, Variable):
        i = index[node.name]
        return lambda x: x[i]
    if isinstance(node, Negate):
        arg = _compile(node.arg, index)
        return lambda x: -arg(x)
    if isinstance(node, Chain):
        first = _compile(node.first, index)
        rest = [(_APPLY[symbol], _compile(term, index)) for symbol, term in node.rest]

        def chain(x):
            out = first(x)
            for apply, term in rest:
                out = apply(out, term(x))
            return out
        return chain
    if isinstance(node, Power):
        base, exponent = _compile(node.base, index), _compile(node.exponent, index)
        return lambda x: base(x) ** exponent(x)
    op = FUNCTIONS[node.function][0]
    args = [_compile(a, index) for a in node.args]
    if len(args) > 2:
        return lambda x: reduce(lambda a, b: _call(op, a, b), [c(x) for c in args])
    return lambda x: _call(op, *[c(x) for c in args])


def _call(op: str, *args):
    from .namespaces import namespace

    return getattr(namespace(*args), op)(*args)


def describe(expression: Expression) -> str:
    """``f(x, y) = sin(x)*exp(y)``: the line reports show."""
    return f"f({', '.join(expression.variables)}) = {expression}"


__all__: Sequence[str] = ("Expression", "parse", "compile_expression", "natural_key",
                          "describe", "FUNCTIONS", "CONSTANTS", "MAX_LENGTH", "MAX_DEPTH")
