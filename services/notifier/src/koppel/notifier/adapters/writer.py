"""Batch writer of activity entries.

Recording must never become the flows' bottleneck, yet an event may be acknowledged only once
its entry is stored. So each handler call hands its row to this writer and awaits the flush
of the batch that holds it: with a few hundred deliveries in flight (prefetch), one INSERT
stores hundreds of entries, and every acknowledgement still follows a commit.
Duplicates (a redelivered event) are dropped by the unique ``message_id`` (ON CONFLICT DO
NOTHING), so no inbox row per message is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from koppel.common.db import Database
from koppel.common.errors import TransientError
from koppel.notifier.models import ActivityEntry

log = logging.getLogger(__name__)


class ActivityWriter:
    def __init__(
        self, database: Database, *, max_batch: int = 500, max_delay: float = 0.05
    ) -> None:
        self.database = database
        self.max_batch = max_batch
        self.max_delay = max_delay
        self._rows: list[dict[str, Any]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.written = 0

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="activity-writer")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if self._rows:  # flush what handlers are still waiting for
            await self._flush()

    async def record(self, row: dict[str, Any]) -> None:
        """Store ``row`` (columns of ``ActivityEntry``); returns once it is committed."""
        if self._task is None:
            await self.start()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._rows.append(row)
        self._waiters.append(future)
        if len(self._rows) >= self.max_batch:
            self._wakeup.set()
        await future

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.max_delay)
            self._wakeup.clear()
            if self._rows:
                await self._flush()

    async def _flush(self) -> None:
        rows, waiters = self._rows, self._waiters
        self._rows, self._waiters = [], []
        try:
            for start in range(0, len(rows), self.max_batch):
                await self._insert(rows[start : start + self.max_batch])
        except Exception as exc:  # every waiter fails; the bus retries their messages
            log.warning("activity batch of %d rows failed: %s", len(rows), exc)
            error = TransientError(f"activity log write failed: {exc}", reason_code="db_error")
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)
            return
        self.written += len(rows)
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        table = ActivityEntry.__table__  # type: ignore[attr-defined]
        if self.database.dialect == "postgresql":
            statement: Any = pg_insert(table).on_conflict_do_nothing(index_elements=["message_id"])
        elif self.database.dialect == "sqlite":
            statement = sqlite_insert(table).on_conflict_do_nothing(index_elements=["message_id"])
        else:
            statement = insert(table)
        async with self.database.engine.begin() as conn:
            await conn.execute(statement, rows)
