"""Calico label selectors, as BGPPeer ``nodeSelector`` and ``peerSelector`` use them.

Felix resolves the selectors of policies itself, but BGP peers are ours to
select: a BGPPeer applies to the nodes its ``nodeSelector`` matches and peers
with the nodes its ``peerSelector`` matches (route reflectors). The grammar is
Calico's: ``all()``, ``global()``, ``has(k)``, ``k == "v"``, ``k != "v"``,
``k in {"a", "b"}``, ``k not in {...}``, ``k contains "s"``,
``k starts with "s"``, ``k ends with "s"``, ``!``, ``&&``, ``||`` and
parentheses, with single or double quotes. A selector that does not parse
raises :class:`SelectorError` saying where, so the BGPPeer can be reported
and skipped instead of matching something unintended.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Labels = Mapping[str, str]
Matcher = Callable[[Labels], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"[^"]*"|'[^']*')
      | (?P<op>&&|\|\||==|!=|[!(){},])
      | (?P<word>[A-Za-z0-9_./-]+)
    )""",
    re.VERBOSE,
)


class SelectorError(ValueError):
    """A selector that is not Calico selector syntax."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "string", "op", "word"
    text: str
    pos: int


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise SelectorError(f"unexpected {text[pos:].strip()[:10]!r} at {pos}")
        kind = m.lastgroup or "word"
        value = m.group(kind)
        if kind == "string":
            value = value[1:-1]
        out.append(_Token(kind, value, m.start(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, offset: int = 0) -> _Token | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> _Token:
        tok = self.peek()
        if tok is None:
            raise SelectorError("unexpected end of selector")
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.kind == "string" or tok.text != text:
            raise SelectorError(f"expected {text!r} at {tok.pos}, found {tok.text!r}")

    def at(self, *words: str) -> bool:
        for k, word in enumerate(words):
            tok = self.peek(k)
            if tok is None or tok.kind == "string" or tok.text != word:
                return False
        return True

    def parse(self) -> Matcher:
        if not self.toks:
            return lambda _labels: True  # an empty selector selects everything, as all()
        matcher = self.disjunction()
        tok = self.peek()
        if tok is not None:
            raise SelectorError(f"unexpected {tok.text!r} at {tok.pos}")
        return matcher

    def disjunction(self) -> Matcher:
        terms = [self.conjunction()]
        while self.at("||"):
            self.take()
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else (lambda lb: any(t(lb) for t in terms))

    def conjunction(self) -> Matcher:
        terms = [self.unary()]
        while self.at("&&"):
            self.take()
            terms.append(self.unary())
        return terms[0] if len(terms) == 1 else (lambda lb: all(t(lb) for t in terms))

    def unary(self) -> Matcher:
        if self.at("!"):
            self.take()
            inner = self.unary()
            return lambda lb: not inner(lb)
        if self.at("("):
            self.take()
            inner = self.disjunction()
            self.expect(")")
            return inner
        return self.term()

    def term(self) -> Matcher:
        tok = self.take()
        if tok.kind != "word":
            raise SelectorError(f"expected a label or function at {tok.pos}, found {tok.text!r}")
        if tok.text in ("all", "global") and self.at("("):
            self.expect("(")
            self.expect(")")
            return lambda _lb: True
        if tok.text == "has" and self.at("("):
            self.expect("(")
            key = self.word()
            self.expect(")")
            return lambda lb: key in lb
        return self.comparison(tok.text)

    def word(self) -> str:
        tok = self.take()
        if tok.kind != "word":
            raise SelectorError(f"expected a label name at {tok.pos}, found {tok.text!r}")
        return tok.text

    def string(self) -> str:
        tok = self.take()
        if tok.kind != "string":
            raise SelectorError(f"expected a quoted value at {tok.pos}, found {tok.text!r}")
        return tok.text

    def strings(self) -> frozenset[str]:
        self.expect("{")
        values: set[str] = set()
        if not self.at("}"):
            values.add(self.string())
            while self.at(","):
                self.take()
                values.add(self.string())
        self.expect("}")
        return frozenset(values)

    def comparison(self, key: str) -> Matcher:
        if self.at("=="):
            self.take()
            value = self.string()
            return lambda lb: lb.get(key) == value
        if self.at("!="):
            self.take()
            value = self.string()
            return lambda lb: lb.get(key) != value
        if self.at("in"):
            self.take()
            values = self.strings()
            return lambda lb: lb.get(key) in values
        if self.at("not", "in"):
            self.take()
            self.take()
            values = self.strings()
            return lambda lb: lb.get(key) not in values
        if self.at("contains"):
            self.take()
            value = self.string()
            return lambda lb: key in lb and value in lb[key]
        if self.at("starts", "with"):
            self.take()
            self.take()
            value = self.string()
            return lambda lb: key in lb and lb[key].startswith(value)
        if self.at("ends", "with"):
            self.take()
            self.take()
            value = self.string()
            return lambda lb: key in lb and lb[key].endswith(value)
        tok = self.peek()
        found = "the end" if tok is None else repr(tok.text)
        raise SelectorError(f"expected an operator after label {key!r}, found {found}")


def parse(text: str) -> Matcher:
    """A function telling whether a label set matches ``text``; raises SelectorError."""
    return _Parser(text).parse()
