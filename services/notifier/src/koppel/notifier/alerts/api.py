"""Internal alert routes (the gateway forwards ``/v1/alerts...`` here with the caller's
tenant in the path): rules, channels (secrets write-only) and the delivery log."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response

from koppel.common.app import require_service_token
from koppel.common.problems import Problem
from koppel.common.runtime import ServiceContext
from koppel.notifier.alerts import runner, store
from koppel.notifier.alerts.crypto import SecretBoxError, secret_box
from koppel.notifier.alerts.egress import DestinationRefused, check_destination
from koppel.notifier.alerts.schemas import (
    AttemptPublic,
    ChannelIn,
    ChannelPublic,
    DeliveryPage,
    DeliveryPublic,
    RuleIn,
    RulePublic,
    WebhookChannelIn,
)
from koppel.notifier.repository import decode_cursor, encode_cursor

PREFIX = "/internal/notifier/tenants/{tenant_id}"
R, C, D, A = store.RULES, store.CHANNELS, store.DELIVERIES, store.ATTEMPTS


def rule_public(row: Any) -> RulePublic:
    return RulePublic(
        id=row.id,
        kind=row.kind,
        enabled=row.enabled,
        flows=store.loads_list(row.flows),
        reason_codes=store.loads_list(row.reason_codes),
        channel_ids=store.loads_list(row.channel_ids),
        silent_factor=row.silent_factor,
        created_at=store.as_utc(row.created_at) or row.created_at,
        updated_at=store.as_utc(row.updated_at) or row.updated_at,
    )


def channel_public(row: Any) -> ChannelPublic:
    return ChannelPublic(
        id=row.id,
        kind=row.kind,
        name=row.name,
        enabled=row.enabled,
        language=row.language,
        digest_seconds=row.digest_seconds,
        config=json.loads(row.config),
        has_secret=row.secret_encrypted is not None,
        created_at=store.as_utc(row.created_at) or row.created_at,
        updated_at=store.as_utc(row.updated_at) or row.updated_at,
    )


def routers(ctx: ServiceContext) -> list[APIRouter]:
    router = APIRouter(
        prefix=PREFIX,
        tags=["notifier alerts"],
        dependencies=[Depends(require_service_token(ctx.settings))],
    )
    db = ctx.database

    def now() -> Any:
        return runner.clock(ctx)()

    async def one(table: sa.Table, tenant_id: str, item_id: int) -> Any:
        async with db.session() as s:
            query = sa.select(table).where(table.c.tenant_id == tenant_id, table.c.id == item_id)
            row = (await s.execute(query)).one_or_none()
        if row is None:
            raise Problem(404, "not found")
        return row

    async def check_channels(tenant_id: str, ids: list[int] | None) -> None:
        if not ids:
            return
        async with db.session() as s:
            query = sa.select(C.c.id).where(C.c.tenant_id == tenant_id, C.c.id.in_(ids))
            known = {r.id for r in (await s.execute(query)).all()}
        if missing := sorted(set(ids) - known):
            raise Problem(422, f"unknown channel ids: {missing}")

    def rule_values(body: RuleIn) -> dict[str, Any]:
        return {
            "kind": body.kind.value,
            "enabled": body.enabled,
            "flows": store.dumps_list([f.value for f in body.flows]) if body.flows else None,
            "reason_codes": store.dumps_list(body.reason_codes),
            "channel_ids": store.dumps_list(body.channel_ids),
            "silent_factor": body.silent_factor,
            "updated_at": now(),
        }

    @router.get("/alert-rules")
    async def list_rules(tenant_id: str) -> list[RulePublic]:
        async with db.session() as s:
            rows = await s.execute(sa.select(R).where(R.c.tenant_id == tenant_id).order_by(R.c.id))
            return [rule_public(r) for r in rows.all()]

    @router.post("/alert-rules", status_code=201)
    async def create_rule(tenant_id: str, body: RuleIn) -> RulePublic:
        await check_channels(tenant_id, body.channel_ids)
        values = rule_values(body) | {"tenant_id": tenant_id, "created_at": now()}
        async with db.session() as s:
            new_id = (await s.execute(R.insert().values(**values).returning(R.c.id))).scalar_one()
            await s.commit()
        runner.invalidate_config(ctx, tenant_id)
        return rule_public(await one(R, tenant_id, new_id))

    @router.get("/alert-rules/{rule_id}")
    async def get_rule(tenant_id: str, rule_id: int) -> RulePublic:
        return rule_public(await one(R, tenant_id, rule_id))

    @router.put("/alert-rules/{rule_id}")
    async def put_rule(tenant_id: str, rule_id: int, body: RuleIn) -> RulePublic:
        await one(R, tenant_id, rule_id)
        await check_channels(tenant_id, body.channel_ids)
        async with db.session() as s:
            where = sa.and_(R.c.tenant_id == tenant_id, R.c.id == rule_id)
            await s.execute(R.update().where(where).values(**rule_values(body)))
            await s.commit()
        runner.invalidate_config(ctx, tenant_id)
        return rule_public(await one(R, tenant_id, rule_id))

    @router.delete("/alert-rules/{rule_id}", status_code=204)
    async def delete_rule(tenant_id: str, rule_id: int) -> Response:
        await one(R, tenant_id, rule_id)
        async with db.session() as s:
            await s.execute(R.delete().where(R.c.tenant_id == tenant_id, R.c.id == rule_id))
            await s.commit()
        runner.invalidate_config(ctx, tenant_id)
        return Response(status_code=204)

    def encrypt(plaintext: str) -> str:
        try:
            return secret_box(runner.settings_of(ctx)).encrypt(plaintext)
        except SecretBoxError as exc:
            raise Problem(503, str(exc)) from None

    async def check_webhook(body: ChannelIn) -> None:
        if not isinstance(body, WebhookChannelIn):
            return
        allow_private = runner.settings_of(ctx).alert_webhook_allow_private
        try:
            await check_destination(body.url, allow_private=allow_private)
        except DestinationRefused as exc:
            error = {"loc": ["body", "url"], "msg": str(exc), "type": "destination_refused"}
            raise Problem(422, f"invalid request: url: {exc}", errors=[error]) from None

    def channel_values(body: ChannelIn) -> dict[str, Any]:
        values: dict[str, Any] = {
            "kind": body.kind,
            "name": body.name,
            "enabled": body.enabled,
            "language": body.language,
            "digest_seconds": body.digest_seconds,
            "config": json.dumps(body.config()),
            "updated_at": now(),
        }
        secret = body.secret_value()
        if secret is not None:
            values["secret_encrypted"] = encrypt(secret.get_secret_value())
        return values

    @router.get("/alert-channels")
    async def list_channels(tenant_id: str) -> list[ChannelPublic]:
        async with db.session() as s:
            rows = await s.execute(sa.select(C).where(C.c.tenant_id == tenant_id).order_by(C.c.id))
            return [channel_public(r) for r in rows.all()]

    @router.post("/alert-channels", status_code=201)
    async def create_channel(tenant_id: str, body: ChannelIn) -> ChannelPublic:
        await check_webhook(body)
        values = channel_values(body)
        if body.kind == "webhook" and "secret_encrypted" not in values:
            raise Problem(422, "a webhook channel needs a secret (at least 16 characters)")
        values |= {"tenant_id": tenant_id, "created_at": now()}
        async with db.session() as s:
            new_id = (await s.execute(C.insert().values(**values).returning(C.c.id))).scalar_one()
            await s.commit()
        runner.invalidate_config(ctx, tenant_id)
        return channel_public(await one(C, tenant_id, new_id))

    @router.get("/alert-channels/{channel_id}")
    async def get_channel(tenant_id: str, channel_id: int) -> ChannelPublic:
        return channel_public(await one(C, tenant_id, channel_id))

    @router.put("/alert-channels/{channel_id}")
    async def put_channel(tenant_id: str, channel_id: int, body: ChannelIn) -> ChannelPublic:
        """Replace the channel; an omitted secret keeps the stored one."""
        current = await one(C, tenant_id, channel_id)
        if current.kind != body.kind:
            raise Problem(422, "a channel's kind cannot change; create a new channel")
        await check_webhook(body)
        async with db.session() as s:
            where = sa.and_(C.c.tenant_id == tenant_id, C.c.id == channel_id)
            await s.execute(C.update().where(where).values(**channel_values(body)))
            await s.commit()
        runner.invalidate_config(ctx, tenant_id)
        return channel_public(await one(C, tenant_id, channel_id))

    @router.delete("/alert-channels/{channel_id}", status_code=204)
    async def delete_channel(tenant_id: str, channel_id: int) -> Response:
        await one(C, tenant_id, channel_id)
        async with db.session() as s:
            await s.execute(C.delete().where(C.c.tenant_id == tenant_id, C.c.id == channel_id))
            await s.commit()
        runner.invalidate_config(ctx, tenant_id)
        return Response(status_code=204)

    @router.get("/alert-deliveries")
    async def list_deliveries(
        tenant_id: str,
        status: str | None = None,
        channel_id: int | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> DeliveryPage:
        """The delivery log, newest first, each with its attempts (sent, retry, failed)."""
        query = (
            sa.select(
                D, store.ALERTS.c.reason_code, store.ALERTS.c.flow, store.ALERTS.c.folded_count
            )
            .outerjoin(store.ALERTS, store.ALERTS.c.id == D.c.alert_id)
            .where(D.c.tenant_id == tenant_id)
        )
        if status:
            query = query.where(D.c.status == status)
        if channel_id is not None:
            query = query.where(D.c.channel_id == channel_id)
        after = decode_cursor(cursor)
        if after is not None:
            query = query.where(D.c.id < after)
        async with db.session() as s:
            rows = (await s.execute(query.order_by(D.c.id.desc()).limit(limit + 1))).all()
            ids = [r.id for r in rows[:limit]]
            attempts = (
                await s.execute(
                    sa.select(A)
                    .where(A.c.tenant_id == tenant_id, A.c.delivery_id.in_(ids))
                    .order_by(A.c.delivery_id, A.c.attempt)
                )
            ).all()
        by_delivery: dict[int, list[AttemptPublic]] = defaultdict(list)
        for a in attempts:
            by_delivery[a.delivery_id].append(
                AttemptPublic(
                    attempt=a.attempt,
                    outcome=a.outcome,
                    error=a.error,
                    retry_in_seconds=a.retry_in_seconds,
                    attempted_at=store.as_utc(a.attempted_at) or a.attempted_at,
                )
            )
        items = [
            DeliveryPublic(
                id=r.id,
                channel_id=r.channel_id,
                kind=r.kind,
                alert_id=r.alert_id,
                digest_id=r.digest_id,
                status=r.status,
                attempts=r.attempts,
                next_attempt_at=store.as_utc(r.next_attempt_at),
                last_error=r.last_error,
                created_at=store.as_utc(r.created_at) or r.created_at,
                sent_at=store.as_utc(r.sent_at),
                reason_code=r.reason_code,
                flow=r.flow,
                folded_count=r.folded_count,
                attempt_log=by_delivery.get(r.id, []),
            )
            for r in rows[:limit]
        ]
        next_cursor = encode_cursor(items[-1].id) if len(rows) > limit and items else None
        return DeliveryPage(items=items, next_cursor=next_cursor)

    return [router]
