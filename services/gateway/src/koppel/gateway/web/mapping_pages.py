"""The mapping editor (target field ← expression, preview with lineage, history) and the
value-map editor."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from koppel.gateway.web.base import Page, Web
from koppel.gateway.web.client import ApiError

MAPPING_FLOWS = ("orders", "customers", "products", "stock")
PREVIEW_FLOWS = ("orders", "customers", "products")
BLANK_ROWS = 3


def _rows(form: dict[str, Any], prefix_key: str, prefix_value: str) -> list[tuple[str, str]]:
    rows = []
    for key, value in form.items():
        if key.startswith(prefix_key):
            index = key[len(prefix_key) :]
            target = str(value).strip()
            if target:
                rows.append((target, str(form.get(prefix_value + index, "")).strip()))
    return rows


def _expression_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _expression_value(text: str) -> Any:
    """An expression, or the JSON pipeline form when the text is a JSON object."""
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _safe_back(target: str | None) -> str:
    """Only same-site paths under /app may be linked back to (no ``javascript:``)."""
    if target and target.startswith("/app") and not target.startswith("//"):
        return target
    return ""


def register(router: APIRouter, web: Web) -> None:
    async def sample_for(page: Page, flow: str) -> dict[str, Any] | None:
        """A real record to preview with: the one asked for, else the flow's latest."""
        api = page.api()
        wanted = page.request.query_params.get("sample")
        try:
            if wanted:
                entries = await api.journey(wanted)
            else:
                entries = (await api.activity({"flow": flow, "limit": 20}))["items"]
        except ApiError:
            return None
        finally:
            await api.aclose()
        found = next((e.get("source") for e in entries if isinstance(e.get("source"), dict)), None)
        return found

    async def mapping_page(page: Page, flow: str, *, status: int = 200, **extra: Any) -> Response:
        api = page.api()
        try:
            mapping = await api.mapper("GET", f"/v1/mappings/{flow}")
            history = await api.mapper("GET", f"/v1/mappings/{flow}/history")
        except ApiError as exc:
            return page.render("mapping.html", status=exc.status, flow=flow, unavailable=exc.detail)
        finally:
            await api.aclose()
        document = mapping["document"]
        rows = extra.pop("rows", None) or [
            (target, _expression_text(expr)) for target, expr in document.get("fields", {}).items()
        ]
        sample = extra.pop("sample", None)
        if sample is None and flow in PREVIEW_FLOWS:
            found = await sample_for(page, flow)
            sample = json.dumps(found, indent=2, ensure_ascii=False) if found else "{}"
        return page.render(
            "mapping.html",
            status=status,
            flow=flow,
            flows=MAPPING_FLOWS,
            mapping=mapping,
            rows=rows,
            blank=BLANK_ROWS,
            settings_text=extra.pop("settings_text", None)
            or json.dumps(document.get("settings", {}), indent=2, ensure_ascii=False),
            sample=sample,
            history=history[:10],
            can_preview=flow in PREVIEW_FLOWS,
            unavailable=None,
            **{"errors": {}, "preview": None, "saved": page.request.query_params.get("saved"),
               **extra},
        )  # fmt: skip

    def draft(form: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]], dict[str, str]]:
        rows = _rows(form, "target_", "expr_")
        errors: dict[str, str] = {}
        try:
            settings = json.loads(form.get("settings") or "{}")
        except ValueError:
            settings, errors["settings"] = {}, "map.bad_json"
        fields = {target: _expression_value(expr) for target, expr in rows if expr}
        return {"settings": settings, "fields": fields}, rows, errors

    @router.get("/mappings")
    async def mappings_index(request: Request) -> Response:
        page = web.page(request)
        return page.redirect("/app/mappings/orders")

    @router.get("/mappings/{flow}")
    async def mapping(request: Request, flow: str) -> Response:
        page = web.page(request)
        if flow not in MAPPING_FLOWS:
            return page.redirect("/app/mappings/orders")
        return await mapping_page(page, flow)

    @router.post("/mappings/{flow}")
    async def save_mapping(request: Request, flow: str) -> Response:
        page = web.page(request)
        form = await page.form()
        document, rows, errors = draft(form)
        keep: dict[str, Any] = {
            "rows": rows,
            "settings_text": form.get("settings"),
            "sample": form.get("sample"),
        }
        if errors:
            errors = {k: page.t(v) for k, v in errors.items()}
            return await mapping_page(page, flow, status=422, errors=errors, **keep)
        api = page.api()
        try:
            await api.mapper("PUT", f"/v1/mappings/{flow}", json=document)
        except ApiError as exc:
            found = exc.field_errors() or {"_": exc.detail}
            return await mapping_page(page, flow, status=422, errors=found, **keep)
        finally:
            await api.aclose()
        return page.redirect(f"/app/mappings/{flow}?saved=1")

    @router.post("/mappings/{flow}/preview")
    async def preview(request: Request, flow: str) -> Response:
        page = web.page(request)
        form = await page.form()
        document, rows, errors = draft(form)
        keep: dict[str, Any] = {
            "rows": rows,
            "settings_text": form.get("settings"),
            "sample": form.get("sample"),
        }
        try:
            sample = json.loads(form.get("sample") or "{}")
        except ValueError:
            errors["sample"] = "map.bad_json"
        if errors or not isinstance(sample, dict):
            errors = {k: page.t(v) for k, v in errors.items()} or {"sample": page.t("map.bad_json")}
            return await mapping_page(page, flow, status=422, errors=errors, **keep)
        api = page.api()
        try:
            result = await api.mapper(
                "POST", f"/v1/mappings/{flow}/preview", json={"sample": sample, "mapping": document}
            )
        except ApiError as exc:
            found = exc.field_errors() or {"_": exc.detail}
            return await mapping_page(page, flow, status=422, errors=found, **keep)
        finally:
            await api.aclose()
        return await mapping_page(page, flow, preview=result, **keep)

    @router.post("/mappings/{flow}/rollback")
    async def rollback(request: Request, flow: str) -> Response:
        page = web.page(request)
        form = await page.form()
        api = page.api()
        try:
            await api.mapper(
                "POST", f"/v1/mappings/{flow}/rollback", json={"version": int(form["version"])}
            )
        except (ApiError, KeyError, ValueError):
            return page.redirect(f"/app/mappings/{flow}")
        finally:
            await api.aclose()
        return page.redirect(f"/app/mappings/{flow}?saved=1")

    async def value_map_page(page: Page, name: str, *, status: int = 200, **extra: Any) -> Response:
        api = page.api()
        try:
            current = await api.mapper("GET", f"/v1/value-maps/{name}")
        except ApiError as exc:
            return page.render(
                "value_map.html", status=exc.status, name=name, unavailable=exc.detail
            )
        finally:
            await api.aclose()
        rows = extra.pop("rows", None) or [(k, str(v)) for k, v in current["entries"].items()]
        # ?key=SE (the journey's "fix" link): the missing key gets its own row, value to fill.
        missing = (page.request.query_params.get("key") or "").strip()[:255]
        if missing and all(k.casefold() != missing.casefold() for k, _ in rows):
            rows = [*rows, (missing, "")]
        return page.render(
            "value_map.html",
            status=status,
            name=name,
            current=current,
            rows=rows,
            missing=missing,
            blank=BLANK_ROWS,
            back=_safe_back(extra.pop("back", None) or page.request.query_params.get("back")),
            unavailable=None,
            **{"errors": {}, "saved": page.request.query_params.get("saved"), **extra},
        )

    @router.get("/value-maps/{name}")
    async def value_map(request: Request, name: str) -> Response:
        return await value_map_page(web.page(request), name)

    @router.post("/value-maps/{name}")
    async def save_value_map(request: Request, name: str) -> Response:
        page = web.page(request)
        form = await page.form()
        rows = _rows(form, "key_", "value_")
        body = {
            "entries": {k: v for k, v in rows if v},
            "default": (str(form.get("default") or "").strip() or None),
        }
        back = _safe_back(str(form.get("back") or ""))
        api = page.api()
        try:
            await api.mapper("PUT", f"/v1/value-maps/{name}", json=body)
        except ApiError as exc:
            found = exc.field_errors() or {"_": exc.detail}
            return await value_map_page(page, name, status=422, errors=found, rows=rows, back=back)
        finally:
            await api.aclose()
        if back:
            return page.redirect(back + ("&" if "?" in back else "?") + f"saved={name}")
        return page.redirect(f"/app/value-maps/{name}?saved=1")
