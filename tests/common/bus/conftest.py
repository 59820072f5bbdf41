"""The ``harness`` fixture: each contract test runs once per transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from bus_harness import BusHarness


@pytest.fixture(
    params=["memory", "memory-durable", pytest.param("rabbit", marks=pytest.mark.connected)]
)
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[BusHarness]:
    url = request.getfixturevalue("amqp_url") if request.param == "rabbit" else None
    harness = BusHarness(request.param, url)
    try:
        yield harness
    finally:
        await harness.cleanup()
