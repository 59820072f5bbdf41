"""Rows to response bodies. Only these functions decide what leaves the gateway."""

from __future__ import annotations

from koppel.gateway.domain import language_of
from koppel.gateway.models import ApiKeyRow, AuditRow, RunRow, TenantRow
from koppel.gateway.schemas import (
    ApiKeyCreated,
    ApiKeyPublic,
    AuditEntry,
    RunCounts,
    RunPublic,
    TenantPublic,
)


def tenant(row: TenantRow) -> TenantPublic:
    return TenantPublic(
        id=row.id,
        name=row.name,
        redact_personal_data=row.redact_personal_data,
        retention_days=row.retention_days,
        language=language_of(row.language),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def api_key(row: ApiKeyRow) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def api_key_created(row: ApiKeyRow, plaintext: str) -> ApiKeyCreated:
    return ApiKeyCreated(**api_key(row).model_dump(), key=plaintext)


def run(row: RunRow) -> RunPublic:
    return RunPublic(
        id=row.id,
        flow=row.flow,
        trigger=row.trigger,
        dry_run=row.dry_run,
        record_id=row.record_id,
        status=row.status,
        counts=RunCounts(
            fetched=row.fetched,
            synced=row.synced,
            skipped=row.skipped,
            failed=row.failed,
            filtered_out=row.filtered_out,
        ),
        reason_code=row.reason_code,
        reason=row.reason,
        started_at=row.started_at,
        ended_at=row.ended_at,
    )


def audit(row: AuditRow) -> AuditEntry:
    return AuditEntry(actor=row.actor, section=row.section, action=row.action, at=row.at)
