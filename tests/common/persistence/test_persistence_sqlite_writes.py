"""SQLite write transactions queue on the engine's asyncio lock (``sqlite_writes``): many
concurrent commits all succeed, a transaction that began writing before a commit-in-waiting
does not deadlock with it, and the lock is free again after commits, rollbacks and errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from koppel.common.db import Database
from koppel.common.uow import UnitOfWork

from .conftest import TABLES
from .fakes import Widget, event


async def open_sqlite(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/writes.db", service="svc", tables=TABLES)
    await db.create_all()
    return db


def lock_of(db: Database) -> asyncio.Lock:
    assert db.write_lock is not None
    return db.write_lock.lock


async def test_many_concurrent_commits_all_land(tmp_path: Path) -> None:
    db = await open_sqlite(tmp_path)

    async def commit_one(i: int) -> None:
        async with UnitOfWork(db, message=event(i), handler="h") as uow:
            uow.add(Widget(id=f"w{i}", tenant_id="t"))
            uow.publish(event(i))
            await uow.commit()

    await asyncio.gather(*(commit_one(i) for i in range(60)))
    async with db.session() as session:
        count = await session.scalar(sa.select(sa.func.count()).select_from(Widget))
    assert count == 60
    assert not lock_of(db).locked()
    await db.dispose()


async def test_a_begun_write_and_a_waiting_commit_do_not_deadlock(tmp_path: Path) -> None:
    """The case that made a commit-level lock deadlock: A has already written (holds SQLite's
    write lock) and waits; B commits meanwhile. B must queue behind A, and A must be able to
    finish. With the lock taken at A's first write, A holds it and B simply waits."""
    db = await open_sqlite(tmp_path)
    a_wrote = asyncio.Event()
    a_may_finish = asyncio.Event()

    async def writer_a() -> None:
        async with UnitOfWork(db) as uow:
            await uow.session.execute(sa.insert(Widget).values(id="a", tenant_id="t"))
            a_wrote.set()
            await a_may_finish.wait()
            await uow.commit()

    async def writer_b() -> None:
        await a_wrote.wait()
        async with UnitOfWork(db) as uow:
            uow.add(Widget(id="b", tenant_id="t"))
            await uow.commit()

    a = asyncio.create_task(writer_a())
    b = asyncio.create_task(writer_b())
    await a_wrote.wait()
    for _ in range(20):  # let B reach its commit and queue
        await asyncio.sleep(0)
    assert not b.done()
    a_may_finish.set()
    await asyncio.gather(a, b)
    async with db.session() as session:
        ids = set((await session.execute(sa.select(Widget.id))).scalars())  # type: ignore[call-overload]
    assert ids == {"a", "b"}
    assert not lock_of(db).locked()
    await db.dispose()


async def test_rollback_and_errors_release_the_lock(tmp_path: Path) -> None:
    db = await open_sqlite(tmp_path)
    async with UnitOfWork(db) as uow:
        await uow.session.execute(sa.insert(Widget).values(id="x", tenant_id="t"))
        assert lock_of(db).locked()
    # Left without commit: rolled back, lock free, nothing written.
    assert not lock_of(db).locked()

    async with UnitOfWork(db) as uow:
        uow.add(Widget(id="dup", tenant_id="t"))
        await uow.commit()
    failed = False
    try:
        async with UnitOfWork(db) as uow:
            uow.add(Widget(id="dup", tenant_id="t"))
            await uow.commit()
    except sa.exc.IntegrityError:
        failed = True
    assert failed
    assert not lock_of(db).locked()
    async with db.session() as session:
        ids = set((await session.execute(sa.select(Widget.id))).scalars())  # type: ignore[call-overload]
    assert ids == {"dup"}
    await db.dispose()
