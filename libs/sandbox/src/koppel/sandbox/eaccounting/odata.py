"""A small OData ``$filter`` / ``$orderby`` implementation (tokenizer + recursive descent).

Supported: ``eq ne gt ge lt le``, ``and or not``, parentheses, string literals ('O''Brien'),
numbers, ``true false null``, bare ISO date-time literals (``2024-05-01T10:00:00Z``; no offset
means UTC), bare GUIDs, and the functions ``contains startswith endswith tolower toupper``.
Property names are the JSON names (PascalCase). Anything else is a :class:`QueryError`, which
the API turns into ErrorCode 6000.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

Record = dict[str, Any]
Predicate = Callable[[Record], bool]


class QueryError(ValueError):
    pass


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:\d{2})?)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
    """,
    re.VERBOSE,
)
COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
FUNCTIONS = {"contains": 2, "startswith": 2, "endswith": 2, "tolower": 1, "toupper": 1}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    value: Any
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise QueryError(f"Syntax error at position {pos} in '{text}'.")
        kind = match.lastgroup or ""
        raw = match.group()
        pos = match.end()
        if kind == "ws":
            continue
        tokens.append(Token(kind, raw, _literal(kind, raw), match.start()))
    return tokens


def _literal(kind: str, raw: str) -> Any:
    if kind == "string":
        return raw[1:-1].replace("''", "'")
    if kind == "guid":
        return UUID(raw)
    if kind == "datetime":
        return parse_datetime(raw)
    if kind == "number":
        return float(raw) if "." in raw else int(raw)
    return None


def parse_datetime(text: str) -> datetime:
    """ISO text (``Z``, offset or none = UTC) to an aware datetime; QueryError if invalid."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise QueryError(f"'{text}' is not a valid date-time.") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Parser:
    def __init__(self, text: str, fields: Collection[str]) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.fields = fields

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise QueryError(f"Unexpected end of expression in '{self.text}'.")
        self.index += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "name" and token.text in words:
            self.index += 1
            return token.text
        return None

    def expect(self, kind: str) -> Token:
        token = self.take()
        if token.kind != kind:
            raise QueryError(f"Expected {kind} at position {token.pos} in '{self.text}'.")
        return token

    def parse(self) -> Predicate:
        if not self.tokens:
            raise QueryError("The $filter expression is empty.")
        predicate = self.or_expr()
        if self.peek() is not None:
            token = self.take()
            raise QueryError(f"Syntax error at position {token.pos}: unexpected '{token.text}'.")
        return predicate

    def or_expr(self) -> Predicate:
        left = self.and_expr()
        while self.keyword("or"):
            right = self.and_expr()
            left = _or(left, right)
        return left

    def and_expr(self) -> Predicate:
        left = self.unary()
        while self.keyword("and"):
            right = self.unary()
            left = _and(left, right)
        return left

    def unary(self) -> Predicate:
        if self.keyword("not"):
            inner = self.unary()
            return lambda record: not inner(record)
        return self.comparison()

    def comparison(self) -> Predicate:
        token = self.peek()
        # No arithmetic is supported, so a "(" where an operand may start is always a group.
        if token is not None and token.kind == "lparen":
            self.take()
            inner = self.or_expr()
            self.expect("rparen")
            return inner
        left = self.operand()
        op = self.keyword(*COMPARISONS)
        if op is None:
            return lambda record: left(record) is True  # a boolean function such as contains()
        right = self.operand()
        return _compare(op, left, right)

    def operand(self) -> Callable[[Record], Any]:
        token = self.take()
        if token.kind in ("string", "guid", "datetime", "number"):
            value = token.value
            return lambda _record: value
        if token.kind != "name":
            raise QueryError(f"Unexpected '{token.text}' at position {token.pos}.")
        if token.text in ("true", "false", "null"):
            constant = {"true": True, "false": False, "null": None}[token.text]
            return lambda _record: constant
        nxt = self.peek()
        if nxt is not None and nxt.kind == "lparen":
            return self.function(token)
        if token.text not in self.fields:
            raise QueryError(f"Could not find a property named '{token.text}' on this resource.")
        name = token.text
        return lambda record: record.get(name)

    def function(self, token: Token) -> Callable[[Record], Any]:
        arity = FUNCTIONS.get(token.text)
        if arity is None:
            raise QueryError(f"Unknown function '{token.text}'.")
        self.expect("lparen")
        args = [self.operand()]
        while len(args) < arity:
            self.expect("comma")
            args.append(self.operand())
        self.expect("rparen")
        return _function(token.text, args)


def _or(left: Predicate, right: Predicate) -> Predicate:
    return lambda record: left(record) or right(record)


def _and(left: Predicate, right: Predicate) -> Predicate:
    return lambda record: left(record) and right(record)


def _function(name: str, args: list[Callable[[Record], Any]]) -> Callable[[Record], Any]:
    def run(record: Record) -> Any:
        values = [arg(record) for arg in args]
        if any(not isinstance(v, str) for v in values):
            return None if name in ("tolower", "toupper") else False
        if name == "tolower":
            return values[0].lower()
        if name == "toupper":
            return values[0].upper()
        haystack, needle = values
        if name == "contains":
            return needle in haystack
        if name == "startswith":
            return haystack.startswith(needle)
        return haystack.endswith(needle)

    return run


def _coerce(left: Any, right: Any) -> tuple[Any, Any]:
    """Make a stored JSON value comparable with a literal (dates and GUIDs are text in JSON)."""
    if isinstance(right, datetime) and isinstance(left, str):
        return _as_datetime(left), right
    if isinstance(left, datetime) and isinstance(right, str):
        return left, _as_datetime(right)
    if isinstance(right, UUID) and isinstance(left, str):
        return left.lower(), str(right)
    if isinstance(left, UUID) and isinstance(right, str):
        return str(left), right.lower()
    if isinstance(left, bool) or isinstance(right, bool):
        return left, right
    if isinstance(left, int | float) and isinstance(right, str):
        return str(left), right  # e.g. Number eq '1001' on a numeric field
    if isinstance(left, str) and isinstance(right, int | float):
        try:
            return float(left), right
        except ValueError:
            return left, str(right)
    return left, right


def _as_datetime(text: str) -> datetime | str:
    try:
        return parse_datetime(text)
    except QueryError:
        return text


def _compare(op: str, left: Callable[[Record], Any], right: Callable[[Record], Any]) -> Predicate:
    def run(record: Record) -> bool:
        a, b = _coerce(left(record), right(record))
        if op == "eq":
            return bool(a == b)
        if op == "ne":
            return bool(a != b)
        if a is None or b is None:
            return False
        try:
            if op == "gt":
                return bool(a > b)
            if op == "ge":
                return bool(a >= b)
            if op == "lt":
                return bool(a < b)
            return bool(a <= b)
        except TypeError:
            return False

    return run


def parse_filter(text: str, fields: Collection[str]) -> Predicate:
    return _Parser(text, fields).parse()


def parse_orderby(text: str, fields: Collection[str]) -> list[tuple[str, bool]]:
    """``"Name asc, Number desc"`` -> ``[("Name", False), ("Number", True)]`` (True = desc)."""
    result: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2:
            raise QueryError(f"Invalid $orderby clause '{part.strip()}'.")
        name = words[0]
        direction = words[1].lower() if len(words) == 2 else "asc"
        if name not in fields:
            raise QueryError(f"Could not find a property named '{name}' on this resource.")
        if direction not in ("asc", "desc"):
            raise QueryError(f"Invalid $orderby direction '{words[1]}'.")
        result.append((name, direction == "desc"))
    return result


def sort_records(records: list[Record], order: list[tuple[str, bool]]) -> list[Record]:
    ordered = list(records)
    for name, descending in reversed(order):
        ordered.sort(key=_key_for(name), reverse=descending)
    return ordered


def _key_for(name: str) -> Callable[[Record], tuple[int, Any]]:
    return lambda record: _sort_key(record.get(name))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (2, value)
    return (3, str(value).lower())
