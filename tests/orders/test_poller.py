"""Reading changed orders: keyset paging, filters, cursor, failed reads."""

from __future__ import annotations

from uuid import uuid4

import pytest

from koppel.common.db import Database
from koppel.common.errors import TransientError
from koppel.common.events import (
    FlowRunFailed,
    FlowRunFetched,
    FlowRunRequested,
    OrderFetched,
    RunTrigger,
)
from koppel.common.messages import Flow
from koppel.common.uow import UnitOfWork
from koppel.orders import poller
from koppel.orders.models import OrderCursor
from koppel.orders.runs import OrderRuns

from .fakes import FakePorts, FakeSource, FakeTarget


def order(n: int, stamp: str, status: int = 3, customer: str = "c1") -> dict[str, object]:
    return {
        "Id": f"o{n}",
        "Number": n,
        "Status": status,
        "CustomerId": customer,
        "OrderDate": "2026-03-01",
        "ModifiedUtc": stamp,
    }


def request(**kw: object) -> FlowRunRequested:
    return FlowRunRequested(
        tenant_id="t1", flow=Flow.orders, run_id=uuid4(), trigger=RunTrigger.manual, **kw
    )  # type: ignore[arg-type]


async def run(db: Database, runs: OrderRuns, message: FlowRunRequested) -> list[object]:
    async with UnitOfWork(db, message=message, handler="run") as uow:
        await runs.on_run_requested(message, uow)
        await uow.commit()
        return list(uow.published)


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(poller, "PAGE_SIZE", 3)


async def test_every_changed_order_is_fetched_once_and_the_cursor_moves(database: Database) -> None:
    # Given ten orders, four of them changed at the same instant across a page boundary
    orders = [order(i, f"2026-03-01T10:00:0{i}Z") for i in range(6)]
    orders += [order(i, "2026-03-01T11:00:00Z") for i in range(6, 10)]
    source = FakeSource(orders, customers={"c1": {"Id": "c1", "EmailAddress": "a@b.nl"}})
    runs = OrderRuns(FakePorts(source, FakeTarget(set()), {"statuses": ["shipped"]}))
    # When a run reads them
    out = await run(database, runs, request())
    # Then each is published once, enriched with its customer (fetched once), and the run is reported
    fetched = [m for m in out if isinstance(m, OrderFetched)]
    assert sorted(m.entity.source_id for m in fetched) == sorted(f"o{i}" for i in range(10))
    assert fetched[0].enrichment["customer"]["EmailAddress"] == "a@b.nl"
    assert source.calls["customer"] == 1
    report = out[-1]
    assert isinstance(report, FlowRunFetched)
    assert report.fetched == 10
    # And a second run finds nothing new
    out = await run(database, runs, request())
    assert [type(m) for m in out] == [FlowRunFetched]


async def test_an_order_changed_after_the_cursor_is_fetched_again(database: Database) -> None:
    orders = [order(1, "2026-03-01T10:00:00Z"), order(2, "2026-03-01T10:00:01Z")]
    source = FakeSource(orders)
    runs = OrderRuns(FakePorts(source, FakeTarget(set())))
    await run(database, runs, request())
    orders[0]["ModifiedUtc"] = "2026-03-01T12:00:00Z"
    out = await run(database, runs, request())
    assert [m.entity.source_id for m in out if isinstance(m, OrderFetched)] == ["o1"]


async def test_statuses_filter_and_are_counted(database: Database) -> None:
    orders = [
        order(1, "2026-03-01T10:00:00Z", status=1),
        order(2, "2026-03-01T10:00:01Z", status=4),
    ]
    runs = OrderRuns(FakePorts(FakeSource(orders), FakeTarget(set()), {"statuses": ["invoiced"]}))
    out = await run(database, runs, request())
    assert [m.entity.source_id for m in out if isinstance(m, OrderFetched)] == ["o2"]
    assert out[-1].filtered_out == 1  # type: ignore[attr-defined]


async def test_only_paid_follows_the_invoices(database: Database) -> None:
    orders = [
        order(1, "2026-03-01T10:00:00Z", status=4),
        order(2, "2026-03-01T10:00:00Z", status=4),
    ]
    invoices = [
        {
            "Id": "i1",
            "CreatedFromOrderId": "o1",
            "PaymentStatus": 0,
            "ModifiedUtc": "2026-03-02T10:00:00Z",
        },
        {
            "Id": "i2",
            "CreatedFromOrderId": "o2",
            "PaymentStatus": 1,
            "ModifiedUtc": "2026-03-02T10:00:00Z",
        },
    ]
    runs = OrderRuns(
        FakePorts(
            FakeSource(orders, invoices=invoices),
            FakeTarget(set()),
            {"statuses": ["invoiced"], "only_paid": True},
        )
    )
    out = await run(database, runs, request())
    fetched = [m for m in out if isinstance(m, OrderFetched)]
    assert [m.entity.source_id for m in fetched] == ["o1"]
    assert fetched[0].enrichment["payment_status"] == "paid"


async def test_a_failed_read_fails_the_run_and_keeps_the_cursor(database: Database) -> None:
    source = FakeSource([order(1, "2026-03-01T10:00:00Z")])
    runs = OrderRuns(FakePorts(source, FakeTarget(set())))
    await run(database, runs, request())
    async with database.session() as s:
        before = (await s.get(OrderCursor, "t1")).value  # type: ignore[union-attr]
    source.orders.append(order(2, "2026-03-02T10:00:00Z"))
    source.fail = True
    out = await run(database, runs, request())
    assert [type(m) for m in out] == [FlowRunFailed]
    async with database.session() as s:
        assert (await s.get(OrderCursor, "t1")).value == before  # type: ignore[union-attr]
    source.fail = False
    out = await run(database, runs, request())
    assert [m.entity.source_id for m in out if isinstance(m, OrderFetched)] == ["o2"]


async def test_a_dry_run_does_not_move_the_cursor(database: Database) -> None:
    source = FakeSource([order(1, "2026-03-01T10:00:00Z")])
    runs = OrderRuns(FakePorts(source, FakeTarget(set())))
    out = await run(database, runs, request(dry_run=True))
    assert len([m for m in out if isinstance(m, OrderFetched)]) == 1
    out = await run(database, runs, request())
    assert len([m for m in out if isinstance(m, OrderFetched)]) == 1


async def test_batch_size_caps_a_run_and_the_next_run_goes_on(database: Database) -> None:
    source = FakeSource([order(i, f"2026-03-01T10:00:0{i}Z") for i in range(5)])
    runs = OrderRuns(FakePorts(source, FakeTarget(set()), {"batch_size": 2}))
    seen: list[str] = []
    for _ in range(4):
        out = await run(database, runs, request())
        seen += [m.entity.source_id for m in out if isinstance(m, OrderFetched)]
    assert seen == [f"o{i}" for i in range(5)]


async def test_a_single_record_run_reads_only_that_order(database: Database) -> None:
    source = FakeSource([order(1, "2026-03-01T10:00:00Z"), order(2, "2026-03-01T10:00:01Z")])
    runs = OrderRuns(FakePorts(source, FakeTarget(set())))
    out = await run(database, runs, request(record_id="o2"))
    assert [m.entity.source_id for m in out if isinstance(m, OrderFetched)] == ["o2"]
    assert source.calls["orders_changed"] == 0


async def test_a_gateway_outage_is_waited_out_by_the_bus_not_failed(database: Database) -> None:
    # Given a gateway that cannot be reached for the tenant's eAccounting connection
    class Unreachable(FakePorts):
        async def source(self, tenant_id: str) -> FakeSource:
            raise TransientError("gateway down", reason_code="gateway_unreachable")

    runs = OrderRuns(Unreachable(FakeSource([order(1, "2026-03-01T10:00:00Z")]), FakeTarget(set())))
    # Then the run's message goes back to the bus (which retries it on its outage budget)
    # instead of failing the run
    with pytest.raises(TransientError) as raised:
        await run(database, runs, request())
    assert raised.value.reason_code == "gateway_unreachable"
    async with database.session() as s:
        assert await s.get(OrderCursor, "t1") is None
