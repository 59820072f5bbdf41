"""The durable side of the embedded broker: a SQLite journal of every queued message.

DESIGN.md section 1: embedded mode is not a toy, so a killed ``koppel up`` must lose nothing.
``InMemoryBroker`` keeps serving from memory; the journal only records what a broker would
keep on disk:

* ``messages``: one row per (queue, message) from the moment a publish is confirmed until
  its delivery is acknowledged (deleted), with the retry-path ``attempt`` and, for a delayed
  retry, ``available_at`` (epoch seconds: the event loop's clock does not survive a restart);
* ``parked``: dead letters, kept (as a parking queue would keep them).

Writes are group-committed: operations queue up in memory and one writer drains them in a
single transaction on a dedicated thread; whatever arrives while that transaction commits
goes into the next one. A publish waits for the commit holding its rows (the "publisher
confirm"); acks, retries and parking do not wait: losing one to a crash only means the
message is delivered again, which the consumers' inbox absorbs (at-least-once).

WAL with ``synchronous=NORMAL``, as the services' own SQLite files: a commit survives a
killed process (it is in the WAL, handed to the OS); only a power cut may lose the last ones.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from koppel.common.bus.handling import ParkedMessage
from koppel.common.errors import TransientError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    routing_key TEXT NOT NULL,
    body BLOB NOT NULL,
    headers TEXT NOT NULL,
    message_id TEXT,
    attempt INTEGER NOT NULL,
    available_at REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS parked (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL,
    queue TEXT NOT NULL,
    routing_key TEXT NOT NULL,
    message_id TEXT,
    reason_code TEXT NOT NULL,
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    body BLOB NOT NULL,
    headers TEXT NOT NULL
);
"""
_INSERT = (
    "INSERT INTO messages (id, queue, routing_key, body, headers, message_id, attempt)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_DELETE = "DELETE FROM messages WHERE id = ?"
_RETRY = "UPDATE messages SET attempt = ?, headers = ?, available_at = ? WHERE id = ?"
_PARK = (
    "INSERT INTO parked (service, queue, routing_key, message_id, reason_code, reason,"
    " attempts, body, headers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

Op = tuple[str, tuple[Any, ...]]


@dataclass(frozen=True)
class JournalRow:
    """An unacknowledged message as found in the journal at start."""

    id: int
    queue: str
    routing_key: str
    body: bytes
    headers: dict[str, str]
    message_id: str | None
    attempt: int
    available_at: float  # epoch seconds; 0 = ready now


@dataclass(frozen=True)
class Recovered:
    messages: list[JournalRow]
    parked: list[ParkedMessage]


class Journal:
    """Group-committing SQLite journal (see the module docstring). One per broker."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # One thread owns the connection: statements run in order, never in parallel.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bus-journal")
        self._connection: sqlite3.Connection | None = None
        self._pending: list[Op] = []
        self._committed: asyncio.Future[None] | None = None  # resolves with the pending batch
        self._writer: asyncio.Task[None] | None = None
        self._next_id = 1
        self._abandoned = False
        self._closed = False
        self.commits = 0  # transactions written (the benchmark shows the batching)

    # -- life cycle -------------------------------------------------------------------------

    async def open(self) -> Recovered:
        """Open (creating) the file; return what the last process left unacknowledged."""
        loop = asyncio.get_running_loop()
        if self._closed:  # opened again after close(): a new thread
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bus-journal")
            self._closed = self._abandoned = False
        recovered = await loop.run_in_executor(self._executor, self._open)
        self._next_id = max((row.id for row in recovered.messages), default=0) + 1
        return recovered

    async def close(self) -> None:
        """Write what is pending, then close the file."""
        try:
            await self.flush()
        except TransientError:
            pass  # logged by the writer; what it could not write is delivered again
        if self._connection is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)
        self._closed = True

    def abandon(self) -> None:
        """Test hook simulating a killed process: drop the operations not yet written and
        close the file without a word (an open transaction is rolled back by SQLite). The
        old broker's later operations are ignored and its publishes never confirmed."""
        self._abandoned = True
        self._pending.clear()
        if self._writer is not None:
            self._writer.cancel()
        if self._connection is not None:
            self._executor.submit(self._close).result()
        self._executor.shutdown(wait=True)
        self._closed = True

    # -- operations -------------------------------------------------------------------------

    def new_id(self) -> int:
        """Row ids are handed out here, so enqueueing never waits for SQLite."""
        self._next_id += 1
        return self._next_id - 1

    def insert(
        self,
        rows: Sequence[tuple[int, str, str, bytes, dict[str, str], str | None, int]],
    ) -> asyncio.Future[None]:
        """Queue rows (id, queue, key, body, headers, message_id, attempt); the future
        resolves once they are committed."""
        for jid, queue, key, body, headers, message_id, attempt in rows:
            self._add((_INSERT, (jid, queue, key, body, json.dumps(headers), message_id, attempt)))
        return self._batch()

    def delete(self, jid: int) -> None:
        self._add((_DELETE, (jid,)))

    def retry(self, jid: int, attempt: int, headers: dict[str, str], delay: float) -> None:
        self._add((_RETRY, (attempt, json.dumps(headers), time.time() + delay, jid)))

    def park(self, jid: int | None, message: ParkedMessage) -> None:
        """Move a message to the parked table (one transaction: both ops join one batch)."""
        m = message
        self._add(
            (
                _PARK,
                (
                    m.service, m.queue, m.routing_key, m.message_id, m.reason_code, m.reason,
                    m.attempts, m.body, json.dumps(m.headers),
                ),
            )
        )  # fmt: skip
        if jid is not None:
            self.delete(jid)

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        if self._pending or self._writer is not None:
            await asyncio.shield(self._batch())

    # -- the writer -------------------------------------------------------------------------

    def _add(self, op: Op) -> None:
        if self._abandoned:
            return
        self._pending.append(op)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    def _batch(self) -> asyncio.Future[None]:
        if self._committed is None:
            self._committed = asyncio.get_running_loop().create_future()
        return self._committed

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                ops, self._pending = self._pending, []
                committed, self._committed = self._committed, None
                try:
                    await loop.run_in_executor(self._executor, self._apply, ops)
                except Exception as exc:
                    log.exception("bus journal write failed (%d operations)", len(ops))
                    error = TransientError(
                        f"bus journal write failed: {exc}", reason_code="bus_journal"
                    )
                    if committed is not None and not committed.done():
                        committed.set_exception(error)
                        committed.exception()  # fire-and-forget callers never look
                    continue
                self.commits += 1
                if committed is not None and not committed.done():
                    committed.set_result(None)
        finally:
            self._writer = None
            if self._committed is not None and not self._pending:
                # Someone asked for a batch (flush) while nothing was left: it is written.
                if not self._committed.done():
                    self._committed.set_result(None)
                self._committed = None

    # -- on the journal's thread ------------------------------------------------------------

    def _open(self) -> Recovered:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(_SCHEMA)
        self._connection = connection
        messages = [
            JournalRow(
                id=row[0],
                queue=row[1],
                routing_key=row[2],
                body=bytes(row[3]),
                headers=json.loads(row[4]),
                message_id=row[5],
                attempt=row[6],
                available_at=row[7],
            )
            for row in connection.execute(
                "SELECT id, queue, routing_key, body, headers, message_id, attempt,"
                " available_at FROM messages ORDER BY id"
            )
        ]
        parked = [
            ParkedMessage(
                service=row[0],
                queue=row[1],
                routing_key=row[2],
                message_id=row[3],
                reason_code=row[4],
                reason=row[5],
                attempts=row[6],
                body=bytes(row[7]),
                headers=json.loads(row[8]),
            )
            for row in connection.execute(
                "SELECT service, queue, routing_key, message_id, reason_code, reason, attempts,"
                " body, headers FROM parked ORDER BY id"
            )
        ]
        return Recovered(messages, parked)

    def _apply(self, ops: list[Op]) -> None:
        connection = self._connection
        if connection is None:
            raise RuntimeError("the bus journal is not open")
        connection.execute("BEGIN")
        try:
            # Runs of the same statement go through executemany (one prepared statement).
            start = 0
            while start < len(ops):
                sql = ops[start][0]
                end = start + 1
                while end < len(ops) and ops[end][0] == sql:
                    end += 1
                connection.executemany(sql, [params for _, params in ops[start:end]])
                start = end
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
