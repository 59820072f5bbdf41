"""Rate limit (4010), every fault kind on the eAccounting app, and a real uvicorn round trip."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from koppel.sandbox.common import ServerThread
from koppel.sandbox.eaccounting import create_app

from .conftest import asgi_client, make_app, make_settings, mint


async def authed(app: Any) -> httpx.AsyncClient:
    return asgi_client(app, (await mint(app))["access_token"])


async def test_rate_limit_per_client_and_endpoint() -> None:
    app = make_app(rate_limit=5)
    async with await authed(app) as api:
        statuses = [(await api.get("/v2/units")).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        r = await api.get("/v2/units")
        body = r.json()
        assert body["ErrorCode"] == 4010
        assert re.fullmatch(
            r"API calls quota exceeded! maximum admitted 5 per Minute\. Try again in \d+ seconds\.",
            body["DeveloperErrorMessage"],
        )
        assert int(r.headers["Retry-After"]) == 60
        # Another endpoint has its own budget; an item path is another endpoint too.
        assert (await api.get("/v2/countries")).status_code == 200
        app.state.sandbox.clock.advance(45)
        again = await api.get("/v2/units")
        assert "Try again in 15 seconds" in again.json()["DeveloperErrorMessage"]
        app.state.sandbox.clock.advance(15)
        assert (await api.get("/v2/units")).status_code == 200


async def test_rate_limit_window_and_time_scale_are_configurable() -> None:
    app = create_app(make_settings(rate_limit=2, rate_window_seconds=10, time_scale=1000.0))
    async with await authed(app) as api:
        codes = [(await api.get("/v2/units")).status_code for _ in range(3)]
        assert codes[:2] == [200, 200]
        assert app.state.sandbox.clock.time_scale == 1000.0
        await api.post("/_sandbox/ratelimit", json={"limit": 1, "window_seconds": 60})
        assert (await api.get("/v2/units")).status_code == 200
        assert (await api.get("/v2/units")).status_code == 429


async def post_customer(api: httpx.AsyncClient, terms: str) -> httpx.Response:
    return await api.post(
        "/v2/customers",
        json={
            "Name": "Fault Test",
            "InvoiceCity": "Gent",
            "InvoicePostalCode": "9000",
            "TermsOfPaymentId": terms,
            "IsPrivatePerson": True,
            "IsActive": True,
        },
    )


async def count_customers(app: Any) -> int:
    return len(app.state.sandbox.store.all("customers"))


@pytest.mark.parametrize(("fault", "status"), [("error_5xx", 500), ("rate_429", 429)])
async def test_refusing_faults_do_not_write(fault: str, status: int) -> None:
    app = make_app()
    async with await authed(app) as api:
        terms = (await api.get("/v2/termsofpayments")).json()["Data"][0]["Id"]
        before = await count_customers(app)
        await api.post("/_sandbox/faults", json={fault: 1.0})
        r = await post_customer(api, terms)
        assert r.status_code == status
        expected_code = 5000 if status == 500 else 4010
        assert r.json()["ErrorCode"] == expected_code
        assert await count_customers(app) == before


async def test_error_after_write_writes_and_fails() -> None:
    app = make_app()
    async with await authed(app) as api:
        before = await count_customers(app)
        terms = (await api.get("/v2/termsofpayments")).json()["Data"][0]["Id"]
        await api.post("/_sandbox/faults", json={"error_5xx_after_write": 1.0})
        r = await api.post(
            "/v2/customers",
            json={
                "Name": "Half Done",
                "InvoiceCity": "Gent",
                "InvoicePostalCode": "9000",
                "TermsOfPaymentId": terms,
                "IsPrivatePerson": True,
                "IsActive": True,
            },
        )
        assert r.status_code == 500
        assert await count_customers(app) == before + 1
        assert (await api.get("/v2/units")).status_code == 200  # reads unaffected


@pytest.mark.parametrize("fault", ["drop", "timeout", "unreachable", "drop_after_write"])
async def test_connection_faults(fault: str) -> None:
    app = make_app()
    async with await authed(app) as api:
        before = await count_customers(app)
        terms = (await api.get("/v2/termsofpayments")).json()["Data"][0]["Id"]
        value: Any = True if fault == "unreachable" else 1.0
        await api.post("/_sandbox/faults", json={fault: value, "timeout_seconds": 0.01})
        with pytest.raises(httpx.TransportError):
            await api.post(
                "/v2/customers",
                json={
                    "Name": "Lost",
                    "InvoiceCity": "Gent",
                    "InvoicePostalCode": "9000",
                    "TermsOfPaymentId": terms,
                    "IsPrivatePerson": True,
                    "IsActive": True,
                },
            )
        written = await count_customers(app) - before
        assert written == (1 if fault == "drop_after_write" else 0)
        log = (await api.get("/_sandbox/requests")).json()
        last = log["entries"][-1]
        assert last["fault"] == fault
        assert last["status"] is None
        assert last["template"] == "/v2/customers"


async def test_slow_fault_and_admin_paths_immune() -> None:
    app = make_app(faults={"slow": 1.0, "slow_seconds": 0.01})
    async with await authed(app) as api:
        assert (await api.get("/v2/units")).status_code == 200
        await api.post("/_sandbox/faults", json={"unreachable": True})
        assert (await api.get("/_sandbox/state")).status_code == 200
        assert (await api.post("/_sandbox/tokens", json={})).status_code == 200
        injected = (await api.get("/_sandbox/faults")).json()["injected"]
        assert injected == {}


async def test_faults_are_deterministic_under_a_seed() -> None:
    async def run() -> list[int]:
        app = make_app(faults={"error_5xx": 0.3, "rate_429": 0.2, "seed": 7})
        async with await authed(app) as api:
            return [(await api.get("/v2/countries")).status_code for _ in range(30)]

    first = await run()
    assert first == await run()
    assert {200, 429, 500} <= set(first)


async def test_request_log_counts_per_template() -> None:
    app = make_app()
    async with await authed(app) as api:
        customers = (await api.get("/v2/customers")).json()["Data"]
        for c in customers[:3]:
            await api.get(f"/v2/customers/{c['Id']}")
        log = (await api.get("/_sandbox/requests")).json()
        assert log["counts"] == {"GET /v2/customers": 1, "GET /v2/customers/{customerId}": 3}
        await api.delete("/_sandbox/requests")
        assert (await api.get("/_sandbox/requests")).json()["total"] == 0


def test_through_real_uvicorn() -> None:
    app = create_app(make_settings(client_id="cli", client_secret="s3cret"))
    with ServerThread(app) as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        redirect = "http://localhost:9/cb"
        r = http.get(
            "/connect/authorize",
            params={
                "client_id": "cli",
                "redirect_uri": redirect,
                "response_type": "code",
                "scope": "ea:api offline_access ea:sales",
                "state": "s",
            },
        )
        assert r.status_code == 302
        code = httpx.URL(r.headers["location"]).params["code"]
        tokens = http.post(
            "/connect/token",
            auth=("cli", "s3cret"),
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
        ).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        page = http.get("/v2/customers", params={"$pagesize": 5}, headers=headers).json()
        assert page["Meta"]["TotalNumberOfResults"] == 20
        http.post("/_sandbox/faults", json={"drop": 1.0})
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/v2/customers", headers=headers)
        http.post("/_sandbox/faults", json={})
        assert http.get("/v2/units", headers=headers).status_code == 200
