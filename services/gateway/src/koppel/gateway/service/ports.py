"""What the use cases need from the outside, as small protocols (tests pass fakes)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from koppel.common.messages import Message

Clock = Callable[[], datetime]


class UnitOfWork(Protocol):
    """One transaction: state changes and the messages to publish commit together (outbox)."""

    @property
    def session(self) -> AsyncSession: ...

    def publish(self, *messages: Message) -> None: ...

    async def commit(self) -> None: ...


UowFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
