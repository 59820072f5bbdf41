"""Handlers through the runtime's delivery wrapper: *Fetched in, *Mapped or *Failed in the
outbox, redelivery a no-op."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from koppel.common.bus.base import Delivery
from koppel.common.bus.memory import InMemoryBus
from koppel.common.events import (
    CustomerFetched,
    EntityRef,
    EntityType,
    OrderFetched,
    ProductFetched,
    TenantConfigChanged,
)
from koppel.common.messages import Message
from koppel.common.outbox import OutboxMessage
from koppel.common.runtime import ServiceRuntime
from koppel.mapper.adapters import repository
from koppel.mapper.app import SPEC
from koppel.mapper.config import MapperSettings

from .samples import VALUE_MAPS, article_with_ean, customer_company, order_nl_company


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[ServiceRuntime]:
    runtime = ServiceRuntime(
        SPEC, bus=InMemoryBus(), settings=MapperSettings(data_dir=tmp_path, log_json=False)
    )
    await runtime.prepare()
    try:
        yield runtime
    finally:
        await runtime.database.dispose()


async def configure(
    runtime: ServiceRuntime, tenant: str, maps: dict[str, Any] | None = None
) -> None:
    async with runtime.context.unit_of_work() as uow:
        for name, document in (VALUE_MAPS if maps is None else maps).items():
            await repository.store_value_map(uow.session, tenant, name, document, actor="test")
        await repository.store_mapping(
            uow.session,
            tenant,
            "orders",
            {"settings": {"shipping_article_numbers": ["VERZEND"]}},
            actor="test",
            action="save",
        )
        await uow.commit()


async def deliver(runtime: ServiceRuntime, message: Message, attempt: int = 1) -> None:
    binding = next(b for b in runtime.bindings if message.routing_key() in b.patterns)
    await runtime.deliver(binding, message, Delivery(attempt, attempt > 1, message.routing_key()))


async def outbox(runtime: ServiceRuntime) -> list[tuple[str, dict[str, Any]]]:
    async with runtime.database.session() as session:
        rows = (
            (await session.execute(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
            .scalars()
            .all()
        )  # type: ignore[arg-type]
    return [
        (row.routing_key, json.loads(row.body))
        for row in rows
        if "tenant_config" not in row.routing_key
    ]


def order_fetched(tenant: str = "t1") -> OrderFetched:
    return OrderFetched(
        tenant_id=tenant,
        entity=EntityRef(type=EntityType.order, source_id="5b7e0c2e"),
        source=order_nl_company(),
        enrichment={"email": "info@bakkerijdevries.nl"},
    )


async def test_order_fetched_becomes_order_mapped_once(runtime: ServiceRuntime) -> None:
    await configure(runtime, "t1")
    message = order_fetched()
    await deliver(runtime, message)
    await deliver(runtime, message, attempt=2)  # redelivery: the inbox makes it a no-op
    published = await outbox(runtime)
    assert [key for key, _ in published] == ["event.order_mapped.v1"]
    body = published[0][1]
    assert body["causation_id"] == str(message.message_id)
    assert body["correlation_id"] == str(message.correlation_id)
    assert body["entity"]["key"] == "1042"
    assert body["target_kind"] == "sales_order"
    assert body["target"]["header"]["COMMENT1"] == "1042"
    assert body["customer"]["MAIL_BUS"] == "info@bakkerijdevries.nl"
    assert body["skus"] == ["BROOD-01", "KOF1000", "MOLEN-X", "VERZEND"]


async def test_unmapped_value_becomes_order_failed_with_the_sentence(
    runtime: ServiceRuntime,
) -> None:
    await configure(runtime, "t2", maps={})
    await deliver(runtime, order_fetched("t2"))
    [(key, body)] = await outbox(runtime)
    assert key == "event.order_failed.v1"
    assert body["reason_code"] == "unmapped_value"
    assert body["reason"] == (
        "Order 1042: no shipping-cost article is mapped for delivery method 'PostNL' — "
        "add it to value map 'shipping_article'"
    )
    assert body["step"] == "map"
    assert body["details"]["map_name"] == "shipping_article"
    assert body["source"]["Number"] == 1042


async def test_customer_and_product(runtime: ServiceRuntime) -> None:
    await configure(runtime, "t1")
    await deliver(
        runtime,
        CustomerFetched(
            tenant_id="t1",
            entity=EntityRef(type=EntityType.customer, source_id="42"),
            source=customer_company(),
        ),
    )
    await deliver(
        runtime,
        ProductFetched(
            tenant_id="t1",
            entity=EntityRef(type=EntityType.product, source_id="KOFFIE-1KG"),
            source=article_with_ean(),
        ),
    )
    bad = article_with_ean()
    bad["EAN_CODE"] = "123"
    await deliver(
        runtime,
        ProductFetched(
            tenant_id="t1", entity=EntityRef(type=EntityType.product, source_id="X"), source=bad
        ),
    )
    published = await outbox(runtime)
    assert [key for key, _ in published] == [
        "event.customer_mapped.v1",
        "event.product_mapped.v1",
        "event.product_failed.v1",
    ]
    assert published[0][1]["target"]["ACCT_NAME"] == "Bakkerij De Vries B.V."
    assert published[0][1]["entity"]["key"] == "info@bakkerijdevries.nl"
    assert published[1][1]["target"]["Number"] == "KOFFIE-1KG"
    assert published[2][1]["reason_code"] == "invalid_value"


async def test_a_new_mapping_version_is_used_once_announced(runtime: ServiceRuntime) -> None:
    await configure(runtime, "t1")
    await deliver(runtime, order_fetched())
    async with runtime.context.unit_of_work() as uow:
        await repository.store_mapping(
            uow.session,
            "t1",
            "orders",
            {"settings": {"shipping_article_numbers": ["VERZEND"], "target_kind": "sales_invoice"}},
            actor="test",
            action="save",
        )
        await uow.commit()
    # Saved behind the mapper's back: its cached configuration stays until the
    # TenantConfigChanged that every save publishes reaches it.
    await deliver(runtime, order_fetched())
    await deliver(runtime, TenantConfigChanged(tenant_id="t1", section="mapping:orders"))
    await deliver(runtime, order_fetched())
    kinds = [body["target_kind"] for _, body in await outbox(runtime)]
    assert kinds == ["sales_order", "sales_order", "sales_invoice"]
