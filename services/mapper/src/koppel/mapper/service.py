"""Mapper use cases: load a tenant's compiled configuration, map records, save and roll back
mappings and value maps, preview. Called by ``handlers.py`` and ``api.py``."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from koppel.common.db import Database
from koppel.common.events import TenantConfigChanged
from koppel.common.runtime import ServiceContext
from koppel.mapper.adapters import repository
from koppel.mapper.domain.errors import MappingDefinitionError, MappingError
from koppel.mapper.domain.mapping import CompiledMapping, compile_mapping
from koppel.mapper.domain.settings import StockSettings
from koppel.mapper.domain.valuemaps import ValueMaps

CACHE_KEY = "mapper.config_cache"
LOADED_KEY = "mapper.loaded_configs"


@dataclass(frozen=True)
class TenantConfig:
    mapping: CompiledMapping
    maps: ValueMaps


class ConfigCache:
    """Compiled mappings and value maps by (tenant, version): a save makes a new version,
    so a stale entry is never used, only evicted (LRU). Safe across replicas by design."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def get_or_build(self, key: tuple[Any, ...], build: Any) -> Any:
        hit = self._entries.get(key)
        if hit is None:
            hit = build()
            self._entries[key] = hit
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        return hit


class LoadedConfigs:
    """The tenant's configuration as last loaded, per (tenant, flow), so mapping a record
    costs no database read (before: the mapping row and every value map, JSON included, per
    record). An entry is dropped by ``invalidate`` (the mapper's own saves, and the
    ``TenantConfigChanged`` they publish, which reaches the mapper's replicas) and lives
    ``ttl`` seconds at most, a safety net for a change whose event was missed.

    A load that began before an invalidation does not store its (possibly stale) result:
    each tenant has a generation, bumped by ``invalidate``, that ``put`` must still match.
    """

    def __init__(self, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, TenantConfig]] = {}
        self._generations: dict[str, int] = {}
        self._all = 0

    def generation(self, tenant_id: str) -> tuple[int, int]:
        return self._all, self._generations.get(tenant_id, 0)

    def get(self, tenant_id: str, flow: str) -> TenantConfig | None:
        hit = self._entries.get((tenant_id, flow))
        if hit is None:
            return None
        if hit[0] <= self._clock():
            self._entries.pop((tenant_id, flow), None)
            return None
        return hit[1]

    def put(
        self, tenant_id: str, flow: str, config: TenantConfig, generation: tuple[int, int]
    ) -> None:
        if generation == self.generation(tenant_id) and self.ttl > 0:
            self._entries[(tenant_id, flow)] = (self._clock() + self.ttl, config)

    def invalidate(self, tenant_id: str | None = None) -> None:
        if tenant_id is None:
            self._all += 1
            self._entries.clear()
            return
        self._generations[tenant_id] = self._generations.get(tenant_id, 0) + 1
        for key in [k for k in self._entries if k[0] == tenant_id]:
            self._entries.pop(key, None)


def loaded_of(ctx: ServiceContext | None) -> LoadedConfigs:
    if ctx is None:
        return LoadedConfigs(ttl=0)
    loaded = ctx.deps.get(LOADED_KEY)
    if loaded is None:
        loaded = LoadedConfigs(getattr(ctx.settings, "mapper_config_ttl", 30.0))
        ctx.deps[LOADED_KEY] = loaded
    return loaded


async def tenant_config(
    database: Database, loaded: LoadedConfigs, cache: ConfigCache, tenant_id: str, flow: str
) -> TenantConfig:
    """``load_config`` through ``loaded``: a read only when the entry is missing or expired."""
    hit = loaded.get(tenant_id, flow)
    if hit is not None:
        return hit
    generation = loaded.generation(tenant_id)
    async with database.read_session() as session:
        config = await load_config(session, cache, tenant_id, flow)
    loaded.put(tenant_id, flow, config, generation)
    return config


def cache_of(ctx: ServiceContext | None) -> ConfigCache:
    if ctx is None:
        return ConfigCache()
    cache = ctx.deps.get(CACHE_KEY)
    if cache is None:
        cache = ConfigCache(getattr(ctx.settings, "mapper_cache_size", 2048))
        ctx.deps[CACHE_KEY] = cache
    return cache


def _compile_saved(flow: str, document: dict[str, Any], version: int) -> CompiledMapping:
    try:
        return compile_mapping(flow, document, version=version)
    except MappingDefinitionError as exc:
        # Saved mappings were valid when saved; this only happens after an incompatible
        # upgrade. The record fails with a sentence, the tenant re-saves the mapping.
        raise MappingError(
            f"The saved {flow} mapping (version {version}) is no longer valid: {exc}",
            reason_code="invalid_mapping",
        ) from exc


async def load_config(
    session: AsyncSession, cache: ConfigCache, tenant_id: str, flow: str
) -> TenantConfig:
    row = await repository.current_mapping(session, tenant_id, flow)
    version, document = (row.version, row.document) if row else (0, {})
    stock_row = (
        await repository.current_mapping(session, tenant_id, "stock")
        if flow == "products"
        else None
    )
    stock_version = stock_row.version if stock_row else 0

    def build_mapping() -> CompiledMapping:
        mapping = _compile_saved(flow, document, version)
        if stock_row is not None:
            # The stock flow's formula settings also decide StockBalance on articles.
            stock = StockSettings.model_validate(stock_row.document.get("settings") or {})
            settings = mapping.settings.model_copy(update={"stock": stock})
            mapping = CompiledMapping(
                flow, settings, settings.model_dump(mode="json"), mapping.overrides, version
            )
        return mapping

    mapping = cache.get_or_build(
        ("mapping", tenant_id, flow, version, stock_version), build_mapping
    )
    rows = await repository.value_maps(session, tenant_id)
    signature = tuple(sorted((r.name, r.version) for r in rows))
    maps = cache.get_or_build(
        ("maps", tenant_id, signature),
        lambda: ValueMaps.from_documents({r.name: r.document for r in rows}),
    )
    return TenantConfig(mapping, maps)


def config_changed(tenant_id: str, section: str) -> TenantConfigChanged:
    return TenantConfigChanged(tenant_id=tenant_id, section=section)
