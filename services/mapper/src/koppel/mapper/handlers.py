"""Mapper consumers: ``*Fetched`` in, ``*Mapped`` or ``*Failed`` out.

A record that cannot be mapped (unmapped value, invalid value, missing mandatory field) is
answered with a ``*Failed`` event carrying the bookkeeper's sentence and the source record,
so the notifier alerts and the activity log shows why; the message itself is handled (acked).
Mapping is a pure function of the record and the configuration version, and the runtime's
inbox makes a redelivery a no-op, so handlers are idempotent.
"""

from __future__ import annotations

from typing import Any

from koppel.common.events import (
    CustomerFailed,
    CustomerFetched,
    CustomerMapped,
    EntityRef,
    FailureEvent,
    OrderFailed,
    OrderFetched,
    OrderMapped,
    ProductFailed,
    ProductFetched,
    ProductMapped,
    RecordEvent,
    TenantConfigChanged,
)
from koppel.common.runtime import HandlerBinding, ServiceContext
from koppel.common.uow import UnitOfWork
from koppel.mapper.domain.engine import map_article_record, map_customer_record, map_order_record
from koppel.mapper.domain.errors import MappingError
from koppel.mapper.service import cache_of, loaded_of, tenant_config

STEP = "map"


def _json_safe(context: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
        for k, v in context.items()
    }


def _failure(
    message: RecordEvent, kind: type[FailureEvent], exc: MappingError, source: dict[str, Any]
) -> FailureEvent:
    return message.follow_up(
        kind,
        entity=message.entity,
        reason_code=exc.reason_code,
        reason=exc.reason,
        step=STEP,
        details=_json_safe(exc.context),
        source=source,
    )


def _with_key(entity: EntityRef, key: str | None) -> EntityRef:
    return entity if not key or entity.key else entity.model_copy(update={"key": key})


def bindings(ctx: ServiceContext) -> list[HandlerBinding]:
    cache = cache_of(ctx)
    loaded = loaded_of(ctx)

    async def handle_order_fetched(message: OrderFetched, uow: UnitOfWork) -> None:
        config = await tenant_config(uow.database, loaded, cache, message.tenant_id, "orders")
        try:
            result = map_order_record(
                message.source, message.enrichment, config.mapping, config.maps
            )
        except MappingError as exc:
            uow.publish(_failure(message, OrderFailed, exc, message.source))
            return
        uow.publish(
            message.follow_up(
                OrderMapped,
                entity=_with_key(message.entity, result.target["order_number"]),
                target=result.target,
                customer=result.customer or {},
                skus=result.skus,
                target_kind=result.target_kind or "sales_order",
            )
        )

    async def handle_customer_fetched(message: CustomerFetched, uow: UnitOfWork) -> None:
        config = await tenant_config(uow.database, loaded, cache, message.tenant_id, "customers")
        try:
            result = map_customer_record(message.source, config.mapping, config.maps)
        except MappingError as exc:
            uow.publish(_failure(message, CustomerFailed, exc, message.source))
            return
        key = result.target.get("MAIL_BUS")
        uow.publish(
            message.follow_up(
                CustomerMapped, entity=_with_key(message.entity, key), target=result.target
            )
        )

    async def handle_product_fetched(message: ProductFetched, uow: UnitOfWork) -> None:
        config = await tenant_config(uow.database, loaded, cache, message.tenant_id, "products")
        try:
            result = map_article_record(message.source, config.mapping, config.maps)
        except MappingError as exc:
            uow.publish(_failure(message, ProductFailed, exc, message.source))
            return
        uow.publish(
            message.follow_up(
                ProductMapped,
                entity=_with_key(message.entity, result.target.get("Number")),
                target=result.target,
            )
        )

    async def handle_config_changed(message: TenantConfigChanged, _uow: UnitOfWork) -> None:
        loaded.invalidate(message.tenant_id)

    return [
        HandlerBinding.on(OrderFetched, handle=handle_order_fetched),
        HandlerBinding.on(CustomerFetched, handle=handle_customer_fetched),
        HandlerBinding.on(ProductFetched, handle=handle_product_fetched),
        # No inbox: dropping a cache entry twice is harmless.
        HandlerBinding.on(TenantConfigChanged, handle=handle_config_changed, inbox=False),
    ]
