"""A gateway (settings, token) in front of an eAccounting that answers one 429, for the
Retry-After time-scale tests of connectors and catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx


def gateway_then_429_transport(calls: list[str], created_id: str) -> httpx.MockTransport:
    """Settings and a token from the gateway; eAccounting answers 429 (Retry-After 30) to
    the first call, then 200 with ``created_id``; every eAccounting path goes into ``calls``."""

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/settings"):
            connections = {"eaccounting": {"api_base_url": "http://ea.test/v2"}}
            return httpx.Response(200, json={"flows": {}, "connections": connections})
        if path.endswith("/token"):
            expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
            body = {
                "system": "eaccounting",
                "access_token": "at",
                "expires_at": expires,
                "api_base_url": "http://ea.test/v2",
            }
            return httpx.Response(200, json=body)
        calls.append(path)
        if len(calls) == 1:
            return httpx.Response(
                429,
                headers={"Retry-After": "30"},
                json={"ErrorCode": 4290, "DeveloperErrorMessage": "Try again in 30 seconds."},
            )
        return httpx.Response(200, json={"Id": created_id})

    return httpx.MockTransport(handle)
