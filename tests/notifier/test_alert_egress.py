"""Alert webhooks only go to public addresses unless the operator allows private ones (SSRF)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_alerts import _count, order_failed, wait_for_async, webhook_channel
from test_alerts_support import alerting, deliveries, webhook_receiver

from koppel.notifier.alerts.egress import DestinationRefused, check_destination

PRIVATE_URLS = [
    "http://127.0.0.1:9/hook",
    "http://localhost:8080/hook",
    "http://169.254.169.254/latest/meta-data/",  # the cloud's instance metadata
    "http://10.0.0.5/internal",
    "http://[::1]/hook",
    "https://192.168.1.20/hook",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
async def test_private_destinations_are_refused_by_default(url: str) -> None:
    with pytest.raises(DestinationRefused, match="non-public address"):
        await check_destination(url, allow_private=False)


async def test_public_and_allowed_destinations_pass() -> None:
    await check_destination("https://93.184.216.34/hook", allow_private=False)
    await check_destination("http://127.0.0.1:9/hook", allow_private=True)


async def test_saving_a_private_webhook_is_a_422_naming_the_url(tmp_path: Path) -> None:
    async with alerting(tmp_path, alert_webhook_allow_private=False) as a:
        response = await a.http.post(
            "/internal/notifier/tenants/t-ssrf/alert-channels",
            json=webhook_channel("http://169.254.169.254/latest/meta-data/"),
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["errors"][0]["loc"] == ["body", "url"]
        assert "169.254.169.254" in problem["detail"]
        listed = await a.http.get("/internal/notifier/tenants/t-ssrf/alert-channels")
        assert listed.json() == []


async def test_a_delivery_to_a_now_private_address_fails_without_a_request(
    tmp_path: Path,
) -> None:
    # Given a channel saved while private receivers were allowed
    async with webhook_receiver() as hook, alerting(tmp_path, alert_retry_delays=(1.0,)) as a:
        tenant = "t-rebind"
        response = await a.http.post(
            f"/internal/notifier/tenants/{tenant}/alert-channels",
            json=webhook_channel(hook.url),
        )
        assert response.status_code == 201
        await a.http.post(
            f"/internal/notifier/tenants/{tenant}/alert-rules", json={"kind": "failure"}
        )
        # When the operator turns the guard on and an alert is due
        a.settings.alert_webhook_allow_private = False
        await a.bus.publish([order_failed(tenant, 7)])
        # Then the delivery fails, saying why, and the receiver got nothing
        await wait_for_async(lambda: _count(a, tenant, "failed"), 1)
        (delivery,) = await deliveries(a, tenant)
        assert "non-public address" in delivery["last_error"]
        assert hook.received == []
