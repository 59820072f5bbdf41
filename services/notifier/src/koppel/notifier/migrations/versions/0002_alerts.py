"""notifier: alert channels, rules, alerts, folds, deliveries, attempts, flow health.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "alert_channels",
        sa.Column("id", BIGINT, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(8)),
        sa.Column("digest_seconds", sa.Integer()),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("secret_encrypted", sa.Text()),
        _time("created_at"),
        _time("updated_at"),
    )
    op.create_index("ix_alert_channels_tenant", "alert_channels", ["tenant_id", "id"])
    op.create_table(
        "alert_rules",
        sa.Column("id", BIGINT, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("flows", sa.Text()),
        sa.Column("reason_codes", sa.Text()),
        sa.Column("channel_ids", sa.Text()),
        sa.Column("silent_factor", sa.Float()),
        _time("created_at"),
        _time("updated_at"),
    )
    op.create_index("ix_alert_rules_tenant", "alert_rules", ["tenant_id", "kind"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("flow", sa.String(32)),
        sa.Column("reason_code", sa.String(128), nullable=False),
        sa.Column("fold_key", sa.String(255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("folded_count", sa.Integer(), nullable=False),
        _time("folded_since", nullable=True),
        sa.Column("summary", sa.Boolean(), nullable=False),
        _time("created_at"),
    )
    op.create_index("ix_alerts_tenant_created", "alerts", ["tenant_id", "created_at"])
    op.create_table(
        "alert_folds",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("fold_key", sa.String(255), primary_key=True),
        _time("window_started_at", nullable=True),
        sa.Column("folded", sa.Integer(), nullable=False),
        sa.Column("last_content", sa.Text()),
        sa.Column("channel_ids", sa.Text()),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", BIGINT, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("channel_id", BIGINT, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("alert_id", sa.Uuid()),
        sa.Column("digest_id", BIGINT),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at", nullable=True),
        _time("lease_until", nullable=True),
        sa.Column("last_error", sa.Text()),
        _time("created_at"),
        _time("sent_at", nullable=True),
    )
    op.create_index("ix_alert_deliveries_due", "alert_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_alert_deliveries_tenant", "alert_deliveries", ["tenant_id", "id"])
    op.create_index("ix_alert_deliveries_channel", "alert_deliveries", ["channel_id", "status"])
    op.create_table(
        "alert_attempts",
        sa.Column("id", BIGINT, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("delivery_id", BIGINT, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("retry_in_seconds", sa.Float()),
        _time("attempted_at"),
    )
    op.create_index("ix_alert_attempts_delivery", "alert_attempts", ["delivery_id", "attempt"])
    op.create_table(
        "alert_flow_health",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("flow", sa.String(32), primary_key=True),
        _time("last_success_at", nullable=True),
        _time("silent_alerted_at", nullable=True),
    )


def downgrade() -> None:
    for table in (
        "alert_flow_health",
        "alert_attempts",
        "alert_deliveries",
        "alert_folds",
        "alerts",
        "alert_rules",
        "alert_channels",
    ):
        op.drop_table(table)
