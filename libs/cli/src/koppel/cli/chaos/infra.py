"""A throw-away PostgreSQL database and RabbitMQ vhost per chaos run, and broker chores.

Every run gets ``koppel_chaos_<hex>`` as both database and vhost, so runs never see each
other's tables or queues (queue names are not prefixed by the bus, so a vhost is the only
clean fence), and dropping both at the end leaves nothing behind. Broker chores go through
``rabbitmqctl`` (closing connections, queue depths, vhost admin), scoped to the run's vhost
so a chaos run never disturbs other users of the same broker.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg


class InfraError(RuntimeError):
    """The database server or the broker could not be prepared."""


@dataclass(frozen=True)
class Infra:
    name: str  # database name and vhost name
    admin_dsn: str  # plain libpq DSN of the server's maintenance database
    database_url: str  # SQLAlchemy URL the services get (postgresql+asyncpg://...)
    amqp_url: str  # AMQP URL of the run's vhost
    rabbitmqctl: str


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def _with_vhost(url: str, vhost: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))


def plain_dsn(sqlalchemy_url: str) -> str:
    """``postgresql+asyncpg://...`` -> ``postgresql://...`` (what asyncpg accepts)."""
    scheme, _, rest = sqlalchemy_url.partition("://")
    return "postgresql://" + rest if scheme.startswith("postgresql") else sqlalchemy_url


async def rabbitmqctl(ctl: str, *args: str, timeout: float = 60.0) -> str:
    proc = await asyncio.create_subprocess_exec(
        ctl, "-q", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise InfraError(f"rabbitmqctl {' '.join(args)} timed out") from None
    if proc.returncode != 0:
        raise InfraError(f"rabbitmqctl {' '.join(args)} failed: {err.decode().strip()}")
    return out.decode()


async def create_infra(database_url: str, amqp_url: str) -> Infra:
    """A fresh database on the server of ``database_url`` and a fresh vhost on the broker."""
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        raise InfraError("rabbitmqctl is not on PATH (needed for the run's own vhost)")
    name = f"koppel_chaos_{secrets.token_hex(4)}"
    admin_dsn = plain_dsn(database_url)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    await rabbitmqctl(ctl, "add_vhost", name)
    await rabbitmqctl(ctl, "set_permissions", "-p", name, _amqp_user(amqp_url), ".*", ".*", ".*")
    return Infra(
        name=name,
        admin_dsn=admin_dsn,
        database_url=_with_database(database_url, name),
        amqp_url=_with_vhost(amqp_url, name),
        rabbitmqctl=ctl,
    )


def _amqp_user(amqp_url: str) -> str:
    return urlsplit(amqp_url).username or "guest"


async def drop_infra(infra: Infra) -> None:
    """Drop the run's database (kicking leftover sessions) and delete its vhost."""
    errors: list[str] = []
    try:
        conn = await asyncpg.connect(infra.admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{infra.name}" WITH (FORCE)')
        finally:
            await conn.close()
    except Exception as exc:  # the vhost still goes; the error is reported
        errors.append(f"database: {exc}")
    try:
        await rabbitmqctl(infra.rabbitmqctl, "delete_vhost", infra.name)
    except InfraError as exc:
        errors.append(f"vhost: {exc}")
    if errors:
        raise InfraError("; ".join(errors))


async def close_connections(infra: Infra, reason: str = "chaos") -> None:
    """Close every client connection of the run's vhost (not the broker's other users)."""
    await rabbitmqctl(infra.rabbitmqctl, "close_all_connections", "--vhost", infra.name, reason)


async def queue_depths(infra: Infra) -> dict[str, int]:
    """Ready plus unacknowledged messages per queue of the run's vhost."""
    out = await rabbitmqctl(
        infra.rabbitmqctl, "list_queues", "-p", infra.name, "--no-table-headers", "name", "messages"
    )
    depths: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            depths[parts[0]] = int(parts[1])
    return depths
