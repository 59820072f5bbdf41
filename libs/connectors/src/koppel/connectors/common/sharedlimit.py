"""A tenant's rate limit shared by every replica: the token rule of ``TokenBucket``, kept in
the service's database.

Why tokens, not a counter or a paced schedule: eAccounting counts a sliding window (at most
``requests`` in any ``per_seconds``, see ``ratelimit``). A token that comes back a full window
after its request *finished* keeps every window under the limit whatever the latency and
wherever the next request starts, and lets a backlog use the whole quota at once. A shared
"next free time" (GCRA pacing) needs one row only, but it is correct only up to the jitter
between a slot's time and the request's arrival, so it must pace well under the limit; a
fixed-window counter lets twice the limit through around a window's edge.

The store (``SqlTokenStore``) holds ``requests`` rows per (connection, api, endpoint) key:
``(key, slot, ready_at, holder)``. Times are the database's clock (PostgreSQL's
``clock_timestamp()``; one host's ``time.time()`` on SQLite) times ``speed`` (the
time-scaled sandbox's speed), so replicas on hosts with skewed clocks agree.

* **take** (one ``UPDATE ... RETURNING``): up to ``count`` rows with ``ready_at <= now``,
  skipping rows another replica is taking (``FOR UPDATE SKIP LOCKED``), are marked held:
  ``ready_at = now + window + hold``, ``holder`` = a fresh id. A replica that dies holding
  tokens loses them for ``window + hold`` only; nothing has to clean up after it.
* **give back** (one ``executemany``, batched over ``flush_delay``): a used token gets
  ``ready_at = now + window`` (``now`` at the flush is after the request finished: late is
  safe), an unused one ``ready_at = now``; only while ``holder`` is still ours.
* **pause** (a 429 got through): every token of the key gets ``ready_at >= now + wait``, so
  every replica waits the ``Retry-After``, not only the one that met it.

Cost: a replica takes as many tokens as it has requests waiting (at most ``batch``) in one
round trip, and gives them back in one per ``flush_delay``; when none is ready it sleeps
until the earliest one is (one more query), plus ``1%`` of the window so a take collects
several. At 600 requests/minute that is a few statements a second per busy tenant × endpoint.

The assumption: a request is sent within ``hold`` of its token being taken (the HTTP core
takes the token right before its in-flight slot); tokens cached longer are dropped unused.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from koppel.connectors.common.clock import SYSTEM_CLOCK, Clock
from koppel.connectors.common.ratelimit import Bucket, RateLimit, RateLimiterRegistry


@dataclass(frozen=True, slots=True)
class Grant:
    slot: int
    holder: str
    use_by: float  # local clock: after this the token is dropped unused


class TokenStore(Protocol):
    async def take(self, key: str, limit: int, count: int, hold: float) -> tuple[str, list[int]]:
        """Mark up to ``count`` ready tokens held until now + ``hold``; (holder, slots)."""
        ...

    async def wait_hint(self, key: str, limit: int) -> float:
        """Store-clock seconds until the earliest token is ready (0 if one is)."""
        ...

    async def give_back(
        self,
        key: str,
        used: Sequence[tuple[int, str]],
        unused: Sequence[tuple[int, str]],
        window: float,
    ) -> None: ...

    async def pause(self, key: str, seconds: float) -> None: ...


class SharedTokenBucket:
    """``Bucket`` over a ``TokenStore``: a local cache of taken tokens, one take at a time."""

    def __init__(
        self,
        store: TokenStore,
        key: str,
        limit: RateLimit,
        *,
        clock: Clock = SYSTEM_CLOCK,
        batch: int = 32,
        hold: float | None = None,
        flush_delay: float | None = None,
    ) -> None:
        self.store = store
        self.key = self.name = key
        self.limit = limit
        self._clock = clock
        self.batch = max(1, min(batch, limit.requests))
        self.hold = limit.per_seconds if hold is None else hold
        # In the limiter's clock: 0.1% of the window (60 ms a minute).
        self.flush_delay = limit.per_seconds / 1000 if flush_delay is None else flush_delay
        self._cache: deque[Grant] = deque()
        self._wanting = 0
        self._refill: asyncio.Future[None] | None = None
        self._used: list[tuple[int, str]] = []
        self._unused: list[tuple[int, str]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._paused_until = float("-inf")
        self._starved = False  # the last take got fewer tokens than asked for
        self.acquired = 0
        self.paused_times = 0
        self.takes = 0  # store round trips that took tokens (or found none)

    @property
    def waiting(self) -> int:
        """Requests waiting because the store had too few tokens (not for a round trip)."""
        limited = self._starved or self._paused_until > self._clock.now()
        return self._wanting if limited else 0

    async def acquire(self) -> Grant:
        self._wanting += 1
        try:
            while True:
                wait = self._paused_until - self._clock.now()
                if wait > 0:
                    await self._clock.sleep(wait)
                    continue
                grant = self._pop()
                if grant is not None:
                    self.acquired += 1
                    return grant
                if self._refill is None:
                    self._refill = asyncio.ensure_future(self._take())
                # shield: a cancelled waiter must not cancel the take the others wait on
                await asyncio.shield(self._refill)
        finally:
            self._wanting -= 1

    def _pop(self) -> Grant | None:
        now = self._clock.now()
        while self._cache:
            grant = self._cache.popleft()
            if grant.use_by > now:
                return grant
            self._give_back(grant, used=False)
        return None

    async def _take(self) -> None:
        try:
            count = max(1, min(self._wanting, self.batch))
            holder, slots = await self.store.take(
                self.key, self.limit.requests, count, self.limit.per_seconds + self.hold
            )
            self.takes += 1
            self._starved = len(slots) < count
            if slots:
                use_by = self._clock.now() + self.hold / 2
                self._cache.extend(Grant(slot, holder, use_by) for slot in slots)
                return
            hint = await self.store.wait_hint(self.key, self.limit.requests)
            await self._clock.sleep(max(hint, 0.0) + self.limit.per_seconds / 100)
        finally:
            self._refill = None

    def release(self, grant: Grant, *, used: bool = True) -> None:
        self._give_back(grant, used=used)

    def _give_back(self, grant: Grant, *, used: bool) -> None:
        (self._used if used else self._unused).append((grant.slot, grant.holder))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await self._clock.sleep(self.flush_delay)
        await self.flush()

    async def flush(self) -> None:
        used, unused = self._used, self._unused
        self._used, self._unused = [], []
        if used or unused:
            await self.store.give_back(self.key, used, unused, self.limit.per_seconds)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        grant = await self.acquire()
        try:
            yield
        finally:
            self.release(grant)

    def pause(self, seconds: float) -> None:
        """A 429 got through: wait here at once, and tell every replica through the store."""
        seconds = max(0.0, seconds)
        self._paused_until = max(self._paused_until, self._clock.now() + seconds)
        self.paused_times += 1
        task = asyncio.get_running_loop().create_task(self.store.pause(self.key, seconds))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Give back what is cached and what was used (tests, shutdown)."""
        while self._cache:
            self._give_back(self._cache.popleft(), used=False)
        await self.flush()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class SharedRateLimiterRegistry(RateLimiterRegistry):
    """Buckets of ``apis`` in a ``TokenStore`` (shared by replicas); other APIs per process."""

    def __init__(
        self,
        store: TokenStore,
        *,
        clock: Clock = SYSTEM_CLOCK,
        apis: frozenset[str] = frozenset({"eaccounting"}),
        batch: int = 32,
    ) -> None:
        super().__init__(clock=clock)
        self.store = store
        self.apis = apis
        self.batch = batch
        self._shared: list[SharedTokenBucket] = []

    def new_bucket(self, key: tuple[str, str, str], limit: RateLimit) -> Bucket:
        connection_id, api, _endpoint = key
        if api not in self.apis:
            return super().new_bucket(key, limit)
        bucket = SharedTokenBucket(
            self.store, "|".join(key), limit, clock=self.clock, batch=self.batch
        )
        self._shared.append(bucket)
        return bucket

    async def aclose(self) -> None:
        for bucket in self._shared:
            await bucket.aclose()
