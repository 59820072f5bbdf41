"""Pure helpers that turn API answers into what a template shows (no I/O)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_ROWS = 400  # a payload flattened beyond this is cut (pages stay small)


@dataclass(frozen=True)
class Row:
    path: str
    value: str
    only_here: bool


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """``{"a": {"b": [1]}}`` → ``[("a.b[0]", "1")]``; scalars rendered as JSON text."""
    out: list[tuple[str, str]] = []

    def walk(node: Any, path: str) -> None:
        if len(out) >= MAX_ROWS:
            return
        if isinstance(node, dict):
            if not node:
                out.append((path or "·", "{}"))
            for key, child in node.items():
                walk(child, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            if not node:
                out.append((path or "·", "[]"))
            for i, child in enumerate(node):
                walk(child, f"{path}[{i}]")
        else:
            text = node if isinstance(node, str) else json.dumps(node)
            out.append((path or "·", text))

    walk(value, prefix)
    return out


def _norm(text: str) -> str:
    return text.strip().strip('"').lower()


def side_by_side(source: Any, target: Any) -> tuple[list[Row], list[Row]]:
    """Both payloads flattened; a row is marked when its value is nowhere on the other side.

    The two systems name their fields differently, so values (not paths) are compared: an
    unmarked row was carried over, a marked one was added, transformed or dropped.
    """
    left = flatten(source) if source is not None else []
    right = flatten(target) if target is not None else []
    left_values = {_norm(v) for _, v in left}
    right_values = {_norm(v) for _, v in right}
    return (
        [Row(p, v, _norm(v) not in right_values) for p, v in left],
        [Row(p, v, _norm(v) not in left_values) for p, v in right],
    )


def journey_payloads(entries: list[dict[str, Any]]) -> tuple[Any, Any]:
    """The first payload read from the source and the last one pushed (or to be pushed)."""
    source = next((e.get("source") for e in entries if e.get("source") is not None), None)
    target = next((e.get("target") for e in reversed(entries) if e.get("target") is not None), None)
    return source, target


def records_per_day(runs: list[dict[str, Any]], days: int = 7) -> list[tuple[str, int, int]]:
    """(day, synced, failed) of the last ``days`` days that had runs, newest first."""
    synced: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for run in runs:
        if run.get("dry_run"):
            continue
        day = str(run.get("started_at", ""))[:10]
        counts = run.get("counts") or {}
        synced[day] += int(counts.get("synced") or 0)
        failed[day] += int(counts.get("failed") or 0)
    ordered = sorted(set(synced) | set(failed), reverse=True)[:days]
    return [(d, synced[d], failed[d]) for d in ordered]


def when(value: Any) -> str:
    """ISO timestamps as ``2024-05-01 14:03`` (UTC), for tables."""
    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


def value_map_hint(reason: str | None) -> str | None:
    """The value map a failure sentence asks to fill in (``... add it to value map 'x'``)."""
    if not reason:
        return None
    marker = "value map '"
    start = reason.rfind(marker)
    if start < 0:
        return None
    rest = reason[start + len(marker) :]
    name = rest.split("'", 1)[0]
    return name if name.replace("_", "").isalnum() else None


def value_map_fix(failed: dict[str, Any] | None) -> tuple[str, str] | None:
    """(map name, missing key) for the editor link of an ``unmapped_value`` failure.

    The mapper's failure details carry ``map_name`` and ``value`` (its ``UnmappedValue``);
    an older entry without them falls back to the map named in the reason sentence, with no
    key (nothing is parsed out of the sentence but the map's name).
    """
    if not failed or failed.get("reason_code") != "unmapped_value":
        return None
    raw = failed.get("details")
    details: dict[str, Any] = raw if isinstance(raw, dict) else {}
    name = str(details.get("map_name") or "") or value_map_hint(failed.get("reason")) or ""
    if not name.replace("_", "").isalnum():
        return None
    return name, str(details.get("value") or "")


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
