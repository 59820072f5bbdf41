"""Mapper settings: the shared ``KoppelSettings`` (``KOPPEL_*``) plus this service's own."""

from __future__ import annotations

from koppel.common.settings import KoppelSettings


class MapperSettings(KoppelSettings):
    # Compiled mappings kept per process (tenant × flow × version); small objects.
    mapper_cache_size: int = 2048
