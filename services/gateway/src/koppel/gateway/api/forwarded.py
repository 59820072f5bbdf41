"""Other services' data under the one public API: the gateway authenticates the tenant key
and forwards to the owning service's internal routes (``adapters/services.py``).

* mapper: ``/v1/mappings...``, ``/v1/value-maps...`` → ``/internal/mapper/v1/...``
  (tenant in ``X-Koppel-Tenant``);
* notifier: ``/v1/activity...``, ``/v1/dead-letters...``, ``/v1/alerts/...`` →
  ``/internal/notifier/tenants/{tenant}/...``.

The tenant is always the one the API key belongs to, never an input, so another tenant's
ids answer 404 like ids that do not exist (DESIGN.md section 6). Inputs the gateway can check
cheaply (flow names, ids, limits) are checked here; bodies are validated by the owning
service, whose 4xx problem documents are passed through unchanged.
"""

# No ``from __future__ import annotations``: FastAPI must see the route-local aliases.
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response

from koppel.common.messages import Flow
from koppel.gateway.adapters.services import Forwarded, ServiceClient, ServiceClients, segment
from koppel.gateway.api.deps import Deps
from koppel.gateway.api.problems import AUTH, INVALID, NOT_FOUND, Responses, problem
from koppel.gateway.service.tenants import Principal

UPSTREAM: Responses = {
    502: problem(502, "Bad Gateway", "the mapper service failed to answer this request"),
    503: problem(503, "Service Unavailable", "the notifier service cannot be reached"),
}
CONFLICT: Responses = {409: problem(409, "Conflict", "the mapping was changed at the same time")}
ERRORS: Responses = {**AUTH, **INVALID, **UPSTREAM}

_NULLABLE_TEXT = {"anyOf": [{"type": "string"}, {"type": "null"}]}
_OBJECT: dict[str, Any] = {"type": "object"}
_LIST: dict[str, Any] = {"type": "array", "items": _OBJECT}
_PAGE: dict[str, Any] = {
    "type": "object",
    "required": ["items"],
    "properties": {"items": _LIST, "next_cursor": _NULLABLE_TEXT},
}


def ok(schema: dict[str, Any], description: str, status: int = 200) -> Responses:
    """The success answer, documented by shape: its fields are the owning service's."""
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


NO_CONTENT: Responses = {204: {"description": "Deleted."}}

ValueMapName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="e.g. vat_codes")]
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Cursor = Annotated[
    str | None, Query(max_length=200, description="next_cursor of the previous page")
]
Limit = Annotated[int, Query(ge=1, le=500)]
Text = Annotated[str | None, Query(max_length=200)]

MAPPING_EXAMPLE = {
    "shipping": {
        "summary": "shipping lines by article number, sales journal VK",
        "value": {
            "settings": {"shipping_article_numbers": ["SHIPPING"], "sales_journal_code": "VK"},
            "fields": {},
        },
    }
}
PREVIEW_EXAMPLE = {
    "order": {
        "summary": "an eAccounting order",
        "value": {
            "sample": {
                "Id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                "Number": 1001,
                "CustomerId": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                "CurrencyCode": "EUR",
                "Rows": [{"ArticleNumber": "ART-0001", "Quantity": 2, "UnitPrice": 9.95}],
            },
            "enrichment": {"customer": {"EmailAddress": "jan@example.nl"}},
        },
    }
}
VALUE_MAP_EXAMPLE = {
    "vat": {
        "summary": "VAT codes per country and rate",
        "value": {"entries": {"NL:21": "21", "NL:9": "09", "BE": "EU"}, "default": None},
    }
}
REPLAY_EXAMPLE = {
    "by_reason": {
        "summary": "every parked order that failed on a mapping",
        "value": {"flow": "orders", "reason_code": "unmapped_value", "limit": 100},
    }
}
RULE_EXAMPLE = {
    "failures": {
        "summary": "alert on every failed order",
        "value": {"kind": "failure", "enabled": True, "flows": ["orders"]},
    }
}
CHANNEL_EXAMPLE = {
    "email": {
        "summary": "e-mail the bookkeeper",
        "value": {"kind": "email", "name": "bookkeeping", "to": ["boekhouding@example.nl"]},
    }
}


@dataclass(frozen=True)
class Caller:
    """The authenticated tenant and the public path it asked for."""

    principal: Principal
    path: str


def as_response(answer: Forwarded, public_path: str) -> Response:
    if answer.status_code == 204:
        return Response(status_code=204)
    content = answer.content
    if answer.headers.get("content-type", "").startswith("application/problem+json"):
        # The service's problem names its internal route; the caller knows only the public one.
        try:
            problem_doc = json.loads(content)
        except ValueError:
            problem_doc = None
        if isinstance(problem_doc, dict) and "instance" in problem_doc:
            problem_doc["instance"] = public_path
            content = json.dumps(problem_doc).encode()
    headers = {k: v for k, v in answer.headers.items() if k != "content-length"}
    return Response(content, status_code=answer.status_code, headers=headers)


def build(deps: Deps, services: Callable[[], ServiceClients]) -> APIRouter:
    router = APIRouter(prefix="/v1", responses={**ERRORS})

    async def caller(request: Request, who: Principal = Depends(deps.tenant)) -> Caller:
        return Caller(who, request.url.path)

    Tenant = Annotated[Caller, Depends(caller)]

    async def forward(
        client: ServiceClient,
        method: str,
        path: str,
        who: Caller,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Response:
        tenant_id, actor = who.principal.tenant, who.principal.actor
        answer = await client.call(
            method, path, tenant_id=tenant_id, actor=actor, params=params, json=json
        )
        return as_response(answer, who.path)

    def mapper(method: str, path: str, who: Caller, **kw: Any) -> Awaitable[Response]:
        return forward(services().mapper, method, "/internal/mapper/v1" + path, who, **kw)

    def notifier(method: str, path: str, who: Caller, **kw: Any) -> Awaitable[Response]:
        base = f"/internal/notifier/tenants/{segment(who.principal.tenant)}"
        return forward(services().notifier, method, base + path, who, **kw)

    # --- mappings (mapper) ------------------------------------------------------------------
    mappings: dict[str, Any] = {"tags": ["mappings"], "response_model": None}

    @router.get(
        "/mappings/{flow}",
        summary="Get a flow's mapping",
        responses={**ok(_OBJECT, "The current mapping and its effective settings.")},
        **mappings,
    )
    async def get_mapping(flow: Flow, who: Tenant) -> Response:
        """The tenant's current mapping for the flow: version (0 = the defaults), the saved
        document (settings and field overrides) and the effective settings."""
        return await mapper("GET", f"/mappings/{flow.value}", who)

    @router.put(
        "/mappings/{flow}",
        summary="Save a flow's mapping",
        responses={**ok(_OBJECT, "The saved mapping, as a new version."), **CONFLICT},
        **mappings,
    )
    async def put_mapping(
        flow: Flow,
        who: Tenant,
        document: Annotated[dict[str, Any], Body(openapi_examples=MAPPING_EXAMPLE)],
    ) -> Response:
        """Validates and saves a new version (``settings`` and ``fields``); a wrong field or
        expression is a 422 naming it. The previous version stays in the history."""
        return await mapper("PUT", f"/mappings/{flow.value}", who, json=document)

    @router.get(
        "/mappings/{flow}/history",
        summary="A flow's mapping history",
        responses={**ok(_LIST, "Every saved version, newest first.")},
        **mappings,
    )
    async def mapping_history(flow: Flow, who: Tenant) -> Response:
        """Every saved version, newest first, with who saved it, when, and the document."""
        return await mapper("GET", f"/mappings/{flow.value}/history", who)

    @router.post(
        "/mappings/{flow}/rollback",
        summary="Roll a mapping back",
        responses={**ok(_OBJECT, "The mapping now current."), **NOT_FOUND, **CONFLICT},
        **mappings,
    )
    async def rollback_mapping(
        flow: Flow,
        who: Tenant,
        request: Annotated[
            dict[str, Any],
            Body(openapi_examples={"v2": {"summary": "back to 2", "value": {"version": 2}}}),
        ],
    ) -> Response:
        """Makes an earlier version current again, saved as a new version so history is kept;
        404 when the version does not exist."""
        return await mapper("POST", f"/mappings/{flow.value}/rollback", who, json=request)

    @router.post(
        "/mappings/{flow}/preview",
        summary="Preview a mapping",
        responses={
            **ok(_OBJECT, "The mapped record, validation problems and lineage."),
            **NOT_FOUND,
        },
        **mappings,
    )
    async def preview_mapping(
        flow: Flow,
        who: Tenant,
        request: Annotated[dict[str, Any], Body(openapi_examples=PREVIEW_EXAMPLE)],
    ) -> Response:
        """Maps a sample record (source API shape) with the saved mapping or a draft
        (``mapping``), writing nothing: the result, what would fail, and each target field's
        source fields. Orders, customers and products only."""
        return await mapper("POST", f"/mappings/{flow.value}/preview", who, json=request)

    # --- value maps (mapper) ----------------------------------------------------------------
    value_maps: dict[str, Any] = {"tags": ["value maps"], "response_model": None}

    @router.get(
        "/value-maps",
        summary="List value maps",
        responses={**ok(_LIST, "Every value map, filled or not.")},
        **value_maps,
    )
    async def list_value_maps(who: Tenant) -> Response:
        """Every value map (VAT codes per country, terms of payment, payment and shipping
        methods, revenue accounts, ...), filled or not, with what its keys are."""
        return await mapper("GET", "/value-maps", who)

    @router.get(
        "/value-maps/{name}",
        summary="Get a value map",
        responses={**ok(_OBJECT, "The value map (empty when never saved)."), **NOT_FOUND},
        **value_maps,
    )
    async def get_value_map(name: ValueMapName, who: Tenant) -> Response:
        """One value map: its entries and default, version and who saved it."""
        return await mapper("GET", f"/value-maps/{segment(name)}", who)

    @router.put(
        "/value-maps/{name}",
        summary="Save a value map",
        responses={**ok(_OBJECT, "The saved value map."), **NOT_FOUND, **CONFLICT},
        **value_maps,
    )
    async def put_value_map(
        name: ValueMapName,
        who: Tenant,
        document: Annotated[dict[str, Any], Body(openapi_examples=VALUE_MAP_EXAMPLE)],
    ) -> Response:
        """Validates and saves ``entries`` (source value → target value) and ``default``;
        keys are normalised (e.g. 'be:21.0' → 'BE:21')."""
        return await mapper("PUT", f"/value-maps/{segment(name)}", who, json=document)

    # --- activity and dead letters (notifier) -----------------------------------------------
    activity: dict[str, Any] = {"tags": ["activity"], "response_model": None}

    @router.get(
        "/activity",
        summary="The activity log",
        responses={**ok(_PAGE, "A page of entries, newest first.")},
        **activity,
    )
    async def list_activity(
        who: Tenant,
        flow: Flow | None = None,
        status: Text = None,
        run_id: UUID | None = None,
        entity: Annotated[
            str | None, Query(max_length=200, description="source id, SKU, order number or e-mail")
        ] = None,
        q: Annotated[str | None, Query(max_length=200, description="text in the reason")] = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Response:
        """Every event of every flow as an entry (what came from the source, what was
        pushed, status, reason, trace id), newest first, filtered; pass ``next_cursor`` back
        as ``cursor`` for the next page."""
        params = {
            "flow": flow.value if flow else None,
            "status": status,
            "run_id": run_id,
            "entity": entity,
            "q": q,
            "since": since,
            "until": until,
            "cursor": cursor,
            "limit": limit,
        }
        return await notifier("GET", "/activity", who, params=params)

    @router.get(
        "/activity/{correlation_id}",
        summary="One record's journey",
        responses={**ok(_LIST, "The record's entries, in order."), **NOT_FOUND},
        **activity,
    )
    async def get_journey(correlation_id: UUID, who: Tenant) -> Response:
        """Every entry of one source record in one run (fetched, mapped, synced or failed),
        in order; 404 when there is none."""
        return await notifier("GET", f"/activity/{correlation_id}", who)

    @router.get(
        "/dead-letters",
        summary="List dead letters",
        responses={**ok(_PAGE, "A page of dead letters, newest first.")},
        **activity,
    )
    async def list_dead_letters(
        who: Tenant,
        status: Annotated[str, Query(max_length=40, description="parked or replayed")] = "parked",
        flow: Flow | None = None,
        reason_code: Text = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Response:
        """Messages parked after their last retry, with the reason and the attempts."""
        params = {
            "status": status,
            "flow": flow.value if flow else None,
            "reason_code": reason_code,
            "cursor": cursor,
            "limit": limit,
        }
        return await notifier("GET", "/dead-letters", who, params=params)

    @router.post(
        "/dead-letters/replay",
        summary="Replay dead letters",
        responses={**ok(_OBJECT, "How many were put back, and their ids.")},
        **activity,
    )
    async def replay_dead_letters(
        who: Tenant,
        request: Annotated[dict[str, Any], Body(openapi_examples=REPLAY_EXAMPLE)],
    ) -> Response:
        """Puts parked messages back on the bus (by ``ids``, or all matching ``flow`` /
        ``reason_code``, at most ``limit``); they go through the current mapping and stay
        idempotent downstream."""
        return await notifier("POST", "/dead-letters/replay", who, json=request)

    # --- alerts (notifier) -------------------------------------------------------------------
    alerts: dict[str, Any] = {"tags": ["alerts"], "response_model": None}
    kinds = (
        ("rules", "alert-rules", "rule", RULE_EXAMPLE),
        ("channels", "alert-channels", "channel", CHANNEL_EXAMPLE),
    )
    for public, internal, noun, example in kinds:
        _alert_routes(router, notifier, caller, public, internal, noun, example, alerts)

    @router.get(
        "/alerts/deliveries",
        summary="Alert deliveries",
        responses={**ok(_PAGE, "A page of deliveries, newest first.")},
        **alerts,
    )
    async def list_deliveries(
        who: Tenant,
        status: Annotated[str | None, Query(max_length=40)] = None,
        channel_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Response:
        """The delivery log of alerts, each with its attempts (sent, retry, failed)."""
        params = {"status": status, "channel_id": channel_id, "cursor": cursor, "limit": limit}
        return await notifier("GET", "/alert-deliveries", who, params=params)

    return router


def _alert_routes(
    router: APIRouter,
    notifier: Callable[..., Awaitable[Response]],
    tenant: Any,
    public: str,
    internal: str,
    noun: str,
    example: dict[str, Any],
    options: dict[str, Any],
) -> None:
    """List, create, get, replace and delete for alert rules and alert channels alike."""
    base = f"/alerts/{public}"
    what = "Alert rules say which failures alert; channels where alerts go (e-mail, webhook)."

    async def list_items(who: Annotated[Caller, Depends(tenant)]) -> Response:
        return await notifier("GET", f"/{internal}", who)

    async def create_item(
        who: Annotated[Caller, Depends(tenant)],
        body: Annotated[dict[str, Any], Body(openapi_examples=example)],
    ) -> Response:
        return await notifier("POST", f"/{internal}", who, json=body)

    async def get_item(item_id: ItemId, who: Annotated[Caller, Depends(tenant)]) -> Response:
        return await notifier("GET", f"/{internal}/{item_id}", who)

    async def put_item(
        item_id: ItemId,
        who: Annotated[Caller, Depends(tenant)],
        body: Annotated[dict[str, Any], Body(openapi_examples=example)],
    ) -> Response:
        return await notifier("PUT", f"/{internal}/{item_id}", who, json=body)

    async def delete_item(item_id: ItemId, who: Annotated[Caller, Depends(tenant)]) -> Response:
        return await notifier("DELETE", f"/{internal}/{item_id}", who)

    secret_note = (
        " Secrets (SMTP password, webhook key) are write-only." if noun == "channel" else ""
    )
    item = "/{item_id}"
    routes: list[tuple[str, str, Callable[..., Any], str, str, Responses]] = [
        (
            "GET",
            "",
            list_items,
            f"List alert {public}",
            f"Every alert {noun} of the tenant. {what}",
            ok(_LIST, f"The {public}."),
        ),
        (
            "POST",
            "",
            create_item,
            f"Create an alert {noun}",
            f"Validated by the notifier; a wrong field is a 422 naming it.{secret_note}",
            ok(_OBJECT, f"The new {noun}.", 201),
        ),
        (
            "GET",
            item,
            get_item,
            f"Get an alert {noun}",
            f"One alert {noun}; 404 when it does not exist.",
            {**ok(_OBJECT, f"The {noun}."), **NOT_FOUND},
        ),
        (
            "PUT",
            item,
            put_item,
            f"Replace an alert {noun}",
            f"Replaces the {noun}.{secret_note} An omitted secret keeps the stored one.",
            {**ok(_OBJECT, f"The {noun}."), **NOT_FOUND},
        ),
        (
            "DELETE",
            item,
            delete_item,
            f"Delete an alert {noun}",
            f"Deletes the {noun}; 404 when it does not exist.",
            {**NO_CONTENT, **NOT_FOUND},
        ),
    ]
    for method, suffix, endpoint, summary, description, responses in routes:
        status = 201 if method == "POST" else 204 if method == "DELETE" else 200
        router.add_api_route(
            base + suffix,
            endpoint,
            methods=[method],
            summary=summary,
            description=description,
            responses=responses,
            status_code=status,
            operation_id=f"{endpoint.__name__}_{noun}",
            **options,
        )
