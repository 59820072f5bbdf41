"""Reading changed orders from eAccounting for one run (the first step of the orders flow).

Keyset paging on ``ModifiedUtc``: every page asks for changes at or after the last change
seen, oldest first, and drops the ids already seen at that exact instant. Page numbers are
only used to get past a page full of one instant. Unlike ``$page`` over a fixed filter, this
cannot skip a record when another record changes (and moves to the end) while the run pages.

The cursor is (last ``ModifiedUtc``, ids seen at it). The run returns the messages and the
new cursor; the handler writes both in one transaction, so the cursor only moves once every
order up to it is in the outbox. A failed read raises: the run fails and the cursor stays.

With "only paid" the run follows customer invoices instead: an order's ``ModifiedUtc`` does
not change when its invoice gets paid, so only the invoice's change can bring it in.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from koppel.common.events import EntityRef, EntityType, FlowRunRequested, OrderFetched
from koppel.orders.adapters.ports import JSON, OrderSource, SourcePage
from koppel.orders.selection import parse_utc, payment_status_by_order, select_order
from koppel.orders.tenant_settings import OrdersConfig

PAGE_SIZE = 200


@dataclass(frozen=True)
class Cursor:
    at: datetime | None = None
    ids: frozenset[str] = frozenset()

    def dump(self) -> str:
        return json.dumps({"at": self.at.isoformat() if self.at else None, "ids": sorted(self.ids)})

    @classmethod
    def load(cls, value: str | None) -> Cursor:
        if not value:
            return cls()
        data = json.loads(value)
        return cls(parse_utc(data.get("at")), frozenset(data.get("ids") or ()))

    def advance(self, stamp: datetime, record_id: str) -> Cursor:
        if self.at is not None and stamp < self.at:
            return self  # an older change seen late (clock of a record): keep the watermark
        if self.at == stamp:
            return Cursor(stamp, self.ids | {record_id})
        return Cursor(stamp, frozenset({record_id}))


@dataclass
class PollResult:
    fetched: list[OrderFetched] = field(default_factory=list)
    filtered_out: int = 0
    cursor: Cursor = field(default_factory=Cursor)
    order_cursor_changed: bool = False


Reader = Callable[..., Awaitable[SourcePage]]


async def _changes(read: Reader, start: Cursor, *, limit: int) -> AsyncIterator[JSON]:
    """Yield records changed since ``start``, oldest first, each once, at most ``limit``."""
    cursor, page, handed = start, 1, 0
    while handed < limit:
        result = await read(since=cursor.at, page=page, page_size=PAGE_SIZE)
        fresh = 0
        for row in result.rows:
            stamp = parse_utc(row.get("ModifiedUtc"))
            row_id = str(row.get("Id"))
            if stamp is not None and cursor.at is not None:
                if stamp < cursor.at or (stamp == cursor.at and row_id in cursor.ids):
                    continue
            fresh += 1
            handed += 1
            if stamp is not None:
                cursor = cursor.advance(stamp, row_id)
            yield row
            if handed >= limit:
                return
        # The server's page count is the end signal (it may cap the page size we asked for).
        if page >= result.total_pages:
            if fresh == 0 or result.total_pages <= 1:
                return
            page = 1  # more may have arrived after the new watermark: ask from it once more
        elif fresh == 0:
            page += 1  # a whole page of one instant, all seen: the next page of the same query
        else:
            page = 1  # ask again from the new watermark


async def poll_orders(
    request: FlowRunRequested,
    *,
    source: OrderSource,
    config: OrdersConfig,
    cursor: Cursor,
) -> PollResult:
    result = PollResult(cursor=cursor)
    customers: dict[str, JSON | None] = {}
    start = Cursor(request.since) if request.since else (Cursor() if request.full_sweep else cursor)

    async def keep(order: JSON, payment_status: int | None) -> None:
        selection = select_order(
            order,
            statuses=config.statuses,
            only_paid=config.only_paid,
            payment_status=payment_status,
            not_before=config.do_not_import_before,
        )
        if not selection.keep:
            result.filtered_out += 1
            return
        customer_id = str(order.get("CustomerId") or "")
        if customer_id and customer_id not in customers:
            customers[customer_id] = await source.customer(customer_id)
        enrichment = config.enrichment.for_order(
            order, customer=customers.get(customer_id), payment_status=payment_status
        )
        if config.line_settings:
            enrichment["settings"] = dict(config.line_settings)
        result.fetched.append(fetched_event(request, order, enrichment))

    if request.record_id:
        order = await source.order(request.record_id)
        if order is not None:
            status = await _payment_status(source, [order], config)
            await keep(order, status.get(str(order.get("Id"))))
        return result

    stamp_cursor = start
    if config.only_paid:
        async for invoice in _changes(source.invoices_changed, start, limit=config.batch_size):
            stamp_cursor = _advance(stamp_cursor, invoice)
            order_id = invoice.get("CreatedFromOrderId")
            if not order_id or int(invoice.get("PaymentStatus", 1)) != 0:
                result.filtered_out += 1
                continue
            order = await source.order(str(order_id))
            if order is None:
                result.filtered_out += 1
                continue
            status = await _payment_status(source, [order], config)
            await keep(order, status.get(str(order_id)))
    else:
        async for order in _changes(source.orders_changed, start, limit=config.batch_size):
            stamp_cursor = _advance(stamp_cursor, order)
            await keep(order, None)
    result.cursor = stamp_cursor
    result.order_cursor_changed = stamp_cursor != cursor
    return result


def _advance(cursor: Cursor, row: JSON) -> Cursor:
    stamp = parse_utc(row.get("ModifiedUtc"))
    return cursor.advance(stamp, str(row.get("Id"))) if stamp else cursor


async def _payment_status(
    source: OrderSource, orders: list[JSON], config: OrdersConfig
) -> dict[str, int]:
    if not config.only_paid:
        return {}
    invoices = await source.invoices_of_orders([str(o.get("Id")) for o in orders])
    return payment_status_by_order(invoices)


def fetched_event(request: FlowRunRequested, order: JSON, enrichment: JSON) -> OrderFetched:
    """One ``OrderFetched``: a new correlation id per order and run (its saga's key)."""
    number = order.get("Number")
    return OrderFetched(
        tenant_id=request.tenant_id,
        flow=request.flow,
        run_id=request.run_id,
        causation_id=request.message_id,
        traceparent=request.traceparent,
        entity=EntityRef(
            type=EntityType.order,
            source_id=str(order.get("Id")),
            key=str(number) if number is not None else None,
        ),
        source=order,
        enrichment=enrichment,
    )
