"""Regression (chaos run, issue 11): a 429's ``Retry-After`` is waited in the service's time.

The chaos run sets ``KOPPEL_TIME_SCALE=0.02``; the bus delays and claim leases shrank with
it, but the connectors slept the sandbox's 30-second ``Retry-After`` in real time, so each
injected 429 held the orders poller half a minute and the orders runs never finished.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import koppel.connectors.common.clock as clock_module
from koppel.common.gateway_client import InternalGatewayClient
from koppel.connectors.tenants import GatewayConnections

from .fake_gateway import gateway_then_429_transport

TENANT = "ten_scale"


def _transport(calls: list[str]) -> httpx.MockTransport:
    return gateway_then_429_transport(calls, "c1")


async def test_retry_after_is_waited_in_the_service_time_scale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    time_scale = 0.01
    waits: list[float] = []

    class RecordingAsyncio:
        @staticmethod
        async def sleep(seconds: float) -> None:
            waits.append(seconds)
            await asyncio.sleep(0)

    monkeypatch.setattr(clock_module, "asyncio", RecordingAsyncio)
    calls: list[str] = []
    transport = _transport(calls)
    gateway = InternalGatewayClient("http://gateway.test", "token", transport=transport)
    connections = GatewayConnections(gateway, transport=transport, time_scale=time_scale)
    try:
        client = await connections.eaccounting(TENANT)
        response: Any = await client.http.request("GET", "/customers/c1")
    finally:
        await connections.aclose()
    assert response.status_code == 200
    assert len(calls) == 2  # the 429 was retried once, after its wait
    assert waits, "the Retry-After was not waited at all"
    assert max(waits) == pytest.approx(30.0 * time_scale, rel=0.05)


async def test_production_time_keeps_the_process_wide_registry() -> None:
    gateway = InternalGatewayClient("http://gateway.test", "token")
    connections = GatewayConnections(gateway, time_scale=1.0)
    assert connections.registry is None  # the connectors' default: real seconds
    await connections.aclose()
