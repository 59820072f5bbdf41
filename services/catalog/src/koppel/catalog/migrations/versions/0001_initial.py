"""catalog: outbox, inbox, product_links, catalog_cursors, stock_snapshots.

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
        "product_links",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("ean", sa.String(64), nullable=True),
        sa.Column("eaccounting_article_id", sa.String(64), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", stamp, nullable=False),
    )
    op.create_table(
        "catalog_cursors",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("flow", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(8000), nullable=True),
        sa.Column("last_full_sweep_at", stamp, nullable=True),
        sa.Column("updated_at", stamp, nullable=False),
    )
    op.create_table(
        "stock_snapshots",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("formula", sa.String(64), nullable=False),
        sa.Column("updated_at", stamp, nullable=False),
    )


def downgrade() -> None:
    for table in ("stock_snapshots", "catalog_cursors", "product_links"):
        op.drop_table(table)
    drop_messaging_tables_v1()
