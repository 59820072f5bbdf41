"""mapper: outbox, inbox, mappings and value maps with their history.

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

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _versioned(
    table: str,
    key: str,
    key_length: int,
    unique: str,
    *,
    history: bool = False,
    action: bool = False,
) -> None:
    columns: list[sa.Column[object] | sa.UniqueConstraint] = [
        sa.Column("id", _ID, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column(key, sa.String(key_length), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("saved_by", sa.String(200), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    ]
    if action:
        columns.append(sa.Column("action", sa.String(40), nullable=False))
    if history:
        columns.append(sa.UniqueConstraint("tenant_id", key, "version", name=unique))
    else:
        columns.append(sa.UniqueConstraint("tenant_id", key, name=unique))
    op.create_table(table, *columns)


def upgrade() -> None:
    create_messaging_tables_v1()
    _versioned("mapper_mappings", "flow", 32, "uq_mapper_mappings_tenant_flow")
    _versioned(
        "mapper_mapping_history",
        "flow",
        32,
        "uq_mapper_mapping_history_version",
        history=True,
        action=True,
    )
    _versioned("mapper_value_maps", "name", 40, "uq_mapper_value_maps_tenant_name")
    _versioned(
        "mapper_value_map_history", "name", 40, "uq_mapper_value_map_history_version", history=True
    )


def downgrade() -> None:
    op.drop_table("mapper_value_map_history")
    op.drop_table("mapper_value_maps")
    op.drop_table("mapper_mapping_history")
    op.drop_table("mapper_mappings")
    drop_messaging_tables_v1()
