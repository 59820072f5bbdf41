"""One tenant's rate-limit backlog must not hold the deliveries every tenant shares.

``ProductMapped`` and ``StockLevelChanged`` of all tenants arrive on one queue, and a replica
handles ``catalog_prefetch`` of them at a time. A run of 5,000 articles puts thousands of one
tenant's messages in a row; once that tenant's 600 calls of the minute are spent, its
handlers wait for tokens in every delivery slot, and a second tenant's messages behind them
wait too although its own quota is untouched (measured: the second of two tenants ran at
0.47 of the limit). DESIGN.md section 4: a busy tenant never starves the others.

``TenantGate.admit`` runs before a handler does anything: when ``share`` of the tenant's
requests already wait for eAccounting tokens, the message is handed back to the bus with a
``Retry-After`` of the time its turn will come (``TransientError``, retried by the bus's
delay queue). Turns follow the bucket's own schedule: the n-th message deferred (and not
back yet) comes back when the bucket will have a token for it after those already waiting
(``TokenBucket.ready_in``: tokens return a window after their last use, so a burst returns
as a burst); without that estimate (the shared bucket), one token interval
(``window / requests``) apart. So deferred messages come back about as fast as the quota
can take them. A message is deferred
at most ``max_deferrals`` times in this process, and not again once back at its turn: then,
and after that, it waits in its slot as before. The bus retries ``tenant_rate_limited`` on its
outage budget, after the ``Retry-After`` asked for, without using up the message's attempts
(``koppel.common.bus.handling.DEFERRAL_REASONS``).
"""

from __future__ import annotations

import uuid
from collections import deque
from typing import Any

from koppel.common.errors import TransientError
from koppel.connectors.eaccounting.client import EAccountingClient

ENDPOINT = "/articles"  # the articles' bucket (``/articles`` and ``/articles/{id}`` share it)
_MAX_TRACKED = 100_000


class TenantGate:
    def __init__(self, *, share: int, bus_time_scale: float, max_deferrals: int = 2) -> None:
        self.share = max(1, share)
        self.bus_time_scale = bus_time_scale
        self.max_deferrals = max_deferrals
        self._turns: dict[str, deque[float]] = {}  # per bucket: turns given, not yet come
        self._deferrals: dict[uuid.UUID, int] = {}
        self._due: dict[uuid.UUID, float] = {}  # a deferred message's turn (bucket clock)
        self.deferred = 0

    def admit(self, message_id: uuid.UUID, client: EAccountingClient | None) -> None:
        """Return if the message may go on now; raise ``TransientError`` to defer it."""
        if client is None or client.http.settings.rate_limit is None:
            return
        registry = client.http.registry
        bucket: Any = registry.existing_bucket(
            client.http.settings.connection_id, "eaccounting", ENDPOINT
        )
        waiting = int(getattr(bucket, "waiting", 0)) if bucket is not None else 0
        if waiting < self.share or self._deferrals.get(message_id, 0) >= self.max_deferrals:
            return
        limit = bucket.limit
        interval = limit.per_seconds / limit.requests
        now = registry.clock.now()
        if self._due.get(message_id, float("inf")) <= now + interval:
            return  # back at its turn: a token is (about) free for it, so wait for it here
        turns = self._turns.setdefault(bucket.name, deque())
        while turns and turns[0] <= now:
            turns.popleft()
        ahead = waiting + len(turns) + 1
        ready_in = getattr(bucket, "ready_in", None)
        turn = now + (ready_in(ahead) if ready_in is not None else ahead * interval)
        if turns:
            turn = max(turn, turns[-1] + interval / 10)  # in order, never all at once
        turns.append(turn)
        if len(self._deferrals) > _MAX_TRACKED:
            self._deferrals.clear()
            self._due.clear()
        self._deferrals[message_id] = self._deferrals.get(message_id, 0) + 1
        self._due[message_id] = turn
        self.deferred += 1
        speed = float(getattr(registry.clock, "speed", 1.0))
        raise TransientError(
            "the tenant's eAccounting quota is spent for now; the article waits its turn",
            reason_code="tenant_rate_limited",
            retry_after=(turn - now) / speed / self.bus_time_scale,
        )

    def done(self, message_id: uuid.UUID) -> None:
        self._deferrals.pop(message_id, None)
        self._due.pop(message_id, None)
