"""End-to-end wiring of the catalog: both sandboxes in process, the real mapper and the
catalog service on one ``InMemoryBus``, SQLite files under ``tmp_path``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from koppel.catalog.harness import Harness, Tenant, make_tenant
from koppel.common.bus.memory import InMemoryBus
from koppel.common.runtime import ServiceRuntime
from koppel.mapper.adapters import repository
from koppel.mapper.app import SPEC as MAPPER
from koppel.mapper.config import MapperSettings

MAPPER_PRODUCT_SETTINGS = {
    "ean_field": "BAR_CODE",  # the AccountView sandbox's EAN column
    "long_description_field": None,
    "unit_field": "UNIT_CODE",
}


async def configure_mapper(mapper: ServiceRuntime, tenant: Tenant) -> None:
    ids = tenant.lookups()
    async with mapper.context.unit_of_work() as uow:
        await repository.store_value_map(
            uow.session,
            tenant.tenant_id,
            "article_codings",
            {"entries": {"21": ids["codings"]["21"], "09": ids["codings"]["9"]}},
            actor="test",
        )
        await repository.store_value_map(
            uow.session,
            tenant.tenant_id,
            "units",
            {"entries": {"st": ids["units"]["st"]}, "default": ids["units"]["st"]},
            actor="test",
        )
        await repository.store_mapping(
            uow.session,
            tenant.tenant_id,
            "products",
            {"settings": MAPPER_PRODUCT_SETTINGS},
            actor="test",
            action="save",
        )
        await uow.commit()


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def start_harness(tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    """``await start_harness(tenant, ...)``: catalog + mapper running for these tenants."""
    started: list[Harness] = []

    async def start(*tenants: Tenant, prefetch: int = 16) -> Harness:
        data_dir = tmp_path / f"h{len(started)}"
        bus = InMemoryBus()
        mapper = ServiceRuntime(
            MAPPER,
            bus=bus,
            settings=MapperSettings(
                data_dir=data_dir,
                log_json=False,
                log_level="WARNING",
                relay_poll_interval=0.02,
                relay_batch_size=500,
            ),
            owns_bus=False,
        )
        harness = Harness(
            data_dir=data_dir, tenants=list(tenants), extra=[mapper], bus=bus, prefetch=prefetch
        )
        await harness.start()
        for tenant in tenants:
            await configure_mapper(mapper, tenant)
        started.append(harness)
        return harness

    yield start
    for harness in started:
        await harness.stop()


def tenant(tenant_id: str = "acme", *, articles: int = 60, **kw: Any) -> Tenant:
    return make_tenant(tenant_id, articles=articles, **kw)
