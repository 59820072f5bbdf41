"""Test doubles for the persistence tests: a recording ``MessageBus`` and a tiny table."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlmodel import Field, SQLModel

from koppel.common.bus.base import Subscription
from koppel.common.errors import TransientError
from koppel.common.events import TenantConfigChanged
from koppel.common.messages import Message


class Widget(SQLModel, table=True):
    """A stand-in for a service's state table."""

    __tablename__ = "test_persistence_widgets"

    id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(max_length=64)


class RecordingBus:
    """Implements ``MessageBus``; records what is published instead of delivering it.

    ``fail`` makes every publish raise ``TransientError`` (a broker outage); ``pause`` yields
    to the loop inside publish so concurrent relays really interleave.
    """

    def __init__(self, *, pause: float = 0.0) -> None:
        self.subscriptions: list[Subscription] = []
        self.published: list[Message] = []
        self.raw: list[tuple[str, bytes, dict[str, str]]] = []
        self.fail = False
        self.pause = pause
        self.started = False
        self.got_message = asyncio.Event()

    def subscribe(self, subscription: Subscription) -> None:
        self.subscriptions.append(subscription)

    async def start(self) -> None:
        self.started = True

    async def stop(self, timeout: float = 30.0) -> None:
        self.started = False

    async def publish(self, messages: Sequence[Message]) -> None:
        await asyncio.sleep(self.pause)
        if self.fail:
            raise TransientError("broker down", reason_code="bus_down")
        self.published.extend(messages)
        self.got_message.set()

    async def publish_raw(
        self, routing_key: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        if self.fail:
            raise TransientError("broker down", reason_code="bus_down")
        self.raw.append((routing_key, body, dict(headers or {})))
        self.got_message.set()

    async def healthy(self) -> bool:
        return self.started and not self.fail


def event(n: int = 0, tenant: str = "t1") -> TenantConfigChanged:
    return TenantConfigChanged(tenant_id=tenant, section=f"section-{n}")
