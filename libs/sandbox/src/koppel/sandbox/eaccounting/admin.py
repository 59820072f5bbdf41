"""eAccounting-specific admin endpoints (added to the shared ``/_sandbox`` router).

- ``POST /_sandbox/reset`` ``{"seed"?, "empty"?, "stock_module"?, "customers"?, "articles"?,
  "unknown_articles"?, "orders"?}`` -> reseeds the company; answers the record counts.
- ``GET /_sandbox/state`` -> ``{"company", "clock", "data": {collection: [records]}}`` (articles,
  customers and invoices with their derived fields).
- ``GET|POST /_sandbox/company`` ``{"stock_module": bool}``.
- ``POST /_sandbox/tokens`` ``{"scope"?: "ea:api offline_access ..."}`` -> token response with
  ``access_token`` and ``refresh_token`` for the configured client, no browser step.
- ``POST /_sandbox/customers|articles|orders`` with an API-shaped body: created through the
  same rules as the API, but without auth, rate limit or faults.
- ``POST /_sandbox/articles/{id}/stock`` ``{"StockBalance": n}``: set stock even with the stock
  module on (what a stock adjustment in the UI would do).
- ``POST /_sandbox/orders/{id}/invoice`` -> books the order's invoice (order becomes Status 4).
- ``POST /_sandbox/customerinvoices/{id}/pay`` ``{"amount"?: n}`` -> registers a payment.
- ``POST /_sandbox/ratelimit`` ``{"limit"?, "window_seconds"?}`` (also clears the counters).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from koppel.sandbox.common.ratelimit import RateLimiter
from koppel.sandbox.eaccounting import errors
from koppel.sandbox.eaccounting.api import Api, _json_body
from koppel.sandbox.eaccounting.articles import save_article
from koppel.sandbox.eaccounting.auth import TokenService, parse_scopes
from koppel.sandbox.eaccounting.customers import save_customer
from koppel.sandbox.eaccounting.invoices import invoice_order, pay_invoice
from koppel.sandbox.eaccounting.orders import save_order
from koppel.sandbox.eaccounting.records import Record, validate_body


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int | None = None
    empty: bool | None = None
    stock_module: bool | None = None
    customers: int | None = Field(None, ge=0)
    articles: int | None = Field(None, ge=0)
    unknown_articles: int | None = Field(None, ge=0)
    orders: int | None = Field(None, ge=0)


class CompanyChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stock_module: bool | None = None


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: str | None = None


class RateChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int | None = Field(None, ge=1)
    window_seconds: float | None = Field(None, gt=0)


def add_eaccounting_admin(
    router: APIRouter,
    *,
    api: Api,
    tokens: TokenService,
    limiter: RateLimiter,
    reset: Callable[[ResetRequest], dict[str, int]],
) -> None:
    store = api.store

    @router.post("/reset")
    async def do_reset(request: ResetRequest | None = None) -> dict[str, Any]:
        return {"counts": reset(request or ResetRequest())}

    @router.get("/state")
    async def state() -> dict[str, Any]:
        snapshot = store.snapshot()
        from koppel.sandbox.eaccounting.api import RESOURCES

        for resource in RESOURCES:
            snapshot["data"][resource.collection] = api.rendered(
                resource, store.all(resource.collection)
            )
        return snapshot

    @router.get("/company")
    async def get_company() -> dict[str, Any]:
        return store.company.as_dict()

    @router.post("/company")
    async def set_company(change: CompanyChange) -> dict[str, Any]:
        if change.stock_module is not None:
            store.company.stock_module = change.stock_module
        return store.company.as_dict()

    @router.post("/tokens")
    async def mint(request: TokenRequest | None = None) -> Response:
        scopes = parse_scopes(request.scope if request else None)
        if scopes is None:
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        return JSONResponse(tokens.issue_tokens(tokens.settings.client_id, scopes))

    def direct(collection: str, schema: str, save: Callable[..., Record]) -> None:
        async def create(request: Request) -> Response:
            body = validate_body(schema, await _json_body(request), allow_unknown=True)
            record = save(store, body, None)
            resource = next(r for r in _resources() if r.collection == collection)
            return JSONResponse(api.rendered(resource, [record])[0], status_code=201)

        router.add_api_route(f"/{collection}", create, methods=["POST"], name=f"admin_{collection}")

    direct("customers", "CustomerApi", save_customer)
    direct("articles", "ArticleApi", save_article)
    direct("orders", "OrderApi", save_order)

    @router.post("/articles/{article_id}/stock")
    async def set_stock(article_id: str, body: dict[str, float]) -> Response:
        article = _need(store.get("articles", article_id), "Article", article_id)
        article["StockBalance"] = float(body["StockBalance"])
        article["StockBalanceManuallyChangedUtc"] = article["ChangedUtc"] = store.now_text()
        return JSONResponse(api.rendered(_resource("articles"), [article])[0])

    @router.post("/orders/{order_id}/invoice")
    async def invoice(order_id: str) -> Response:
        order = _need(store.get("orders", order_id), "Order", order_id)
        if order["Status"] == 4:
            raise errors.ApiError(400, 4002, "The order is already invoiced.")
        created = invoice_order(store, order)
        return JSONResponse(
            api.rendered(_resource("customerinvoices"), [created])[0], status_code=201
        )

    @router.post("/customerinvoices/{invoice_id}/pay")
    async def pay(invoice_id: str, body: dict[str, float] | None = None) -> Response:
        found = _need(store.get("customerinvoices", invoice_id), "CustomerInvoice", invoice_id)
        pay_invoice(store, found, (body or {}).get("amount"))
        return JSONResponse(api.rendered(_resource("customerinvoices"), [found])[0])

    @router.post("/ratelimit")
    async def rate(change: RateChange) -> dict[str, Any]:
        limiter.configure(limit=change.limit, window_seconds=change.window_seconds)
        return {"limit": limiter.limit, "window_seconds": limiter.window_seconds}


def _resources() -> list[Any]:
    from koppel.sandbox.eaccounting.api import RESOURCES

    return RESOURCES


def _resource(collection: str) -> Any:
    return next(r for r in _resources() if r.collection == collection)


def _need(record: Record | None, what: str, key: str) -> Record:
    if record is None:
        raise errors.not_found(what, key)
    return record
