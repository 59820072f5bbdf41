"""Each skeleton service's migrations build exactly the tables its models declare."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from koppel.catalog.app import SPEC as CATALOG
from koppel.common.db import Database
from koppel.common.migrations import migrate
from koppel.common.runtime import ServiceSpec
from koppel.customers.app import SPEC as CUSTOMERS
from koppel.notifier.app import SPEC as NOTIFIER
from koppel.orders.app import SPEC as ORDERS

SPECS = [ORDERS, CUSTOMERS, CATALOG, NOTIFIER]


def differences(connection: sa.Connection, spec: ServiceSpec) -> list[Any]:
    names = {model.__tablename__ for model in spec.all_tables}  # type: ignore[attr-defined]

    def include(obj: Any, name: str | None, type_: str, _r: bool, _c: Any) -> bool:
        if type_ == "table":
            return name in names
        table = getattr(obj, "table", None)
        return table is None or table.name in names

    context = MigrationContext.configure(
        connection, opts={"include_object": include, "compare_type": True}
    )
    return list(compare_metadata(context, SQLModel.metadata))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
async def test_migrations_match_models(
    spec: ServiceSpec, db_target: tuple[str, str | None]
) -> None:
    url, schema = db_target
    await migrate(spec, url, schema=schema)
    await migrate(spec, url, schema=schema)  # idempotent at head

    database = Database(url, service=spec.name, tables=spec.all_tables, schema=schema)
    try:
        async with database.engine.connect() as conn:
            diff = await conn.run_sync(differences, spec)
            version = (
                await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
            ).scalar()
            if schema is not None:
                owner = await conn.execute(
                    sa.text(
                        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'alembic_version' AND table_schema = :s"
                    ),
                    {"s": schema},
                )
                assert owner.scalar() == schema
        assert diff == []
        assert spec.migrations_path is not None
        assert version == ScriptDirectory(str(spec.migrations_path)).get_current_head()
    finally:
        await database.drop_schema()
        if database.is_sqlite:
            async with database.engine.begin() as conn:
                await conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        await database.dispose()
