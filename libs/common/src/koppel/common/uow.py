"""The unit of work: one handler's reads, state changes, outgoing messages and inbox row.

Why writes are buffered until ``commit()``: SQLite allows one writer per file, and handlers
call external APIs that take seconds. A transaction held open across such a call would stall
every other handler of the service (SQLite) or pin a pooled connection "idle in transaction"
(PostgreSQL). So:

* ``session`` has autoflush off: ``add()`` and changes to loaded objects stay in memory, and
  ``publish()`` only appends to a list. Nothing is written before ``commit()``.
* ``commit()`` writes state, outbox rows and the inbox row in **one short write
  transaction**, then wakes the relay.
* Reads that come *before a slow call* go through ``async with uow.read() as s:``, a
  separate session whose transaction ends with the block, so no transaction is open while
  the handler waits on the API. Objects read there stay usable (detached, fully loaded);
  ``uow.add(obj)`` attaches one again to write it back.
* Reads through ``uow.session`` itself are fine right before writing: on SQLite they take no
  lock (the write transaction begins at the first INSERT/UPDATE, see ``db.py``); on
  PostgreSQL they open the transaction that ``commit()`` ends.

The typical handler::

    async def handle_order_mapped(message: OrderMapped, uow: UnitOfWork) -> None:
        async with uow.read() as s:                       # short read
            link = await s.get(OrderLink, key)
        if link is None:
            created = await accountview.create_order(...)  # seconds, no transaction open
            uow.add(OrderLink(...))                        # buffered
        uow.publish(message.follow_up(OrderSynced, ...))   # buffered, same transaction
        # the runtime commits: link + outbox row + inbox row, atomically

A state change that must read and write atomically (a counter, a cursor compared and moved)
does its read through ``uow.session`` with ``with_for_update()`` right before commit.
Exiting the ``async with`` without ``commit()``, or with an exception, discards everything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from koppel.common.db import Database
from koppel.common.inbox import INSERT_ENTRY, is_processed_on
from koppel.common.messages import Message, utcnow
from koppel.common.outbox import INSERT_ROWS, remember_committed, row_values
from koppel.common.telemetry import with_current_trace


class UnitOfWork:
    """See the module docstring. ``message`` and ``handler`` (both or neither) make the
    commit record the inbox row ``(handler, message.message_id)``."""

    def __init__(
        self,
        database: Database,
        *,
        message: Message | None = None,
        handler: str | None = None,
        on_commit: Callable[[], None] | None = None,
        context: Any = None,
    ) -> None:
        self.database = database
        self.message = message
        self.handler = handler
        # The ServiceContext when run by the runtime, so handlers reach service dependencies.
        self.context = context
        self._on_commit = on_commit
        self._session: AsyncSession | None = None
        self._pending: list[Message] = []
        self._inbox_recorded = False
        self.published: list[Message] = []  # messages committed to the outbox so far
        self.committed = False

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> AsyncSession:
        """The write session (autoflush off): changes reach the database at ``commit()``."""
        if self._session is None:
            self._session = self.database.session()
        return self._session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short read-only session; its transaction ends when the block exits."""
        async with self.database.read_session() as session:
            try:
                yield session
            finally:
                await session.rollback()

    def add(self, *objects: Any) -> None:
        """Stage rows to insert or update at commit (also re-attaches objects from ``read()``)."""
        self.session.add_all(objects)

    def publish(self, *messages: Message) -> None:
        """Stage messages for the outbox; they are written by ``commit()`` in the same
        transaction as the state change, stamped with the current traceparent."""
        for message in messages:
            if not isinstance(message, Message):
                raise TypeError(f"publish() takes messages, not {type(message).__name__}")
            self._pending.append(with_current_trace(message))

    @property
    def pending(self) -> list[Message]:
        """Messages staged and not committed yet."""
        return list(self._pending)

    async def already_processed(self) -> bool:
        """True when the inbox says this handler already handled this message."""
        if self.message is None or self.handler is None:
            return False
        return await is_processed_on(
            self.database.read_engine, self.handler, self.message.message_id
        )

    async def commit(self) -> None:
        """Write everything staged in one transaction. May be called more than once.

        The inbox and outbox rows go in as Core inserts (one statement for all outbox rows)
        inside the session's transaction, before the ORM flushes the state changes: the same
        rows and the same atomicity, without building and tracking an ORM object per row.
        A duplicate inbox row raises ``IntegrityError`` here, as the flush did before.
        """
        records_inbox = self.message is not None and self.handler is not None
        if self._session is None and not self._pending and not records_inbox:
            # Nothing was staged or written (an inbox-less consumer that wrote elsewhere, as
            # the notifier's batched activity log does): no session, no empty transaction.
            self.committed = True
            return
        session = self.session
        if records_inbox and self.message is not None and not self._inbox_recorded:
            await session.execute(
                INSERT_ENTRY,
                {
                    "handler": self.handler,
                    "message_id": self.message.message_id,
                    "processed_at": utcnow(),
                },
            )
        pending = list(self._pending)
        if pending:
            await session.execute(INSERT_ROWS, [row_values(message) for message in pending])
        await session.commit()
        self._inbox_recorded = self._inbox_recorded or self.handler is not None
        self.published.extend(pending)
        self._pending.clear()
        self.committed = True
        if pending:
            remember_committed(pending)
            if self._on_commit is not None:
                self._on_commit()

    async def rollback(self) -> None:
        """Discard staged messages and uncommitted changes."""
        self._pending.clear()
        if self._session is not None:
            await self._session.rollback()
