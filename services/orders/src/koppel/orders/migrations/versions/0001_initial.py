"""orders: outbox, inbox, order_links, order_sagas, order_cursors, order_runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from koppel.common.migrations import create_messaging_tables_v1, drop_messaging_tables_v1

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_messaging_tables_v1()
    stamp = sa.DateTime(timezone=True)
    op.create_table(
        "order_links",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("source_id", sa.String(64), primary_key=True),
        sa.Column("order_number", sa.String(40), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("correlation_id", sa.Uuid(), nullable=True, index=True),
        sa.Column("target_kind", sa.String(16), nullable=True),
        sa.Column("target_number", sa.String(40), nullable=True),
        sa.Column("debtor_number", sa.String(16), nullable=True),
        sa.Column("reason", sa.String(2000), nullable=True),
        sa.Column("updated_at", stamp, nullable=False),
    )
    op.create_table(
        "order_sagas",
        sa.Column("correlation_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("mapped", sa.JSON(), nullable=False),
        sa.Column("debtor_number", sa.String(16), nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("create_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lease_until", stamp, nullable=True),
        sa.Column("created_at", stamp, nullable=False),
        sa.Column("updated_at", stamp, nullable=False),
    )
    op.create_table(
        "order_cursors",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(8000), nullable=False),
        sa.Column("updated_at", stamp, nullable=False),
    )
    op.create_table(
        "order_runs",
        sa.Column("run_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("created_at", stamp, nullable=False),
    )


def downgrade() -> None:
    for table in ("order_runs", "order_cursors", "order_sagas", "order_links"):
        op.drop_table(table)
    drop_messaging_tables_v1()
