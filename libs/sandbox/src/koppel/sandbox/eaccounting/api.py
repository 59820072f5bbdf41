"""The ``/v2`` routes: one table of resources, turned into list/get/post/put/delete endpoints."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from koppel.sandbox.common.clock import isoformat_z
from koppel.sandbox.common.ratelimit import RateLimiter
from koppel.sandbox.eaccounting import errors, spec
from koppel.sandbox.eaccounting.articles import render_article, reserved_quantities, save_article
from koppel.sandbox.eaccounting.auth import TokenService
from koppel.sandbox.eaccounting.customers import delete_customer, render_customer, save_customer
from koppel.sandbox.eaccounting.invoices import create_invoice, render_invoice, save_draft
from koppel.sandbox.eaccounting.odata import (
    QueryError,
    parse_datetime,
    parse_filter,
    parse_orderby,
    sort_records,
)
from koppel.sandbox.eaccounting.orders import delete_order, save_order
from koppel.sandbox.eaccounting.records import Record, merge, new_id, validate_body
from koppel.sandbox.eaccounting.settings import EAccountingSandboxSettings
from koppel.sandbox.eaccounting.store import Store

SALES_READ = frozenset({"ea:sales", "ea:sales_readonly"})
SALES_WRITE = frozenset({"ea:sales"})
ACCOUNTING_READ = frozenset({"ea:accounting", "ea:accounting_readonly"})
TERMS_READ = SALES_READ | {"ea:purchase", "ea:purchase_readonly"}

Saver = Callable[[Store, Record, Record | None], Record]
Renderer = Callable[[Store, Record], dict[str, Any]]


def _plain(_: Store, record: Record) -> dict[str, Any]:
    return record


def _lookup_saver(collection: str, schema: str) -> Saver:
    def save(store: Store, body: Record, existing: Record | None) -> Record:
        record = merge(schema, body)
        record["Id"] = existing["Id"] if existing else new_id()
        return store.put(collection, record["Id"], record)

    return save


def _drop(store: Store, collection: str, record: Record) -> None:
    store.delete(collection, record["Id"])


@dataclass(frozen=True)
class Resource:
    collection: str
    path: str
    schema: str
    id_param: str
    read: frozenset[str] = SALES_READ
    write: frozenset[str] = SALES_WRITE
    ops: frozenset[str] = frozenset({"list", "get"})
    save: Saver | None = None
    delete: Callable[[Store, Record], None] | None = None
    render: Renderer = _plain
    create_status: int = 201
    write_id_param: str | None = None  # drafts use another name for PUT/DELETE
    extra_get_paths: tuple[str, ...] = field(default_factory=tuple)


RESOURCES = [
    Resource(
        "customers",
        "/customers",
        "CustomerApi",
        "customerId",
        ops=frozenset({"list", "get", "post", "put", "delete"}),
        save=save_customer,
        delete=delete_customer,
        render=render_customer,
    ),
    Resource(
        "articles",
        "/articles",
        "ArticleApi",
        "articleId",
        ops=frozenset({"list", "get", "post", "put"}),
        save=save_article,
    ),
    Resource(
        "orders",
        "/orders",
        "OrderApi",
        "id",
        ops=frozenset({"list", "get", "post", "put", "delete"}),
        save=save_order,
        delete=delete_order,
    ),
    Resource(
        "customerinvoicedrafts",
        "/customerinvoicedrafts",
        "CustomerInvoiceDraftApi",
        "invoiceDraftId",
        ops=frozenset({"list", "get", "post", "put", "delete"}),
        save=save_draft,
        write_id_param="customerInvoiceDraftId",
        delete=lambda store, rec: _drop(store, "customerinvoicedrafts", rec),
    ),
    Resource(
        "customerinvoices",
        "/customerinvoices",
        "CustomerInvoiceApi",
        "invoiceId",
        ops=frozenset({"list", "get", "post"}),
        save=lambda s, b, _e: create_invoice(s, b),
        render=render_invoice,
    ),
    Resource("vatcodes", "/vatcodes", "VatCodeApi", "id", read=ACCOUNTING_READ),
    Resource("termsofpayments", "/termsofpayments", "TermsOfPaymentApi", "id", read=TERMS_READ),
    Resource(
        "deliverymethods",
        "/deliverymethods",
        "DeliveryMethodApi",
        "deliveryMethodId",
        write=SALES_READ,
        ops=frozenset({"list", "get", "post"}),
        create_status=200,
        save=_lookup_saver("deliverymethods", "DeliveryMethodApi"),
    ),
    Resource(
        "deliveryterms",
        "/deliveryterms",
        "DeliveryTermApi",
        "deliveryTermId",
        write=SALES_READ,
        ops=frozenset({"list", "get", "post"}),
        create_status=200,
        save=_lookup_saver("deliveryterms", "DeliveryTermApi"),
    ),
    Resource("units", "/units", "UnitApi", "id"),
    Resource("articleaccountcodings", "/articleaccountcodings", "ArticleAccountCodingApi", "id"),
    Resource("countries", "/countries", "CountryApi", "countrycode"),
]


class Api:
    """Shared per-app machinery: token checks, rate limit, paging."""

    def __init__(
        self,
        store: Store,
        tokens: TokenService,
        limiter: RateLimiter,
        settings: EAccountingSandboxSettings,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.limiter = limiter
        self.settings = settings

    def guard(self, request: Request, scopes: frozenset[str]) -> Response | None:
        """401 / 403 / 429 response, or None when the request may go on."""
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return errors.unauthorized("Missing bearer token")
        grant, expired = self.tokens.lookup(header[7:].strip())
        if grant is None:
            return errors.unauthorized("The token is invalid")
        if expired:
            return errors.unauthorized("The token expired")
        request.state.sandbox_client_id = grant.client_id
        if "ea:api" not in grant.scopes or not (grant.scopes & scopes):
            needed = " or ".join(sorted(scopes))
            return errors.error_response(
                errors.ApiError(
                    403,
                    errors.NO_ACCESS_TO_SCOPES,
                    f"No access to scopes: requires ea:api and {needed}",
                )
            )
        route = request.scope.get("route")
        template = getattr(route, "path", request.url.path)
        retry = self.limiter.hit(f"{grant.client_id} {template}")
        if retry is not None:
            return errors.rate_limited(self.limiter.limit, self.limiter.window_seconds, retry)
        return None

    def page(
        self, request: Request, resource: Resource, records: list[dict[str, Any]]
    ) -> dict[str, Any]:
        q = request.query_params
        try:
            page = int(q.get("$page", "1"))
            size = int(q.get("$pagesize", str(self.settings.default_page_size)))
        except ValueError as exc:
            raise errors.query_error("$page and $pagesize must be integers.") from exc
        if page < 1 or size < 1 or size > self.settings.max_page_size:
            raise errors.query_error(
                f"$page must be >= 1 and $pagesize 1..{self.settings.max_page_size}."
            )
        fields = spec.schema(resource.schema)["properties"].keys()
        try:
            if q.get("$filter"):
                records = [r for r in records if parse_filter(q["$filter"], fields)(r)]
            if resource.collection == "customerinvoices" and q.get("modifiedSinceUtc"):
                since = parse_datetime(q["modifiedSinceUtc"])
                records = [
                    r
                    for r in records
                    if r["ModifiedUtc"] and parse_datetime(r["ModifiedUtc"]) > since
                ]
            if q.get("$orderby"):
                records = sort_records(records, parse_orderby(q["$orderby"], fields))
        except QueryError as exc:
            raise errors.query_error(str(exc)) from exc
        total = len(records)
        return {
            "Meta": {
                "CurrentPage": page,
                "PageSize": size,
                "TotalNumberOfPages": math.ceil(total / size),
                "TotalNumberOfResults": total,
                "ServerTimeUtc": isoformat_z(self.store.clock.now(), millis=False),
            },
            "Data": records[(page - 1) * size : page * size],
        }

    def rendered(self, resource: Resource, records: list[Record]) -> list[dict[str, Any]]:
        if resource.collection == "articles":
            reserved = reserved_quantities(self.store)
            return [render_article(self.store, r, reserved) for r in records]
        return [resource.render(self.store, r) for r in records]


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise errors.validation_error(
            [errors.field_error("", "The request body is not valid JSON.")]
        ) from exc


def _add_routes(router: APIRouter, api: Api, res: Resource) -> None:
    item_path = f"{res.path}/{{{res.id_param}}}"
    write_path = f"{res.path}/{{{res.write_id_param or res.id_param}}}"

    def fetch(request: Request, param: str) -> Record:
        key = request.path_params[param]
        record = api.store.get(
            res.collection, key.upper() if res.collection == "countries" else key
        )
        if record is None:
            raise errors.not_found(res.schema.removesuffix("Api"), key)
        return record

    async def list_items(request: Request) -> Response:
        if (denied := api.guard(request, res.read)) is not None:
            return denied
        return JSONResponse(
            api.page(request, res, api.rendered(res, api.store.all(res.collection)))
        )

    async def get_item(request: Request) -> Response:
        if (denied := api.guard(request, res.read)) is not None:
            return denied
        return JSONResponse(api.rendered(res, [fetch(request, res.id_param)])[0])

    async def post_item(request: Request) -> Response:
        if (denied := api.guard(request, res.write)) is not None:
            return denied
        body = validate_body(
            res.schema, await _json_body(request), allow_unknown=api.settings.allow_unknown_fields
        )
        assert res.save is not None
        record = res.save(api.store, body, None)
        return JSONResponse(api.rendered(res, [record])[0], status_code=res.create_status)

    async def put_item(request: Request) -> Response:
        if (denied := api.guard(request, res.write)) is not None:
            return denied
        existing = fetch(request, res.write_id_param or res.id_param)
        body = validate_body(
            res.schema, await _json_body(request), allow_unknown=api.settings.allow_unknown_fields
        )
        assert res.save is not None
        record = res.save(api.store, body, existing)
        return JSONResponse(api.rendered(res, [record])[0])

    async def delete_item(request: Request) -> Response:
        if (denied := api.guard(request, res.write)) is not None:
            return denied
        record = fetch(request, res.write_id_param or res.id_param)
        assert res.delete is not None
        res.delete(api.store, record)
        return Response(status_code=200)

    name = res.collection
    if "list" in res.ops:
        router.add_api_route(res.path, list_items, methods=["GET"], name=f"{name}_list")
    if "post" in res.ops:
        router.add_api_route(res.path, post_item, methods=["POST"], name=f"{name}_post")
    if "get" in res.ops:
        router.add_api_route(item_path, get_item, methods=["GET"], name=f"{name}_get")
    if "put" in res.ops:
        router.add_api_route(write_path, put_item, methods=["PUT"], name=f"{name}_put")
    if "delete" in res.ops:
        router.add_api_route(write_path, delete_item, methods=["DELETE"], name=f"{name}_delete")


def install_api(app: FastAPI, api: Api) -> None:
    router = APIRouter(prefix="/v2", tags=["eAccounting v2"])
    for resource in RESOURCES:
        _add_routes(router, api, resource)
    app.include_router(router)
