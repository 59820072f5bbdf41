"""Fault injection for sandboxes: errors, 429s, slowness, timeouts and dropped connections.

One uniform draw per API request picks at most one fault (the shares are bands of [0, 1)), so
the sequence of faults is fully determined by the seed and the order of requests. Faults apply
to API paths only; a sandbox passes ``applies_to`` to keep its admin paths (``/_sandbox``) out.

Kinds and what the client sees:

- ``error_5xx``: a 500 with the vendor's error body; the request is refused *before* any write.
- ``error_5xx_after_write``: writes (POST/PUT/PATCH/DELETE) run and commit, then the client gets
  a 500 anyway -- the nasty "did it happen?" case. Reads are not affected.
- ``rate_429``: the vendor's 429 body (rate-limit style), before any write.
- ``slow``: the request waits ``slow_seconds`` and then runs normally.
- ``timeout``: the request waits ``timeout_seconds`` and then the connection is dropped.
- ``drop``: the connection is dropped before the request runs.
- ``drop_after_write``: a write runs and commits, then the connection is dropped.
- ``unreachable``: every API request is dropped at once (the host is "down").

A dropped connection starts a response and then raises :class:`ConnectionDropped`: a real ASGI
server (uvicorn) then closes the socket mid-response, and ``httpx.ASGITransport`` re-raises the
exception, which *is* an ``httpx.TransportError`` so client code handles both the same way.
That class is built on first use: importing httpx costs a standalone sandbox a quarter of its
start-up (it pulls in click, rich and pygments for its command line), and only a drop needs it.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import Response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class FaultConfig(BaseModel):
    """Shares are probabilities per API request (their sum must stay <= 1)."""

    model_config = ConfigDict(extra="forbid")

    error_5xx: float = Field(0.0, ge=0, le=1)
    error_5xx_after_write: float = Field(0.0, ge=0, le=1)
    rate_429: float = Field(0.0, ge=0, le=1)
    slow: float = Field(0.0, ge=0, le=1)
    slow_seconds: float = Field(2.0, ge=0)
    timeout: float = Field(0.0, ge=0, le=1)
    timeout_seconds: float = Field(30.0, ge=0)
    drop: float = Field(0.0, ge=0, le=1)
    drop_after_write: float = Field(0.0, ge=0, le=1)
    unreachable: bool = False
    seed: int | None = None

    def bands(self) -> list[tuple[FaultKind, float]]:
        return [
            (FaultKind.ERROR_5XX, self.error_5xx),
            (FaultKind.ERROR_5XX_AFTER_WRITE, self.error_5xx_after_write),
            (FaultKind.RATE_429, self.rate_429),
            (FaultKind.SLOW, self.slow),
            (FaultKind.TIMEOUT, self.timeout),
            (FaultKind.DROP, self.drop),
            (FaultKind.DROP_AFTER_WRITE, self.drop_after_write),
        ]

    @model_validator(mode="after")
    def _shares_fit(self) -> FaultConfig:
        total = sum(share for _, share in self.bands())
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault shares add up to {total:.3f}, more than 1")
        return self


class FaultKind(StrEnum):
    ERROR_5XX = "error_5xx"
    ERROR_5XX_AFTER_WRITE = "error_5xx_after_write"
    RATE_429 = "rate_429"
    SLOW = "slow"
    TIMEOUT = "timeout"
    DROP = "drop"
    DROP_AFTER_WRITE = "drop_after_write"
    UNREACHABLE = "unreachable"


class InjectedDrop(Exception):
    """Marks every injected connection drop (``ConnectionDropped`` is one), without httpx."""


if TYPE_CHECKING:
    import httpx

    class ConnectionDropped(httpx.RemoteProtocolError, InjectedDrop):
        """Raised inside the app to make the server abort the connection."""

        def __init__(self, message: str = "sandbox fault: connection dropped") -> None: ...


@cache
def _connection_dropped() -> type[ConnectionDropped]:
    import httpx

    class _Dropped(httpx.RemoteProtocolError, InjectedDrop):
        """Raised inside the app to make the server abort the connection (an httpx transport
        error)."""

        def __init__(self, message: str = "sandbox fault: connection dropped") -> None:
            super().__init__(message)

    _Dropped.__name__ = _Dropped.__qualname__ = "ConnectionDropped"
    _Dropped.__module__ = __name__
    return cast("type[ConnectionDropped]", _Dropped)


def __getattr__(name: str) -> Any:
    # ``ConnectionDropped`` stays importable by name; httpx loads only when someone asks for it.
    if name == "ConnectionDropped":
        return _connection_dropped()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class FaultInjector:
    """Holds the fault configuration and draws one decision per API request."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.config = config or FaultConfig()
        self._random = random.Random(self.config.seed)
        self.injected: Counter[str] = Counter()
        _prepare_drops(self.config)

    def configure(self, config: FaultConfig) -> None:
        """Replace the configuration; a seed restarts the deterministic sequence."""
        with self._lock:
            self.config = config
            self._random = random.Random(config.seed)
            self.injected.clear()
        _prepare_drops(config)

    def decide(self, method: str) -> FaultKind | None:
        """The fault for the next API request, or None. Draws exactly one number per call."""
        with self._lock:
            config = self.config
            draw = self._random.random()
            if config.unreachable:
                kind: FaultKind | None = FaultKind.UNREACHABLE
            else:
                kind = _pick(config, draw)
            if kind in (FaultKind.ERROR_5XX_AFTER_WRITE, FaultKind.DROP_AFTER_WRITE):
                if method.upper() not in WRITE_METHODS:
                    kind = None
            if kind is not None:
                self.injected[kind.value] += 1
            return kind

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"config": self.config.model_dump(), "injected": dict(self.injected)}


def _prepare_drops(config: FaultConfig) -> None:
    """Build ``ConnectionDropped`` (import httpx) when drops are configured, not while the
    first one is being served."""
    if config.unreachable or config.drop or config.drop_after_write or config.timeout:
        _connection_dropped()


def _pick(config: FaultConfig, draw: float) -> FaultKind | None:
    edge = 0.0
    for kind, share in config.bands():
        edge += share
        if share > 0 and draw < edge:
            return kind
    return None


@dataclass(frozen=True)
class FaultResponses:
    """How a given vendor API says "server error" and "too many requests"."""

    server_error: Callable[[], Response]
    rate_limited: Callable[[int], Response]
    rate_retry_seconds: int = 30


class FaultMiddleware:
    """Raw ASGI middleware applying :class:`FaultInjector` decisions to API requests."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        injector: FaultInjector,
        responses: FaultResponses,
        applies_to: Callable[[str], bool],
    ) -> None:
        self.app = app
        self.injector = injector
        self.responses = responses
        self.applies_to = applies_to

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies_to(scope["path"]):
            await self.app(scope, receive, send)
            return
        kind = self.injector.decide(scope["method"])
        scope.setdefault("state", {})["sandbox_fault"] = kind.value if kind else None
        if kind is None:
            await self.app(scope, receive, send)
        elif kind is FaultKind.SLOW:
            await asyncio.sleep(self.injector.config.slow_seconds)
            await self.app(scope, receive, send)
        elif kind is FaultKind.ERROR_5XX:
            await self.responses.server_error()(scope, receive, send)
        elif kind is FaultKind.RATE_429:
            retry = self.responses.rate_retry_seconds
            await self.responses.rate_limited(retry)(scope, receive, send)
        elif kind is FaultKind.TIMEOUT:
            await asyncio.sleep(self.injector.config.timeout_seconds)
            await abort_connection(send, "sandbox fault: timeout")
        elif kind in (FaultKind.DROP, FaultKind.UNREACHABLE):
            await abort_connection(send, f"sandbox fault: {kind.value}")
        else:
            await self._after_write(kind, scope, receive, send)

    async def _after_write(
        self, kind: FaultKind, scope: Scope, receive: Receive, send: Send
    ) -> None:
        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(message)

        await self.app(scope, receive, capture)
        status = next((m["status"] for m in captured if m["type"] == "http.response.start"), 500)
        if status >= 400:
            # Nothing was written, so there is nothing to hide: pass the real answer through.
            for message in captured:
                await send(message)
            return
        if kind is FaultKind.DROP_AFTER_WRITE:
            await abort_connection(send, "sandbox fault: drop after write")
        else:
            await self.responses.server_error()(scope, receive, send)


async def abort_connection(send: Send, reason: str) -> None:
    """Start a response the client can never finish reading, then blow up the connection."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1024")],
        }
    )
    raise _connection_dropped()(reason)
