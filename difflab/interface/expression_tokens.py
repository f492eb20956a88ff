"""The expression language's tokens: one left-to-right scan, no backtracking regex.

Splitting the text into numbers, names and operators is also where most mistakes are
recognised, each in a sentence a user can act on: ``2x`` (no implicit multiplication),
``0x10``/``0b1``/``1_000`` (the grammar has decimal numbers only), ``1j``, ``x.real``,
``//`` and Python keywords. Every step moves forward, so a text of n characters costs O(n)
whatever its shape (the former regex diagnosis took minutes on ``"1"*4301 + "*x"``).
"""
from __future__ import annotations

import keyword as keyword_module
from dataclasses import dataclass

from ..errors import InputError

#: What a Python keyword would have meant, for the refusal; other keywords get a plain line.
_KEYWORD_MEANING = {
    "if": "a conditional expression", "else": "a conditional expression",
    "not": "the operator not", "and": "and/or", "or": "and/or", "lambda": "a lambda",
    "True": "a constant of type bool", "False": "a constant of type bool",
    "None": "a constant of type NoneType", "for": "a comprehension", "in": "a comprehension",
    "is": "a comparison", "await": "await", "yield": "yield",
}
_PREFIXES = {"x": "hexadecimal", "b": "binary", "o": "octal"}


@dataclass(frozen=True)
class Token:
    kind: str   # "number", "name" or "op"
    text: str   # the token as written ("**" for "^")
    start: int  # index of its first character in the text
    end: int    # index just past it


def quote(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit - 3] + "...")


def _is_name_char(ch: str) -> bool:
    return ch == "_" or ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ("0" <= ch <= "9")


def _digits_end(text: str, i: int) -> int:
    while i < len(text) and "0" <= text[i] <= "9":
        i += 1
    return i


def _number_end(text: str, i: int) -> int:
    """Index past the decimal number starting at ``i``: ``12``, ``1.5``, ``.5``, ``5.``, ``1e-3``."""
    i = _digits_end(text, i)
    if i < len(text) and text[i] == ".":
        i = _digits_end(text, i + 1)
    if i < len(text) and text[i] in "eE":
        j = i + 1
        if j < len(text) and text[j] in "+-":
            j += 1
        if j < len(text) and "0" <= text[j] <= "9":
            i = _digits_end(text, j)
    return i


def _name_end(text: str, i: int) -> int:
    while i < len(text) and _is_name_char(text[i]):
        i += 1
    return i


def _glued(text: str, number: str, start: int, name_end: int) -> InputError:
    """A number written against a name (``2x``, ``0x10``, ``1_000``, ``1j``): say which."""
    name = text[start:name_end]
    whole = number + name
    if len(whole) > 40:
        return InputError(f"no implicit multiplication: a number is followed by a name in "
                          f"{quote(whole)}; write * between them")
    if number == "0" and name[:1].lower() in _PREFIXES:
        return InputError(f"{_PREFIXES[name[0].lower()]} literals are not part of the expression "
                          f"language (decimal numbers only): {quote(whole)}")
    if name.startswith("_") and all(c.isdigit() or c == "_" for c in name):
        return InputError(f"digit separators '_' are not part of the expression language: write "
                          f"{whole.replace('_', '')} for {quote(whole)}")
    if name in ("j", "J"):
        return InputError(f"a constant of type complex is not part of the expression language: "
                          f"{quote(whole)}")
    return InputError(f"no implicit multiplication: write {number}*{name} instead of {whole}")


def tokens(text: str) -> list:
    """The tokens of ``text`` (characters already checked); :class:`InputError` on a lexical
    mistake, naming it."""
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif "0" <= ch <= "9" or (ch == "." and i + 1 < n and "0" <= text[i + 1] <= "9"):
            end = _number_end(text, i)
            if end < n and (_is_name_char(text[end]) or text[end] == "."):
                if text[end] == ".":
                    raise InputError(f"cannot parse {quote(text)}: a second '.' in the number "
                                     f"at position {i + 1}")
                number, name_end = text[i:end], _name_end(text, end)
                if keyword_module.iskeyword(text[end:name_end]):
                    _refuse_keyword(text[end:name_end], text)
                raise _glued(text, number, end, name_end)
            out.append(Token("number", text[i:end], i, end))
            i = end
        elif _is_name_char(ch):
            end = _name_end(text, i)
            word = text[i:end]
            if keyword_module.iskeyword(word):
                _refuse_keyword(word, text)
            if end < n and text[end] == ".":
                after = _name_end(text, end + 1)
                raise InputError("attribute access is not part of the expression language: "
                                 f"{quote(text[i:after])}")
            out.append(Token("name", word, i, end))
            i = end
        elif ch == ".":
            raise InputError(f"cannot parse {quote(text)}: a '.' that is not part of a number "
                             f"at position {i + 1}")
        elif ch == "*" and text[i + 1:i + 2] == "*":
            out.append(Token("op", "**", i, i + 2))
            i += 2
        elif ch == "/" and text[i + 1:i + 2] == "/":
            raise InputError(f"the operator // is not part of the expression language: "
                             f"{quote(text)}")
        else:
            out.append(Token("op", "**" if ch == "^" else ch, i, i + 1))
            i += 1
    return out


def _refuse_keyword(word: str, text: str):
    meaning = _KEYWORD_MEANING.get(word)
    if meaning:
        raise InputError(f"{meaning} is not part of the expression language: {quote(text)} "
                         f"(the Python keyword {word!r})")
    raise InputError(f"{word!r} is a Python keyword, not part of the expression language")
