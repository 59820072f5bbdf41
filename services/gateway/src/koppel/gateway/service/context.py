"""The gateway's wiring, built once by the app and handed to every use case."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from koppel.common.messages import utcnow
from koppel.gateway.adapters.oauth import OAuthClient
from koppel.gateway.config import GatewaySettings
from koppel.gateway.crypto import SecretBox
from koppel.gateway.schemas import ConnectionCheck
from koppel.gateway.service.ports import Clock, UowFactory
from koppel.gateway.service.run_counts import RunTally


class KeyedLocks:
    """One asyncio lock per key (per connection), so refreshes in one process queue up.

    Across processes the database lock does the same job; this one keeps waiters off the
    database and is the whole story on SQLite (one process owns the file).
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    def get(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock


class ConnectionProbe(Protocol):
    """Calls the remote API with a token and reports what works (``POST .../test``)."""

    async def probe(
        self, *, system: str, api_base_url: str, access_token: str, company: str | None
    ) -> list[ConnectionCheck]: ...


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


@dataclass
class Gateway:
    settings: GatewaySettings
    box: SecretBox
    uow: UowFactory
    oauth: OAuthClient
    probe: ConnectionProbe
    dialect: str = "sqlite"
    clock: Clock = utcnow
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    on_refresh: Callable[[str, str], None] | None = None  # (tenant_id, system): metrics hook
    # Record outcomes of runs, written in batches (``run_events``; built on first use).
    run_tally: RunTally | None = None
