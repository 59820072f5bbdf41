"""The gateway's tables. Every row carries ``tenant_id``; secrets are stored encrypted (``*_enc``).

Names carry a ``gateway_`` prefix: in embedded mode every service's models share one process
(and SQLModel's one metadata), so a name like ``runs`` must not be claimable by two services.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, also on SQLite (which keeps no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class GatewayTable(SQLModel):
    """Base of the gateway's tables."""


class TenantRow(GatewayTable, table=True):
    __tablename__ = "gateway_tenants"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    redact_personal_data: bool = False
    retention_days: int = 30
    # nl|en (domain.Language); the server default fills rows made before revision 0003.
    language: str = Field(default="nl", max_length=5, sa_column_kwargs={"server_default": "nl"})
    webhook_secret_enc: str
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class ApiKeyRow(GatewayTable, table=True):
    __tablename__ = "gateway_api_keys"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=40)
    name: str = Field(max_length=200)
    prefix: str = Field(max_length=20)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = utc_column()
    revoked_at: datetime | None = utc_column(nullable=True)
    last_used_at: datetime | None = utc_column(nullable=True)


class ConnectionRow(GatewayTable, table=True):
    __tablename__ = "gateway_connections"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "system", name="uq_gateway_connections_tenant_system"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=40)
    system: str = Field(max_length=20)
    api_base_url: str = Field(max_length=500)
    auth_base_url: str = Field(max_length=500)
    redirect_uri: str | None = Field(default=None, max_length=500)
    client_id: str | None = Field(default=None, max_length=500)
    client_secret_enc: str | None = None
    company: str | None = Field(default=None, max_length=200)
    refresh_token_enc: str | None = None
    access_token_enc: str | None = None
    access_expires_at: datetime | None = utc_column(nullable=True)
    status: str = Field(default="needs_consent", max_length=20)
    last_error: str | None = Field(default=None, max_length=1000)
    last_refreshed_at: datetime | None = utc_column(nullable=True)
    refresh_count: int = 0
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class OAuthStateRow(GatewayTable, table=True):
    """A pending authorization: the state nonce is stored hashed and used once."""

    __tablename__ = "gateway_oauth_states"

    state_hash: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(index=True, max_length=40)
    system: str = Field(max_length=20)
    expires_at: datetime = utc_column()


class FlowRow(GatewayTable, table=True):
    """A flow's settings and its schedule. ``next_run_at`` is what scheduler replicas claim."""

    __tablename__ = "gateway_flows"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "flow", name="uq_gateway_flows_tenant_flow"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=40)
    flow: str = Field(max_length=20)
    enabled: bool = False
    interval_seconds: int | None = None
    cron: str | None = Field(default=None, max_length=120)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    next_run_at: datetime | None = utc_column(nullable=True, index=True)
    updated_at: datetime = utc_column()


class RunRow(GatewayTable, table=True):
    __tablename__ = "gateway_runs"
    __table_args__ = (
        sa.Index("ix_gateway_runs_tenant_flow_status", "tenant_id", "flow", "status"),
        sa.Index("ix_gateway_runs_tenant_started", "tenant_id", "started_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=40)
    flow: str = Field(max_length=20)
    trigger: str = Field(max_length=20)
    dry_run: bool = False
    record_id: str | None = Field(default=None, max_length=200)
    status: str = Field(default="running", max_length=20)
    fetched: int | None = None
    filtered_out: int = 0
    synced: int = 0
    skipped: int = 0
    failed: int = 0
    reason_code: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=1000)
    started_at: datetime = utc_column()
    ended_at: datetime | None = utc_column(nullable=True)


class RunRecordRow(GatewayTable, table=True):
    """The outcome counted for one record (correlation id) of a run.

    A record may be reported more than once (its ``*Failed`` event and a dead letter of one of
    its messages, or several parked messages, or a failure and then a successful replay): this
    row makes the run's counters count each record once, and lets a later success move it.
    """

    __tablename__ = "gateway_run_records"

    run_id: str = Field(primary_key=True, max_length=40)
    correlation_id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=40)
    outcome: str = Field(max_length=20)
    at: datetime = utc_column()


class AuditRow(GatewayTable, table=True):
    """Who changed which setting when (MISSION: operations with an audit trail). No values."""

    __tablename__ = "gateway_audit"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(index=True, max_length=40)
    actor: str = Field(max_length=60)  # "admin" or an API key prefix
    section: str = Field(max_length=60)
    action: str = Field(max_length=40)
    at: datetime = utc_column()


TABLES: list[type[SQLModel]] = [
    TenantRow,
    ApiKeyRow,
    ConnectionRow,
    OAuthStateRow,
    FlowRow,
    RunRow,
    RunRecordRow,
    AuditRow,
]
