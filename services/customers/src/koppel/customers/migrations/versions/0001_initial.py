"""customers: outbox, inbox, customer_links, customer_cursors.

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
        "customer_links",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(255), primary_key=True),
        sa.Column("debtor_number", sa.String(16), nullable=True),
        sa.Column("source_id", sa.String(64), nullable=True),
        sa.Column("fields_hash", sa.String(64), nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("lease_until", stamp, nullable=True),
        sa.Column("updated_at", stamp, nullable=False),
    )
    op.create_table(
        "customer_cursors",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(8000), nullable=False),
        sa.Column("updated_at", stamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("customer_cursors")
    op.drop_table("customer_links")
    drop_messaging_tables_v1()
