"""Alembic migrations per service, run programmatically.

Each service keeps ``src/koppel/<service>/migrations/`` with ``env.py`` (two lines calling
``run_env()``), ``script.py.mako`` and ``versions/``. Its first revision creates the outbox
and inbox with ``create_messaging_tables_v1()`` next to its own tables. The version table
(``alembic_version``) lives in the service's own schema on PostgreSQL and in its own file on
SQLite, so revision ids only need to be unique within a service.

Entry points:

* ``await migrate(spec, database_url)``: what ``koppel migrate`` (a Kubernetes Job) calls per
  service; ``database_url=None`` takes ``KOPPEL_DATABASE_URL`` through the spec's settings.
* ``await migrate_database(spec, database)``: the same on an open ``Database`` (the runtime
  uses it at start when ``KOPPEL_SCHEMA_MODE`` is ``auto`` or ``migrate``).
* ``await new_revision(spec, database_url, message)``: autogenerate the next revision from
  the difference between the models and a database migrated to head.

On SQLite, DDL runs outside a transaction (the driver's default), so a migration that fails
halfway leaves the file half-migrated; on PostgreSQL a failed migration rolls back entirely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command, op
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from koppel.common.db import Database

if TYPE_CHECKING:
    from koppel.common.runtime import ServiceSpec


async def migrate(
    spec: ServiceSpec,
    database_url: str | None = None,
    *,
    schema: str | None = None,
    revision: str = "head",
) -> None:
    """Upgrade one service's database (schema created if missing) to ``revision``."""
    url = database_url or spec.settings_type().database_url_for(spec.name)
    database = Database(url, service=spec.name, tables=spec.all_tables, schema=schema)
    try:
        await migrate_database(spec, database, revision=revision)
    finally:
        await database.dispose()


async def migrate_database(
    spec: ServiceSpec, database: Database, *, revision: str = "head"
) -> None:
    config = alembic_config(spec, database)
    await database.ensure_schema()
    async with database.engine.begin() as conn:
        await conn.run_sync(_run, config, lambda cfg: command.upgrade(cfg, revision))


async def new_revision(spec: ServiceSpec, database_url: str, message: str) -> None:
    """Write ``versions/<rev>_<slug>.py`` from what the models add to the head schema."""
    database = Database(database_url, service=spec.name, tables=spec.all_tables)
    try:
        await migrate_database(spec, database)
        config = alembic_config(spec, database)
        async with database.engine.begin() as conn:
            await conn.run_sync(
                _run, config, lambda cfg: command.revision(cfg, message=message, autogenerate=True)
            )
    finally:
        await database.dispose()


def alembic_config(spec: ServiceSpec, database: Database) -> Config:
    if spec.migrations_path is None or not spec.migrations_path.is_dir():
        raise ValueError(f"service {spec.name!r} has no migrations folder")
    config = Config()
    config.set_main_option("script_location", str(spec.migrations_path))
    config.attributes["schema"] = database.schema
    config.attributes["table_names"] = {m.__tablename__ for m in spec.all_tables}
    return config


def _run(connection: Connection, config: Config, action: Any) -> None:
    config.attributes["connection"] = connection
    action(config)


def run_env() -> None:
    """The body of every service's ``migrations/env.py``."""
    from alembic import context

    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "run migrations with `koppel migrate` (koppel.common.migrations.migrate)"
        )
    table_names: set[str] = config.attributes.get("table_names", set())

    def include_object(
        obj: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any
    ) -> bool:
        # The shared SQLModel metadata holds every service's tables; compare only ours.
        if type_ == "table":
            return name in table_names
        table = getattr(obj, "table", None)
        return table is None or table.name in table_names

    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        version_table_schema=config.attributes.get("schema"),
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# --- frozen DDL shared by every service's first revision ------------------------------------
# Written out instead of derived from the models: a migration must keep meaning what it meant
# when it was written, whatever the models become later.


def create_messaging_tables_v1() -> None:
    """Outbox and inbox, as in ``outbox.OutboxMessage`` and ``inbox.InboxEntry`` (v1)."""
    pending = sa.text("published_at IS NULL")
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("routing_key", sa.String(255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
    )
    op.create_index("ix_outbox_message_id", "outbox", ["message_id"])
    op.create_index(
        "ix_outbox_pending", "outbox", ["id"], postgresql_where=pending, sqlite_where=pending
    )
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])
    op.create_table(
        "inbox",
        sa.Column("handler", sa.String(200), primary_key=True),
        sa.Column("message_id", sa.Uuid(), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"])


def drop_messaging_tables_v1() -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")
