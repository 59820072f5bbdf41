"""gateway: one row per counted record of a run (dedupe of outcomes and dead letters)

Revision ID: 0002_gateway_run_records
Revises: 0001_gateway_initial
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_gateway_run_records"
down_revision = "0001_gateway_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_run_records",
        sa.Column("run_id", sa.String(40), primary_key=True),
        sa.Column("correlation_id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("gateway_run_records")
