"""notifier: outbox, inbox, activity_entries, dead_letters, notifier_tenant_preferences.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

from koppel.common.migrations import create_messaging_tables_v1, drop_messaging_tables_v1

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    create_messaging_tables_v1()
    op.create_table(
        "activity_entries",
        sa.Column("id", BIGINT, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("flow", sa.String(32)),
        sa.Column("run_id", sa.Uuid()),
        sa.Column("correlation_id", sa.Uuid(), nullable=False),
        sa.Column("causation_id", sa.Uuid()),
        sa.Column("direction", sa.String(64)),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32)),
        sa.Column("entity_type", sa.String(32)),
        sa.Column("source_id", sa.String(255)),
        sa.Column("entity_key", sa.String(255)),
        sa.Column("target_id", sa.String(255)),
        sa.Column("reason_code", sa.String(128)),
        sa.Column("reason", sa.Text()),
        sa.Column("source_payload", sa.Text()),
        sa.Column("target_payload", sa.Text()),
        sa.Column("details", sa.Text()),
        sa.Column("trace_id", sa.String(32)),
        sa.Column("redacted", sa.Boolean(), nullable=False),
        _time("occurred_at"),
        _time("recorded_at"),
    )
    op.create_index(
        "ix_activity_tenant_time", "activity_entries", ["tenant_id", "occurred_at", "id"]
    )
    op.create_index(
        "ix_activity_tenant_correlation", "activity_entries", ["tenant_id", "correlation_id"]
    )
    op.create_index("ix_activity_tenant_entity", "activity_entries", ["tenant_id", "entity_key"])
    op.create_index("ix_activity_recorded", "activity_entries", ["recorded_at"])
    op.create_table(
        "dead_letters",
        sa.Column("id", BIGINT, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("event_message_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(255), nullable=False),
        sa.Column("routing_key", sa.String(255), nullable=False),
        sa.Column("original_message_id", sa.String(64)),
        sa.Column("flow", sa.String(32)),
        sa.Column("correlation_id", sa.Uuid()),
        sa.Column("entity_key", sa.String(255)),
        sa.Column("reason_code", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("replay_count", sa.Integer(), nullable=False),
        _time("dead_lettered_at"),
        _time("replayed_at", nullable=True),
    )
    op.create_index("ix_dead_letters_tenant_status", "dead_letters", ["tenant_id", "status", "id"])
    op.create_table(
        "notifier_tenant_preferences",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("redact_personal_data", sa.Boolean(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        _time("updated_at"),
    )


def downgrade() -> None:
    op.drop_table("notifier_tenant_preferences")
    op.drop_table("dead_letters")
    op.drop_table("activity_entries")
    drop_messaging_tables_v1()
