"""gateway: tenants, keys, connections, OAuth states, flows, runs, audit; outbox and inbox

Revision ID: 0001_gateway_initial
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from koppel.common.migrations import create_messaging_tables_v1, drop_messaging_tables_v1

revision = "0001_gateway_initial"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_messaging_tables_v1()
    op.create_table(
        "gateway_tenants",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("redact_personal_data", sa.Boolean(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("webhook_secret_enc", sa.String(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "gateway_api_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_used_at", TS, nullable=True),
    )
    op.create_index("ix_gateway_api_keys_tenant_id", "gateway_api_keys", ["tenant_id"])
    op.create_table(
        "gateway_connections",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("system", sa.String(20), nullable=False),
        sa.Column("api_base_url", sa.String(500), nullable=False),
        sa.Column("auth_base_url", sa.String(500), nullable=False),
        sa.Column("redirect_uri", sa.String(500), nullable=True),
        sa.Column("client_id", sa.String(500), nullable=True),
        sa.Column("client_secret_enc", sa.String(), nullable=True),
        sa.Column("company", sa.String(200), nullable=True),
        sa.Column("refresh_token_enc", sa.String(), nullable=True),
        sa.Column("access_token_enc", sa.String(), nullable=True),
        sa.Column("access_expires_at", TS, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.Column("last_refreshed_at", TS, nullable=True),
        sa.Column("refresh_count", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "system", name="uq_gateway_connections_tenant_system"),
    )
    op.create_index("ix_gateway_connections_tenant_id", "gateway_connections", ["tenant_id"])
    op.create_table(
        "gateway_oauth_states",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("system", sa.String(20), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_gateway_oauth_states_tenant_id", "gateway_oauth_states", ["tenant_id"])
    op.create_table(
        "gateway_flows",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("flow", sa.String(20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(120), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("next_run_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "flow", name="uq_gateway_flows_tenant_flow"),
    )
    op.create_index("ix_gateway_flows_tenant_id", "gateway_flows", ["tenant_id"])
    op.create_index("ix_gateway_flows_next_run_at", "gateway_flows", ["next_run_at"])
    op.create_table(
        "gateway_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("flow", sa.String(20), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=True),
        sa.Column("filtered_out", sa.Integer(), nullable=False),
        sa.Column("synced", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(100), nullable=True),
        sa.Column("reason", sa.String(1000), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
    )
    op.create_index(
        "ix_gateway_runs_tenant_flow_status", "gateway_runs", ["tenant_id", "flow", "status"]
    )
    op.create_index("ix_gateway_runs_tenant_started", "gateway_runs", ["tenant_id", "started_at"])
    op.create_table(
        "gateway_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(60), nullable=False),
        sa.Column("section", sa.String(60), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_gateway_audit_tenant_id", "gateway_audit", ["tenant_id"])


def downgrade() -> None:
    for table in (
        "gateway_audit",
        "gateway_runs",
        "gateway_flows",
        "gateway_oauth_states",
        "gateway_connections",
        "gateway_api_keys",
        "gateway_tenants",
    ):
        op.drop_table(table)
    drop_messaging_tables_v1()
