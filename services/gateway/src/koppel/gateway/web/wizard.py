"""The set-up wizard: connections (with OAuth consent and a test), flows and their settings
questions, value maps, a dry run, then switching on."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from koppel.gateway.web.base import Web
from koppel.gateway.web.client import ApiError

SYSTEMS = ("eaccounting", "accountview")
STEPS = ("connections", "flows", "value-maps", "dry-run", "live")
STEP_LABELS = (
    "wiz.step.connections",
    "wiz.step.flows",
    "wiz.step.maps",
    "wiz.step.dry",
    "wiz.step.live",
)
# The value maps an order needs, in the order a bookkeeper thinks of them.
WIZARD_MAPS = ("vat_codes", "terms_of_payment", "payment_methods", "shipping_methods",
               "revenue_accounts", "shipping_article")  # fmt: skip

# (setting, kind, choices): the settings questions per flow, in plain words (i18n keys
# ``q.<flow>.<setting>``; ``default_debtor`` shares one text).
QUESTIONS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "orders": [
        ("statuses", "multi", ("draft", "ongoing", "shipped", "invoiced")),
        ("only_paid", "bool", ()),
        ("target", "choice", ("sales_order", "sales_invoice")),
        ("default_debtor", "text", ()),
        ("shipping_article", "text", ()),
        ("do_not_import_before", "date", ()),
        ("batch_size", "int", ()),
    ],
    "customers": [("update_existing", "bool", ()), ("default_debtor", "text", ())],
    "products": [
        ("update_product_information", "bool", ()),
        ("create_only_fields", "list", ()),
        ("match_by", "choice", ("sku", "sku_then_ean")),
        ("price_includes_vat", "bool", ()),
    ],
    "stock": [
        ("formula", "choice", ("available_minus_reservations", "available", "on_hand",
                               "on_hand_minus_reservations")),
        ("manage_stock", "bool", ()),
        ("allow_negative", "bool", ()),
    ],
}  # fmt: skip


def _settings_from_form(flow: str, current: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    settings = dict(current)
    for name, kind, _choices in QUESTIONS[flow]:
        raw = form.get(f"{flow}.{name}")
        if kind == "bool":
            settings[name] = raw is not None
        elif kind == "multi":
            settings[name] = raw if isinstance(raw, list) else ([raw] if raw else [])
        elif kind == "list":
            settings[name] = [p.strip() for p in str(raw or "").split(",") if p.strip()]
        elif kind == "int":
            settings[name] = int(str(raw)) if str(raw or "").strip().isdigit() else raw
        else:
            settings[name] = str(raw).strip() if raw and str(raw).strip() else None
    return settings


def register(router: APIRouter, web: Web) -> None:
    def nav(step: str) -> dict[str, Any]:
        return {"steps": list(zip(STEPS, STEP_LABELS, strict=True)), "step": step}

    async def connections_page(request: Request, *, status: int = 200, **extra: Any) -> Response:
        page = web.page(request)
        api = page.api()
        try:
            conns = await api.call("GET", "/v1/connections")
        finally:
            await api.aclose()
        return page.render(
            "setup/connections.html",
            status=status,
            connections=conns,
            consent=request.query_params.get("consent"),
            consent_error=request.query_params.get("error"),
            **{"errors": {}, "tested": None, **extra},
            **nav("connections"),
        )

    @router.get("/setup")
    async def setup_start() -> Response:
        return RedirectResponse("/app/setup/connections", status_code=303)

    @router.get("/setup/connections")
    async def connections(request: Request) -> Response:
        return await connections_page(request)

    @router.post("/setup/connections/{system}")
    async def save_connection(request: Request, system: str) -> Response:
        page = web.page(request)
        form = await page.form()
        if system not in SYSTEMS:
            return page.redirect("/app/setup/connections")
        gw = web.gateway()
        body: dict[str, Any] = {
            "api_base_url": form.get("api_base_url") or None,
            "auth_base_url": form.get("auth_base_url") or None,
            "client_id": form.get("client_id") or None,
            # Consent comes back to the wizard, not to the API's JSON callback.
            "redirect_uri": gw.settings.public_url.rstrip("/") + "/app/oauth/callback",
        }
        if form.get("client_secret"):
            body["client_secret"] = form["client_secret"]
        if system == "accountview":
            body["company"] = form.get("company") or None
        api = page.api()
        try:
            await api.call("PUT", f"/v1/connections/{system}", json=body)
        except ApiError as exc:
            return await connections_page(
                request, status=422, errors={system: exc.field_errors() or {"_": exc.detail}}
            )
        finally:
            await api.aclose()
        return page.redirect(f"/app/setup/connections?saved={system}#{system}")

    @router.post("/setup/connections/{system}/authorize")
    async def authorize(request: Request, system: str) -> Response:
        page = web.page(request)
        await page.form()
        api = page.api()
        try:
            answer = await api.call("GET", f"/v1/connections/{system}/authorize")
        except ApiError as exc:
            return page.redirect("/app/setup/connections?" + urlencode({"error": exc.detail}))
        finally:
            await api.aclose()
        # The provider's consent page; it sends the browser back to /app/oauth/callback.
        return RedirectResponse(answer["authorize_url"], status_code=303)

    @router.get("/oauth/callback")
    async def oauth_callback(request: Request) -> Response:
        """The provider's redirect: the gateway's own callback checks the state (which names
        the tenant) and exchanges the code; then back to the wizard."""
        from koppel.gateway.web.client import ApiClient

        client = ApiClient(request.app, "", "", "")
        try:
            answer = await client.call(
                "GET", "/v1/oauth/callback", params=dict(request.query_params)
            )
            query = {"consent": answer["system"]}
        except ApiError as exc:
            query = {"error": exc.detail}
        finally:
            await client.aclose()
        return RedirectResponse("/app/setup/connections?" + urlencode(query), status_code=303)

    @router.post("/setup/connections/{system}/test")
    async def test_connection(request: Request, system: str) -> Response:
        page = web.page(request)
        await page.form()
        api = page.api()
        try:
            result = await api.call("POST", f"/v1/connections/{system}/test")
        except ApiError as exc:
            result = {"system": system, "ok": False, "checks": [], "detail": exc.detail}
        finally:
            await api.aclose()
        return await connections_page(request, tested=result)

    async def flows_page(request: Request, *, status: int = 200, **extra: Any) -> Response:
        page = web.page(request)
        api = page.api()
        try:
            flows = await api.call("GET", "/v1/flows")
        finally:
            await api.aclose()
        return page.render(
            "setup/flows.html",
            status=status,
            flows=flows,
            questions=QUESTIONS,
            **{"errors": {}, **extra},
            **nav("flows"),
        )

    @router.get("/setup/flows")
    async def flows(request: Request) -> Response:
        return await flows_page(request)

    @router.post("/setup/flows")
    async def save_flows(request: Request) -> Response:
        page = web.page(request)
        form = await page.form()
        chosen = form.get("use", [])
        chosen = chosen if isinstance(chosen, list) else [chosen]
        api = page.api()
        errors: dict[str, dict[str, str]] = {}
        try:
            for current in await api.call("GET", "/v1/flows"):
                flow = current["flow"]
                if flow not in chosen:
                    continue
                minutes = str(form.get(f"{flow}.minutes") or "").strip()
                body = {
                    # Switched on only in the last step, after the dry run.
                    "enabled": current["enabled"],
                    "schedule": (
                        {"interval_seconds": int(minutes) * 60} if minutes.isdigit() else None
                    ),
                    "settings": _settings_from_form(flow, current["settings"], form),
                }
                try:
                    await api.call("PUT", f"/v1/flows/{flow}", json=body)
                except ApiError as exc:
                    errors[flow] = exc.field_errors() or {"_": exc.detail}
        finally:
            await api.aclose()
        if errors:
            return await flows_page(request, status=422, errors=errors, chosen=chosen)
        return page.redirect("/app/setup/value-maps")

    @router.get("/setup/value-maps")
    async def value_maps(request: Request) -> Response:
        page = web.page(request)
        api = page.api()
        error: str | None = None
        try:
            maps = {m: await api.mapper("GET", f"/v1/value-maps/{m}") for m in WIZARD_MAPS}
        except ApiError as exc:
            maps, error = {}, exc.detail
        finally:
            await api.aclose()
        return page.render(
            "setup/value_maps.html", maps=maps, error=error, saved=request.query_params.get("saved"),
            **nav("value-maps"),
        )  # fmt: skip

    @router.get("/setup/dry-run")
    async def dry_run(request: Request) -> Response:
        page = web.page(request)
        run_id = request.query_params.get("run")
        api = page.api()
        run, written = None, []
        try:
            flows = await api.call("GET", "/v1/flows")
            if run_id:
                run = await api.call("GET", f"/v1/runs/{run_id}")
                try:
                    found = await api.activity({"run_id": run_id, "limit": 20})
                    written = [e for e in found["items"] if e.get("target") is not None]
                except ApiError:
                    written = []
        finally:
            await api.aclose()
        return page.render(
            "setup/dry_run.html", flows=flows, run=run, written=written, **nav("dry-run")
        )

    @router.post("/setup/dry-run/{flow}")
    async def start_dry_run(request: Request, flow: str) -> Response:
        page = web.page(request)
        await page.form()
        api = page.api()
        try:
            answer = await api.call("POST", f"/v1/flows/{flow}/runs", params={"dry_run": "true"})
        except ApiError as exc:
            return page.redirect("/app/setup/dry-run?" + urlencode({"error": exc.detail}))
        finally:
            await api.aclose()
        return page.redirect("/app/setup/dry-run?" + urlencode({"run": answer["run_id"]}))

    @router.get("/setup/live")
    async def live(request: Request) -> Response:
        page = web.page(request)
        api = page.api()
        try:
            flows = await api.call("GET", "/v1/flows")
        finally:
            await api.aclose()
        return page.render(
            "setup/live.html", flows=flows, done=request.query_params.get("done"), **nav("live")
        )

    @router.post("/setup/live")
    async def switch_on(request: Request) -> Response:
        page = web.page(request)
        form = await page.form()
        on = form.get("on", [])
        on = on if isinstance(on, list) else [on]
        api = page.api()
        try:
            for current in await api.call("GET", "/v1/flows"):
                wanted = current["flow"] in on
                if wanted != current["enabled"]:
                    body = {
                        "enabled": wanted,
                        "schedule": current["schedule"],
                        "settings": current["settings"],
                    }
                    await api.call("PUT", f"/v1/flows/{current['flow']}", json=body)
        finally:
            await api.aclose()
        return page.redirect("/app/setup/live?done=1")
