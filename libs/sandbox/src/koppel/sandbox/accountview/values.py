"""Values by FoxPro field type: coercion of written values, JSON rendering, literals."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from koppel.sandbox.accountview.errors import AccountViewError
from koppel.sandbox.accountview.schema import Field

Value = str | int | float | bool | date | datetime | None

_TRUE = {"true", "t", "1", "y", "yes", ".t."}
_FALSE = {"false", "f", "0", "n", "no", ".f.", ""}
_FOX_LITERAL = re.compile(r"^\{\^?\s*(.*?)\s*\}$")


def parse_date(text: str) -> date | None:
    """ISO date or datetime text (or a FoxPro ``{^...}`` literal) to a date; '' is empty."""
    dt = parse_datetime(text)
    return None if dt is None else dt.date()


def parse_datetime(text: str) -> datetime | None:
    s = text.strip()
    m = _FOX_LITERAL.match(s)
    if m:
        s = m.group(1).strip()
    if not s:
        return None
    s = s.replace(" ", "T", 1) if "T" not in s and " " in s else s
    if s.endswith("Z"):
        s = s[:-1]
    dt = datetime.fromisoformat(s)
    # AccountView datetimes carry no zone; a zone sent by a client is dropped, not converted.
    return dt.replace(tzinfo=None)


def coerce(f: Field, raw: Any) -> Value:
    """Coerce a written value to the field's type; raise AccountViewError when it cannot."""
    try:
        return _coerce(f, raw)
    except (ValueError, TypeError) as exc:
        raise AccountViewError(
            f"Ongeldige waarde {raw!r} voor veld {f.name} (type {f.type})"
        ) from exc


def _coerce(f: Field, raw: Any) -> Value:
    t = f.type
    if raw is None:
        return None if t in "DT" else default_for(f)
    if t in "CM":
        text = str(raw).rstrip()
        return text.upper() if f.upper else text
    if t == "L":
        if isinstance(raw, bool):
            return raw
        s = str(raw).strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise ValueError(raw)
    if t == "I":
        if isinstance(raw, bool):
            raise TypeError(raw)
        if isinstance(raw, str):
            s = raw.strip()
            return 0 if not s else int(float(s)) if float(s).is_integer() else int(s)
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError(raw)
        return int(raw)
    if t in "NYB":
        if isinstance(raw, bool):
            raise TypeError(raw)
        s = str(raw).strip().replace(",", ".") if isinstance(raw, str) else raw
        num = float(s) if s != "" else 0.0
        return round(num, f.decimals) if f.decimals else num
    if t == "D":
        if isinstance(raw, datetime):
            return raw.date()
        return parse_date(str(raw))
    if t == "T":
        return parse_datetime(str(raw))
    raise TypeError(t)


def default_for(f: Field) -> Value:
    if f.type in "CM":
        return ""
    if f.type == "L":
        return False
    if f.type == "I":
        return 0
    if f.type in "NYB":
        return 0.0
    return None


def to_json(f: Field, value: Value, pad: bool = False) -> Any:
    """Render a stored value as AccountView does (notes section 4: value types in JSON)."""
    t = f.type
    if t in "CM":
        text = "" if value is None else str(value)
        return text.ljust(f.length) if pad and t == "C" and f.length else text
    if t in "DT":
        if value is None:
            return ""
        if t == "D":
            d = value.date() if isinstance(value, datetime) else value
            assert isinstance(d, date)
            return d.isoformat()
        assert isinstance(value, datetime)
        return value.replace(microsecond=0).isoformat()
    if t == "I":
        return int(value) if isinstance(value, int | float) else 0
    if t in "NYB":
        num = float(value) if isinstance(value, int | float) else 0.0
        return int(num) if num.is_integer() and f.decimals == 0 else num
    return bool(value)


def is_empty(value: Value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")
