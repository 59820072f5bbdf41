"""The eAccounting rate limit shared by catalog replicas (``SharedTokenBucket`` over the
catalog's ``catalog_rate_tokens`` table): two limiter instances, each with its own engine
(as two replicas would have) over one database, never hand out more than the budget.

Run on a SQLite file and (``connected``) on PostgreSQL in a random schema. No timings are
asserted: counts of granted tokens, and requests per window of the shared clock.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from koppel.catalog.models import RATE_TOKENS_TABLE, RateToken
from koppel.common.db import Database
from koppel.connectors.common.ratelimit import RateLimit, TokenBucket
from koppel.connectors.common.sharedlimit import SharedRateLimiterRegistry, SharedTokenBucket
from koppel.connectors.common.sharedlimit_sql import SqlTokenStore

KEY = "acme:eaccounting|eaccounting|/articles"
Replicas = Callable[[RateLimit], list[SharedTokenBucket]]


async def _databases(url: str, count: int) -> list[Database]:
    schema = f"catalog_rl_{uuid.uuid4().hex[:8]}"
    databases = [
        Database(url, service="catalog", tables=[RateToken], schema=schema) for _ in range(count)
    ]
    await databases[0].create_all()
    return databases


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.connected)])
async def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Replicas]:
    """``replicas(limit)``: two buckets for one key, each over its own engine."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}"
    else:
        url = request.getfixturevalue("database_url")
    databases = await _databases(url, 2)
    made: list[SharedTokenBucket] = []

    def make(limit: RateLimit) -> list[SharedTokenBucket]:
        for db in databases:
            store = SqlTokenStore(db.engine, table=RATE_TOKENS_TABLE)
            made.append(SharedTokenBucket(store, KEY, limit, batch=8))
        return made[-2:]

    yield make
    for bucket in made:
        await bucket.aclose()
    await databases[0].drop_schema()
    for db in databases:
        await db.dispose()


async def test_two_replicas_never_get_more_than_the_budget(replicas: Replicas) -> None:
    """A window far longer than the test: exactly the budget is handed out, in total."""
    a, b = replicas(RateLimit(20, 3600.0))
    granted: list[str] = []
    budget_used = asyncio.Event()

    async def request(bucket: SharedTokenBucket, name: str) -> None:
        async with bucket.slot():
            granted.append(name)
            if len(granted) >= 20:
                budget_used.set()

    tasks = [
        asyncio.create_task(request(bucket, name))
        for _ in range(25)
        for bucket, name in ((a, "a"), (b, "b"))
    ]
    async with asyncio.timeout(30):
        await budget_used.wait()
    await asyncio.sleep(0.5)  # room for a 21st grant, if the budget leaked
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert len(granted) == 20
    assert a.acquired + b.acquired == 20


async def test_no_window_holds_more_than_the_limit(replicas: Replicas) -> None:
    """Requests of both replicas, timed on one host clock: in any window of ``per_seconds``
    at most ``requests`` started, and every request got its token in the end."""
    limit = RateLimit(8, 0.5)
    a, b = replicas(limit)
    starts: list[float] = []

    async def request(bucket: SharedTokenBucket) -> None:
        async with bucket.slot():
            starts.append(time.monotonic())
            await asyncio.sleep(0.005)  # the API call

    async with asyncio.timeout(40):
        await asyncio.gather(*(request(bucket) for _ in range(20) for bucket in (a, b)))
    starts.sort()
    assert len(starts) == 40
    busiest = max(
        sum(1 for t in starts if first <= t < first + limit.per_seconds) for first in starts
    )
    assert busiest <= limit.requests
    assert a.acquired + b.acquired == 40


async def test_a_429_pauses_every_replica(replicas: Replicas) -> None:
    a, b = replicas(RateLimit(50, 3600.0))
    async with b.slot():  # b works...
        pass
    a.pause(3600.0)  # ...until a meets a 429 that says "an hour"
    await a.aclose()  # the pause has reached the store
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await b.acquire()
    assert a.paused_times == 1


async def test_the_registry_shares_eaccounting_buckets_only(tmp_path: Path) -> None:
    (db,) = await _databases(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", 1)
    registry = SharedRateLimiterRegistry(SqlTokenStore(db.engine, table=RATE_TOKENS_TABLE))
    try:
        limit = RateLimit.per_minute(600)
        ea = registry.bucket("acme:eaccounting", "eaccounting", "/articles", limit)
        av = registry.bucket("acme:accountview", "accountview", "/AK1", limit)
        assert isinstance(ea, SharedTokenBucket)
        assert isinstance(av, TokenBucket)
        assert registry.bucket("acme:eaccounting", "eaccounting", "/articles", limit) is ea
        async with ea.slot():
            pass
    finally:
        await registry.aclose()
        await db.dispose()
