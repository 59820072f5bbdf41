"""The consumer keeps each tenant's alert rules and channels in memory: a rule or channel saved
through the API, or a ``TenantConfigChanged``, takes effect on the very next event; the TTL
bounds changes made elsewhere; an event is decided once however often it is delivered."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from test_alerts_support import (
    WEBHOOK_SECRET,
    Alerting,
    FakeClock,
    alerting,
    post,
    webhook_receiver,
)

from koppel.common.bus.base import Delivery
from koppel.common.events import (
    EntityRef,
    EntityType,
    OrderFailed,
    OrderMapped,
    TenantConfigChanged,
)
from koppel.common.messages import Flow, Message, utcnow
from koppel.notifier.alerts import runner, store
from koppel.notifier.alerts.config_cache import AlertConfigCache
from koppel.notifier.alerts.decide import kind_of
from koppel.notifier.alerts.domain import draft_for

LONG_TTL = {"alert_rules_cache_seconds": 3600.0}  # only an invalidation can refresh


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.connected)])
def db_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("database_url")
    return url


def failure(tenant: str, reason_code: str = "unmapped_value") -> OrderFailed:
    return OrderFailed(
        tenant_id=tenant,
        flow=Flow.orders,
        run_id=uuid4(),
        entity=EntityRef(type=EntityType.order, source_id=f"o-{uuid4().hex[:6]}", key="1042"),
        reason_code=reason_code,
        reason="Something a bookkeeper understands.",
        step="map",
    )


def failure_rule(tenant: str) -> dict[str, Any]:
    """A rule row as another replica's API would write it."""
    now = utcnow()
    return {"tenant_id": tenant, "kind": "failure", "created_at": now, "updated_at": now}


async def deliver(a: Alerting, message: Message, *, attempt: int = 1) -> None:
    """Through the runtime's delivery wrapper, as the bus consumer calls it."""
    name = "config_changed" if isinstance(message, TenantConfigChanged) else "alerts"
    binding = next(b for b in a.runtime.bindings if b.name == name)
    await a.runtime.deliver(binding, message, Delivery(attempt, attempt > 1, message.routing_key()))


async def count(a: Alerting, table: sa.Table, *where: Any) -> int:
    async with a.ctx.database.session() as s:
        query = sa.select(sa.func.count()).select_from(table).where(*where)
        return int((await s.execute(query)).scalar_one())


async def alerts_of(a: Alerting, tenant: str) -> int:
    return await count(a, store.ALERTS, store.ALERTS.c.tenant_id == tenant)


async def channel(a: Alerting, tenant: str, url: str) -> int:
    body = {"kind": "webhook", "name": "ops", "url": url, "secret": WEBHOOK_SECRET}
    created = await post(a, f"/{tenant}/alert-channels", body)
    return int(created["id"])


async def test_rules_and_channels_saved_through_the_api_apply_to_the_next_event(
    tmp_path: Path, db_url: str | None
) -> None:
    async with webhook_receiver() as hook, alerting(tmp_path, database_url=db_url, **LONG_TTL) as a:
        tenant = "t-cache-api"
        channel_id = await channel(a, tenant, hook.url)
        await deliver(a, failure(tenant, "first"))  # no rule yet: cached as "no rules"
        assert await alerts_of(a, tenant) == 0

        rule = await post(a, f"/{tenant}/alert-rules", {"kind": "failure"})
        await deliver(a, failure(tenant, "second"))
        assert await alerts_of(a, tenant) == 1

        path = f"/internal/notifier/tenants/{tenant}/alert-rules/{rule['id']}"
        response = await a.http.put(path, json={"kind": "failure", "enabled": False})
        assert response.status_code == 200, response.text
        await deliver(a, failure(tenant, "third"))
        assert await alerts_of(a, tenant) == 1

        response = await a.http.put(path, json={"kind": "failure", "flows": ["orders"]})
        assert response.status_code == 200, response.text
        await deliver(a, failure(tenant, "fourth"))
        assert await alerts_of(a, tenant) == 2

        # Disabling the only channel leaves the rule without a target
        channel_path = f"/internal/notifier/tenants/{tenant}/alert-channels/{channel_id}"
        body = {"kind": "webhook", "name": "ops", "url": hook.url, "enabled": False}
        response = await a.http.put(channel_path, json=body)
        assert response.status_code == 200, response.text
        await deliver(a, failure(tenant, "fifth"))
        assert await alerts_of(a, tenant) == 2

        # A deleted rule no longer alerts, even with the channel back on
        response = await a.http.put(channel_path, json={**body, "enabled": True})
        assert response.status_code == 200, response.text
        assert (await a.http.delete(path)).status_code == 204
        await deliver(a, failure(tenant, "sixth"))
        assert await alerts_of(a, tenant) == 2


async def test_tenant_config_changed_drops_rules_written_elsewhere(tmp_path: Path) -> None:
    async with webhook_receiver() as hook, alerting(tmp_path, **LONG_TTL) as a:
        tenant, other = "t-cache-event", "t-cache-other"
        for name in (tenant, other):
            await channel(a, name, hook.url)
            await deliver(a, failure(name, "before"))
        # Another replica saves rules: this one's cache does not know yet
        async with a.ctx.database.session() as s:
            for name in (tenant, other):
                await s.execute(store.RULES.insert().values(failure_rule(name)))
            await s.commit()
        await deliver(a, failure(tenant, "cached"))
        assert await alerts_of(a, tenant) == 0

        changed = TenantConfigChanged(tenant_id=tenant, section="tenant")
        await deliver(a, changed)
        await deliver(a, failure(tenant, "after"))
        await deliver(a, failure(other, "after"))
        assert await alerts_of(a, tenant) == 1
        assert await alerts_of(a, other) == 0  # only the named tenant was dropped


async def test_a_redelivered_failure_is_decided_once(tmp_path: Path, db_url: str | None) -> None:
    clock = FakeClock()
    async with webhook_receiver() as hook, alerting(tmp_path, clock, database_url=db_url) as a:
        tenant = "t-cache-dup"
        await channel(a, tenant, hook.url)
        await post(a, f"/{tenant}/alert-rules", {"kind": "failure"})
        event = failure(tenant)
        # Two deliveries at once (a redelivery racing the first), then one more later (the
        # ack was lost in a crash)
        await asyncio.gather(deliver(a, event), deliver(a, event, attempt=2))
        await deliver(a, event, attempt=3)
        assert await alerts_of(a, tenant) == 1
        folds = store.FOLDS
        assert await count(a, folds, folds.c.tenant_id == tenant, folds.c.folded > 0) == 0
        inbox = store.INBOX
        assert await count(a, inbox, inbox.c.message_id == event.message_id) == 1
        # A second, distinct failure of the same kind is folded (counted), not lost
        await deliver(a, failure(tenant))
        assert await count(a, folds, folds.c.tenant_id == tenant, folds.c.folded == 1) == 1


async def test_an_event_matching_no_rule_writes_nothing(tmp_path: Path) -> None:
    async with alerting(tmp_path) as a:
        tenant = "t-cache-none"
        await deliver(a, failure(tenant))
        assert await count(a, store.INBOX) == 0
        assert await alerts_of(a, tenant) == 0


async def test_the_cache_reads_again_after_its_ttl_and_keeps_no_stale_load(
    tmp_path: Path,
) -> None:
    now = [0.0]
    cache = AlertConfigCache(30.0, clock=lambda: now[0])
    async with alerting(tmp_path) as a:
        tenant = "t-cache-ttl"
        db = a.ctx.database
        async with db.session() as s:
            assert (await cache.get(s, tenant)).rules_of("failure") == []
            await s.execute(store.RULES.insert().values(failure_rule(tenant)))
            await s.commit()
        async with db.session() as s:
            now[0] = 29.0
            assert (await cache.get(s, tenant)).rules_of("failure") == []
            assert cache.loads == 1
            now[0] = 30.5
            assert len((await cache.get(s, tenant)).rules_of("failure")) == 1
            assert cache.loads == 2

        # An invalidation while a load is under way: its result is used once, not kept
        class Racing:
            def __getattr__(self, name: str) -> Any:
                return getattr(s, name)

            async def execute(self, *args: Any, **kwargs: Any) -> Any:
                cache.invalidate(tenant)
                return await s.execute(*args, **kwargs)

        cache.invalidate()
        async with db.session() as s:
            await cache.get(Racing(), tenant)  # type: ignore[arg-type]
            await cache.get(s, tenant)
            assert cache.loads == 4
            await cache.get(s, tenant)
            assert cache.loads == 4


def test_every_event_that_drafts_an_alert_names_its_kind_up_front() -> None:
    """``kind_of`` lets the consumer skip events before building a draft: it must agree."""
    tenant = "t-kinds"
    samples: list[Message] = [
        failure(tenant),
        OrderMapped(
            tenant_id=tenant,
            flow=Flow.orders,
            run_id=uuid4(),
            entity=EntityRef(type=EntityType.order, source_id="o-1"),
            target={},
            customer={},
            skus=[],
        ),
    ]
    for cls in runner.ALERT_EVENTS:
        fields: dict[str, Any] = {"tenant_id": tenant, "flow": Flow.orders}
        extra = {
            "reason_code": "x",
            "reason": "why",
            "step": "map",
            "entity": EntityRef(type=EntityType.order, source_id="o-2"),
            "system": "eaccounting",
            "service": "orders",
            "queue": "orders.q",
            "original_routing_key": "event.x.v1",
            "original_message_id": str(uuid4()),
            "attempts": 3,
            "body": "{}",
            "headers": {},
            "fetched": 1,
            "run_id": uuid4(),
        }
        known = cls.model_fields
        fields |= {k: v for k, v in extra.items() if k in known}
        samples.append(cls.model_validate(fields))
    for message in samples:
        draft = draft_for(message)
        assert kind_of(message) == (draft.kind if draft else None), type(message).__name__
