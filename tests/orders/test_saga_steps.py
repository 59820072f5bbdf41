"""The order saga against fake APIs and a real (SQLite) unit of work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa

from koppel.common.commands import EnsureCustomer
from koppel.common.db import Database
from koppel.common.events import (
    CustomerEnsured,
    CustomerFailed,
    EntityRef,
    EntityType,
    OrderFailed,
    OrderMapped,
    OrderSkipped,
    OrderSynced,
    UpsertOutcome,
)
from koppel.common.messages import Flow, Message
from koppel.common.uow import UnitOfWork
from koppel.orders.models import OrderSaga
from koppel.orders.sync import OrderSteps, SagaBusy

from .fakes import FakePorts, FakeSource, FakeTarget


async def run(
    db: Database, handle: Callable[[Any, UnitOfWork], Awaitable[None]], message: Message
) -> list[Message]:
    """What the runtime does around a handler: inbox check, handle, commit."""
    async with UnitOfWork(db, message=message, handler=handle.__name__) as uow:
        if await uow.already_processed():
            return []
        await handle(message, uow)
        await uow.commit()
        return uow.published


def mapped(
    number: str = "1001", skus: list[str] | None = None, delivery: dict[str, str] | None = None
) -> OrderMapped:
    skus = skus or ["ART-0001", "ART-0002"]
    return OrderMapped(
        tenant_id="t1",
        flow=Flow.orders,
        run_id=uuid4(),
        entity=EntityRef(type=EntityType.order, source_id=f"id-{number}", key=number),
        target={
            "header": {"ORD_DATE": "2026-03-01T00:00:00", "COMMENT1": number},
            "lines": [{"ART_CODE": s, "ORD_QTY": 1, "ART_PX": 10.0} for s in skus],
            "delivery": delivery
            or {
                "DEL_NAME": "Jan",
                "ADDRESS1": "Kerkstraat 1",
                "POST_CODE": "1234AB",
                "CITY": "Utrecht",
                "CNT_CODE": "NL",
            },
        },
        customer={"MAIL_BUS": "jan@example.nl", "ACCT_NAME": "Jan"},
        skus=skus,
    )


def ensured(request: Message, debtor: str = "10001") -> CustomerEnsured:
    return request.follow_up(
        CustomerEnsured,
        entity=EntityRef(type=EntityType.customer, source_id="jan@example.nl"),
        debtor_number=debtor,
        outcome=UpsertOutcome.created,
    )


async def waiting_for_its_customer(
    database: Database, target: FakeTarget, **options: Any
) -> tuple[OrderSteps, CustomerEnsured]:
    """Steps with one order mapped, and the customer answer its saga waits for."""
    steps = OrderSteps(FakePorts(FakeSource([]), target), **options)
    out = await run(database, steps.on_order_mapped, mapped())
    return steps, ensured(out[0])


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget(articles={"ART-0001", "ART-0002"})


@pytest.fixture
def steps(target: FakeTarget) -> OrderSteps:
    return OrderSteps(FakePorts(FakeSource([]), target))


class TestHappyPath:
    async def test_a_new_order_asks_for_its_customer_then_is_created(
        self, database: Database, steps: OrderSteps, target: FakeTarget
    ) -> None:
        # Given a mapped order that AccountView does not have
        message = mapped()
        # When it arrives
        out = await run(database, steps.on_order_mapped, message)
        # Then the customer is asked for, with the order's correlation id
        assert [type(m) for m in out] == [EnsureCustomer]
        assert out[0].correlation_id == message.correlation_id
        # When the customer is ensured
        out = await run(database, steps.on_customer_ensured, ensured(out[0]))
        # Then the order is created on that debtor at a new delivery address
        assert [type(m) for m in out] == [OrderSynced]
        synced = out[0]
        assert isinstance(synced, OrderSynced)
        assert synced.debtor_number == "10001"
        assert synced.entity.source_id == "id-1001"
        assert synced.entity.target_id == "SO00001"
        number, header, lines = target.orders[0]
        assert (header["RPL_INV"], header["DEL_CODE"], header["COMMENT1"]) == ("10001", "1", "1001")
        assert len(lines) == 2
        assert target.addresses[0]["POST_CODE"] == "1234 AB"

    async def test_a_sales_invoice_is_booked_on_the_debtor(
        self, database: Database, steps: OrderSteps, target: FakeTarget
    ) -> None:
        message = mapped().model_copy(
            update={
                "target_kind": "sales_invoice",
                "target": {"header": {"TRN_DATE": "2026-03-01T00:00:00"}, "lines": []},
            }
        )
        out = await run(database, steps.on_order_mapped, message)
        await run(database, steps.on_customer_ensured, ensured(out[0]))
        number, header, _ = target.orders[0]
        assert number.startswith("INV")
        assert header["SUB_NR"] == "10001"
        assert target.addresses == []

    async def test_the_second_order_to_the_same_door_reuses_the_delivery_address(
        self, database: Database, steps: OrderSteps, target: FakeTarget
    ) -> None:
        for number in ("1001", "1002"):
            out = await run(database, steps.on_order_mapped, mapped(number))
            await run(database, steps.on_customer_ensured, ensured(out[0]))
        assert len(target.orders) == 2
        assert len(target.addresses) == 1


class TestNothingTwice:
    async def test_redelivered_messages_create_nothing_twice(
        self, database: Database, steps: OrderSteps, target: FakeTarget
    ) -> None:
        message = mapped()
        first = await run(database, steps.on_order_mapped, message)
        assert await run(database, steps.on_order_mapped, message) == []
        answer = ensured(first[0])
        await run(database, steps.on_customer_ensured, answer)
        assert await run(database, steps.on_customer_ensured, answer) == []
        # a different delivery of the same answer (new message id) is no-op too: saga finished
        again = answer.model_copy(update={"message_id": uuid4()})
        assert await run(database, steps.on_customer_ensured, again) == []
        assert target.calls["create_order"] == 1

    async def test_a_second_run_of_a_synced_order_is_skipped_without_asking_accountview(
        self, database: Database, steps: OrderSteps, target: FakeTarget
    ) -> None:
        out = await run(database, steps.on_order_mapped, mapped())
        await run(database, steps.on_customer_ensured, ensured(out[0]))
        finds = target.calls["find_order"]
        out = await run(database, steps.on_order_mapped, mapped())  # new run, new correlation
        assert [type(m) for m in out] == [OrderSkipped]
        assert target.calls["find_order"] == finds

    async def test_an_order_already_in_accountview_is_skipped(
        self, database: Database, steps: OrderSteps, target: FakeTarget
    ) -> None:
        target.orders.append(("SO00077", {"COMMENT1": "1001"}, []))
        out = await run(database, steps.on_order_mapped, mapped())
        assert [type(m) for m in out] == [OrderSkipped]
        assert out[0].entity.target_id == "SO00077"  # type: ignore[attr-defined]

    async def test_a_crash_after_the_create_is_found_again_not_created_again(
        self, database: Database, steps: OrderSteps, target: FakeTarget
    ) -> None:
        out = await run(database, steps.on_order_mapped, mapped())
        answer = ensured(out[0])
        target.crash_after_create = True
        with pytest.raises(RuntimeError):
            await run(database, steps.on_customer_ensured, answer)
        # the bus redelivers the same message
        out = await run(database, steps.on_customer_ensured, answer)
        assert [type(m) for m in out] == [OrderSynced]
        assert target.calls["create_order"] == 1
        assert len(target.orders) == 1

    async def test_a_concurrent_run_of_a_pending_order_is_skipped(
        self, database: Database, steps: OrderSteps
    ) -> None:
        await run(database, steps.on_order_mapped, mapped())
        out = await run(database, steps.on_order_mapped, mapped())
        assert [type(m) for m in out] == [OrderSkipped]
        assert "already being synced" in out[0].reason  # type: ignore[attr-defined]


class TestFailures:
    async def test_missing_products_fail_the_order_listing_the_skus(
        self, database: Database, steps: OrderSteps, target: FakeTarget
    ) -> None:
        out = await run(
            database, steps.on_order_mapped, mapped(skus=["ART-0001", "UNKNOWN-9", "UNKNOWN-3"])
        )
        out = await run(database, steps.on_customer_ensured, ensured(out[0]))
        failed = out[0]
        assert isinstance(failed, OrderFailed)
        assert failed.reason_code == "missing_products"
        assert failed.details == {"missing_skus": ["UNKNOWN-9", "UNKNOWN-3"]}
        assert "UNKNOWN-9, UNKNOWN-3" in failed.reason
        assert target.orders == []

    async def test_a_failed_customer_fails_the_order(
        self, database: Database, steps: OrderSteps, target: FakeTarget
    ) -> None:
        out = await run(database, steps.on_order_mapped, mapped())
        answer = out[0].follow_up(
            CustomerFailed,
            entity=EntityRef(type=EntityType.customer, source_id="x"),
            reason_code="missing_email",
            reason="The customer has no e-mail address.",
            step="ensure_customer",
        )
        out = await run(database, steps.on_customer_failed, answer)
        assert isinstance(out[0], OrderFailed)
        assert out[0].reason_code == "missing_email"
        assert out[0].entity.source_id == "id-1001"

    async def test_a_failed_order_is_tried_again_by_a_later_run(
        self, database: Database, steps: OrderSteps, target: FakeTarget
    ) -> None:
        out = await run(database, steps.on_order_mapped, mapped(skus=["UNKNOWN-1"]))
        await run(database, steps.on_customer_ensured, ensured(out[0]))
        target.articles.add("UNKNOWN-1")
        out = await run(database, steps.on_order_mapped, mapped(skus=["UNKNOWN-1"]))
        out = await run(database, steps.on_customer_ensured, ensured(out[0]))
        assert [type(m) for m in out] == [OrderSynced]


async def test_a_default_debtor_books_without_asking_for_a_customer(
    database: Database, target: FakeTarget
) -> None:
    steps = OrderSteps(FakePorts(FakeSource([]), target, {"default_debtor": "99999"}))
    out = await run(database, steps.on_order_mapped, mapped())
    assert [type(m) for m in out] == [CustomerEnsured]  # answered by orders itself
    out = await run(database, steps.on_customer_ensured, out[0])
    assert [type(m) for m in out] == [OrderSynced]
    assert target.orders[0][1]["RPL_INV"] == "99999"


async def test_two_deliveries_of_one_answer_at_once_create_one_order(
    isolated_database: Database, target: FakeTarget
) -> None:
    database = isolated_database
    # Given a slow AccountView and two consumers handed the same CustomerEnsured at once
    steps, answer = await waiting_for_its_customer(database, target)
    slow = target.create_order

    async def create_slowly(**kw: Any) -> str:
        await asyncio.sleep(0.05)
        return await slow(**kw)

    target.create_order = create_slowly  # type: ignore[method-assign]
    first = run(database, steps.on_customer_ensured, answer)
    second = run(
        database, steps.on_customer_ensured, answer.model_copy(update={"message_id": uuid4()})
    )
    results = await asyncio.gather(first, second, return_exceptions=True)
    # Then one creates, the other is told to retry (and later finds the saga finished)
    assert target.calls["create_order"] == 1
    assert sum(isinstance(r, SagaBusy) for r in results) == 1
    assert (
        await run(
            database, steps.on_customer_ensured, answer.model_copy(update={"message_id": uuid4()})
        )
        == []
    )


async def test_a_stale_saga_taken_over_by_a_later_run_creates_nothing(
    database: Database, steps: OrderSteps, target: FakeTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a saga whose customer answer never came, and a later run that took the order over
    first = await run(database, steps.on_order_mapped, mapped())
    monkeypatch.setattr("koppel.orders.sync.STALE_PENDING", timedelta(0))
    second = await run(database, steps.on_order_mapped, mapped())
    assert [type(m) for m in second] == [EnsureCustomer]
    # When the first saga's answer arrives after all (a replay), it creates nothing
    assert await run(database, steps.on_customer_ensured, ensured(first[0])) == []
    # while the owning saga creates the order once
    out = await run(database, steps.on_customer_ensured, ensured(second[0]))
    assert [type(m) for m in out] == [OrderSynced]
    assert target.calls["create_order"] == 1


async def test_a_create_slower_than_its_lease_is_not_taken_over(
    isolated_database: Database, target: FakeTarget
) -> None:
    # Given a lease of 0.3 s and an AccountView that takes a full second to create an order
    steps, answer = await waiting_for_its_customer(
        isolated_database, target, time_scale=0.005, min_create_lease=timedelta(0)
    )
    slow = target.create_order
    creating = asyncio.Event()

    async def create_slowly(**kw: Any) -> str:
        creating.set()
        await asyncio.sleep(1.0)
        return await slow(**kw)

    target.create_order = create_slowly  # type: ignore[method-assign]
    first = asyncio.create_task(run(isolated_database, steps.on_customer_ensured, answer))
    await creating.wait()
    await asyncio.sleep(0.6)  # two lease lengths into the create
    # When a redelivery of the answer arrives while the first is still creating
    with pytest.raises(SagaBusy):
        await run(
            isolated_database,
            steps.on_customer_ensured,
            answer.model_copy(update={"message_id": uuid4()}),
        )
    # Then it was told to wait (the first kept its claim alive) and the order exists once
    assert [type(m) for m in await first] == [OrderSynced]
    assert target.calls["create_order"] == 1


async def test_an_owner_taken_over_before_it_writes_sends_nothing(
    isolated_database: Database, target: FakeTarget
) -> None:
    # Given an owner that stalls before creating (its articles check hangs), long enough for
    # its claim to lapse and another replica to take the saga over
    database = isolated_database
    steps, answer = await waiting_for_its_customer(database, target)
    check = target.existing_articles

    async def stall_then_lose_the_claim(codes: Any) -> set[str]:
        table = OrderSaga.__table__  # type: ignore[attr-defined]
        async with database.session() as session:
            await session.execute(sa.update(table).values(claimed_by="another-replica"))
            await session.commit()
        return await check(codes)

    target.existing_articles = stall_then_lose_the_claim  # type: ignore[method-assign]
    # When it wakes up, it is told to retry instead of sending its order
    with pytest.raises(SagaBusy):
        await run(database, steps.on_customer_ensured, answer)
    assert target.calls["create_order"] == 0
    assert target.calls["create_delivery_address"] == 0
