"""Notifier use cases: turn events into activity entries, keep dead letters, answer queries,
replay, purge. Called by ``handlers.py`` and ``api.py`` with the service context."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from opentelemetry import trace

from koppel.common.events import MessageDeadLettered
from koppel.common.messages import Message, utcnow
from koppel.common.runtime import ServiceContext
from koppel.notifier import domain
from koppel.notifier.adapters.preferences import Preferences, PreferencesSource
from koppel.notifier.adapters.writer import ActivityWriter
from koppel.notifier.models import TABLES, ServiceInfo

WRITER = "activity_writer"
PREFERENCES = "preferences"


@dataclass
class NotifierDeps:
    writer: ActivityWriter
    preferences: PreferencesSource


def deps(ctx: ServiceContext) -> NotifierDeps:
    return NotifierDeps(writer=ctx.dep(WRITER, ActivityWriter), preferences=ctx[PREFERENCES])


def _trace_id(message: Message) -> str | None:
    if message.traceparent:
        parts = message.traceparent.split("-")
        if len(parts) >= 3 and len(parts[1]) == 32:
            return parts[1]
    span = trace.get_current_span().get_span_context()
    return format(span.trace_id, "032x") if span.is_valid else None


# A message type's routing key never changes; building it runs a regex on the class name.
_ROUTING_KEYS: dict[type[Message], str] = {}


def _routing_key(kind: type[Message]) -> str:
    key = _ROUTING_KEYS.get(kind)
    if key is None:
        key = _ROUTING_KEYS[kind] = kind.routing_key()
    return key


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, ensure_ascii=False)


def entry_row(message: Message, draft: domain.EntryDraft, prefs: Preferences) -> dict[str, Any]:
    """The ``ActivityEntry`` columns for one event, redacted when the tenant asks for it."""
    entity = draft.entity
    source, target, reason = draft.source, draft.target, draft.reason
    key = entity.key if entity else None
    if prefs.redact_personal_data:
        source = domain.redact_payload(source)
        target = domain.redact_payload(target)
        reason = domain.redact_text(reason)
        key = domain.redact_key(entity.type.value if entity else None, key)
    return {
        "tenant_id": message.tenant_id,
        "message_id": message.message_id,
        "event_type": _routing_key(type(message)),
        "flow": message.flow.value if message.flow else None,
        "run_id": message.run_id,
        "correlation_id": message.correlation_id,
        "causation_id": message.causation_id,
        "direction": domain.direction_of(message),
        "step": draft.step,
        "status": draft.status,
        "outcome": draft.outcome,
        "entity_type": entity.type.value if entity else None,
        "source_id": entity.source_id if entity else None,
        "entity_key": key,
        "target_id": entity.target_id if entity else None,
        "reason_code": draft.reason_code,
        "reason": reason,
        "source_payload": _dump(source),
        "target_payload": _dump(target),
        "details": _dump(draft.extra or None),
        "trace_id": _trace_id(message),
        "redacted": prefs.redact_personal_data,
        "occurred_at": message.occurred_at,
        "recorded_at": utcnow(),
    }


async def record(ctx: ServiceContext, message: Message) -> domain.EntryDraft | None:
    """Record ``message`` in the activity log; its draft, or None when it is not flow
    activity (the caller's metrics reuse the draft instead of describing it again)."""
    draft = domain.describe(message)
    if draft is None:
        return None
    services = deps(ctx)
    prefs = await services.preferences(message.tenant_id)
    await services.writer.record(entry_row(message, draft, prefs))
    return draft


def dead_letter_row(message: MessageDeadLettered) -> dict[str, Any]:
    entity_key: str | None = None
    correlation = None
    flow = message.flow.value if message.flow else None
    try:
        body = json.loads(message.body)
    except ValueError:
        body = None
    if isinstance(body, dict):
        entity = body.get("entity")
        if isinstance(entity, dict):
            entity_key = str(entity.get("key") or entity.get("source_id") or "") or None
        try:
            correlation = UUID(str(body.get("correlation_id")))
        except ValueError:
            correlation = None
        flow = flow or body.get("flow")
    return {
        "tenant_id": message.tenant_id,
        "event_message_id": message.message_id,
        "service": message.service,
        "queue": message.queue,
        "routing_key": message.original_routing_key,
        "original_message_id": message.original_message_id,
        "flow": flow,
        "correlation_id": correlation,
        "entity_key": entity_key,
        "reason_code": message.reason_code,
        "reason": message.reason,
        "attempts": message.attempts,
        "body": message.body,
        "headers": json.dumps(message.headers, default=str),
        "dead_lettered_at": message.occurred_at,
    }


def purge_cutoff(now: datetime, retention_days: int) -> datetime:
    return now - timedelta(days=retention_days)


def describe(ctx: ServiceContext, handler_names: list[str]) -> ServiceInfo:
    return ServiceInfo(
        service=ctx.name,
        handlers=handler_names,
        tables=[table.__tablename__ for table in TABLES],
    )
