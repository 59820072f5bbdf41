"""OData ``$filter`` building for eAccounting (property names PascalCase, as in JSON).

Literals follow OData v4 as the API expects them: strings in single quotes with quotes
doubled, date-times bare ISO 8601 in UTC (``ChangedUtc gt 2024-05-01T10:00:00Z``), GUIDs
and numbers bare, booleans ``true``/``false``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from enum import Enum
from uuid import UUID


def literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return literal(value.value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return "null"
    return "'" + str(value).replace("'", "''") + "'"


def eq(field: str, value: object) -> str:
    return f"{field} eq {literal(value)}"


def gt(field: str, value: object) -> str:
    return f"{field} gt {literal(value)}"


def ge(field: str, value: object) -> str:
    return f"{field} ge {literal(value)}"


def and_(*clauses: str | None) -> str | None:
    parts = [c for c in clauses if c]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else " and ".join(f"({c})" for c in parts)


def or_(*clauses: str | None) -> str | None:
    parts = [c for c in clauses if c]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else " or ".join(f"({c})" for c in parts)


def in_(field: str, values: Iterable[object]) -> str | None:
    """``field`` equal to any of ``values``, as an ``or`` chain (widest OData support)."""
    return or_(*(eq(field, v) for v in values))


def any_eq(collection: str, field: str, value: object) -> str:
    """A lambda over a collection property, e.g. ``Barcodes/any(b: b/Barcode eq '871')``."""
    return f"{collection}/any(x: x/{field} eq {literal(value)})"
