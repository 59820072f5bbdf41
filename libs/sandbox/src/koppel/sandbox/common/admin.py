"""The admin endpoints every sandbox shares (under ``/_sandbox``).

``admin_router(...)`` returns an ``APIRouter`` with:

- ``GET /_sandbox/faults`` -> ``{"config": FaultConfig, "injected": {kind: count}}``
- ``POST /_sandbox/faults`` with a :class:`FaultConfig` body (omitted fields = 0 / defaults)
- ``GET /_sandbox/requests[?limit=N]`` -> ``{"total", "counts": {"GET /v2/x": n}, "statuses", "entries"}``
- ``DELETE /_sandbox/requests`` -> clears the log
- ``GET /_sandbox/clock`` -> ``{"now", "frozen", "time_scale"}``
- ``POST /_sandbox/clock`` with ``{"now"?: datetime, "advance_seconds"?: float,
  "freeze"?: bool, "time_scale"?: float}`` (applied in that order)

A sandbox adds its own endpoints (reset, state, ...) to the same router.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from koppel.sandbox.common.clock import SandboxClock, isoformat_z
from koppel.sandbox.common.faults import FaultConfig, FaultInjector
from koppel.sandbox.common.requestlog import RequestLog

ADMIN_PREFIX = "/_sandbox"


class ClockChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    now: datetime | None = None
    advance_seconds: float | None = None
    freeze: bool | None = None
    time_scale: float | None = Field(None, gt=0)


def clock_view(clock: SandboxClock) -> dict[str, Any]:
    return {"now": isoformat_z(clock.now()), "frozen": clock.frozen, "time_scale": clock.time_scale}


def apply_clock_change(clock: SandboxClock, change: ClockChange) -> None:
    if change.now is not None:
        clock.set(change.now)
    if change.advance_seconds is not None:
        clock.advance(change.advance_seconds)
    if change.freeze is True:
        clock.freeze()
    elif change.freeze is False:
        clock.unfreeze()
    if change.time_scale is not None:
        clock.set_time_scale(change.time_scale)


def admin_router(
    *,
    faults: FaultInjector,
    requests: RequestLog,
    clock: SandboxClock,
    prefix: str = ADMIN_PREFIX,
    tags: list[str] | None = None,
) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=list(tags or ["sandbox admin"]))

    @router.get("/faults")
    async def get_faults() -> dict[str, Any]:
        return faults.snapshot()

    @router.post("/faults")
    async def set_faults(config: FaultConfig) -> dict[str, Any]:
        faults.configure(config)
        return faults.snapshot()

    @router.get("/requests")
    async def get_requests(limit: int | None = None) -> dict[str, Any]:
        return requests.summary(limit=limit)

    @router.delete("/requests")
    async def clear_requests() -> dict[str, Any]:
        requests.clear()
        return requests.summary()

    @router.get("/clock")
    async def get_clock() -> dict[str, Any]:
        return clock_view(clock)

    @router.post("/clock")
    async def set_clock(change: ClockChange) -> dict[str, Any]:
        apply_clock_change(clock, change)
        return clock_view(clock)

    return router
