"""A full scenario, then a search for every secret it used in every response body, log line,
span attribute and published message. Only the answers that create a secret may show it
(once), and only the internal token API hands out access tokens."""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import parse_qs, urlparse

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from koppel.common.telemetry import setup_telemetry
from koppel.gateway.domain import webhook_signature

from .conftest import ADMIN_KEY, SERVICE_TOKEN, Harness
from .test_connections import EA


async def test_no_secret_leaks_anywhere(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    spans = InMemorySpanExporter()
    setup_telemetry("gateway", h.settings, exporter=spans)
    responses: list[tuple[str, str]] = []  # (what, body)
    revealed: dict[str, str] = {}  # secret -> the one answer allowed to show it

    async def call(method: str, url: str, **kwargs: object) -> dict[str, object]:
        response = await h.client.request(method, url, **kwargs)  # type: ignore[arg-type]
        assert response.status_code < 500, response.text
        responses.append((f"{method} {url}", response.text))
        return response.json() if response.content else {}

    # Given a tenant set up end to end
    created = await call("POST", "/v1/tenants", json={"name": "Geheim BV"}, headers=h.admin)
    key, webhook_secret = created["api_key"], created["webhook_secret"]
    revealed[key] = revealed[webhook_secret] = "POST /v1/tenants"
    auth = h.auth(str(key))
    first_refresh = h.tokens.issue_refresh_token()
    await call(
        "PUT",
        "/v1/connections/accountview",
        json={
            **EA,
            "api_base_url": "http://av.test/api/v3",
            "company": "DEMO",
            "refresh_token": first_refresh,
        },
        headers=auth,
    )
    await call("PUT", "/v1/connections/eaccounting", json=EA, headers=auth)
    started = await call("GET", "/v1/connections/eaccounting/authorize", headers=auth)
    state = parse_qs(urlparse(str(started["authorize_url"])).query)["state"][0]
    await call("GET", "/v1/oauth/callback", params={"state": state, "code": h.tokens.issue_code()})
    for system in ("eaccounting", "accountview"):
        await call("POST", f"/v1/connections/{system}/test", headers=auth)
        await call("GET", f"/v1/connections/{system}", headers=auth)
    h.clock.advance(7200)
    token = await call(
        "GET",
        f"/internal/tenants/{created['tenant']['id']}/connections/eaccounting/token",
        headers=h.service,
    )
    revealed[str(token["access_token"])] = "internal token"
    await call("GET", f"/internal/tenants/{created['tenant']['id']}/settings", headers=h.service)
    await call(
        "PUT",
        "/v1/flows/orders",
        json={"enabled": True, "schedule": {"interval_seconds": 300}},
        headers=auth,
    )
    await call("POST", "/v1/flows/orders/runs?dry_run=true", headers=auth)
    body = b'{"record_id": "o-1"}'
    ts = str(int(h.clock().timestamp()))
    await call(
        "POST",
        f"/v1/webhooks/{created['tenant']['id']}/orders",
        content=body,
        headers={
            "X-Koppel-Timestamp": ts,
            "X-Koppel-Signature": webhook_signature(str(webhook_secret), ts, body),
        },
    )
    await call(
        "POST",
        f"/v1/webhooks/{created['tenant']['id']}/orders",
        content=body,
        headers={"X-Koppel-Timestamp": ts, "X-Koppel-Signature": "sha256=" + "0" * 64},
    )
    rotated = await call("POST", "/v1/tenant/webhook-secret/rotate", headers=auth)
    revealed[str(rotated["webhook_secret"])] = "POST /v1/tenant/webhook-secret/rotate"
    await call("GET", "/v1/api-keys", headers=auth)
    await call("GET", "/v1/runs", headers=auth)
    await call("GET", "/v1/audit", headers=auth)
    # A refused refresh (consent lost) logs and publishes too.
    await call(
        "PUT",
        "/v1/connections/accountview",
        json={**EA, "api_base_url": "http://av.test/api/v3", "refresh_token": "rt-stolen-and-used"},
        headers=auth,
    )
    await call(
        "GET",
        f"/internal/tenants/{created['tenant']['id']}/connections/accountview/token",
        headers=h.service,
    )
    await asyncio.sleep(0.1)  # let the relay publish what was committed

    secrets = {
        ADMIN_KEY,
        SERVICE_TOKEN,
        str(key),
        str(webhook_secret),
        str(rotated["webhook_secret"]),
        "csecret",
        first_refresh,
        "rt-stolen-and-used",
        *h.tokens.valid_refresh,
        *h.tokens.valid_access,
        h.settings.encryption_keys.get_secret_value(),  # type: ignore[union-attr]
    }
    assert len(secrets) >= 10

    # Then no response shows a secret, except the one answer that created it
    for what, text in responses:
        for secret in secrets:
            if secret in text:
                assert (
                    revealed.get(secret) == what
                    or what.endswith("/token")
                    and revealed.get(secret) == "internal token"
                ), (what, secret[:6])
    # no log line
    for record in caplog.records:
        line = record.getMessage() + json.dumps(record.__dict__, default=str)
        assert not [s for s in secrets if s in line], record.getMessage()
    # no published message
    messages = await h.outbox()
    assert {m.routing_key for m in messages} >= {
        "event.tenant_config_changed.v1",
        "event.flow_run_requested.v1",
        "event.connection_needs_consent.v1",
    }
    for message in messages:
        text = message.body + json.dumps(message.headers)
        assert not [s for s in secrets if s in text], message.routing_key
    # no span attribute
    exported = spans.get_finished_spans()
    assert exported
    for span in exported:
        text = json.dumps(dict(span.attributes or {}), default=str) + span.name
        assert not [s for s in secrets if s in text], span.name
