"""Mapper use cases: load a tenant's compiled configuration, map records, save and roll back
mappings and value maps, preview. Called by ``handlers.py`` and ``api.py``."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from koppel.common.events import TenantConfigChanged
from koppel.common.runtime import ServiceContext
from koppel.mapper.adapters import repository
from koppel.mapper.domain.errors import MappingDefinitionError, MappingError
from koppel.mapper.domain.mapping import CompiledMapping, compile_mapping
from koppel.mapper.domain.settings import StockSettings
from koppel.mapper.domain.valuemaps import ValueMaps

CACHE_KEY = "mapper.config_cache"


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
