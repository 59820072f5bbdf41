"""A service keeps trying to start its bus while the broker cannot be reached."""

from __future__ import annotations

import pytest

from koppel.common.bus.memory import InMemoryBus
from koppel.common.errors import TransientError
from koppel.common.runtime import start_bus


class FlakyBus(InMemoryBus):
    """Refuses to start ``failures`` times, like a broker dropping the connection mid-declare."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.tries = 0

    async def start(self) -> None:
        self.tries += 1
        if self.tries <= self.failures:
            raise TransientError("connection closed", reason_code="bus_down")
        await super().start()


async def test_start_is_retried_until_the_broker_answers() -> None:
    bus = FlakyBus(failures=3)
    await start_bus(bus, "test", within=10.0, max_backoff=0.01)
    try:
        assert bus.tries == 4
        assert await bus.healthy()
    finally:
        await bus.stop()


async def test_start_gives_up_after_its_time_budget() -> None:
    bus = FlakyBus(failures=10_000)
    with pytest.raises(TransientError):
        await start_bus(bus, "test", within=0.2, max_backoff=0.01)
    assert bus.tries > 1
