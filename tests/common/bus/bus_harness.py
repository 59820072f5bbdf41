"""Test helpers for the bus contract. One harness, three transports (in-memory, in-memory with
its SQLite journal, RabbitMQ): the contract tests run unchanged on each.

``harness.new_bus()`` gives a fresh client on the same "broker" (the shared in-memory broker,
or the same RabbitMQ exchange), so a test can stop a bus and let another pick up what it left.
Names carry a random suffix and every RabbitMQ queue and exchange is deleted afterwards.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from koppel.common.bus.base import Delivery, MessageHandler, RetryPolicy, Subscription
from koppel.common.bus.handling import ParkedMessage
from koppel.common.bus.memory import InMemoryBroker, InMemoryBus
from koppel.common.bus.rabbit import RabbitBus
from koppel.common.messages import Message

Bus = InMemoryBus | RabbitBus
WAIT = 15.0  # upper bound of every wait; a passing test returns as soon as its condition holds


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]], timeout: float = WAIT, what: str = ""
) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""

    async def poll() -> None:
        while True:
            result = condition()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        pytest.fail(f"not reached within {timeout} s: {what or condition}")


@dataclass
class Recorder:
    """A handler that records every delivery and can be told to fail."""

    fail: Callable[[Message, Delivery], BaseException | None] | None = None
    calls: list[tuple[Message, Delivery]] = field(default_factory=list)
    at: list[float] = field(default_factory=list)  # time.monotonic() of each delivery

    async def __call__(self, message: Message, delivery: Delivery) -> None:
        self.at.append(time.monotonic())
        self.calls.append((message, delivery))
        if self.fail is not None and (error := self.fail(message, delivery)) is not None:
            raise error

    def ids(self) -> list[str]:
        return [str(message.message_id) for message, _ in self.calls]

    def keys(self) -> list[str]:
        return [delivery.routing_key for _, delivery in self.calls]


@dataclass
class BusHarness:
    transport: str
    amqp_url: str | None
    suffix: str = field(default_factory=lambda: uuid4().hex[:10])
    broker: InMemoryBroker = field(default_factory=InMemoryBroker)
    buses: list[Bus] = field(default_factory=list)
    journal_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.transport == "memory-durable":
            self.journal_dir = Path(tempfile.mkdtemp(prefix="koppel-bus-"))
            self.broker = InMemoryBroker(journal=self.journal_dir / "bus.db")

    def service(self, name: str) -> str:
        return f"test-{name}-{self.suffix}"

    def new_bus(self) -> Bus:
        bus: Bus
        if self.transport.startswith("memory"):
            bus = InMemoryBus(broker=self.broker)
        else:
            assert self.amqp_url is not None
            bus = RabbitBus(
                self.amqp_url,
                exchange=f"test.{self.suffix}",
                reconnect_interval=0.2,
                publish_timeout=20.0,
                connection_name=f"test-{self.suffix}-{len(self.buses)}",
            )
        self.buses.append(bus)
        return bus

    def subscription(
        self,
        name: str,
        patterns: tuple[str, ...],
        handler: MessageHandler,
        *,
        delays: tuple[float, ...] = (0.05, 0.1),
        prefetch: int = 8,
        max_redeliveries: int = 20,
    ) -> Subscription:
        return Subscription(
            service=self.service(name),
            name="main",
            patterns=patterns,
            handler=handler,
            prefetch=prefetch,
            retry=RetryPolicy(delays=delays, max_redeliveries=max_redeliveries),
        )

    async def started(self, *subscriptions: Subscription) -> Bus:
        bus = self.new_bus()
        for subscription in subscriptions:
            bus.subscribe(subscription)
        await bus.start()
        return bus

    async def parked(self, bus: Bus, name: str, count: int = 1) -> list[ParkedMessage]:
        """Wait until service ``name`` has ``count`` dead letters, and return them."""
        found: list[ParkedMessage] = []

        async def enough() -> bool:
            nonlocal found
            found = await bus.dead_letters(self.service(name))
            return len(found) >= count

        await eventually(enough, what=f"{count} dead letters in {name}")
        return found

    async def kill_connection(self, bus: Bus) -> None:
        """Drop the bus's broker connection under its feet."""
        if isinstance(bus, InMemoryBus):
            bus.simulate_connection_loss()
        elif shutil.which("rabbitmqctl"):
            await _rabbitmqctl_close(bus.connection_name)
        else:  # no broker CLI (e.g. a remote broker): abort the sockets, like a network cut
            for connection in (bus._connection, bus._publisher):
                underlay: Any = connection.transport.connection  # type: ignore[union-attr]
                underlay._Connection__writer.transport.abort()

    async def cleanup(self) -> None:
        for bus in self.buses:
            await bus.stop(timeout=1.0)
        await self.broker.aclose()
        if self.journal_dir is not None:
            shutil.rmtree(self.journal_dir, ignore_errors=True)
        rabbits = [bus for bus in self.buses if isinstance(bus, RabbitBus)]
        if rabbits:
            last = rabbits[-1]
            for bus in rabbits:
                last.declared_queues |= bus.declared_queues
            await last.delete_topology()


async def _run(*argv: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def _rabbitmqctl_close(connection_name: str) -> None:
    listing = await _run("rabbitmqctl", "list_connections", "-q", "pid", "client_properties")
    pids = [
        line.split("\t", 1)[0]
        for line in listing.splitlines()
        # the bus's consuming connection and its ".publish" one
        if f'{{"connection_name","{connection_name}' in line
    ]
    assert pids, f"connection {connection_name} not found"
    await asyncio.gather(
        *(_run("rabbitmqctl", "close_connection", pid, "contract test: killed") for pid in pids)
    )
