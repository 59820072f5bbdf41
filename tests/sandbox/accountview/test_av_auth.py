"""OAuth2: authorize, code exchange, rotating refresh tokens, expiry, 401."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
from av_helpers import AV

REDIRECT = "http://127.0.0.1:8765/callback"


async def _code(av: AV, redirect: str = REDIRECT, state: str = "xyz") -> str:
    r = await av.http.get(
        "/ams/authorize.aspx",
        params={
            "response_type": "code",
            "client_id": "koppel-demo",
            "redirect_uri": redirect,
            "scope": "readaccountviewdata updateaccountviewdata",
            "state": state,
        },
    )
    assert r.status_code == 302
    loc = urlsplit(r.headers["location"])
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == redirect.split("?")[0]
    q = parse_qs(loc.query)
    assert q["state"] == [state]
    return str(q["code"][0])


async def _token(av: AV, **form: str) -> httpx.Response:
    data = {"client_id": "koppel-demo", "client_secret": "koppel-demo-secret", **form}
    r: httpx.Response = await av.http.post("/api/v3/token", data=data)
    return r


async def test_authorization_code_flow_gives_working_tokens(av: AV) -> None:
    code = await _code(av)
    r = await _token(av, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert r.status_code == 200
    tok = r.json()
    assert {"access_token", "refresh_token", "token_type", "scope"} <= tok.keys()
    h = {"Authorization": f"{tok['token_type']} {tok['access_token']}"}
    assert (await av.http.get("/api/v3/companies", headers=h)).status_code == 200


async def test_code_is_single_use(av: AV) -> None:
    code = await _code(av)
    first = await _token(av, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    again = await _token(av, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert first.status_code == 200
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_authorize_accepts_localhost_and_refuses_other_hosts(av: AV) -> None:
    await _code(av, "http://localhost:9000/cb?x=1")
    r = await av.http.get(
        "/ams/authorize.aspx",
        params={
            "response_type": "code",
            "client_id": "koppel-demo",
            "redirect_uri": "https://evil.example/cb",
            "state": "s",
        },
    )
    assert r.status_code == 400


async def test_implicit_grant_puts_token_in_fragment(av: AV) -> None:
    r = await av.http.get(
        "/AMS/Authorize.aspx",
        params={
            "response_type": "token",
            "client_id": "koppel-demo",
            "redirect_uri": REDIRECT,
            "state": "s1",
        },
    )
    frag = parse_qs(urlsplit(r.headers["location"]).fragment)
    h = {"Authorization": f"Bearer {frag['access_token'][0]}"}
    assert (await av.http.get("/api/v3/companies", headers=h)).status_code == 200


async def test_refresh_rotates_and_reuse_is_refused(av: AV) -> None:
    code = await _code(av)
    tok = (await _token(av, grant_type="authorization_code", code=code)).json()
    r1 = await _token(av, grant_type="refresh_token", refresh_token=tok["refresh_token"])
    assert r1.status_code == 200
    assert r1.json()["refresh_token"] != tok["refresh_token"]
    reuse = await _token(av, grant_type="refresh_token", refresh_token=tok["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    r2 = await _token(av, grant_type="refresh_token", refresh_token=r1.json()["refresh_token"])
    assert r2.status_code == 200


async def test_wrong_secret_and_unknown_grant(av: AV) -> None:
    r = await av.http.post(
        "/api/v3/token",
        data={
            "client_id": "koppel-demo",
            "client_secret": "nope",
            "grant_type": "refresh_token",
            "refresh_token": "x",
        },
    )
    assert r.status_code == 401
    assert (await _token(av, grant_type="password")).json()["error"] == "unsupported_grant_type"


async def test_missing_invalid_and_expired_tokens_get_401(av: AV) -> None:
    assert (await av.http.get("/api/v3/companies")).status_code == 401
    bad = await av.http.get("/api/v3/companies", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json()["ErrorType"] == "AccountViewError"
    assert (await av.get("AK1", PageSize=1)).status_code == 200
    await av.admin("POST", "/clock", json={"advance_seconds": 3601})
    r = await av.get("AK1", PageSize=1)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/json")


async def test_refresh_token_still_works_after_access_token_expired(av: AV) -> None:
    tok = (await av.http.post("/_sandbox/tokens")).json()
    await av.admin("POST", "/clock", json={"advance_seconds": 7200})
    r = await _token(av, grant_type="refresh_token", refresh_token=tok["refresh_token"])
    assert r.status_code == 200
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await av.http.get("/api/v3/companies", headers=h)).status_code == 200
