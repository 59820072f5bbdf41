"""Fault injection and request log of the shared sandbox infrastructure, on a tiny app."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from koppel.sandbox.common import (
    FaultConfig,
    FaultInjector,
    FaultKind,
    FaultResponses,
    RequestLog,
    SandboxClock,
    ServerThread,
    admin_router,
    install,
)


def make_app(config: FaultConfig | None = None) -> tuple[FastAPI, dict[str, Any]]:
    app = FastAPI()
    faults = FaultInjector(config)
    log = RequestLog()
    clock = SandboxClock()
    state: dict[str, Any] = {"items": [], "faults": faults, "log": log}
    responses = FaultResponses(
        server_error=lambda: JSONResponse({"error": "boom"}, status_code=500),
        rate_limited=lambda seconds: JSONResponse({"wait": seconds}, status_code=429),
    )
    install(app, faults=faults, responses=responses, requests=log, clock=clock)
    app.include_router(admin_router(faults=faults, requests=log, clock=clock))

    @app.get("/api/items/{item_id}")
    async def get_item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    @app.post("/api/items", status_code=201)
    async def add_item(body: dict[str, Any]) -> dict[str, Any]:
        state["items"].append(body)
        return body

    return app, state


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


async def test_no_faults_by_default_and_log_counts_templates() -> None:
    app, state = make_app()
    async with client(app) as c:
        for i in range(3):
            assert (await c.get(f"/api/items/{i}")).status_code == 200
        assert (await c.post("/api/items", json={"a": 1})).status_code == 201
        summary = (await c.get("/_sandbox/requests")).json()
    assert summary["counts"] == {"GET /api/items/{item_id}": 3, "POST /api/items": 1}
    assert summary["total"] == 4
    assert state["log"].count("GET", "/api/items/{item_id}") == 3


async def test_5xx_and_429_refuse_before_the_write() -> None:
    app, state = make_app()
    async with client(app) as c:
        await c.post("/_sandbox/faults", json={"error_5xx": 1.0})
        assert (await c.post("/api/items", json={"a": 1})).status_code == 500
        await c.post("/_sandbox/faults", json={"rate_429": 1.0})
        response = await c.post("/api/items", json={"a": 1})
        assert response.status_code == 429
        assert response.json() == {"wait": 30}
    assert state["items"] == []


async def test_error_after_write_commits_then_fails() -> None:
    app, state = make_app(FaultConfig(error_5xx_after_write=1.0))
    async with client(app) as c:
        assert (await c.post("/api/items", json={"a": 1})).status_code == 500
        # Reads are never hit by an after-write fault.
        assert (await c.get("/api/items/1")).status_code == 200
    assert state["items"] == [{"a": 1}]


@pytest.mark.parametrize("kind", ["drop", "unreachable", "timeout", "drop_after_write"])
async def test_connection_faults_are_transport_errors(kind: str) -> None:
    config: dict[str, Any] = {"timeout_seconds": 0.01}
    config[kind] = True if kind == "unreachable" else 1.0
    app, state = make_app(FaultConfig(**config))
    async with client(app) as c:
        with pytest.raises(httpx.TransportError):
            await c.post("/api/items", json={"a": 1})
        summary = (await c.get("/_sandbox/requests")).json()
    assert summary["statuses"] == {"dropped": 1}
    assert summary["entries"][0]["fault"] == kind
    assert state["items"] == ([{"a": 1}] if kind == "drop_after_write" else [])


async def test_slow_still_answers() -> None:
    app, _ = make_app(FaultConfig(slow=1.0, slow_seconds=0.01))
    async with client(app) as c:
        assert (await c.get("/api/items/1")).status_code == 200
        assert (await c.get("/_sandbox/faults")).json()["injected"] == {"slow": 1}


async def test_admin_paths_are_never_faulted() -> None:
    app, _ = make_app(FaultConfig(unreachable=True))
    async with client(app) as c:
        assert (await c.get("/_sandbox/faults")).status_code == 200
        assert (await c.get("/_sandbox/requests")).json()["total"] == 0


def test_same_seed_same_fault_sequence() -> None:
    def sequence(seed: int) -> list[FaultKind | None]:
        injector = FaultInjector(FaultConfig(error_5xx=0.2, rate_429=0.2, drop=0.1, seed=seed))
        return [injector.decide("GET") for _ in range(200)]

    first = sequence(1)
    assert first == sequence(1)
    assert first != sequence(2)
    share = sum(k is FaultKind.ERROR_5XX for k in first) / len(first)
    assert 0.1 < share < 0.3


def test_shares_over_one_are_refused() -> None:
    with pytest.raises(ValueError, match="more than 1"):
        FaultConfig(error_5xx=0.6, drop=0.6)


def test_dropped_connection_through_real_uvicorn() -> None:
    app, state = make_app()
    with ServerThread(app) as server:
        with httpx.Client(base_url=server.base_url, timeout=5) as c:
            assert c.get("/api/items/7").json() == {"id": "7"}
            c.post("/_sandbox/faults", json={"drop": 1.0})
            with pytest.raises(httpx.RemoteProtocolError):
                c.get("/api/items/7")
            c.post("/_sandbox/faults", json={})
            assert c.get("/api/items/8").status_code == 200
    assert state["log"].summary()["statuses"] == {"200": 2, "dropped": 1}
