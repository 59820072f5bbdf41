"""FoxPro conventions of AccountView: field types, ``{^...}`` literals, value coercion.

AccountView is Visual FoxPro underneath: field types are one-letter codes (C char, M memo,
N numeric, Y currency, B double, I integer, L logical, D date, T datetime), date filter
values are written ``{^2024-01-31}`` / ``{^2024-01-31 13:00:00}``, JSON dates are
``YYYY-MM-DD`` and datetimes ``YYYY-MM-DDTHH:MM:SS`` without a zone, an empty date is ``""``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

FieldType = Literal["C", "M", "N", "Y", "B", "I", "L", "D", "T"]


@dataclass(frozen=True, slots=True)
class AV:
    """Field metadata carried in ``Annotated[...]``: FoxPro type, length, forced uppercase."""

    type: FieldType
    length: int | None = None
    upper: bool = False


def date_literal(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return datetime_literal(value)
    return "{^" + value.isoformat() + "}"


def datetime_literal(value: datetime) -> str:
    if value.tzinfo is not None:
        # AccountView stores local times without a zone; callers pass the administration's
        # local time. An aware value is converted to UTC and the zone dropped.
        value = value.astimezone(UTC).replace(tzinfo=None)
    return "{^" + value.strftime("%Y-%m-%d %H:%M:%S") + "}"


def infer_type(value: Any) -> FieldType:
    if isinstance(value, bool):
        return "L"
    if isinstance(value, int):
        return "I"
    if isinstance(value, float | Decimal):
        return "N"
    if isinstance(value, datetime):
        return "T"
    if isinstance(value, date):
        return "D"
    return "C"


def to_json_value(ftype: FieldType, value: Any) -> Any:
    """The JSON value for a row of a Definition/Rows body (``None`` → the type's empty)."""
    if ftype in ("C", "M"):
        return "" if value is None else str(value)
    if ftype == "L":
        if isinstance(value, str):
            return value.strip().lower() in {"true", "t", "y", "yes", "1", ".t."}
        return bool(value)
    if ftype == "I":
        return 0 if value is None else int(value)
    if ftype in ("N", "Y", "B"):
        if value is None:
            return 0
        number = float(value)
        return int(number) if number.is_integer() and not isinstance(value, float) else number
    if ftype == "D":
        if value is None or value == "":
            return ""
        if isinstance(value, datetime):
            value = value.date()
        return value.isoformat() if isinstance(value, date) else str(value)
    if ftype == "T":
        if value is None or value == "":
            return ""
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            return value.strftime("%Y-%m-%dT%H:%M:%S")
        if isinstance(value, date):
            return value.isoformat() + "T00:00:00"
        return str(value)
    return value


def empty_to_none(value: Any) -> Any:
    """An empty FoxPro date/datetime arrives as ``""``."""
    if isinstance(value, str) and not value.strip():
        return None
    return value
