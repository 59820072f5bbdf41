"""Cursor pagination: a cursor is the (timestamp, id) of the last row of the previous page.

Keyset paging stays correct while rows are added, and an opaque cursor lets us change the
sort key later without breaking clients.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from koppel.gateway.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 200


def encode_cursor(at: datetime, row_id: str) -> str:
    raw = json.dumps([at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(at), str(row_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise InvalidInput("cursor is not a cursor this API handed out", field="cursor") from None


async def keyset_page(
    session: AsyncSession,
    stmt: sa.Select[Any],
    *,
    at_column: Any,
    id_column: Any,
    cursor: str | None,
    limit: int,
    descending: bool,
) -> tuple[list[Any], str | None]:
    """One page of ``stmt`` (a select of one entity) and the cursor of the next page."""
    if cursor is not None:
        at, row_id = decode_cursor(cursor)
        if descending:
            stmt = stmt.where(sa.or_(at_column < at, sa.and_(at_column == at, id_column < row_id)))
        else:
            stmt = stmt.where(sa.or_(at_column > at, sa.and_(at_column == at, id_column > row_id)))
    order = (
        (at_column.desc(), id_column.desc()) if descending else (at_column.asc(), id_column.asc())
    )
    rows = list((await session.execute(stmt.order_by(*order).limit(limit + 1))).scalars())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor(getattr(last, at_column.key), getattr(last, id_column.key))
