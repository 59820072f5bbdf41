"""Each tenant's enabled alert rules and channels, kept in memory for the consumer.

Deciding an alert needs the tenant's rules (and, when one matches, its channels). Reading
them on every failure event cost a SELECT per event, while they change a few times a year.
So the consumer reads them through this cache. An entry is dropped:

* when rules or channels are saved or deleted through this notifier's API (right after the
  commit, so the next event sees the change);
* on ``TenantConfigChanged`` for the tenant;
* ``ttl`` seconds after it was read, so changes made through another replica are seen
  within that time.

A load that started before an invalidation is returned to its caller but not kept: it may
have read the rows from before the change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from koppel.notifier.alerts import store
from koppel.notifier.alerts.domain import RuleView

DEFAULT_TTL_SECONDS = 30.0


@dataclass(frozen=True)
class TenantAlertConfig:
    """A tenant's enabled rules by kind and enabled channels (id -> digest interval)."""

    rules: dict[str, list[RuleView]] = field(default_factory=dict)
    channels: dict[int, int | None] = field(default_factory=dict)

    def rules_of(self, kind: str) -> list[RuleView]:
        return self.rules.get(kind, [])


async def load_config(session: AsyncSession, tenant_id: str) -> TenantAlertConfig:
    """Read the tenant's enabled rules (every kind) and enabled channels."""
    rules = store.RULES
    query = (
        sa.select(rules)
        .where(rules.c.tenant_id == tenant_id, rules.c.enabled.is_(True))
        .order_by(rules.c.id)
    )
    by_kind: dict[str, list[RuleView]] = {}
    for row in (await session.execute(query)).all():
        by_kind.setdefault(row.kind, []).append(store.rule_view(row))
    return TenantAlertConfig(
        rules=by_kind, channels=await store.enabled_channels(session, tenant_id)
    )


class AlertConfigCache:
    """See the module docstring. ``ttl`` 0 turns caching off (every event reads)."""

    def __init__(
        self, ttl: float = DEFAULT_TTL_SECONDS, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, TenantAlertConfig]] = {}
        self._generation = 0
        self.loads = 0  # how many times the database was read (tests and benchmarks)

    async def get(self, session: AsyncSession, tenant_id: str) -> TenantAlertConfig:
        entry = self._entries.get(tenant_id)
        if entry is not None and self._clock() - entry[0] < self.ttl:
            return entry[1]
        generation, read_at = self._generation, self._clock()
        config = await load_config(session, tenant_id)
        self.loads += 1
        if self.ttl > 0 and generation == self._generation:
            self._entries[tenant_id] = (read_at, config)
        return config

    def invalidate(self, tenant_id: str | None = None) -> None:
        """Forget one tenant's entry, or every entry when ``tenant_id`` is None."""
        self._generation += 1
        if tenant_id is None:
            self._entries.clear()
        else:
            self._entries.pop(tenant_id, None)
