"""End-to-end worlds: both sandboxes, the mapper, orders and customers in one process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from koppel.orders.embedded import World, WorldOptions


@pytest.fixture
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    marker = request.node.get_closest_marker("world")
    options = WorldOptions(**(marker.kwargs if marker else {}))
    async with World(options) as running:
        yield running


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "world(**options): WorldOptions of the test's embedded world"
    )
