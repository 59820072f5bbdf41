"""Client-side rate limiting per tenant connection × API × endpoint.

``TokenBucket`` holds ``limit.requests`` tokens. A request takes one; the token comes back a
full window after that request *finished*. So in any span of ``per_seconds`` no more than
``requests`` requests reach the server, whether it counts in fixed or sliding windows and
whatever the latency, while steady throughput stays at the limit (minus one round trip
per window). A plain refilling bucket would let a burst of N plus the refill through in the
first window and earn 429s from a sliding-window server.

Buckets and per-connection concurrency bounds live in a ``RateLimiterRegistry`` shared per
process, keyed by (connection, api, endpoint): one tenant's backlog only ever waits on its
own buckets. The primitives create their futures from the running loop when they wait, so
nothing binds to an event loop at construction.

With several replicas of a service the per-process bucket is not enough (DESIGN.md section 4:
the limit is the tenant's, not the process's); ``sharedlimit`` keeps the same token rule in
the service's database, behind the same ``Bucket`` interface.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from koppel.connectors.common.clock import SYSTEM_CLOCK, Clock


@dataclass(frozen=True, slots=True)
class RateLimit:
    requests: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_seconds <= 0:
            raise ValueError("a rate limit needs requests >= 1 and per_seconds > 0")

    @classmethod
    def per_minute(cls, requests: int) -> RateLimit:
        return cls(requests, 60.0)


class Bucket(Protocol):
    """What the HTTP core needs of a rate limiter: a slot per request, and a pause on 429."""

    limit: RateLimit
    name: str

    @property
    def waiting(self) -> int:
        """Requests waiting for a token right now (a tenant's backlog on this endpoint)."""
        ...

    def slot(self) -> AbstractAsyncContextManager[None]: ...

    def pause(self, seconds: float) -> None: ...


class _FifoWaiters:
    """FIFO hand-off of values to waiting tasks (shared by bucket and semaphore)."""

    def __init__(self) -> None:
        self._waiters: deque[asyncio.Future[float]] = deque()

    def __len__(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    def wait(self) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        return fut

    def hand_off(self, value: float) -> bool:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(value)
                return True
        return False


class TokenBucket:
    def __init__(self, limit: RateLimit, *, clock: Clock = SYSTEM_CLOCK, name: str = "") -> None:
        self.limit = limit
        self.name = name
        self._clock = clock
        # When each free token may be used again (a min-heap of clock times).
        self._free: list[float] = [float("-inf")] * limit.requests
        self._waiters = _FifoWaiters()
        self._paused_until = float("-inf")
        self.acquired = 0
        self.paused_times = 0
        self._waiting = 0

    @property
    def waiting(self) -> int:
        return self._waiting

    def ready_in(self, count: int) -> float:
        """Seconds (this bucket's clock) until the ``count``-th next token is free, by the
        tokens given back so far; a token used again is free a window after its last turn
        (tokens still in use are not known yet, so this is an estimate, early by at most
        their latency)."""
        now = self._clock.now()
        pause = max(0.0, self._paused_until - now)
        if not self._free:
            return max(pause, self.limit.per_seconds)
        rounds, index = divmod(max(count, 1) - 1, len(self._free))
        nth = heapq.nsmallest(index + 1, self._free)[-1]
        return max(pause, nth + rounds * self.limit.per_seconds - now)

    def pause(self, seconds: float) -> None:
        """Stop handing out tokens for ``seconds`` (a 429 got through and said how long)."""
        self._paused_until = max(self._paused_until, self._clock.now() + max(0.0, seconds))
        self.paused_times += 1

    def _give_back(self, ready_at: float) -> None:
        if not self._waiters.hand_off(ready_at):
            heapq.heappush(self._free, ready_at)

    async def acquire(self) -> None:
        self._waiting += 1
        try:
            await self._acquire()
        finally:
            self._waiting -= 1

    async def _acquire(self) -> None:
        if self._free and not len(self._waiters):
            ready_at = heapq.heappop(self._free)
        else:
            fut = self._waiters.wait()
            try:
                ready_at = await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._give_back(fut.result())
                raise
        try:
            while True:
                wait = max(ready_at, self._paused_until) - self._clock.now()
                if wait <= 0:
                    break
                await self._clock.sleep(wait)
        except asyncio.CancelledError:
            self._give_back(ready_at)
            raise
        self.acquired += 1

    def release(self) -> None:
        self._give_back(self._clock.now() + self.limit.per_seconds)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


class ConcurrencyLimit:
    """A FIFO semaphore bounding in-flight requests of one connection."""

    def __init__(self, max_in_flight: int) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1")
        self.max_in_flight = max_in_flight
        self._free = max_in_flight
        self._waiters = _FifoWaiters()

    async def acquire(self) -> None:
        if self._free > 0 and not len(self._waiters):
            self._free -= 1
            return
        fut = self._waiters.wait()
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()
            raise

    def release(self) -> None:
        if not self._waiters.hand_off(0.0):
            self._free += 1

    @property
    def in_flight(self) -> int:
        return self.max_in_flight - self._free

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


class RateLimiterRegistry:
    """Process-wide buckets keyed by (connection, api, endpoint) and bounds per connection."""

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._buckets: dict[tuple[str, str, str], Bucket] = {}
        self._bounds: dict[tuple[str, str], ConcurrencyLimit] = {}

    def bucket(self, connection_id: str, api: str, endpoint: str, limit: RateLimit) -> Bucket:
        key = (connection_id, api, endpoint)
        bucket = self._buckets.get(key)
        if bucket is None or bucket.limit != limit:
            bucket = self._buckets[key] = self.new_bucket(key, limit)
        return bucket

    def new_bucket(self, key: tuple[str, str, str], limit: RateLimit) -> Bucket:
        """A bucket for ``key`` (a subclass may keep some APIs' buckets elsewhere)."""
        return TokenBucket(limit, clock=self.clock, name="/".join(key))

    def existing_bucket(self, connection_id: str, api: str, endpoint: str) -> Bucket | None:
        return self._buckets.get((connection_id, api, endpoint))

    def concurrency(self, connection_id: str, api: str, max_in_flight: int) -> ConcurrencyLimit:
        key = (connection_id, api)
        bound = self._bounds.get(key)
        if bound is None or bound.max_in_flight != max_in_flight:
            bound = ConcurrencyLimit(max_in_flight)
            self._bounds[key] = bound
        return bound

    def buckets(self) -> dict[tuple[str, str, str], Bucket]:
        return dict(self._buckets)


DEFAULT_REGISTRY = RateLimiterRegistry()
