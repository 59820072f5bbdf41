"""Connections: settings without secrets in answers, OAuth consent, status, test."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from .conftest import Harness

EA = {
    "api_base_url": "http://ea.test/v2",
    "auth_base_url": "http://identity.test",
    "client_id": "cid",
    "client_secret": "csecret",
}
AV = {
    "api_base_url": "http://av.test/api/v3",
    "client_id": "cid",
    "client_secret": "csecret",
    "company": "DEMO",
}


async def tenant_key(h: Harness) -> dict[str, str]:
    return h.auth((await h.create_tenant())["api_key"])


async def put(h: Harness, key: dict[str, str], system: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await h.client.put(f"/v1/connections/{system}", json=body, headers=key)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


class TestConnectionSettings:
    async def test_defaults_are_production(self, h: Harness) -> None:
        key = await tenant_key(h)
        ea = (await h.client.get("/v1/connections/eaccounting", headers=key)).json()
        assert ea["api_base_url"] == "https://eaccountingapi.vismaonline.com/v2"
        assert ea["auth_base_url"] == "https://identity.vismaonline.com"
        assert ea["status"] == "needs_consent"
        av = await put(h, key, "accountview", {"client_id": "x"})
        assert av["api_base_url"] == "https://www.accountview.net/api/v3"
        assert av["auth_base_url"] == "https://www.accountview.net/ams/authorize.aspx"
        assert av["redirect_uri"] == "http://127.0.0.1:8000/v1/oauth/callback"

    async def test_secrets_are_write_only(self, h: Harness) -> None:
        key = await tenant_key(h)
        body = await put(h, key, "eaccounting", {**EA, "refresh_token": "rt-secret-value"})
        text = str(body)
        assert "csecret" not in text
        assert "rt-secret-value" not in text
        assert body["has_client_secret"] is True
        assert body["has_refresh_token"] is True
        assert body["status"] == "connected"
        # Omitted secrets are kept; null clears.
        kept = await put(
            h, key, "eaccounting", {**{k: v for k, v in EA.items() if k != "client_secret"}}
        )
        assert kept["has_client_secret"] is True
        cleared = await put(h, key, "eaccounting", {**EA, "refresh_token": None})
        assert cleared["has_refresh_token"] is False
        assert cleared["status"] == "needs_consent"

    async def test_secrets_are_encrypted_at_rest(self, h: Harness) -> None:
        import sqlalchemy as sa

        from koppel.gateway.models import ConnectionRow

        key = await tenant_key(h)
        await put(h, key, "eaccounting", {**EA, "refresh_token": "rt-secret-value"})
        async with h.runtime.database.session() as session:
            row = (await session.execute(sa.select(ConnectionRow))).scalar_one()
        assert row.client_secret_enc
        assert "csecret" not in row.client_secret_enc
        assert row.refresh_token_enc
        assert "rt-secret-value" not in row.refresh_token_enc
        assert h.gw.box.decrypt(row.refresh_token_enc) == "rt-secret-value"

    async def test_unknown_system_and_bad_url_are_422(self, h: Harness) -> None:
        key = await tenant_key(h)
        unknown = await h.client.get("/v1/connections/exact", headers=key)
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["loc"] == ["path", "system"]
        bad = await h.client.put(
            "/v1/connections/eaccounting", json={"api_base_url": "not a url"}, headers=key
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["loc"] == ["body", "api_base_url"]

    async def test_list_shows_both_systems(self, h: Harness) -> None:
        key = await tenant_key(h)
        systems = [c["system"] for c in (await h.client.get("/v1/connections", headers=key)).json()]
        assert systems == ["eaccounting", "accountview"]

    async def test_change_publishes_tenant_config_changed(self, h: Harness) -> None:
        key = await tenant_key(h)
        await put(h, key, "accountview", AV)
        sections = [m["section"] for m in await h.published("tenant_config_changed")]
        assert "connection:accountview" in sections


class TestOAuthConsent:
    async def test_authorize_then_callback_stores_tokens(self, h: Harness) -> None:
        key = await tenant_key(h)
        await put(h, key, "eaccounting", EA)
        started = await h.client.get("/v1/connections/eaccounting/authorize", headers=key)
        assert started.status_code == 200
        url = urlparse(started.json()["authorize_url"])
        query = parse_qs(url.query)
        assert f"{url.scheme}://{url.netloc}{url.path}" == "http://identity.test/connect/authorize"
        assert query["client_id"] == ["cid"]
        assert query["response_type"] == ["code"]
        assert "offline_access" in query["scope"][0]
        state = query["state"][0]

        code = h.tokens.issue_code()
        done = await h.client.get("/v1/oauth/callback", params={"state": state, "code": code})
        assert done.status_code == 200, done.text
        assert done.json() == {"system": "eaccounting", "status": "connected"}
        status = (await h.client.get("/v1/connections/eaccounting", headers=key)).json()
        assert status["has_refresh_token"] is True
        assert status["access_token_expires_at"] is not None

        replay = await h.client.get(
            "/v1/oauth/callback", params={"state": state, "code": h.tokens.issue_code()}
        )
        assert replay.status_code == 422
        assert replay.json()["field"] == "state"

    async def test_accountview_authorize_url(self, h: Harness) -> None:
        key = await tenant_key(h)
        await put(h, key, "accountview", AV)
        url = (await h.client.get("/v1/connections/accountview/authorize", headers=key)).json()[
            "authorize_url"
        ]
        assert url.startswith("https://www.accountview.net/ams/authorize.aspx?")
        assert "readaccountviewdata" in parse_qs(urlparse(url).query)["scope"][0]

    async def test_unknown_or_expired_state_is_refused(self, h: Harness) -> None:
        key = await tenant_key(h)
        await put(h, key, "eaccounting", EA)
        unknown = await h.client.get("/v1/oauth/callback", params={"state": "forged", "code": "c"})
        assert unknown.status_code == 422
        started = await h.client.get("/v1/connections/eaccounting/authorize", headers=key)
        state = parse_qs(urlparse(started.json()["authorize_url"]).query)["state"][0]
        h.clock.advance(3600)
        expired = await h.client.get(
            "/v1/oauth/callback", params={"state": state, "code": h.tokens.issue_code()}
        )
        assert expired.status_code == 422

    async def test_user_denied_and_missing_params(self, h: Harness) -> None:
        denied = await h.client.get("/v1/oauth/callback", params={"error": "access_denied"})
        assert denied.status_code == 422
        assert denied.json()["field"] == "error"
        missing = await h.client.get("/v1/oauth/callback", params={"code": "x"})
        assert missing.json()["field"] == "state"

    async def test_authorize_needs_a_client_id(self, h: Harness) -> None:
        key = await tenant_key(h)
        missing = await h.client.get("/v1/connections/eaccounting/authorize", headers=key)
        assert missing.status_code == 404
        await put(h, key, "eaccounting", {"api_base_url": "http://ea.test/v2"})
        no_client = await h.client.get("/v1/connections/eaccounting/authorize", headers=key)
        assert no_client.status_code == 422
        assert no_client.json()["field"] == "client_id"


class TestConnectionTest:
    async def test_reports_each_check(self, h: Harness) -> None:
        key = await tenant_key(h)
        await put(h, key, "eaccounting", {**EA, "refresh_token": h.tokens.issue_refresh_token()})
        result = await h.client.post("/v1/connections/eaccounting/test", headers=key)
        assert result.status_code == 200, result.text
        body = result.json()
        assert body["ok"] is True
        assert body["status"] == "connected"
        names = [c["name"] for c in body["checks"]]
        assert names[:2] == ["credentials", "access token"]
        assert "read orders" in names

    async def test_accountview_finds_the_company(self, h: Harness) -> None:
        key = await tenant_key(h)
        await put(h, key, "accountview", {**AV, "refresh_token": h.tokens.issue_refresh_token()})
        body = (await h.client.post("/v1/connections/accountview/test", headers=key)).json()
        assert body["ok"] is True
        assert any(c["name"] == "find company" and c["ok"] for c in body["checks"])

    async def test_refused_refresh_reports_needs_consent(self, h: Harness) -> None:
        key = await tenant_key(h)
        await put(h, key, "eaccounting", {**EA, "refresh_token": "rt-never-issued"})
        body = (await h.client.post("/v1/connections/eaccounting/test", headers=key)).json()
        assert body["ok"] is False
        assert body["status"] == "needs_consent"
        status = (await h.client.get("/v1/connections/eaccounting", headers=key)).json()
        assert status["status"] == "needs_consent"
        assert "invalid_grant" in status["last_error"]

    async def test_unreachable_token_endpoint_marks_failing(self, h: Harness) -> None:
        key = await tenant_key(h)
        await put(h, key, "eaccounting", {**EA, "refresh_token": h.tokens.issue_refresh_token()})
        h.tokens.fail_with = 503
        body = (await h.client.post("/v1/connections/eaccounting/test", headers=key)).json()
        assert body["ok"] is False
        assert body["status"] == "failing"
