"""The transactional outbox and its relay (DESIGN.md section 4).

A handler's events are rows of its service's ``outbox`` table, inserted by
``UnitOfWork.commit`` in the same transaction as its state change. ``OutboxRelay`` then
publishes pending rows through ``MessageBus.publish`` (which returns only once the
transport confirmed them) and marks them published. A crash between commit and publish
loses nothing: the next relay to start finds the rows still pending. A crash between
publish and marking publishes them again, which consumers absorb through their inbox.

Claiming rows:

* **PostgreSQL**: ``SELECT ... FOR UPDATE SKIP LOCKED`` in the transaction that publishes
  and marks the batch, so relays of several replicas take disjoint batches and never
  publish the same row twice in normal operation.
* **SQLite**: rows are read without a lock and marked in a short write transaction after
  publishing, so the single write lock is never held while waiting for the bus. This
  assumes one relay per SQLite file, which is what the embedded mode runs (one process,
  one runtime per service, one file per service).

The relay wakes right after a commit (``wake()``, an ``asyncio.Event``) and also polls every
``poll_interval`` seconds as a fallback (rows written by another replica, a missed wake, a
failed publish to retry). Published rows are purged after ``retention``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, SQLModel, col

from koppel.common import metrics
from koppel.common.bus.base import MessageBus
from koppel.common.db import Database
from koppel.common.errors import MalformedMessage
from koppel.common.inbox import purge_inbox
from koppel.common.messages import Message, encode_message, parse_message, utcnow

log = logging.getLogger(__name__)

# BIGINT on PostgreSQL; SQLite autoincrements only an INTEGER primary key (the rowid).
_ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index(
            "ix_outbox_pending",
            "id",
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        ),
        sa.Index("ix_outbox_published_at", "published_at"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(_ID_TYPE, primary_key=True))
    message_id: UUID = Field(index=True)
    routing_key: str = Field(max_length=255)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    headers: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )
    published_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True)
    )
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)

    @classmethod
    def from_message(cls, message: Message) -> OutboxMessage:
        return cls(**row_values(message))


def row_values(message: Message) -> dict[str, Any]:
    """The column values of ``message``'s outbox row (for a Core insert, no ORM object)."""
    headers: dict[str, Any] = {
        "message_id": str(message.message_id),
        "tenant_id": message.tenant_id,
        "correlation_id": str(message.correlation_id),
    }
    if message.traceparent:
        headers["traceparent"] = message.traceparent
    return {
        "message_id": message.message_id,
        "routing_key": message.routing_key(),
        "body": encode_message(message).decode(),
        "headers": headers,
        "created_at": utcnow(),
        "attempts": 0,
    }


INSERT_ROWS = OutboxMessage.__table__.insert()  # type: ignore[attr-defined]

# Messages committed to an outbox of this process and not yet published, by message id:
# the relay publishes these objects instead of parsing the rows' JSON back into the very
# same messages (a pydantic validation per message). Bounded: a relay far behind (or one in
# another process) finds nothing here and parses, exactly as before.
_COMMITTED: OrderedDict[UUID, Message] = OrderedDict()
COMMITTED_LIMIT = 20_000


def remember_committed(messages: Sequence[Message]) -> None:
    for message in messages:
        _COMMITTED[message.message_id] = message
    while len(_COMMITTED) > COMMITTED_LIMIT:
        _COMMITTED.popitem(last=False)


_PENDING = col(OutboxMessage.published_at).is_(None)
_ID = col(OutboxMessage.id)


class OutboxRelay:
    """Publishes one service's outbox. ``start()`` runs it in the background; tests may call
    ``publish_pending()`` directly instead."""

    def __init__(
        self,
        database: Database,
        bus: MessageBus,
        *,
        service: str | None = None,
        batch_size: int = 100,
        poll_interval: float = 1.0,
        retention: timedelta = timedelta(days=1),
        inbox_retention: timedelta = timedelta(days=14),
        purge_every: float = 300.0,
    ) -> None:
        self.database = database
        self.bus = bus
        self.service = service or database.service
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.retention = retention
        self.inbox_retention = inbox_retention
        self.purge_every = purge_every
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._published = metrics.RELAY_PUBLISHED.labels(self.service)

    def wake(self) -> None:
        """Ask for a pass now (called after every commit that wrote outbox rows)."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.service}")

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the current pass (up to ``timeout``) and stop. Rows still pending stay in
        the outbox for the next start."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self.poll_interval
        next_purge = loop.time() + self.purge_every
        next_count = loop.time()
        while not self._stopping:
            self._wake.clear()
            try:
                await self.publish_pending()
                delay = self.poll_interval
                if loop.time() >= next_purge:
                    next_purge = loop.time() + self.purge_every
                    await self.purge()
                # The gauge is refreshed once per poll interval, not after every pass: a
                # relay woken by each commit would otherwise double its queries for a metric.
                if loop.time() >= next_count:
                    next_count = loop.time() + self.poll_interval
                    metrics.OUTBOX_PENDING.labels(self.service).set(await self.pending_count())
            except Exception:
                # The bus or the database is down: keep the rows, back off, try again.
                metrics.RELAY_ERRORS.labels(self.service).inc()
                log.warning("outbox relay pass failed", exc_info=True)
                delay = min(delay * 2, max(30.0, self.poll_interval))
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def publish_pending(self) -> int:
        """Publish batches until the outbox is empty; returns how many rows were published."""
        total = 0
        while True:
            published = await self.run_once()
            total += published
            if published < self.batch_size:
                return total

    async def run_once(self) -> int:
        """Publish at most one batch; returns its size."""
        if self.database.is_postgres:
            return await self._claim_and_publish()
        return await self._read_and_publish()

    async def _claim_and_publish(self) -> int:
        async with self.database.session() as session, session.begin():
            query = (
                sa.select(OutboxMessage)
                .where(_PENDING)
                .order_by(_ID)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            )
            rows = list((await session.execute(query)).scalars())
            if not rows:
                return 0
            error = await self._publish(rows)
            await session.execute(_mark(rows, error))
        if error is not None:
            raise error
        self._published.inc(len(rows))
        return len(rows)

    async def _read_and_publish(self) -> int:
        async with self.database.session() as session:
            query = sa.select(OutboxMessage).where(_PENDING).order_by(_ID).limit(self.batch_size)
            rows = list((await session.execute(query)).scalars())
        if not rows:
            return 0
        error = await self._publish(rows)
        async with self.database.session() as session, session.begin():
            await session.execute(_mark(rows, error))
        if error is not None:
            raise error
        self._published.inc(len(rows))
        return len(rows)

    async def _publish(self, rows: Sequence[OutboxMessage]) -> Exception | None:
        """Publish ``rows``; returns the error instead of raising so the caller records it."""
        typed: list[Message] = []
        raw: list[OutboxMessage] = []
        for row in rows:
            known = _COMMITTED.pop(row.message_id, None)
            if known is not None and known.routing_key() == row.routing_key:
                typed.append(known)
                continue
            try:
                typed.append(parse_message(row.routing_key, row.body))
            except MalformedMessage:
                # A type this build no longer knows: still deliver the bytes as written.
                raw.append(row)
        try:
            if typed:
                await self.bus.publish(typed)
            for row in raw:
                headers = {k: str(v) for k, v in row.headers.items()}
                await self.bus.publish_raw(row.routing_key, row.body.encode(), headers)
        except Exception as exc:
            return exc
        return None

    async def pending_count(self) -> int:
        async with self.database.session() as session:
            count = await session.scalar(
                sa.select(sa.func.count()).select_from(OutboxMessage).where(_PENDING)
            )
        return int(count or 0)

    async def purge(self) -> tuple[int, int]:
        """Delete published rows past retention and old inbox rows; returns both counts."""
        cutoff = utcnow() - self.retention
        async with self.database.session() as session, session.begin():
            result = await session.execute(
                sa.delete(OutboxMessage).where(col(OutboxMessage.published_at) < cutoff)
            )
            inbox = await purge_inbox(session, self.inbox_retention)
        return int(getattr(result, "rowcount", 0) or 0), inbox


def _mark(rows: Sequence[OutboxMessage], error: Exception | None) -> sa.Update:
    ids = [row.id for row in rows]
    values: dict[str, Any] = {"attempts": OutboxMessage.attempts + 1}
    if error is None:
        values["published_at"] = utcnow()
        values["last_error"] = None
    else:
        values["last_error"] = f"{type(error).__name__}: {error}"[:500]
    return sa.update(OutboxMessage).where(_ID.in_(ids)).values(**values)
