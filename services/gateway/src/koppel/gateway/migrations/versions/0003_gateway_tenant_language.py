"""gateway: the tenant's language (nl|en) for alert texts

Revision ID: 0003_gateway_tenant_language
Revises: 0002_gateway_run_records
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_gateway_tenant_language"
down_revision = "0002_gateway_run_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The server default gives existing tenants "nl", the language they were alerted in so far.
    op.add_column(
        "gateway_tenants",
        sa.Column("language", sa.String(5), nullable=False, server_default="nl"),
    )


def downgrade() -> None:
    with op.batch_alter_table("gateway_tenants") as batch:  # SQLite drops columns by copy
        batch.drop_column("language")
