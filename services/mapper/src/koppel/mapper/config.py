"""Mapper settings: the shared ``KoppelSettings`` (``KOPPEL_*``) plus this service's own."""

from __future__ import annotations

from koppel.common.settings import KoppelSettings


class MapperSettings(KoppelSettings):
    # Compiled mappings kept per process (tenant × flow × version); small objects.
    mapper_cache_size: int = 2048
    # How long a tenant's loaded mapping and value maps are reused without a read; saves
    # and ``TenantConfigChanged`` drop them at once, this only bounds a missed event.
    mapper_config_ttl: float = 30.0
