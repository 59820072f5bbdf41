"""Catalog settings: the shared ``KoppelSettings`` (``KOPPEL_*``) plus this service's own."""

from __future__ import annotations

from pydantic import Field

from koppel.common.settings import KoppelSettings


class CatalogSettings(KoppelSettings):
    # How long "this tenant's eAccounting stock module is on" is remembered, so a stock run
    # with many changes fails each at once instead of asking eAccounting per article.
    catalog_stock_module_memory_seconds: float = Field(default=300.0, ge=0)
    # Concurrent ProductMapped / StockLevelChanged deliveries (the connector's own in-flight
    # bound and rate limiter still apply per tenant).
    catalog_prefetch: int = Field(default=16, ge=1)
    # The eAccounting rate limit (600/minute per endpoint) as tokens in this service's
    # database, shared by every replica (``koppel.connectors.common.sharedlimit``). None: on
    # PostgreSQL (distributed mode, replicas) yes, on SQLite (one process) the in-process
    # bucket is enough and spares the single-writer file the token writes.
    catalog_shared_rate_limit: bool | None = None
