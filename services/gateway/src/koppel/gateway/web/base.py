"""What every page shares: session, language, CSRF, rendering and the in-process API client.

Routes use ``WebRoute``, which turns the two page-level exceptions into HTML answers (the
app's own problem handlers answer JSON, right for the API but not for a browser): a page
that needs a session redirects to the sign-in form, a form without a valid CSRF token is a
403 page.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from koppel.gateway.service.context import Gateway
from koppel.gateway.web import session as sessions
from koppel.gateway.web import views
from koppel.gateway.web.client import ApiClient, ApiError
from koppel.gateway.web.config import WebSettings
from koppel.gateway.web.i18n import Translate, pick_language

HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        "form-action 'self' http: https:; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    pass


class CsrfRefused(Exception):
    pass


@dataclass
class Page:
    """One request's page state."""

    request: Request
    web: Web
    session: sessions.Session
    t: Translate

    @property
    def lang(self) -> str:
        return self.t.lang

    def api(self) -> ApiClient:
        assert self.session.api_key is not None and self.session.tenant_id is not None
        gw = self.web.gateway()
        return ApiClient(
            self.request.app,
            self.session.api_key,
            self.session.tenant_id,
            gw.settings.service_token.get_secret_value(),
        )

    async def form(self) -> dict[str, Any]:
        """The posted form, after the CSRF check (multi-valued fields as lists)."""
        data = await self.request.form()
        if not self.session.csrf_ok(str(data.get("csrf") or "")) or self.session.fresh:
            raise CsrfRefused()
        out: dict[str, Any] = {}
        for key in data:
            values = [str(v) for v in data.getlist(key)]
            out[key] = values if len(values) > 1 else values[0]
        return out

    def render(self, template_name: str, status: int = 200, **values: Any) -> HTMLResponse:
        template = self.web.env.get_template(template_name)
        html = template.render(
            t=self.t,
            lang=self.lang,
            csrf=self.session.csrf,
            session=self.session,
            path=self.request.url.path,
            when=views.when,
            pretty=views.pretty,
            quote=lambda s: quote(str(s), safe=""),
            **values,
        )
        response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
        self.web.keep(self, response)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
        self.web.keep(self, response)
        return response


class Web:
    def __init__(self, gateway: Callable[[], Gateway]) -> None:
        self.gateway = gateway
        self.settings = WebSettings()
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            enable_async=False,
            auto_reload=False,
        )

    def page(self, request: Request, *, signed_in: bool = True) -> Page:
        gw = self.gateway()
        session = sessions.load(request, gw.box)
        if signed_in and not session.signed_in:
            raise SignInRequired()
        return Page(request, self, session, Translate(pick_language(request)))

    def keep(self, page: Page, response: Response) -> None:
        if page.session.fresh:
            secure = sessions.is_https(page.request, self.gateway().settings.public_url)
            sessions.store(response, page.session, self.gateway().box, secure=secure)
            page.session.fresh = False

    def sign_in(self, page: Page, api_key: str, tenant_id: str, tenant_name: str) -> None:
        """A new session (new CSRF token) replaces the anonymous one: no fixation."""
        page.session = sessions.Session(
            csrf=secrets.token_urlsafe(24),
            api_key=api_key,
            tenant_id=tenant_id,
            tenant_name=tenant_name,
            expires=time.time() + self.settings.session_ttl_seconds,
        )


class WebRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except (SignInRequired, ApiError) as exc:
                if isinstance(exc, ApiError) and exc.status != 401:
                    raise
                # No session, or its key was revoked meanwhile: sign in again.
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                nxt = quote(target, safe="") if request.method == "GET" else ""
                return RedirectResponse(f"/app/login?next={nxt}", status_code=303)
            except CsrfRefused:
                lang = Translate(pick_language(request))
                return HTMLResponse(
                    f"<!doctype html><html lang='{lang.lang}'><meta charset='utf-8'>"
                    f"<title>403</title><main><h1>403</h1><p>{lang('csrf.refused')}</p>"
                    "<p><a href='/app'>Koppel</a></p></main></html>",
                    status_code=403,
                    headers=SECURITY_HEADERS,
                )

        return route
