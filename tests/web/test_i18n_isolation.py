"""Languages (Dutch first, English by cookie or Accept-Language) and tenant isolation."""

from __future__ import annotations

import re
from pathlib import Path

from koppel.gateway.web import i18n

from .conftest import WebHarness

TEMPLATES = Path(i18n.__file__).parent / "templates"
LITERAL_KEY = re.compile(r"(?<![\w.])t\('([a-z0-9_.]+)'\)")


def test_every_literal_key_in_the_templates_has_both_languages() -> None:
    used = {
        key for path in TEMPLATES.rglob("*.html") for key in LITERAL_KEY.findall(path.read_text())
    }
    assert len(used) > 50
    missing = sorted(k for k in used if k not in i18n.TEXTS)
    assert missing == []
    empty = sorted(k for k, (nl, en) in i18n.TEXTS.items() if not nl.strip() or not en.strip())
    assert empty == []


async def test_dutch_first_then_accept_language_then_cookie(web: WebHarness) -> None:
    async with web.browser() as browser:
        dutch = await browser.get("/app/login")
        assert '<html lang="nl">' in dutch.text and "Aanmelden" in dutch.text
    async with web.browser(**{"accept-language": "de-DE,en;q=0.8,nl;q=0.5"}) as browser:
        english = await browser.get("/app/login")
        assert '<html lang="en">' in english.text and "Sign in" in english.text
        token = web.CSRF_RE.search(english.text).group(1)  # type: ignore[union-attr]
        switched = await browser.post(
            "/app/lang", data={"csrf": token, "lang": "nl", "next": "/app/login"}
        )
        assert switched.status_code == 303
        again = await browser.get("/app/login")
        assert '<html lang="nl">' in again.text


async def test_a_tenant_sees_only_its_own_pages(web: WebHarness) -> None:
    tulp = await web.create_tenant("Webwinkel Tulp")
    roos = await web.create_tenant("Webwinkel Roos")
    async with web.browser() as api:
        put = await api.put(
            "/v1/connections/accountview",
            json={"company": "ROOSCOMP", "client_id": "roos-client-id"},
            headers={"Authorization": f"Bearer {roos['api_key']}"},
        )
        assert put.status_code == 200, put.text
    async with web.browser() as browser:
        await web.sign_in(browser, tulp["api_key"])
        for path in ("/app", "/app/setup/connections", "/app/setup/flows", "/app/setup/live"):
            page = await browser.get(path)
            assert page.status_code == 200, path
            assert "Webwinkel Tulp" in page.text
            assert "Roos" not in page.text and "ROOSCOMP" not in page.text, path
            assert "roos-client-id" not in page.text, path
    async with web.browser() as browser:
        await web.sign_in(browser, roos["api_key"])
        page = await browser.get("/app/setup/connections")
        assert "ROOSCOMP" in page.text and "Tulp" not in page.text


async def test_static_assets_are_served_by_the_gateway(web: WebHarness) -> None:
    async with web.browser() as browser:
        login = await browser.get("/app/login")
        assert "http" not in re.sub(r'action="[^"]*"', "", login.text.split("<body>")[0])
        css = await browser.get("/app/static/app.css")
        js = await browser.get("/app/static/app.js")
        missing = await browser.get("/app/static/../config.py")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert js.status_code == 200
    assert missing.status_code == 404
