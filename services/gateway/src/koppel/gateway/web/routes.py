"""Sign-in, dashboard, activity log and a record's journey, under ``/app``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from koppel.common.events import RunTrigger
from koppel.common.messages import Flow
from koppel.gateway.errors import GatewayError
from koppel.gateway.service import runs
from koppel.gateway.service.context import Gateway
from koppel.gateway.web import mapping_pages, static, views, wizard
from koppel.gateway.web.base import Page, Web, WebRoute
from koppel.gateway.web.client import ApiClient, ApiError
from koppel.gateway.web.i18n import LANGS
from koppel.gateway.web.session import LANG_COOKIE
from koppel.gateway.web.session import clear as clear_session

FLOWS = [f.value for f in Flow]
ACTIVITY_FILTERS = ("flow", "status", "entity", "q", "since", "run_id")


def _safe_next(target: str | None) -> str:
    """Only same-site paths under /app (no open redirect)."""
    if target and target.startswith("/app") and not target.startswith("//"):
        return target
    return "/app"


def build(gateway: Callable[[], Gateway]) -> APIRouter:
    web = Web(gateway)
    router = APIRouter(prefix="/app", include_in_schema=False, route_class=WebRoute)
    static.mount(router)

    @router.get("/login")
    async def login_form(request: Request, next: str | None = None) -> Response:
        page = web.page(request, signed_in=False)
        return page.render("login.html", next=_safe_next(next), error=None)

    @router.post("/login")
    async def login(request: Request) -> Response:
        page = web.page(request, signed_in=False)
        form = await page.form()
        key = str(form.get("api_key") or "").strip()
        target = _safe_next(form.get("next"))
        client = ApiClient(request.app, key, "", "")
        try:
            tenant = await client.call("GET", "/v1/tenant")
        except ApiError as exc:
            message = "login.admin" if exc.status == 403 else "login.failed"
            return page.render("login.html", status=401, next=target, error=page.t(message))
        finally:
            await client.aclose()
        web.sign_in(page, key, tenant["id"], tenant["name"])
        return page.redirect(target)

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        page = web.page(request, signed_in=False)
        await page.form()
        response = RedirectResponse("/app/login?bye=1", status_code=303)
        clear_session(response, secure=request.url.scheme == "https")
        return response

    @router.post("/lang")
    async def set_language(request: Request) -> Response:
        page = web.page(request, signed_in=False)
        form = await page.form()
        lang = form.get("lang") if form.get("lang") in LANGS else "nl"
        response = page.redirect(_safe_next(form.get("next")))
        response.set_cookie(LANG_COOKIE, str(lang), max_age=365 * 86400, samesite="lax", path="/")
        return response

    @router.get("")
    async def dashboard(request: Request) -> Response:
        page = web.page(request)
        api = page.api()
        try:
            connections, flows, runs_page, failures, dead = await asyncio.gather(
                api.call("GET", "/v1/connections"),
                api.call("GET", "/v1/flows"),
                api.call("GET", "/v1/runs", params={"limit": 200}),
                _maybe(api.activity({"status": "failed", "limit": 10})),
                _maybe(api.dead_letters({"limit": 10})),
            )
        finally:
            await api.aclose()
        all_runs: list[dict[str, Any]] = runs_page["items"]
        per_flow = {
            f["flow"]: {
                "flow": f,
                "runs": [r for r in all_runs if r["flow"] == f["flow"]][:5],
                "per_day": views.records_per_day([r for r in all_runs if r["flow"] == f["flow"]]),
            }
            for f in flows
        }
        return page.render(
            "dashboard.html",
            connections=connections,
            flows=per_flow,
            failures=failures["items"] if failures else None,
            dead=dead["items"] if dead else None,
            notice=request.query_params.get("notice"),
        )

    @router.post("/flows/{flow}/run")
    async def run_now(request: Request, flow: Flow) -> Response:
        page = web.page(request)
        await page.form()
        api = page.api()
        try:
            await api.call("POST", f"/v1/flows/{flow.value}/runs")
            notice = "run_started"
        except ApiError as exc:
            notice = exc.detail
        finally:
            await api.aclose()
        return page.redirect("/app?" + urlencode({"notice": notice}))

    @router.post("/dead-letters/replay")
    async def replay_dead(request: Request) -> Response:
        page = web.page(request)
        form = await page.form()
        body: dict[str, Any] = {}
        if form.get("id"):
            body["ids"] = [int(form["id"])]
        if form.get("flow"):
            body["flow"] = form["flow"]
        api = page.api()
        try:
            result = await api.replay(body)
            notice = f"{page.t('replayed')}: {result['replayed']}"
        except ApiError as exc:
            notice = exc.detail
        finally:
            await api.aclose()
        return page.redirect("/app?" + urlencode({"notice": notice}))

    @router.get("/activity")
    async def activity(request: Request) -> Response:
        page = web.page(request)
        params = {k: request.query_params.get(k) for k in ACTIVITY_FILTERS}
        cursor = request.query_params.get("cursor")
        api = page.api()
        try:
            result = await api.activity(
                {**params, "cursor": cursor, "limit": web.settings.page_size}
            )
            error = None
        except ApiError as exc:
            result, error = {"items": [], "next_cursor": None}, exc.detail
        finally:
            await api.aclose()
        kept = {k: v for k, v in params.items() if v}
        older = (
            "?" + urlencode({**kept, "cursor": result["next_cursor"]})
            if result.get("next_cursor")
            else None
        )
        return page.render(
            "activity.html",
            items=result["items"],
            filters=params,
            older=older,
            first=bool(cursor),
            flows=FLOWS,
            error=error,
        )

    @router.get("/activity/{correlation_id}")
    async def journey(request: Request, correlation_id: str) -> Response:
        page = web.page(request)
        api = page.api()
        try:
            entries = await api.journey(correlation_id)
            failed = next((e for e in reversed(entries) if e.get("status") == "failed"), None)
            later = await _later_journey(api, failed, correlation_id)
        except ApiError as exc:
            if exc.status in (404, 422):
                return page.render("journey.html", status=404, entries=[], missing=True)
            raise
        finally:
            await api.aclose()
        source, target = views.journey_payloads(entries)
        left, right = views.side_by_side(source, target)
        last = entries[-1] if entries else {}
        trace_id = next((e["trace_id"] for e in reversed(entries) if e.get("trace_id")), None)
        record_id = next((e["source_id"] for e in entries if e.get("source_id")), None)
        return page.render(
            "journey.html",
            entries=entries,
            missing=False,
            left=left,
            right=right,
            last=last,
            trace_url=(
                f"{web.settings.jaeger_url.rstrip('/')}/trace/{trace_id}" if trace_id else None
            ),
            failed=failed,
            later=later,
            fix=views.value_map_fix(failed),
            fix_map=views.value_map_hint(failed.get("reason") if failed else None),
            record_id=record_id,
            correlation_id=correlation_id,
            notice=request.query_params.get("notice"),
        )

    @router.post("/activity/{correlation_id}/replay")
    async def replay_record(request: Request, correlation_id: str) -> Response:
        """Fetch this one record again from its source and send it through the flow (the
        current mapping and value maps apply; downstream steps stay idempotent)."""
        page = web.page(request)
        form = await page.form()
        flow = Flow(str(form.get("flow")))
        record_id = str(form.get("record_id") or "")
        gw = web.gateway()
        tenant = page.session.tenant_id or ""
        try:
            async with gw.uow() as uow:
                await runs.request_run(
                    gw, uow, tenant, flow, trigger=RunTrigger.manual, record_id=record_id
                )
            notice = "run_started"
        except GatewayError as exc:
            notice = exc.detail or str(exc)
        return page.redirect(f"/app/activity/{correlation_id}?" + urlencode({"notice": notice}))

    wizard.register(router, web)
    mapping_pages.register(router, web)
    return router


async def _later_journey(
    api: ApiClient, failed: dict[str, Any] | None, correlation_id: str
) -> dict[str, Any] | None:
    """For a failed record: the newest entry of a later journey of the same record (a replay
    fetches it again under a new correlation id), so the page can say how that one ended."""
    key = failed.get("entity_key") if failed else None
    if not failed or not key:
        return None
    found = await _maybe(api.activity({"flow": failed.get("flow"), "entity": key, "limit": 20}))
    for entry in found["items"] if found else []:  # newest first
        if entry.get("correlation_id") != correlation_id and str(entry.get("occurred_at")) > str(
            failed.get("occurred_at")
        ):
            return dict(entry)
    return None


async def _maybe(call: Any) -> Any:
    """A panel whose backing service is missing shows "not available" instead of failing."""
    try:
        return await call
    except ApiError:
        return None


__all__ = ["build", "Page"]
