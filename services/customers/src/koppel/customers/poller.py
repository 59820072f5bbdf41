"""The customers flow's read side: ``FlowRunRequested(flow=customers)`` pages through
eAccounting customers changed since the cursor (``ChangedUtc``), or reads the one
``record_id``, and publishes one ``CustomerFetched`` each; the cursor moves in the same
transaction. Paging is keyset on ``ChangedUtc`` like the orders poller (see there for why);
a failed read publishes ``FlowRunFailed`` and leaves the cursor."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from uuid import uuid4

from koppel.common.errors import KoppelError
from koppel.common.events import (
    CustomerFetched,
    EntityRef,
    EntityType,
    FlowRunFailed,
    FlowRunFetched,
    FlowRunRequested,
)
from koppel.common.messages import utcnow
from koppel.common.uow import UnitOfWork
from koppel.customers.adapters.ports import JSON, CustomerSource
from koppel.customers.models import CustomerCursor

log = logging.getLogger(__name__)
PAGE_SIZE = 200
BATCH = 1000


def _stamp(value: object) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Watermark:
    """(last ``ChangedUtc``, ids seen at it), serialised as JSON in ``customer_cursors``."""

    def __init__(self, at: datetime | None = None, ids: frozenset[str] = frozenset()) -> None:
        self.at, self.ids = at, ids

    @classmethod
    def load(cls, value: str | None) -> Watermark:
        data = json.loads(value) if value else {}
        return cls(_stamp(data.get("at")), frozenset(data.get("ids") or ()))

    def dump(self) -> str:
        return json.dumps({"at": self.at.isoformat() if self.at else None, "ids": sorted(self.ids)})

    def seen(self, stamp: datetime | None, row_id: str) -> bool:
        if stamp is None or self.at is None:
            return False
        return stamp < self.at or (stamp == self.at and row_id in self.ids)

    def advance(self, stamp: datetime | None, row_id: str) -> None:
        if stamp is None or (self.at is not None and stamp < self.at):
            return
        self.ids = self.ids | {row_id} if stamp == self.at else frozenset({row_id})
        self.at = stamp


async def read_changed(source: CustomerSource, mark: Watermark, limit: int = BATCH) -> list[JSON]:
    rows: list[JSON] = []
    page = 1
    while len(rows) < limit:
        result = await source.customers_changed(since=mark.at, page=page, page_size=PAGE_SIZE)
        fresh = 0
        for row in result.rows:
            stamp, row_id = _stamp(row.get("ChangedUtc")), str(row.get("Id"))
            if mark.seen(stamp, row_id):
                continue
            fresh += 1
            mark.advance(stamp, row_id)
            rows.append(row)
        if page >= result.total_pages:
            if fresh == 0 or result.total_pages <= 1:
                break
            page = 1
        else:
            page = page + 1 if fresh == 0 else 1
    return rows


async def on_run_requested(
    message: FlowRunRequested, uow: UnitOfWork, source: CustomerSource
) -> None:
    tenant = message.tenant_id
    async with uow.read() as session:
        stored = await session.get(CustomerCursor, tenant)
        session.expunge_all()
    start = stored.value if stored and not message.full_sweep else None
    mark = Watermark(message.since) if message.since else Watermark.load(start)
    before = mark.dump()
    try:
        if message.record_id:
            one = await source.customer(message.record_id)
            rows = [one] if one else []
        else:
            rows = await read_changed(source, mark)
    except KoppelError as exc:
        log.warning("customers run %s failed: %s", message.run_id, exc)
        uow.publish(
            message.follow_up(
                FlowRunFailed,
                reason_code=exc.reason_code,
                reason=f"Reading customers from eAccounting failed; the next run reads them again. ({exc})",
            )
        )
        return
    for row in rows:
        uow.publish(
            message.follow_up(
                CustomerFetched,
                correlation_id=uuid4(),
                entity=EntityRef(
                    type=EntityType.customer,
                    source_id=str(row.get("Id")),
                    key=str(row.get("EmailAddress") or "").strip().lower() or None,
                ),
                source=row,
            )
        )
    moved = not message.dry_run and not message.record_id and mark.dump() != before
    if moved:
        cursor = await uow.session.get(CustomerCursor, tenant)
        if cursor is None:
            cursor = CustomerCursor(tenant_id=tenant, value=mark.dump())
        cursor.value, cursor.updated_at = mark.dump(), utcnow()
        uow.add(cursor)
    uow.publish(
        message.follow_up(FlowRunFetched, fetched=len(rows), cursor=mark.dump() if moved else None)
    )
