"""Helpers shared by the resource rules: merging a request body into a full record."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from koppel.sandbox.eaccounting import spec
from koppel.sandbox.eaccounting.errors import ApiError, field_error, validation_error

Record = dict[str, Any]


_ID_SOURCE: ContextVar[random.Random | None] = ContextVar("sandbox_id_source", default=None)


def new_id() -> str:
    """A fresh GUID; deterministic inside :func:`seeded_ids` (used while seeding)."""
    source = _ID_SOURCE.get()
    if source is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=source.getrandbits(128), version=4))


@contextmanager
def seeded_ids(source: random.Random) -> Iterator[None]:
    token = _ID_SOURCE.set(source)
    try:
        yield
    finally:
        _ID_SOURCE.reset(token)


def validate_body(schema_name: str, body: Any, *, allow_unknown: bool) -> Record:
    """The body as a dict, or 400 / 2000 naming every offending field (per the official spec)."""
    if not isinstance(body, dict):
        raise validation_error([field_error("", "The request body must be a JSON object.")])
    errors = spec.body_errors(schema_name, body, allow_unknown=allow_unknown)
    if errors:
        raise validation_error(errors)
    return body


def merge(schema_name: str, body: Record) -> Record:
    """Full-replace semantics: every property at its empty value, then the writable ones sent."""
    record = spec.property_defaults(schema_name)
    writable = spec.writable(schema_name)
    for key, value in body.items():
        if key in writable:
            record[key] = value
    return record


def date_text(value: str | None) -> str | None:
    """Date fields ("Expected date format YYYY-MM-DD") printed as midnight UTC date-times."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.strftime("%Y-%m-%dT00:00:00Z")


def today_text(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT00:00:00Z")


def money(value: float) -> float:
    return round(value + 0.0, 2)


def require_ref(store_record: Record | None, field: str, what: str, value: object) -> Record:
    if store_record is None:
        raise validation_error([field_error(field, f"{what} with id {value} does not exist.")])
    return store_record


def conflict(field: str, message: str) -> ApiError:
    return ApiError(400, 4000, message, [field_error(field, message, 4000)])
