"""Infrastructure shared by the sandboxes (eAccounting, AccountView).

- :mod:`.clock` -- ``SandboxClock`` (freeze / set / advance / time_scale), ``isoformat_z``.
- :mod:`.faults` -- ``FaultConfig``, ``FaultInjector``, ``FaultMiddleware``, ``FaultResponses``,
  ``ConnectionDropped`` (built with httpx on first use), ``InjectedDrop``.
- :mod:`.requestlog` -- ``RequestLog``, ``RequestLogMiddleware``, ``path_template``.
- :mod:`.ratelimit` -- ``RateLimiter`` (sliding window on the sandbox clock).
- :mod:`.admin` -- ``admin_router`` (faults, requests, clock under ``/_sandbox``).
- :mod:`.seeding` -- ``substream``, ``seeded_uuid``, EAN-13 helpers, the SKU scheme and the
  shared article catalogue (``shared_catalog``).
- :mod:`.people` -- seeded persons and companies (NL, BE, DE, SE, NO).
- :mod:`.server` -- ``serve(app, host, port)`` and ``ServerThread`` for tests.
- :func:`install` -- wires faults + request log middleware onto a FastAPI app in the right order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from koppel.sandbox.common.admin import ADMIN_PREFIX, admin_router
from koppel.sandbox.common.clock import SandboxClock, isoformat_z
from koppel.sandbox.common.faults import (
    FaultConfig,
    FaultInjector,
    FaultKind,
    FaultMiddleware,
    FaultResponses,
    InjectedDrop,
)
from koppel.sandbox.common.middleware import install
from koppel.sandbox.common.ratelimit import RateLimiter
from koppel.sandbox.common.requestlog import RequestLog, RequestLogMiddleware, RequestRecord
from koppel.sandbox.common.server import ServerThread, serve

if TYPE_CHECKING:
    from koppel.sandbox.common.faults import ConnectionDropped


def __getattr__(name: str) -> Any:
    # ConnectionDropped subclasses an httpx error; asking for it is what imports httpx.
    if name == "ConnectionDropped":
        from koppel.sandbox.common import faults

        return faults.ConnectionDropped
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ADMIN_PREFIX",
    "ConnectionDropped",
    "FaultConfig",
    "FaultInjector",
    "FaultKind",
    "FaultMiddleware",
    "FaultResponses",
    "InjectedDrop",
    "RateLimiter",
    "RequestLog",
    "RequestLogMiddleware",
    "RequestRecord",
    "SandboxClock",
    "ServerThread",
    "admin_router",
    "install",
    "isoformat_z",
    "serve",
]
