"""A short-lived cache of which AccountView articles exist, per tenant.

Consecutive orders mostly need the same few articles, so an order asks AccountView only for
the codes not confirmed in the last ``ttl`` seconds (one query for those). Only existence is
cached: a missing article may be created any minute (the catalog flow), so it is asked again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from koppel.orders.adapters.ports import OrderTarget


class ArticleCache:
    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._seen: dict[tuple[str, str], float] = {}

    async def existing(self, tenant_id: str, codes: Sequence[str], target: OrderTarget) -> set[str]:
        now = self._clock()
        wanted = {code.strip().upper(): code for code in codes if code.strip()}
        known = {key for key in wanted if self._seen.get((tenant_id, key), 0.0) > now}
        unknown = [wanted[key] for key in wanted if key not in known]
        found = (
            {code.strip().upper() for code in await target.existing_articles(unknown)}
            if unknown
            else set()
        )
        for key in found:
            self._seen[(tenant_id, key)] = now + self._ttl
        return {wanted[key] for key in known | (found & wanted.keys())}

    def clear(self, tenant_id: str | None = None) -> None:
        if tenant_id is None:
            self._seen.clear()
        else:
            self._seen = {k: v for k, v in self._seen.items() if k[0] != tenant_id}
