"""One service's database: an async SQLAlchemy engine over PostgreSQL or SQLite.

Isolation between services (DESIGN.md section 2):

* **PostgreSQL**: one schema per service, selected with the connection's ``search_path``
  (asyncpg ``server_settings``), and only that schema (no ``public``), so an unqualified
  ``outbox`` means *this service's* outbox. We chose ``search_path`` over SQLAlchemy's
  ``schema_translate_map`` because it also covers ``text()`` SQL, Alembic migrations written
  schema-less, and ``pg_table_is_visible`` checks, so models and migrations stay identical on
  SQLite and PostgreSQL. The price: a connection pooler in transaction mode (PgBouncer)
  does not keep startup parameters; use session pooling, or ``ALTER ROLE ... SET
  search_path`` per service role.
* **SQLite**: one file per service in the data dir (``KoppelSettings.database_url_for``), in
  WAL mode with a busy timeout and foreign keys on. The driver's default transaction
  handling is kept on purpose: plain SELECTs run outside a transaction and a write
  transaction begins at the first INSERT/UPDATE/DELETE, which is exactly the "reads hold no
  lock, writes are one short transaction" shape ``UnitOfWork`` relies on.

Tables are SQLModel models (schema-less); each service passes the list of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# How long a SQLite writer waits for the one write lock before "database is locked". With a
# burst in flight (2,000 orders at once in ``koppel up``) the loop is busy, a write
# transaction spans several of its turns, and SQLite's busy handler (sleep and poll, no
# queue) let some writers wait past 10 s: each failure was retried, a failed commit left its
# create claim to lapse, and 2,000 orders took up to 2.5 times as long (9.9 and 10.5 orders/s
# in two of three runs against 24.5-24.8 with 60 s and no failures; ``koppel bench orders
# --count 2000``). Readers never
# block in WAL mode; only a writer waiting on its own other transaction would now fail
# after 60 s instead of 10 s, with the same retried error.
SQLITE_BUSY_TIMEOUT_MS = 60_000


class Database:
    """The engine, session factory and schema of one service.

    ``schema`` (PostgreSQL only) defaults to the service name; tests pass a random one.
    """

    def __init__(
        self,
        url: str,
        *,
        service: str,
        tables: Sequence[type[SQLModel]] = (),
        schema: str | None = None,
        pool_size: int = 5,
        max_overflow: int = 10,
        echo: bool = False,
    ) -> None:
        self.url = make_url(url)
        self.service = service
        self.tables = list(tables)
        self.is_postgres = self.url.get_backend_name() == "postgresql"
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if not (self.is_postgres or self.is_sqlite):
            raise ValueError(f"unsupported database {self.url.get_backend_name()!r}")
        self.schema: str | None = None
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_postgres:
            self.schema = (schema or service).lower().replace("-", "_")
            if not _SCHEMA_NAME.match(self.schema):
                raise ValueError(f"invalid schema name {self.schema!r}")
            kwargs["connect_args"] = {"server_settings": {"search_path": self.schema}}
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = max_overflow
        else:
            database = self.url.database or ""
            if database in ("", ":memory:"):
                # One shared connection, or each session would see its own empty database.
                kwargs["poolclass"] = StaticPool
                kwargs["connect_args"] = {"check_same_thread": False}
            else:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
                # The same connection budget, all kept: an overflow connection is closed on
                # return, and a new aiosqlite connection is a new thread plus the pragmas
                # below; under load that churn cost more than the queries.
                kwargs["pool_size"] = pool_size + max_overflow
                kwargs["max_overflow"] = 0
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        if self.is_postgres:
            event.listen(self.engine.sync_engine.pool, "checkout", _drop_closed_connection)
        self.sessionmaker: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False, autoflush=False
        )
        # Read-only sessions on PostgreSQL run in autocommit: under READ COMMITTED every
        # statement takes its own snapshot anyway, so a read block loses nothing, and it
        # saves the BEGIN and ROLLBACK round trips of each ``uow.read()`` and inbox check.
        read_engine = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.is_postgres
            else self.engine
        )
        # Also for Core reads that need no session at all (the inbox check of every delivery).
        self.read_engine: AsyncEngine = read_engine
        self.read_sessionmaker: async_sessionmaker[AsyncSession] = async_sessionmaker(
            read_engine, expire_on_commit=False, autoflush=False
        )

    @property
    def dialect(self) -> str:
        return "postgresql" if self.is_postgres else "sqlite"

    def session(self) -> AsyncSession:
        """A new session (autoflush off, objects stay usable after commit)."""
        return self.sessionmaker()

    def read_session(self) -> AsyncSession:
        """A session for reads only (autocommit on PostgreSQL, see ``__init__``)."""
        return self.read_sessionmaker()

    async def ensure_schema(self) -> None:
        """Create this service's PostgreSQL schema if missing (no-op on SQLite)."""
        if self.schema is None:
            return
        async with self.engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))

    async def create_all(self, extra: Sequence[type[SQLModel]] = ()) -> None:
        """Create the service's tables (tests, embedded mode without migrations)."""
        await self.ensure_schema()
        models = list(dict.fromkeys([*self.tables, *extra]))
        tables = [model.__table__ for model in models]  # type: ignore[attr-defined]
        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all, tables=tables)

    async def drop_schema(self) -> None:
        """Drop everything this service owns (tests): its schema, or its tables on SQLite."""
        if self.schema is not None:
            async with self.engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            return
        tables = [model.__table__ for model in self.tables]  # type: ignore[attr-defined]
        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.drop_all, tables=tables)

    async def ping(self) -> bool:
        """True when a trivial query succeeds (readiness)."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # any failure means "not ready"; the reason is logged by the caller
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL + NORMAL survives a process crash (not an OS crash) without losing commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _drop_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Replace a pooled PostgreSQL connection the server already closed (a restart, an
    idle timeout) before anyone uses it.

    This replaces ``pool_pre_ping``, which costs three round trips (BEGIN, ``;``, ROLLBACK)
    on every checkout: on a busy event loop each round trip waits a whole loop cycle, and
    they made a trivial inbox check take ~170 ms. A server-side close reaches asyncpg as a
    lost connection, so the check needs no round trip. A connection that dies silently
    still fails on first use; SQLAlchemy then invalidates the pool and the caller's error
    is retried like any transient one (handlers through the bus, the relay on its next pass).
    """
    inner = getattr(dbapi_connection, "_connection", None)
    is_closed = getattr(inner, "is_closed", None)
    if is_closed is not None and is_closed():
        raise DisconnectionError("pooled connection was closed by the server")
