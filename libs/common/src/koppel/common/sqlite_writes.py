"""One writer at a time per SQLite file, queued in asyncio instead of in SQLite's busy handler.

SQLite allows one write transaction per file. When dozens of handlers of a service commit at
once, the losers wait in SQLite's busy handler, which *sleeps* (1 ms, growing to 100 ms per
try) in the driver thread instead of waking when the lock is free. Under load commits took
about a second and some hit the busy timeout ("database is locked").

So every write transaction of an engine first takes that engine's ``asyncio.Lock`` (FIFO):

* **when**: at the first INSERT/UPDATE/DELETE/REPLACE/DDL statement of a transaction, in a
  ``before_cursor_execute`` listener. It runs inside SQLAlchemy's greenlet, so it can
  ``await_`` the lock. Reads never take it (WAL readers do not block writers).
* **released**: on the connection's commit or rollback (SQLAlchemy events), and as a safety
  net when the connection goes back to the pool or is invalidated.

Why this cannot deadlock (the reverted commit-level lock could): a connection only writes
after it holds the lock, so whoever holds SQLite's write lock also holds the asyncio lock,
and whoever waits for the asyncio lock holds no SQLite write lock (in the driver's default
mode plain SELECTs run outside a transaction, see ``db.py``). A task that writes on a
second connection of the same file while its first one has an open write transaction would
wait forever; the wait is therefore bounded by the busy timeout and then fails as
"database is locked", exactly as SQLite itself would.

The commit event fires just before the driver's COMMIT, so the next writer may find the file
still locked for that instant; SQLite's busy handler covers that with a 1-2 ms sleep.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_
from sqlalchemy.util.concurrency import in_greenlet

_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)
_HOLDS = "koppel_sqlite_write_lock"


class SQLiteWriteLock:
    """Serialises the write transactions of one SQLite engine (see the module docstring)."""

    def __init__(self, engine: AsyncEngine, timeout: float) -> None:
        self.timeout = timeout
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", self._before_execute)
        event.listen(sync_engine, "commit", self._end)
        event.listen(sync_engine, "rollback", self._end)
        event.listen(sync_engine.pool, "checkin", self._pool_release)
        event.listen(sync_engine.pool, "invalidate", self._pool_release)
        event.listen(sync_engine.pool, "close", self._pool_release)

    @property
    def lock(self) -> asyncio.Lock:
        # One lock per event loop: tests may use one Database from several loops in turn.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    def _before_execute(
        self,
        conn: Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        info = conn.info
        if info.get(_HOLDS) or not _WRITE.match(statement) or not in_greenlet():
            return
        await_(self._acquire())
        info[_HOLDS] = self.lock

    async def _acquire(self) -> None:
        try:
            await asyncio.wait_for(self.lock.acquire(), self.timeout)
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked (write queue)") from None

    def _end(self, conn: Connection) -> None:
        _release(conn.info)

    def _pool_release(self, _dbapi_connection: Any, record: Any, *_args: Any) -> None:
        _release(record.info)


def _release(info: dict[Any, Any]) -> None:
    lock: asyncio.Lock | None = info.pop(_HOLDS, None)
    if lock is not None and lock.locked():
        lock.release()
