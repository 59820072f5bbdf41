"""Check and compile field expressions into closures, and describe their lineage.

Two spellings compile to the same tree: the expression text (``upper(trim(source.Name))``)
and a declarative pipeline for UIs that prefer JSON::

    {"from": "source.Name", "transforms": [{"fn": "trim"}, {"fn": "upper"}]}
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from koppel.mapper.domain.errors import ExpressionSyntaxError, InvalidValue, MappingError
from koppel.mapper.domain.expressions import ROOTS, Call, Literal, Node, Path, parse
from koppel.mapper.domain.transforms import TRANSFORMS, EvalContext


class Scope:
    """The names an expression can read. ``value`` is what the default mapping produced."""

    __slots__ = ("ctx", "enrichment", "line", "settings", "source", "value")

    def __init__(
        self,
        ctx: EvalContext,
        source: Any = None,
        *,
        line: Any = None,
        value: Any = None,
        settings: Any = None,
        enrichment: Any = None,
    ) -> None:
        self.ctx = ctx
        self.source = source
        self.line = line
        self.value = value
        self.settings = settings
        self.enrichment = enrichment


Evaluator = Callable[[Scope], Any]


@dataclass(frozen=True)
class CompiledExpression:
    text: str
    evaluate: Evaluator
    sources: tuple[str, ...]
    transforms: tuple[str, ...]


def _step(obj: Any, part: str | int) -> Any:
    if isinstance(part, int):
        if isinstance(obj, list) and -len(obj) <= part < len(obj):
            return obj[part]
        return None
    if isinstance(obj, dict):
        return obj.get(part)
    return None


def _compile_path(node: Path) -> Evaluator:
    root, parts = node.root, node.parts
    if not parts:
        return lambda scope: getattr(scope, root)
    if len(parts) == 1:
        key = parts[0]
        if isinstance(key, str):

            def one(scope: Scope) -> Any:
                obj = getattr(scope, root)
                return obj.get(key) if isinstance(obj, dict) else None

            return one

    def walk(scope: Scope) -> Any:
        obj = getattr(scope, root)
        for part in parts:
            obj = _step(obj, part)
            if obj is None:
                return None
        return obj

    return walk


def _compile_call(node: Call) -> Evaluator:
    fn = TRANSFORMS[node.name].fn
    args = tuple(compile_node(a) for a in node.args)
    name = node.name

    def fail(scope: Scope, exc: Exception) -> InvalidValue:
        ctx = scope.ctx
        return InvalidValue(
            f"{ctx.record}: {ctx.field or 'a field'}: transform '{name}' could not handle its input ({type(exc).__name__})"
        )

    # Specialised for the common arities: evaluation is the hot path of every override.
    if len(args) == 1:
        (a,) = args

        def call1(scope: Scope) -> Any:
            try:
                return fn(scope.ctx, a(scope))
            except MappingError:
                raise
            except Exception as exc:  # a transform met input it did not foresee
                raise fail(scope, exc) from exc

        return call1
    if len(args) == 2:
        a, b = args

        def call2(scope: Scope) -> Any:
            try:
                return fn(scope.ctx, a(scope), b(scope))
            except MappingError:
                raise
            except Exception as exc:
                raise fail(scope, exc) from exc

        return call2

    def call(scope: Scope) -> Any:
        try:
            return fn(scope.ctx, *[a(scope) for a in args])
        except MappingError:
            raise
        except Exception as exc:
            raise fail(scope, exc) from exc

    return call


def compile_node(node: Node) -> Evaluator:
    if isinstance(node, Literal):
        constant = node.value
        return lambda _scope: constant
    if isinstance(node, Path):
        return _compile_path(node)
    return _compile_call(node)


def walk_nodes(node: Node) -> list[Node]:
    out: list[Node] = []
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        if isinstance(current, Call):
            stack.extend(reversed(current.args))
    return out


def _suggest(word: str, options: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check(node: Node, known: Mapping[str, Collection[str] | None]) -> list[tuple[str, int]]:
    """Problems with a parsed expression: unknown transforms, wrong argument counts,
    unknown fields (for roots whose field list is known), roots not available here."""
    problems: list[tuple[str, int]] = []
    for current in walk_nodes(node):
        if isinstance(current, Call):
            spec = TRANSFORMS.get(current.name)
            if spec is None:
                problems.append(
                    (
                        f"unknown transform '{current.name}'{_suggest(current.name, TRANSFORMS)}",
                        current.pos,
                    )
                )
                continue
            count = len(current.args)
            if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
                wanted = (
                    f"{spec.min_args}"
                    if spec.min_args == spec.max_args
                    else f"{spec.min_args} or more"
                    if spec.max_args is None
                    else f"{spec.min_args} to {spec.max_args}"
                )
                problems.append(
                    (
                        f"transform '{current.name}' takes {wanted} arguments, got {count}",
                        current.pos,
                    )
                )
        elif isinstance(current, Path):
            if current.root not in known:
                problems.append((f"'{current.root}' is not available in this field", current.pos))
                continue
            fields = known[current.root]
            if fields is not None and current.parts and isinstance(current.parts[0], str):
                name = current.parts[0]
                if name not in fields:
                    problems.append(
                        (
                            f"unknown {current.root} field '{name}'{_suggest(name, fields)}",
                            current.pos,
                        )
                    )
    return problems


def desugar(rule: Mapping[str, Any]) -> str:
    """``{"from": ..., "transforms": [{"fn": ..., "args": [...]}]}`` → expression text."""
    parts = [str(rule.get("from") or "null")]
    for step in rule.get("transforms") or []:
        if not isinstance(step, Mapping) or not isinstance(step.get("fn"), str):
            raise ExpressionSyntaxError('each transform is {"fn": name, "args": [...]}', 0)
        args = step.get("args") or []
        rendered = ", ".join(_literal(a) for a in args)
        parts.append(f"{step['fn']}({rendered})" if args else str(step["fn"]))
    return " | ".join(parts)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if text.split(".")[0].split("[")[0] in ROOTS:
        return text  # a field reference
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def compile_expression(
    text: str, known: Mapping[str, Collection[str] | None]
) -> CompiledExpression:
    """Parse, check and compile; raises ``ExpressionSyntaxError`` with the first problem."""
    node = parse(text)
    problems = check(node, known)
    if problems:
        message, pos = problems[0]
        raise ExpressionSyntaxError(message, pos)
    nodes = walk_nodes(node)
    sources = tuple(dict.fromkeys(n.dotted() for n in nodes if isinstance(n, Path)))
    transforms = tuple(dict.fromkeys(n.name for n in reversed(nodes) if isinstance(n, Call)))
    return CompiledExpression(text, compile_node(node), sources, transforms)
