"""A tiny, safe expression language for tenant field overrides.

    upper(trim(source.InvoiceCustomerName))
    source.InvoiceAddress1 | split_street('number')
    default(line.ArticleNumber, 'MISC') | lookup('sku_map', value)

Grammar (no operators besides the pipe; no attribute access beyond the record's JSON)::

    pipeline := term ( '|' IDENT [ '(' args ')' ] )*      # a | f(b)  ==  f(a, b)
    term     := STRING | NUMBER | '-' NUMBER | true | false | null
              | IDENT '(' args ')' | path | '(' pipeline ')'
    path     := ROOT ( '.' IDENT | '[' NUMBER | STRING ']' )*
    ROOT     := source | line | value | settings | enrichment

Parsing builds a small tree; compiling turns it into nested closures once per mapping
version, so evaluation is a few Python calls per node with no interpretation overhead.
Nothing reaches ``eval``/``exec``/``getattr``: a path only indexes dicts and lists, and a
call only reaches the ``TRANSFORMS`` table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from koppel.mapper.domain.errors import ExpressionSyntaxError

ROOTS = ("source", "line", "value", "settings", "enrichment")
MAX_LENGTH = 2000
MAX_DEPTH = 24

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>[().,\[\]|-])
    )""",
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    end = len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            bad = pos + (len(text[pos:]) - len(text[pos:].lstrip()))
            raise ExpressionSyntaxError(f"unexpected character {text[bad]!r}", bad)
        kind = match.lastgroup or "punct"
        start = match.start(kind)
        tokens.append(Token(kind, match.group(kind), start))
        pos = match.end()
    tokens.append(Token("end", "", end))
    return tokens


# --- tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Any
    pos: int


@dataclass(frozen=True)
class Path:
    root: str
    parts: tuple[str | int, ...]
    pos: int

    def dotted(self) -> str:
        out = self.root
        for part in self.parts:
            out += f"[{part}]" if isinstance(part, int) else f".{part}"
        return out


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    pos: int


Node = Literal | Path | Call


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self, text: str | None = None, kind: str | None = None) -> Token:
        token = self.tokens[self.i]
        if (text is not None and token.text != text) or (kind is not None and token.kind != kind):
            wanted = repr(text) if text is not None else kind
            found = repr(token.text) if token.kind != "end" else "the end"
            raise ExpressionSyntaxError(f"expected {wanted}, found {found}", token.pos)
        self.i += 1
        return token

    def parse(self) -> Node:
        node = self.pipeline()
        if self.peek().kind != "end":
            token = self.peek()
            raise ExpressionSyntaxError(f"unexpected {token.text!r}", token.pos)
        return node

    def pipeline(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionSyntaxError("expression is nested too deeply", self.peek().pos)
        node = self.term()
        while self.peek().text == "|":
            self.take("|")
            name = self.take(kind="ident")
            args: list[Node] = [node]
            if self.peek().text == "(":
                args.extend(self.arguments())
            node = Call(name.text, tuple(args), name.pos)
        self.depth -= 1
        return node

    def arguments(self) -> list[Node]:
        self.take("(")
        args: list[Node] = []
        if self.peek().text != ")":
            args.append(self.pipeline())
            while self.peek().text == ",":
                self.take(",")
                args.append(self.pipeline())
        self.take(")")
        return args

    def term(self) -> Node:
        token = self.peek()
        if token.kind == "number":
            self.i += 1
            return Literal(_number(token.text), token.pos)
        if token.text == "-" and self.tokens[self.i + 1].kind == "number":
            self.i += 2
            return Literal(-_number(self.tokens[self.i - 1].text), token.pos)
        if token.kind == "string":
            self.i += 1
            return Literal(_ESCAPE.sub(r"\1", token.text[1:-1]), token.pos)
        if token.text == "(":
            self.take("(")
            node = self.pipeline()
            self.take(")")
            return node
        if token.kind != "ident":
            found = repr(token.text) if token.kind != "end" else "the end"
            raise ExpressionSyntaxError(f"expected a value, found {found}", token.pos)
        self.i += 1
        if token.text in ("true", "false", "null"):
            return Literal({"true": True, "false": False, "null": None}[token.text], token.pos)
        if self.peek().text == "(":
            return Call(token.text, tuple(self.arguments()), token.pos)
        if token.text not in ROOTS:
            raise ExpressionSyntaxError(
                f"unknown name {token.text!r}: a field starts with {', '.join(ROOTS)}", token.pos
            )
        parts: list[str | int] = []
        while self.peek().text in (".", "["):
            if self.take().text == ".":
                parts.append(self.take(kind="ident").text)
            else:
                index = self.peek()
                if index.kind == "number" and "." not in index.text:
                    parts.append(int(index.text))
                elif index.kind == "string":
                    parts.append(index.text[1:-1])
                else:
                    raise ExpressionSyntaxError("an index is a whole number or a 'name'", index.pos)
                self.i += 1
                self.take("]")
        return Path(token.text, tuple(parts), token.pos)


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def parse(text: str) -> Node:
    if len(text) > MAX_LENGTH:
        raise ExpressionSyntaxError(
            f"expression is longer than {MAX_LENGTH} characters", MAX_LENGTH
        )
    if not text.strip():
        raise ExpressionSyntaxError("expression is empty", 0)
    return _Parser(text).parse()
