"""catalog: catalog_rate_tokens (eAccounting rate-limit tokens shared by replicas).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_rate_tokens",
        sa.Column("bucket", sa.String(200), primary_key=True),
        sa.Column("slot", sa.Integer(), primary_key=True),
        sa.Column("ready_at", sa.Float(), nullable=False),
        sa.Column("holder", sa.String(32), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("catalog_rate_tokens")
