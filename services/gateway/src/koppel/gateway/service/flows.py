"""Flow settings and schedules; the settings document the other services read."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import col

from koppel.common.messages import Flow
from koppel.gateway.adapters.oauth import System
from koppel.gateway.domain import Schedule, language_of
from koppel.gateway.errors import InvalidInput, NotFound
from koppel.gateway.flow_settings import default_flow_settings, validate_flow_settings
from koppel.gateway.models import ConnectionRow, FlowRow
from koppel.gateway.schemas import FlowPublic, FlowPut, ScheduleIn
from koppel.gateway.service import connections
from koppel.gateway.service.context import Gateway, new_id
from koppel.gateway.service.ports import UnitOfWork
from koppel.gateway.service.tenants import audit, config_changed, get_tenant


class SettingsInvalid(InvalidInput):
    """Names every offending field, located like FastAPI's own errors (``body.settings...``)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        located = [
            {
                "loc": ["body", "settings", *err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
            for err in errors
        ]
        fields = ", ".join(".".join(str(p) for p in e["loc"][1:]) for e in located)
        super().__init__(f"invalid settings: {fields}", field=fields.split(", ")[0], errors=located)


def parse_flow(value: str) -> Flow:
    try:
        return Flow(value)
    except ValueError:
        raise NotFound(
            f"no flow called {value!r}; use one of {', '.join(f.value for f in Flow)}"
        ) from None


async def find_flow(uow: UnitOfWork, tenant_id: str, flow: Flow) -> FlowRow | None:
    stmt = sa.select(FlowRow).where(FlowRow.tenant_id == tenant_id, FlowRow.flow == flow.value)  # type: ignore[arg-type]
    return (await uow.session.execute(stmt)).scalar_one_or_none()


def schedule_of(row: FlowRow) -> Schedule | None:
    if row.interval_seconds is None and row.cron is None:
        return None
    return Schedule(interval_seconds=row.interval_seconds, cron=row.cron)


def public_view(flow: Flow, row: FlowRow | None) -> FlowPublic:
    if row is None:
        return FlowPublic(
            flow=flow.value,
            enabled=False,
            schedule=None,
            settings=default_flow_settings(flow),
            next_run_at=None,
            updated_at=None,
        )
    schedule = None
    if row.interval_seconds is not None or row.cron is not None:
        schedule = ScheduleIn(interval_seconds=row.interval_seconds, cron=row.cron)
    settings = {**default_flow_settings(flow), **row.settings}
    return FlowPublic(
        flow=flow.value,
        enabled=row.enabled,
        schedule=schedule,
        settings=settings,
        next_run_at=row.next_run_at,
        updated_at=row.updated_at,
    )


async def put_flow(
    gw: Gateway, uow: UnitOfWork, tenant_id: str, flow: Flow, data: FlowPut, actor: str
) -> FlowRow:
    try:
        settings = validate_flow_settings(flow, data.settings).model_dump(mode="json")
    except ValidationError as exc:
        raise SettingsInvalid(
            [dict(e) for e in exc.errors(include_url=False, include_context=False)]
        ) from None
    await get_tenant(uow, tenant_id)
    now = gw.clock()
    row = await find_flow(uow, tenant_id, flow)
    if row is None:
        row = FlowRow(id=new_id("flw"), tenant_id=tenant_id, flow=flow.value, updated_at=now)
        uow.session.add(row)
    old_schedule, was_enabled = (row.interval_seconds, row.cron), row.enabled
    row.enabled = data.enabled
    row.interval_seconds = data.schedule.interval_seconds if data.schedule else None
    row.cron = data.schedule.cron if data.schedule else None
    row.settings = settings
    schedule = schedule_of(row)
    if not row.enabled or schedule is None:
        row.next_run_at = None
    elif (
        not was_enabled
        or old_schedule != (row.interval_seconds, row.cron)
        or row.next_run_at is None
    ):
        row.next_run_at = schedule.next_after(now)
    row.updated_at = now
    audit(uow, gw, tenant_id, actor, f"flow:{flow.value}", "updated")
    config_changed(uow, tenant_id, f"flow:{flow.value}")
    await uow.commit()
    return row


async def tenant_settings(uow: UnitOfWork, tenant_id: str) -> dict[str, Any]:
    """What ``GET /internal/tenants/{id}/settings`` returns: everything but secrets."""
    tenant = await get_tenant(uow, tenant_id)
    rows = (
        await uow.session.execute(sa.select(FlowRow).where(col(FlowRow.tenant_id) == tenant_id))
    ).scalars()
    by_flow = {row.flow: row for row in rows}
    stmt = sa.select(ConnectionRow).where(col(ConnectionRow.tenant_id) == tenant_id)
    cons = (await uow.session.execute(stmt)).scalars()
    by_system = {row.system: row for row in cons}
    return {
        "tenant": {
            "id": tenant.id,
            "name": tenant.name,
            "redact_personal_data": tenant.redact_personal_data,
            "retention_days": tenant.retention_days,
            "language": language_of(tenant.language).value,
        },
        "flows": {
            flow.value: public_view(flow, by_flow.get(flow.value)).model_dump(mode="json")
            for flow in Flow
        },
        "connections": {
            system.value: {
                "status": row.status if row else connections.NEEDS_CONSENT,
                "api_base_url": row.api_base_url if row else connections.DEFAULT_URLS[system][0],
                "company": row.company if row else None,
            }
            for system in System
            for row in [by_system.get(system.value)]
        },
    }
