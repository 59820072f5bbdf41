"""Sign-in, the session cookie, CSRF refusal, sign-out (httpx, no browser)."""

from __future__ import annotations

from .conftest import WebHarness


async def test_pages_need_a_session(web: WebHarness) -> None:
    async with web.browser() as browser:
        response = await browser.get("/app/activity?flow=orders")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/app/login?next=%2Fapp%2Factivity")


async def test_sign_in_sets_a_safe_session_and_shows_the_tenant(web: WebHarness) -> None:
    tenant = await web.create_tenant("Bakkerij de Vries")
    async with web.browser() as browser:
        signed = await web.sign_in(browser, tenant["api_key"])
        assert signed.status_code == 303
        assert signed.headers["location"] == "/app"
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
        assert "Secure" not in cookie  # plain http here
        assert tenant["api_key"] not in cookie  # encrypted, never the key itself
        page = await browser.get("/app")
    assert page.status_code == 200
    assert "Bakkerij de Vries" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


async def test_secure_cookie_over_https(web: WebHarness) -> None:
    async with web.browser(**{"x-forwarded-proto": "https"}) as browser:
        response = await browser.get("/app/login")
    assert "Secure" in response.headers["set-cookie"]


async def test_wrong_key_and_admin_key_are_refused(web: WebHarness) -> None:
    from .conftest import ADMIN_KEY

    async with web.browser() as browser:
        wrong = await web.sign_in(browser, "kpt_not-a-key")
        assert wrong.status_code == 401
        assert "werkt niet" in wrong.text
        admin = await web.sign_in(browser, ADMIN_KEY)
        assert admin.status_code == 401
        assert "beheerderssleutel" in admin.text
        assert (await browser.get("/app")).status_code == 303


async def test_post_without_valid_csrf_is_403(web: WebHarness) -> None:
    tenant = await web.create_tenant("Fietsen BV")
    async with web.browser() as browser:
        # The sign-in form itself needs the token.
        no_token = await browser.post("/app/login", data={"api_key": tenant["api_key"]})
        assert no_token.status_code == 403
        await web.sign_in(browser, tenant["api_key"])
        for path in ("/app/flows/orders/run", "/app/setup/flows", "/app/logout"):
            missing = await browser.post(path, data={})
            assert missing.status_code == 403, path
            forged = await browser.post(path, data={"csrf": "forged-token"})
            assert forged.status_code == 403, path
        # Still signed in: the refused logout did nothing.
        assert (await browser.get("/app")).status_code == 200


async def test_token_from_another_session_is_refused(web: WebHarness) -> None:
    tenant = await web.create_tenant("Fietsen BV")
    async with web.browser() as first, web.browser() as second:
        await web.sign_in(first, tenant["api_key"])
        await web.sign_in(second, tenant["api_key"])
        theirs = await web.csrf_of(first, "/app")
        response = await second.post("/app/flows/orders/run", data={"csrf": theirs})
    assert response.status_code == 403


async def test_tampered_cookie_means_signed_out(web: WebHarness) -> None:
    tenant = await web.create_tenant("Fietsen BV")
    async with web.browser() as browser:
        await web.sign_in(browser, tenant["api_key"])
        value = browser.cookies.get("koppel_session", path="/app")
        assert value
        browser.cookies.clear()
        browser.cookies.set("koppel_session", value[:-6] + "AAAAAA", path="/app")
        response = await browser.get("/app")
    assert response.status_code == 303


async def test_logout_ends_the_session(web: WebHarness) -> None:
    tenant = await web.create_tenant("Fietsen BV")
    async with web.browser() as browser:
        await web.sign_in(browser, tenant["api_key"])
        token = await web.csrf_of(browser, "/app")
        out = await browser.post("/app/logout", data={"csrf": token})
        assert out.status_code == 303
        assert (await browser.get("/app")).status_code == 303


async def test_revoked_key_ends_the_session(web: WebHarness) -> None:
    tenant = await web.create_tenant("Fietsen BV")
    async with web.browser() as browser:
        await web.sign_in(browser, tenant["api_key"])
        key_id = tenant.get("api_key_id")
        async with web.browser() as api:
            keys = await api.get(
                "/v1/api-keys", headers={"Authorization": f"Bearer {tenant['api_key']}"}
            )
            key_id = keys.json()["items"][0]["id"]
            revoked = await api.delete(
                f"/v1/api-keys/{key_id}",
                headers={"Authorization": f"Bearer {tenant['api_key']}"},
            )
            assert revoked.status_code == 200
        response = await browser.get("/app")
    assert response.status_code in (303, 401)


async def test_no_open_redirect_after_sign_in(web: WebHarness) -> None:
    tenant = await web.create_tenant("Fietsen BV")
    async with web.browser() as browser:
        token = await web.csrf_of(browser)
        response = await browser.post(
            "/app/login",
            data={"csrf": token, "api_key": tenant["api_key"], "next": "https://evil.example/"},
        )
    assert response.headers["location"] == "/app"
