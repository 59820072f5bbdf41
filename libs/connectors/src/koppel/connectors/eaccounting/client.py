"""Async client for the Visma eAccounting API v2.

One instance per connection (tenant × eAccounting company): it owns one pooled
``httpx.AsyncClient``. Reads retry on transient faults; creates never blindly repeat (see
``create_*_once``); updates are read-merge-write full-replace PUTs, which may be retried.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

import httpx
from pydantic import ValidationError

from koppel.connectors.common.errors import (
    NotFoundError,
    UnexpectedResponseError,
    ValidationFailedError,
)
from koppel.connectors.common.hooks import RequestHook
from koppel.connectors.common.http import HttpCore
from koppel.connectors.common.idempotency import CreateResult, create_once
from koppel.connectors.common.ratelimit import RateLimiterRegistry
from koppel.connectors.common.tokens import TokenProvider
from koppel.connectors.eaccounting import filters as f
from koppel.connectors.eaccounting.errors import classify
from koppel.connectors.eaccounting.models import (
    Article,
    ArticleAccountCoding,
    Country,
    Customer,
    CustomerInvoice,
    DeliveryMethod,
    DeliveryTerm,
    EAModel,
    Meta,
    Order,
    OrderStatus,
    Page,
    TermsOfPayment,
    Unit,
    VatCode,
)
from koppel.connectors.eaccounting.settings import EAccountingSettings

M = TypeVar("M", bound=EAModel)
_ID_SEGMENT = re.compile(r"^(?:[0-9a-fA-F-]{32,36}|\d+)$")


def _endpoint_key(scope: str) -> Any:
    def key(_method: str, path: str) -> str:
        segments = [s for s in path.strip("/").lower().split("/") if s]
        if scope == "resource":
            return "/" + (segments[0] if segments else "")
        return "/" + "/".join("{id}" if _ID_SEGMENT.match(s) else s for s in segments)

    return key


class EAccountingClient:
    def __init__(
        self,
        settings: EAccountingSettings,
        token_provider: TokenProvider,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        registry: RateLimiterRegistry | None = None,
        hooks: Iterable[RequestHook] = (),
    ) -> None:
        self.settings = settings
        http = settings.http_settings()
        http.hooks = tuple(hooks)
        self.http = HttpCore(
            http,
            token_provider=token_provider,
            classify=classify,
            endpoint_key=_endpoint_key(settings.rate_limit_scope),
            transport=transport,
            registry=registry,
        )
        self._lambda_refused = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- generic ---------------------------------------------------------------------

    async def _json(
        self, method: str, path: str, *, record_key: str | None = None, **kw: Any
    ) -> Any:
        response = await self.http.request(method, path, record_key=record_key, **kw)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise UnexpectedResponseError(
                "eAccounting answered with a body that is not JSON",
                self.http.context(method, path, record_key=record_key, status=response.status_code),
            ) from exc

    def _parse(self, model: type[M], data: Any, method: str, path: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise UnexpectedResponseError(
                f"eAccounting sent a {model.__name__} this connector cannot read: {exc.errors()[:3]}",
                self.http.context(method, path),
            ) from exc

    async def iter_pages(
        self,
        path: str,
        model: type[M],
        *,
        filter: str | None = None,
        orderby: str | None = None,
        params: Mapping[str, Any] | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Page[M]]:
        """Every page of a list endpoint, following ``Meta.TotalNumberOfPages``.

        The first page's ``Meta.ServerTimeUtc`` is the right next watermark for a poller
        (server clock, no skew).
        """
        page = 1
        while True:
            query: dict[str, Any] = {
                "$page": page,
                "$pagesize": page_size or self.settings.page_size,
            }
            if filter:
                query["$filter"] = filter
            if orderby:
                query["$orderby"] = orderby
            query.update(params or {})
            raw = await self._json("GET", path, params=query)
            if isinstance(raw, list):  # old unpaginated shape (e.g. /vatcodes in 2020)
                data = [self._parse(model, r, "GET", path) for r in raw]
                yield Page(
                    meta=Meta(
                        current_page=1,
                        page_size=len(data),
                        total_number_of_pages=1,
                        total_number_of_results=len(data),
                        server_time_utc=datetime.now().astimezone(),
                    ),
                    data=data,
                )
                return
            if not isinstance(raw, dict) or "Data" not in raw or "Meta" not in raw:
                raise UnexpectedResponseError(
                    "list answer without Meta/Data", self.http.context("GET", path)
                )
            meta = self._parse(Meta, raw["Meta"], "GET", path)
            data = [self._parse(model, r, "GET", path) for r in raw["Data"]]
            yield Page(meta=meta, data=data)
            if page >= meta.total_number_of_pages or not data:
                return
            page += 1

    async def iter_all(self, path: str, model: type[M], **kw: Any) -> AsyncIterator[M]:
        async for page in self.iter_pages(path, model, **kw):
            for item in page.data:
                yield item

    async def list_all(self, path: str, model: type[M], **kw: Any) -> list[M]:
        return [item async for item in self.iter_all(path, model, **kw)]

    async def _get_one(self, path: str, model: type[M], record_key: str) -> M:
        return self._parse(model, await self._json("GET", path, record_key=record_key), "GET", path)

    async def _create(self, path: str, model: type[M], body: EAModel, record_key: str | None) -> M:
        data = await self._json("POST", path, json=body.to_api(), record_key=record_key)
        return self._parse(model, data, "POST", path)

    async def _merge_put(
        self, path: str, model: type[M], changes: Mapping[str, Any] | EAModel, record_key: str
    ) -> M:
        """Full-replace PUT of the current record with ``changes`` laid over it.

        Merging happens on the raw JSON, so properties this connector has no field for
        survive the round trip.
        """
        current = await self._json("GET", path, record_key=record_key)
        if not isinstance(current, dict):
            raise UnexpectedResponseError(
                "record is not a JSON object", self.http.context("GET", path, record_key=record_key)
            )
        patch = (
            changes.model_dump(mode="json", by_alias=True, exclude_unset=True)
            if isinstance(changes, EAModel)
            else dict(changes)
        )
        body = model.model_validate({**current, **patch}).to_api()
        data = await self._json("PUT", path, json=body, record_key=record_key)
        return self._parse(model, data, "PUT", path)

    # --- customers -------------------------------------------------------------------

    def iter_customers(
        self,
        changed_since: datetime | None = None,
        *,
        active: bool | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Page[Customer]]:
        flt = f.and_(
            f.gt("ChangedUtc", changed_since) if changed_since else None,
            f.eq("IsActive", active) if active is not None else None,
        )
        return self.iter_pages("/customers", Customer, filter=flt, page_size=page_size)

    async def get_customer(self, customer_id: UUID | str) -> Customer:
        return await self._get_one(f"/customers/{customer_id}", Customer, str(customer_id))

    async def find_customers_by_email(self, email: str) -> list[Customer]:
        """Customers whose invoice e-mail matches, compared trimmed and case-insensitively."""
        wanted = email.strip().lower()
        if self.settings.email_match == "tolower":
            flt = f"tolower(EmailAddress) eq {f.literal(wanted)}"
            found = await self.list_all("/customers", Customer, filter=flt)
        else:
            found = await self.list_all(
                "/customers", Customer, filter=f.eq("EmailAddress", email.strip())
            )
            if not found and wanted != email.strip():
                found = await self.list_all(
                    "/customers", Customer, filter=f.eq("EmailAddress", wanted)
                )
        return [c for c in found if (c.email_address or "").strip().lower() == wanted]

    async def find_customer_by_number(self, number: str) -> Customer | None:
        found = await self.list_all(
            "/customers", Customer, filter=f.eq("CustomerNumber", number), page_size=2
        )
        return found[0] if found else None

    async def create_customer(self, customer: Customer) -> Customer:
        """One POST, not repeated after an ambiguous failure (use ``create_customer_once``)."""
        return await self._create(
            "/customers", Customer, customer, customer.customer_number or customer.email_address
        )

    async def create_customer_once(self, customer: Customer) -> CreateResult[Customer]:
        """Create unless a customer with the same number (or, without one, e-mail) exists."""

        async def find() -> Customer | None:
            if customer.customer_number:
                return await self.find_customer_by_number(customer.customer_number)
            if customer.email_address:
                hits = await self.find_customers_by_email(customer.email_address)
                return hits[0] if hits else None
            return None

        return await create_once(
            lambda: self.create_customer(customer),
            find,
            policy=self.settings.retry_policy(),
            clock=self.http.registry.clock,
        )

    async def update_customer(
        self, customer_id: UUID | str, changes: Mapping[str, Any] | Customer
    ) -> Customer:
        return await self._merge_put(
            f"/customers/{customer_id}", Customer, changes, str(customer_id)
        )

    # --- articles --------------------------------------------------------------------

    def iter_articles(
        self,
        changed_since: datetime | None = None,
        *,
        active: bool | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Page[Article]]:
        flt = f.and_(
            f.gt("ChangedUtc", changed_since) if changed_since else None,
            f.eq("IsActive", active) if active is not None else None,
        )
        return self.iter_pages("/articles", Article, filter=flt, page_size=page_size)

    async def get_article(self, article_id: UUID | str) -> Article:
        return await self._get_one(f"/articles/{article_id}", Article, str(article_id))

    async def find_article_by_number(self, number: str) -> Article | None:
        found = await self.list_all(
            "/articles", Article, filter=f.eq("Number", number), page_size=2
        )
        return next((a for a in found if a.number == number), None)

    async def find_articles_by_barcode(self, barcode: str) -> list[Article]:
        """Articles carrying ``barcode`` (EAN/GTIN lives in ``Barcodes[]``, not a field).

        Asks with an OData lambda (``Barcodes/any(...)``, as documented by Visma); a server
        that refuses it (QueryParameterError 6000) gets a full sweep matched here instead,
        and the connection remembers that.
        """
        if self.settings.barcode_lookup == "lambda" and not self._lambda_refused:
            try:
                found = await self.list_all(
                    "/articles", Article, filter=f.any_eq("Barcodes", "Barcode", barcode)
                )
                return [a for a in found if barcode in a.barcode_values]
            except ValidationFailedError as exc:
                if exc.ctx.api_error_code != "6000":
                    raise
                self._lambda_refused = True
        return [
            a
            async for a in self.iter_all("/articles", Article, page_size=1000)
            if barcode in a.barcode_values
        ]

    async def existing_article_numbers(self, numbers: Iterable[str]) -> set[str]:
        """Which of ``numbers`` exist, in as few requests as the URL length allows."""
        wanted = sorted(set(numbers))
        found: set[str] = set()
        size = self.settings.in_chunk_size
        for i in range(0, len(wanted), size):
            chunk = wanted[i : i + size]
            async for article in self.iter_all(
                "/articles", Article, filter=f.in_("Number", chunk), page_size=max(len(chunk), 1)
            ):
                if article.number in chunk:
                    found.add(article.number)
        return found

    async def create_article(self, article: Article) -> Article:
        return await self._create("/articles", Article, article, article.number)

    async def create_article_once(self, article: Article) -> CreateResult[Article]:
        """Create unless an article with the same ``Number`` (SKU) exists."""
        return await create_once(
            lambda: self.create_article(article),
            lambda: self.find_article_by_number(article.number),
            policy=self.settings.retry_policy(),
            clock=self.http.registry.clock,
        )

    async def update_article(
        self, article_id: UUID | str, changes: Mapping[str, Any] | Article
    ) -> Article:
        return await self._merge_put(f"/articles/{article_id}", Article, changes, str(article_id))

    async def update_article_by_number(
        self, number: str, changes: Mapping[str, Any] | Article
    ) -> Article:
        found = await self.find_article_by_number(number)
        if found is None or found.id is None:
            raise NotFoundError(
                "no article with that number",
                self.http.context("GET", "/articles", record_key=number),
            )
        return await self.update_article(found.id, changes)

    # --- orders and invoices -----------------------------------------------------------

    def iter_orders(
        self,
        modified_since: datetime | None = None,
        *,
        statuses: Iterable[OrderStatus | int] | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Page[Order]]:
        status_filter = f.in_("Status", [int(s) for s in statuses]) if statuses else None
        flt = f.and_(f.gt("ModifiedUtc", modified_since) if modified_since else None, status_filter)
        return self.iter_pages("/orders", Order, filter=flt, page_size=page_size)

    async def get_order(self, order_id: UUID | str) -> Order:
        return await self._get_one(f"/orders/{order_id}", Order, str(order_id))

    async def create_order(self, order: Order) -> Order:
        return await self._create("/orders", Order, order, None)

    def iter_customer_invoices(
        self, modified_since: datetime | None = None, *, page_size: int | None = None
    ) -> AsyncIterator[Page[CustomerInvoice]]:
        params = {"modifiedSinceUtc": f.literal(modified_since)} if modified_since else None
        return self.iter_pages(
            "/customerinvoices", CustomerInvoice, params=params, page_size=page_size
        )

    async def get_customer_invoice(self, invoice_id: UUID | str) -> CustomerInvoice:
        return await self._get_one(
            f"/customerinvoices/{invoice_id}", CustomerInvoice, str(invoice_id)
        )

    async def invoices_for_order(self, order_id: UUID | str) -> list[CustomerInvoice]:
        """Invoices created from an order (to read its payment status)."""
        oid = UUID(str(order_id))
        found = await self.list_all(
            "/customerinvoices", CustomerInvoice, filter=f.eq("CreatedFromOrderId", oid)
        )
        return [i for i in found if i.created_from_order_id == oid]

    # --- lookup tables (no change tracking: reload them whole) -------------------------

    async def list_vat_codes(self) -> list[VatCode]:
        return await self.list_all("/vatcodes", VatCode)

    async def list_terms_of_payment(self) -> list[TermsOfPayment]:
        return await self.list_all("/termsofpayments", TermsOfPayment)

    async def list_delivery_methods(self) -> list[DeliveryMethod]:
        return await self.list_all("/deliverymethods", DeliveryMethod)

    async def list_delivery_terms(self) -> list[DeliveryTerm]:
        return await self.list_all("/deliveryterms", DeliveryTerm)

    async def list_units(self) -> list[Unit]:
        return await self.list_all("/units", Unit)

    async def list_article_account_codings(self) -> list[ArticleAccountCoding]:
        return await self.list_all("/articleaccountcodings", ArticleAccountCoding)

    async def list_countries(self) -> list[Country]:
        return await self.list_all("/countries", Country)
