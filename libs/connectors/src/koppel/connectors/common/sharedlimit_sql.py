"""``TokenStore`` in a SQL table (PostgreSQL for replicas; SQLite works, for one host).

The table belongs to the service that uses it (its migrations create it), with the columns
``bucket`` (string, part of the key), ``slot`` (integer, part of the key), ``ready_at``
(double) and ``holder`` (string, null). See ``sharedlimit`` for the rule. Every operation is
one autocommitted statement (no BEGIN/COMMIT round trips); the time is PostgreSQL's
``clock_timestamp()``, or this host's clock on SQLite, in seconds times ``speed``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class SqlTokenStore:
    def __init__(self, engine: AsyncEngine, *, table: str, speed: float = 1.0) -> None:
        if not _NAME.match(table):
            raise ValueError(f"invalid table name {table!r}")
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.postgres = engine.dialect.name == "postgresql"
        self.speed = speed
        self._ready: set[tuple[str, int]] = set()  # (bucket, limit) whose rows exist
        t = table
        if self.postgres:
            now = "extract(epoch FROM clock_timestamp())::float8 * :speed"
            self._take = f"""
                WITH now AS MATERIALIZED (SELECT {now} AS t),
                picked AS (
                    SELECT tok.slot FROM {t} tok, now
                    WHERE tok.bucket = :bucket AND tok.slot < :limit AND tok.ready_at <= now.t
                    LIMIT :count
                    FOR UPDATE OF tok SKIP LOCKED
                )
                UPDATE {t} SET ready_at = (SELECT t FROM now) + :hold, holder = :holder
                FROM picked WHERE {t}.bucket = :bucket AND {t}.slot = picked.slot
                RETURNING {t}.slot"""
            self._pause = f"""UPDATE {t} SET ready_at = GREATEST(ready_at, {now} + :seconds)
                WHERE bucket = :bucket"""
        else:
            now = ":now"
            self._take = f"""
                UPDATE {t} SET ready_at = :now + :hold, holder = :holder
                WHERE bucket = :bucket AND slot IN (
                    SELECT slot FROM {t} WHERE bucket = :bucket AND slot < :limit
                    AND ready_at <= :now LIMIT :count)
                RETURNING slot"""
            self._pause = f"""UPDATE {t} SET ready_at = max(ready_at, {now} + :seconds)
                WHERE bucket = :bucket"""
        self._hint = f"""SELECT min(ready_at) - {now} FROM {t}
            WHERE bucket = :bucket AND slot < :limit"""
        self._give_back = f"""UPDATE {t} SET ready_at = {now} + :after, holder = NULL
            WHERE bucket = :bucket AND slot = :slot AND holder = :holder"""
        self._ensure = f"""
            WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < :limit)
            INSERT INTO {t} (bucket, slot, ready_at) SELECT :bucket, n, 0 FROM s WHERE true
            ON CONFLICT DO NOTHING"""

    def _params(self, **values: Any) -> dict[str, Any]:
        clock = {"speed": self.speed} if self.postgres else {"now": time.time() * self.speed}
        return {**values, **clock}

    async def _ensure_rows(self, bucket: str, limit: int) -> None:
        if (bucket, limit) in self._ready:
            return
        async with self.engine.connect() as conn:
            await conn.execute(text(self._ensure), {"bucket": bucket, "limit": limit})
        self._ready.add((bucket, limit))

    async def take(self, key: str, limit: int, count: int, hold: float) -> tuple[str, list[int]]:
        await self._ensure_rows(key, limit)
        holder = uuid.uuid4().hex[:16]
        params = self._params(bucket=key, limit=limit, count=count, hold=hold, holder=holder)
        async with self.engine.connect() as conn:
            rows = await conn.execute(text(self._take), params)
            return holder, [int(row[0]) for row in rows]

    async def wait_hint(self, key: str, limit: int) -> float:
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(text(self._hint), self._params(bucket=key, limit=limit))
            ).scalar()
        return max(0.0, float(value)) if value is not None else 0.0

    async def give_back(
        self,
        key: str,
        used: Sequence[tuple[int, str]],
        unused: Sequence[tuple[int, str]],
        window: float,
    ) -> None:
        rows = [
            self._params(bucket=key, slot=slot, holder=holder, after=after)
            for tokens, after in ((used, window), (unused, 0.0))
            for slot, holder in tokens
        ]
        if rows:
            async with self.engine.connect() as conn:
                await conn.execute(text(self._give_back), rows)

    async def pause(self, key: str, seconds: float) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text(self._pause), self._params(bucket=key, seconds=seconds))
