"""difflab's expression language: a formula typed by a user, parsed (never evaluated).

``"sin(x)*exp(y) + x1^2/rate"`` becomes an :class:`Expression`, a small tree of difflab's
own nodes, and from it a function over any difflab namespace. The text is read by difflab's
own scanner (:mod:`difflab.interface.expression_tokens`) and precedence parser below: nothing of it is
compiled, run or handed to Python's parser, and anything outside the grammar is one
:class:`~difflab.InputError` that names the offending piece. Reading is linear in the text,
including the diagnosis of a mistake.

Grammar::

    expr := expr ('+' | '-') expr | expr ('*' | '/') expr | expr ('**' | '^') expr
          | ('-' | '+') expr | '(' expr ')' | NUMBER | NAME | FUNCTION '(' expr, ... ')'

- Names are whole identifiers: ``x1``, ``x_2``, ``rate``, ``theta`` are one variable each.
  There is no implicit multiplication: ``2x`` and ``x y`` are errors that suggest ``2*x``.
- ``pi`` and ``e`` are the constants; :data:`FUNCTIONS` lists the functions (the op list's
  elementwise functions, ``asin``-style aliases, ``max``/``min`` of two or more arguments).
- Constant parts are folded in float64 at parse time; a constant that overflows or is not
  real (``9**9**9**9``, ``(-8)**(1/3)``, ``1/0``) is an error, found in microseconds.
- Numbers are decimal: ``2``, ``0.5``, ``.5``, ``5.``, ``1e-3``. ``0x10``, ``0b1``, ``0o7``,
  ``1_000`` and ``1j`` are refused, each with its own line.
- Limits: :data:`MAX_LENGTH` characters, :data:`MAX_DEPTH` levels of nesting. A flat chain
  (``x + x + ...``, ``x*x*...``) is one level however long.
- The variables are ordered naturally (``x2`` before ``x10``, otherwise alphabetically):
  that is the order ``--at`` takes their values in.
"""
from __future__ import annotations

import difflib
import math
import operator
import re
from dataclasses import dataclass
from functools import reduce
from typing import Callable, Sequence, Union

from ..errors import InputError
from .expression_tokens import Token, quote as _quote, tokens
from ..namespaces.ops import BINARY, UNARY

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

_ALLOWED_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-*/^(),")


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
    """Parse ``text`` with difflab's grammar; :class:`InputError` on anything else.

    One scan makes the tokens and one pass of precedence parsing makes the tree: flat
    chains (``x + x + ...``) and power/sign runs are loops, only brackets recurse, so the
    work is linear in the text and bounded by :data:`MAX_LENGTH` and :data:`MAX_DEPTH`."""
    if not isinstance(text, str):
        raise InputError(f"an expression must be text, not {type(text).__name__}")
    if not text.strip():
        raise InputError("empty expression")
    if len(text) > MAX_LENGTH:
        raise InputError(f"expression too long: {len(text):,} characters (at most {MAX_LENGTH:,})")
    _check_characters(text)
    _check_brackets(text)
    node = _Parser(text, tokens(text)).whole()
    if _depth(node) > MAX_DEPTH:
        raise InputError(f"expression nested too deeply: more than {MAX_DEPTH} levels")
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
def _check_characters(text: str) -> None:
    for i, ch in enumerate(text):
        if ch not in _ALLOWED_CHARS and not ch.isspace():
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


# ---------------------------------------------------------------------- tokens -> tree
class _Chain:
    """One flat chain being read (``a + b - c`` or ``a * b / c``), folding a constant head."""

    def __init__(self, first: Node, start: int):
        self.first, self.rest, self.start = first, [], start

    def add(self, symbol: str, term: Node, piece: Callable) -> None:
        if isinstance(self.first, Number) and isinstance(term, Number) and not self.rest:
            self.first = _fold(symbol, self.first.value, term.value, piece())
        else:
            self.rest.append((symbol, term))

    def node(self) -> Node:
        return Chain(self.first, tuple(self.rest)) if self.rest else self.first


class _Parser:
    """Tokens -> difflab's nodes by precedence, refusing everything not in the grammar.

    ``expression`` reads a whole sum of products in one loop and ``factor`` a run of signs
    and powers in another, so the Python stack grows only with brackets (two frames per
    level, at most :data:`MAX_DEPTH` levels)."""

    def __init__(self, text: str, token_list: list):
        self.text, self.tokens, self.i = text, token_list, 0

    # -- looking at tokens
    def peek(self) -> str:
        return self.tokens[self.i].text if self.i < len(self.tokens) else ""

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def end(self) -> int:
        return self.tokens[self.i - 1].end

    def piece(self, start: int) -> str:
        return _quote(self.text[start:self.end()], 40)

    def unexpected(self, after: str = "") -> InputError:
        """The one line for a token that cannot come here (or for the text ending early)."""
        if self.i >= len(self.tokens):
            last = self.tokens[-1].text if self.tokens else ""
            return InputError(f"cannot parse {_quote(self.text)}: it ends after {last!r}")
        token = self.tokens[self.i]
        previous = self.tokens[self.i - 1] if self.i else None
        if (token.kind in ("name", "number") and previous is not None
                and (previous.kind in ("name", "number") or previous.text == ")")):
            left, right = previous.text, token.text
            if len(left) + len(right) > 40:
                return InputError(f"cannot parse {_quote(self.text)}: missing operator between "
                                  f"{_quote(left, 20)} and {_quote(right, 20)} at position "
                                  f"{token.start + 1}")
            return InputError(f"cannot parse {_quote(self.text)}: missing operator between "
                              f"{left!r} and {right!r} (write {left}*{right}?)")
        if token.text == ",":
            return InputError("a tuple (a comma outside a call) is not part of the expression "
                              f"language: {_quote(self.text)}")
        return InputError(f"cannot parse {_quote(self.text)}: unexpected {token.text!r} at "
                          f"position {token.start + 1}{after}")

    # -- the grammar
    def whole(self) -> Node:
        node = self.expression()
        if self.i < len(self.tokens):
            raise self.unexpected()
        return node

    def expression(self) -> Node:
        """``product (('+'|'-') product)*`` with ``product := factor (('*'|'/') factor)*``."""
        start = self.tokens[self.i].start if self.i < len(self.tokens) else len(self.text)
        total = None
        pending = None  # the + or - before the product being read
        product = _Chain(self.factor(), start)
        while self.peek() in ("+", "-", "*", "/"):
            symbol = self.take().text
            if symbol in ("*", "/"):
                product.add(symbol, self.factor(), lambda: self.piece(product.start))
                continue
            if total is None:
                total = _Chain(product.node(), start)
            else:
                total.add(pending, product.node(), lambda: self.piece(start))
            pending = symbol
            next_start = self.tokens[self.i].start if self.i < len(self.tokens) else len(self.text)
            product = _Chain(self.factor(), next_start)
        if total is None:
            return product.node()
        total.add(pending, product.node(), lambda: self.piece(start))
        return total.node()

    def factor(self) -> Node:
        """``('-'|'+')* atom ('**' ('-'|'+')* atom)*``: right-associative, signs below powers
        (``-x**2`` is ``-(x**2)``, ``2**-x**2`` is ``2**(-(x**2))``), as in Python. An atom
        is a number, a name, a call or a bracket, read here so a bracket costs one frame."""
        runs = []  # (signs, atom, start of the atom)
        while True:
            signs = []
            while self.peek() in ("-", "+"):
                signs.append(self.take().text)
            if len(signs) + len(runs) > MAX_DEPTH:
                raise InputError(f"expression nested too deeply: more than {MAX_DEPTH} levels")
            if self.i >= len(self.tokens):
                raise self.unexpected()
            token = self.take()
            if token.text == "(":
                node = self.expression()
                self.close()
            elif token.kind == "number":
                node = Number(_number(token.text))
            elif token.kind == "name" and self.peek() == "(":
                self.check_function(token)
                self.take()
                args = []
                if self.peek() != ")":
                    args.append(self.expression())
                    while self.peek() == ",":
                        self.take()
                        args.append(self.expression())
                self.close()
                node = self.call(token, args)
            elif token.kind == "name":
                node = self.name(token)
            else:
                self.i -= 1
                raise self.unexpected(after=" (a number, a name or '(' should come first)")
            if self.peek() == "(":
                left = self.text[token.start:self.end()]
                self.expression_in_brackets()
                raise InputError(f"no implicit multiplication: write {left}*(...) in "
                                 f"{self.piece(token.start)}")
            runs.append((signs, node, token.start))
            if self.peek() != "**":
                break
            self.take()
        signs, value, _ = runs.pop()
        value = _signed(signs, value)
        for signs, base, start in reversed(runs):
            if isinstance(base, Number) and isinstance(value, Number):
                value = _fold_power(base.value, value.value, self.piece(start))
            else:
                value = Power(base, value)
            value = _signed(signs, value)
        return value

    def close(self) -> None:
        if self.peek() != ")":
            raise self.unexpected()
        self.take()

    def expression_in_brackets(self) -> None:
        """Skip ``( ... )`` (already known to balance) to quote it in a message."""
        depth = 0
        while True:
            text = self.take().text
            depth += (text == "(") - (text == ")")
            if depth == 0:
                return

    def name(self, token: Token) -> Node:
        word = token.text
        if word in CONSTANTS:
            return Number(CONSTANTS[word])
        if word in FUNCTIONS:
            raise InputError(f"{word} is a function: call it, as in {word}(x)")
        if word.startswith("__"):
            raise InputError(f"a dunder name is not part of the expression language: {word!r}")
        return Variable(word)

    def check_function(self, token: Token) -> None:
        name = token.text
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name, FUNCTIONS, n=1, cutoff=0.6)
            if close:
                hint = f"; did you mean {close[0]}?"
            elif len(name) <= 3 or not name.isalpha():
                hint = f"; for a product write {name}*(...)"
            else:
                hint = f"; known: {', '.join(sorted(FUNCTIONS))}"
            raise InputError(f"unknown function {name!r}{hint}")

    def call(self, token: Token, args: list) -> Node:
        name = token.text
        op, least, most = FUNCTIONS[name]
        if len(args) < least or (most is not None and len(args) > most):
            wanted = (f"{least}" if least == most else f"at least {least}")
            raise InputError(f"{name} takes {wanted} argument{'s' if wanted != '1' else ''}, "
                             f"got {len(args)}: {self.piece(token.start)}")
        if all(isinstance(a, Number) for a in args):
            return Number(_fold_call(op, [a.value for a in args], self.piece(token.start)))
        return Call(name, tuple(args))


def _signed(signs: list, node: Node) -> Node:
    """``node`` under its prefix signs, innermost first; ``+`` changes nothing."""
    for sign in reversed(signs):
        if sign == "-":
            node = Number(-node.value) if isinstance(node, Number) else Negate(node)
    return node


def _number(text: str) -> Union[int, float]:
    """A decimal literal's value: an exact int within float64's exact range, else a float;
    one that overflows a float is refused."""
    if text.isdigit() and len(text) <= 16 and int(text) <= MAX_EXACT_INT:
        return int(text)
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"the constant {_quote(text, 40)} overflows a float")
    return value


def _depth(node) -> int:
    """Levels of nesting of the tree, counted without recursion."""
    deepest, stack = 0, [(node, 0)]
    while stack:
        n, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(n, Negate):
            children = [n.arg]
        elif isinstance(n, Chain):
            children = [n.first, *(t for _, t in n.rest)]
        elif isinstance(n, Power):
            children = [n.base, n.exponent]
        elif isinstance(n, Call):
            children = list(n.args)
        else:
            children = []
        stack.extend((c, level + 1) for c in children)
    return deepest

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
    from ..namespaces import namespace

    return getattr(namespace(*args), op)(*args)


def describe(expression: Expression) -> str:
    """``f(x, y) = sin(x)*exp(y)``: the line reports show."""
    return f"f({', '.join(expression.variables)}) = {expression}"


__all__: Sequence[str] = ("Expression", "parse", "compile_expression", "natural_key",
                          "describe", "FUNCTIONS", "CONSTANTS", "MAX_LENGTH", "MAX_DEPTH")
