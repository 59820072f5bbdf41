"""Fault injection (sandbox common) wired into the AccountView sandbox: every kind."""

from __future__ import annotations

import httpx
import pytest
from av_helpers import AV, make_settings

from koppel.sandbox.accountview import create_app

DEBTOR = [{"ACCT_NAME": "Fault B.V.", "SRC_CODE": "FAULT", "ACCT_NR": "1300"}]


async def faults(av: AV, **config: object) -> None:
    await av.admin("POST", "/faults", json=config)


async def _debtor_count(av: AV) -> int:
    return len(
        (await av.admin("GET", "/state", params={"table": "CONTACT"}))["companies"][0]["tables"][
            "CONTACT"
        ]
    )


async def test_error_5xx_has_the_accountview_body(av: AV) -> None:
    await faults(av, error_5xx=1.0)
    r = await av.get("AK1")
    assert r.status_code == 500
    assert r.json()["ErrorType"] == "AccountViewError"
    before = await _debtor_count(av)
    assert (await av.write("POST", "AR1", "CONTACT", DEBTOR)).status_code == 500
    assert await _debtor_count(av) == before  # refused before the write


async def test_error_5xx_after_write_commits_anyway(av: AV) -> None:
    await faults(av, error_5xx_after_write=1.0)
    before = await _debtor_count(av)
    assert (await av.write("POST", "AR1", "CONTACT", DEBTOR)).status_code == 500
    assert await _debtor_count(av) == before + 1
    assert (await av.get("AK1")).status_code == 200  # reads unaffected


async def test_rate_429(av: AV) -> None:
    await faults(av, rate_429=1.0)
    r = await av.get("AK1")
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "30"


async def test_slow(av: AV) -> None:
    await faults(av, slow=1.0, slow_seconds=0.1)
    assert (await av.get("GL1")).status_code == 200
    log = await av.admin("GET", "/requests")
    assert log["entries"][-1]["fault"] == "slow"
    assert log["entries"][-1]["duration_ms"] >= 100


@pytest.mark.parametrize(
    "config", [{"timeout": 1.0, "timeout_seconds": 0.05}, {"drop": 1.0}, {"unreachable": True}]
)
async def test_connection_faults_are_transport_errors(av: AV, config: dict[str, object]) -> None:
    await faults(av, **config)
    with pytest.raises(httpx.TransportError):
        await av.get("AK1")
    with pytest.raises(httpx.TransportError):
        await av.http.post("/api/v3/token", data={"grant_type": "refresh_token"})
    # admin endpoints stay reachable, and the dropped request is in the log
    log = await av.admin("GET", "/requests")
    assert log["statuses"]["dropped"] >= 1


async def test_drop_after_write_commits_anyway(av: AV) -> None:
    await faults(av, drop_after_write=1.0)
    before = await _debtor_count(av)
    with pytest.raises(httpx.TransportError):
        await av.write("POST", "AR1", "CONTACT", DEBTOR)
    assert await _debtor_count(av) == before + 1


async def test_faults_are_deterministic_under_a_seed(av: AV) -> None:
    async def run() -> list[int]:
        await faults(av, error_5xx=0.3, rate_429=0.2, seed=7)
        return [(await av.get("GL1")).status_code for _ in range(20)]

    first, second = await run(), await run()
    assert first == second
    assert {200, 500, 429} <= set(first)
    snapshot = await av.admin("GET", "/faults")
    assert snapshot["injected"]["error_5xx"] == first.count(500)


async def test_faults_from_settings_at_start() -> None:
    app = create_app(make_settings(faults={"error_5xx": 1.0}))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://av"
    ) as http:
        tok = (await http.post("/_sandbox/tokens")).json()
        r = await http.get(
            "/api/v3/companies", headers={"Authorization": f"Bearer {tok['access_token']}"}
        )
        assert r.status_code == 500
